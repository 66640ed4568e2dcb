"""Store health: settings → a list of ``Check`` results, each failure with how to fix it.

Checks the configuration, the store (collection present, vector dimension matches the
configured embedder, BM25 index in sync, counts match), the LLM endpoint (reachable,
model exists) and the tiktoken cache. Never raises for a failed check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from agent.config import Settings, find_config_file
from agent.errors import DalilError
from agent.safety import mask_url, mask_urls_in


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_checks(settings: Settings) -> list[Check]:
    checks = [_config(settings), _tiktoken(settings)]
    checks += _store(settings)
    checks.append(_endpoint(settings))
    return checks


def _guard(name: str, fix: str, body: Callable[[], Check]) -> Check:
    try:
        return body()
    except DalilError as exc:
        return Check(name, False, mask_urls_in(str(exc)), fix)
    except Exception as exc:  # a health check reports, it does not crash
        first = mask_urls_in(str(exc)).splitlines()[0][:200] if str(exc) else ""
        return Check(name, False, f"{type(exc).__name__}: {first}", fix)


def _config(settings: Settings) -> Check:
    source = find_config_file()
    where = str(source) if source else "defaults and environment (no config file)"
    return Check("configuration", True, f"valid; read from {where}")


def _tiktoken(settings: Settings) -> Check:
    def body() -> Check:
        from agent.ingest.chunking import token_counter

        encodings = dict.fromkeys([settings.chunking.encoding, settings.llm.tokenizer])  # chunk sizes, prompt budgets
        for encoding in encodings:
            token_counter(encoding)("اختبار test")
        return Check("tiktoken", True, f"{' and '.join(encodings)} load offline")

    return _guard("tiktoken", "reinstall llama-index-core (it ships the BPE files) or set TIKTOKEN_CACHE_DIR to a folder holding them", body)


def _store(settings: Settings) -> list[Check]:
    from agent.index.store import Store

    registry_file = settings.store.path / f"{settings.collection_name()}.sqlite"
    if not registry_file.is_file():
        from agent.index.store import missing_store_reason

        return [Check("store", False, missing_store_reason(settings.store.path, settings),
                      f"run `dalil ingest PATH --store {settings.store.path}` (or point --store / DALIL_STORE at your store)")]
    try:
        store = Store(settings)
    except Exception as exc:
        return [Check("store", False, f"cannot open {settings.store.path}: {mask_urls_in(str(exc))}", "check the path and its permissions")]
    docs, chunks = store.registry.counts()
    checks = [Check("registry", True, f"{docs} documents, {chunks} chunks in {store.registry.path}")]
    if not settings.store.url:
        damage = _guard("vector index", REPAIR_FIX, lambda: _probe_vectors(store))
        checks.append(damage)
        if not damage.ok:
            return checks
    collection = _guard("collection", "start the Chroma server or fix store.url; then run `dalil ingest`", lambda: _collection(store))
    checks.append(collection)
    if not collection.ok:
        return checks
    checks.append(_guard("vector count", REPAIR_FIX, lambda: _counts(store, chunks)))
    checks.append(_guard("embedding dimension", "the store was built with another embedder: use its settings or re-ingest into a new store",
                         lambda: _dimension(store, settings)))
    checks.append(_guard("bm25 index", "run any search: the index is rebuilt from the registry when out of date",
                         lambda: _bm25(store, chunks)))
    return checks


REPAIR_FIX = "run `dalil doctor --repair`: it rebuilds the vectors from the registry, which keeps every article's text"


def _probe_vectors(store: Any) -> Check:
    """Open the embedded Chroma store and query it in a child process, under this one's lease: a
    damaged index crashes Chroma's native code (a segfault), which no ``except`` can catch."""
    import subprocess
    import sys

    with store.vector_lease() as busy:
        if busy:
            return Check("vector index", True, f"not checked: {busy}")
        # no secrets in the child: Chroma writes its index buffers to disk, and a buffer can carry process memory
        env = {k: v for k, v in os.environ.items() if not re.search(r"KEY|TOKEN|SECRET|PASSWORD", k, re.IGNORECASE)}
        probe = subprocess.run([sys.executable, "-c", _PROBE, str(store.root / "chroma"), store.collection_name],
                               capture_output=True, text=True, timeout=600, env=env)
    if probe.returncode < 0:
        import signal

        raise DalilError(f"the vector index is damaged: Chroma crashed reading it ({signal.Signals(-probe.returncode).name})")
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1][:200]
        raise DalilError(f"the vector index cannot be read: {last}")
    return Check("vector index", True, f"readable ({probe.stdout.strip()} vectors queried)")


# run by _probe_vectors in a child process: open, count, read one vector, query with it
_PROBE = """
import sys
import chromadb
from chromadb.config import Settings
client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
names = [getattr(c, "name", c) for c in client.list_collections()]
count = 0
if sys.argv[2] in names:
    collection = client.get_collection(sys.argv[2], embedding_function=None)
    count = collection.count()
    sample = collection.get(limit=1, include=["embeddings"])["embeddings"]
    if count and sample is not None and len(sample):
        collection.query(query_embeddings=[list(sample[0])], n_results=min(count, 10), include=["distances"])
client.close()
print(count)
"""


def _collection(store: Any) -> Check:
    names = store.collection_names()
    if store.collection_name not in names:
        raise DalilError(f"collection {store.collection_name} is not in the Chroma store (nothing ingested with these settings)")
    return Check("collection", True, f"{store.collection_name} present ({mask_url(store.settings.store.url) or 'embedded'})")


def _counts(store: Any, chunks: int) -> Check:
    vectors = store.vector_count()
    if vectors != chunks:
        raise DalilError(f"Chroma holds {vectors} vectors but the registry lists {chunks} chunks")
    return Check("vector count", True, f"{vectors} vectors = {chunks} registry chunks")


def _dimension(store: Any, settings: Settings) -> Check:
    sample = store.sample_vector()
    if sample is None:
        return Check("embedding dimension", True, "no vectors yet")
    stored = len(sample)
    if settings.embeddings.provider == "local":
        expected = settings.embeddings.dim
    else:
        from agent.index.embeddings import make_embedder

        expected = len(make_embedder(settings.embeddings).get_query_embedding("test"))
    if stored != expected:
        raise DalilError(f"stored vectors have {stored} dimensions, the configured embedder makes {expected}")
    return Check("embedding dimension", True, f"{stored}, as configured")


def _bm25(store: Any, chunks: int) -> Check:
    from agent.index.bm25 import BM25Index

    index = BM25Index.load(store.bm25_dir)
    generation = store.registry.generation()
    if index is None:
        raise DalilError("no BM25 index on disk")
    if index.generation != generation or len(index) != chunks:
        raise DalilError(f"BM25 index is out of date (generation {index.generation} vs {generation}, {len(index)} vs {chunks} chunks)")
    return Check("bm25 index", True, f"in sync ({len(index)} chunks, generation {generation})")


def _endpoint(settings: Settings) -> Check:
    if not settings.llm.configured:
        return Check("llm endpoint", True, "not configured: answers are extractive (set DALIL_LLM_MODEL and DALIL_LLM_BASE_URL for LLM mode)")

    def body() -> Check:
        from agent.answer.llm import ChatClient
        from agent.endpoint import endpoint_errors

        client = ChatClient(settings.llm)
        with endpoint_errors(settings.llm, attempts=1):
            models = [m.id for m in client.models()]
        if models and settings.llm.model not in models:
            raise DalilError(f"the endpoint does not list model {settings.llm.model!r} (it has: {', '.join(models[:5])})")
        return Check("llm endpoint", True, f"{mask_url(settings.llm.base_url) or 'OpenAI'} reachable, model {settings.llm.model} available")

    return _guard("llm endpoint", "check llm.base_url, llm.model and the API key (DALIL_LLM_API_KEY)", body)
