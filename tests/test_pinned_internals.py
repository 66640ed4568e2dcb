"""The library internals Dalil relies on, checked by name and signature.

Three places use what a library does not promise to keep: ``agent.index.bm25.FlatBM25`` writes the
attributes a ``bm25s.BM25`` index is made of; ``agent.config._DalilEnv`` overrides
pydantic-settings' private ``EnvSettingsSource._load_env_vars``; ``agent.retrieval.retrieve.FusionRetriever``
overrides llama-index's private ``QueryFusionRetriever._get_queries`` and
``_reciprocal_rerank_fusion`` and reads ``_retriever_weights``. pyproject.toml caps the three
libraries below their next release line; when a cap is raised, these tests say which internal moved.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pytest
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.schema import NodeWithScore
from pydantic_settings import EnvSettingsSource, SettingsConfigDict

from agent.config import Settings, _DalilEnv, load_settings
from agent.index.bm25 import FlatBM25, TermCorpus
from agent.retrieval.retrieve import FusionRetriever
from tests.test_fusion import Fixed  # a retriever that returns fixed ids


def params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def moved(library: str, internal: str, used_by: str, detail: str) -> str:
    return f"{library}: {internal} changed ({detail}); {used_by} relies on it: adapt it before raising the pin in pyproject.toml"


# ---------------------------------------------------------------- bm25s (agent.index.bm25.FlatBM25)

BM25_ATTRIBUTES = ("k1", "b", "method", "dtype", "int_dtype", "scores", "vocab_dict", "unique_token_ids_set", "nonoccurrence_array")


def test_bm25s_index_is_made_of_the_attributes_flatbm25_writes() -> None:
    reference = bm25s.BM25()
    reference.index(([[0, 1], [1, 2, 2]], {"a": 0, "b": 1, "c": 2}), show_progress=False)
    for name in BM25_ATTRIBUTES:
        assert hasattr(reference, name), moved("bm25s", f"BM25.{name}", "FlatBM25.index_flat", "attribute missing after BM25.index")
    assert reference.method == "lucene" and reference.idf_method in (None, "lucene"), moved(
        "bm25s", "BM25() defaults", "FlatBM25.index_flat", f"method={reference.method!r}, idf_method={reference.idf_method!r}")
    assert set(reference.scores) == {"data", "indices", "indptr", "num_docs"}, moved(
        "bm25s", "BM25.scores", "FlatBM25.index_flat", f"keys are {sorted(reference.scores)}")
    assert isinstance(reference.vocab_dict, dict) and reference.unique_token_ids_set == set(reference.vocab_dict.values()), moved(
        "bm25s", "BM25.vocab_dict / unique_token_ids_set", "FlatBM25.index_flat", "no longer a term → id dict and its id set")
    assert reference.nonoccurrence_array is None, moved(
        "bm25s", "BM25.nonoccurrence_array", "FlatBM25.index_flat", "no longer None for the lucene variant")
    assert hasattr(bm25s.BM25, "build_index_from_ids"), moved(
        "bm25s", "BM25.build_index_from_ids", "FlatBM25 (documented as its replacement)", "method missing")


def test_bm25s_scores_saves_and_loads_what_flatbm25_built(tmp_path: Path) -> None:
    assert params(bm25s.BM25.get_scores)[:2] == ["self", "query_tokens_single"], moved(
        "bm25s", "BM25.get_scores", "BM25Index.search", f"parameters {params(bm25s.BM25.get_scores)}")
    assert params(bm25s.BM25.save)[:2] == ["self", "save_dir"] and params(bm25s.BM25.load)[:1] == ["save_dir"], moved(
        "bm25s", "BM25.save / BM25.load", "BM25Index.save / load", f"parameters {params(bm25s.BM25.save)} / {params(bm25s.BM25.load)}")
    corpus = TermCorpus.empty().plus([("c1", "d1", ["a", "b"]), ("c2", "d1", ["b", "c", "c"]), ("c3", "d2", ["a"])], {})
    flat = FlatBM25()
    flat.index_flat(corpus.tokens, corpus.lengths, corpus.vocab)
    flat.save(str(tmp_path))
    loaded = bm25s.BM25.load(str(tmp_path))
    assert loaded.vocab_dict == flat.vocab_dict, moved("bm25s", "BM25.save / load", "BM25Index", "the vocabulary does not round-trip")
    assert np.array_equal(loaded.get_scores(["c", "a"]), flat.get_scores(["c", "a"])), moved(
        "bm25s", "BM25.save / load / get_scores", "BM25Index", "a saved FlatBM25 scores differently once loaded")


# ---------------------------------------------------------------- pydantic-settings (agent.config._DalilEnv)


def test_env_source_reads_the_environment_through_load_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "_load_env_vars" in vars(EnvSettingsSource), moved(
        "pydantic-settings", "EnvSettingsSource._load_env_vars", "agent.config._DalilEnv", "method missing")
    assert params(EnvSettingsSource._load_env_vars) == ["self"], moved(
        "pydantic-settings", "EnvSettingsSource._load_env_vars", "agent.config._DalilEnv",
        f"parameters {params(EnvSettingsSource._load_env_vars)}")
    monkeypatch.setenv("DALIL_STORE", "/tmp/somewhere")
    plain = EnvSettingsSource(Settings)
    assert plain.env_vars.get("dalil_store") == "/tmp/somewhere", moved(
        "pydantic-settings", "EnvSettingsSource.env_vars", "agent.config._DalilEnv", "variables are no longer kept lower-cased in env_vars")
    assert _DalilEnv(Settings).env_vars.get("dalil_store_path") == "/tmp/somewhere", moved(
        "pydantic-settings", "EnvSettingsSource.__init__", "agent.config._DalilEnv", "env_vars no longer comes from _load_env_vars")
    assert load_settings().store.path == Path("/tmp/somewhere")


def test_settings_sources_hook_and_nested_split_keep_their_shape() -> None:
    from pydantic_settings import BaseSettings

    expected = ["settings_cls", "init_settings", "env_settings", "dotenv_settings", "file_secret_settings"]
    assert params(BaseSettings.settings_customise_sources) == expected, moved(
        "pydantic-settings", "BaseSettings.settings_customise_sources", "agent.config.Settings",
        f"parameters {params(BaseSettings.settings_customise_sources)}")
    assert "env_nested_max_split" in SettingsConfigDict.__annotations__, moved(
        "pydantic-settings", "SettingsConfigDict.env_nested_max_split", "agent.config.Settings", "option missing")


# ---------------------------------------------------------------- llama-index (agent.retrieval.retrieve.FusionRetriever)




class Recording(FusionRetriever):
    """FusionRetriever, keeping what llama-index hands to the fusion step."""

    def _reciprocal_rerank_fusion(self, results: dict[tuple[str, int], list[NodeWithScore]]) -> list[NodeWithScore]:
        self.seen = dict(results)
        return super()._reciprocal_rerank_fusion(results)


def test_query_fusion_private_helpers_keep_their_signatures() -> None:
    for name, expected in (("_get_queries", ["self", "original_query"]), ("_reciprocal_rerank_fusion", ["self", "results"])):
        assert callable(getattr(QueryFusionRetriever, name, None)), moved(
            "llama-index-core", f"QueryFusionRetriever.{name}", "agent.retrieval.retrieve.FusionRetriever", "method missing")
        assert params(getattr(QueryFusionRetriever, name)) == expected, moved(
            "llama-index-core", f"QueryFusionRetriever.{name}", "agent.retrieval.retrieve.FusionRetriever",
            f"parameters {params(getattr(QueryFusionRetriever, name))}")
    init = params(QueryFusionRetriever.__init__)
    for name in ("retrievers", "llm", "mode", "similarity_top_k", "num_queries", "use_async", "retriever_weights"):
        assert name in init, moved("llama-index-core", f"QueryFusionRetriever(…, {name}=)", "agent.retrieval.retrieve.FusionRetriever",
                                   "keyword missing")


def test_query_fusion_hands_ranked_lists_keyed_by_query_and_retriever_index() -> None:
    """What ``FusionRetriever._reciprocal_rerank_fusion`` assumes: one list per (query, retriever
    index), the rewrites from ``_get_queries`` after the question, weights normalised in order."""
    fusion = Recording([Fixed(["a", "b"]), Fixed(["c"])], top_k=3, rewrites=["rewritten"], weights=[0.25, 0.75], rrf_k=20)
    assert [n.node.node_id for n in fusion.retrieve("question")] == ["c", "a", "b"]
    assert set(fusion.seen) == {("question", 0), ("question", 1), ("rewritten", 0), ("rewritten", 1)}, moved(
        "llama-index-core", "QueryFusionRetriever._retrieve", "FusionRetriever._reciprocal_rerank_fusion",
        f"fusion input keyed {sorted(fusion.seen)}")
    assert fusion._retriever_weights == [0.25, 0.75], moved(
        "llama-index-core", "QueryFusionRetriever._retriever_weights", "FusionRetriever._reciprocal_rerank_fusion",
        f"holds {fusion._retriever_weights}")
