"""`dalil doctor`: a healthy store passes every check; each kind of damage fails its own check,
with a fix line, and exit code 1. Always on copies of the seeded store."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.scripted_openai import ScriptedOpenAI

CHECKS = ["configuration", "tiktoken", "registry", "vector index", "collection", "vector count", "embedding dimension", "bm25 index", "llm endpoint"]


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as srv:
        yield srv


def doctor(store: Path) -> tuple[int, list[str], dict[str, dict]]:
    """Exit code, the text report's lines, and the checks (from --json) by name."""
    runner = CliRunner()
    text = runner.invoke(app, ["doctor", "--store", str(store)])
    as_json = runner.invoke(app, ["doctor", "--store", str(store), "--json"])
    assert text.exit_code == as_json.exit_code, "text and JSON runs disagree"
    assert "Traceback" not in text.output + as_json.output
    checks = json.loads(as_json.stdout)
    return text.exit_code, text.stdout.splitlines(), {c["name"]: c for c in checks}


def failing(checks: dict[str, dict]) -> list[str]:
    return [name for name, check in checks.items() if not check["ok"]]


def fix_line_after(lines: list[str], name: str) -> str:
    at = next(i for i, line in enumerate(lines) if line.startswith(f"✗ {name}:"))
    assert lines[at + 1].startswith("    fix: "), lines[at: at + 2]
    return lines[at + 1]


@pytest.mark.slow
def test_healthy_store_every_check_passes(store: Path) -> None:
    code, lines, checks = doctor(store)
    assert code == 0
    assert list(checks) == CHECKS
    assert lines and all(line.startswith("✓ ") for line in lines), lines
    assert "65 vectors = 65 registry chunks" in checks["vector count"]["detail"]


@pytest.mark.slow
def test_missing_bm25_index_fails_its_check(store: Path) -> None:
    shutil.rmtree(next(store.glob("*.bm25")))
    code, lines, checks = doctor(store)
    assert code == 1 and failing(checks) == ["bm25 index"]
    assert "no BM25 index on disk" in checks["bm25 index"]["detail"]
    assert "rebuilt from the registry" in fix_line_after(lines, "bm25 index")


@pytest.mark.slow
def test_vectors_deleted_behind_dalils_back_fail_the_count(store: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    name = next(store.glob("*.sqlite")).stem
    collection = chromadb.PersistentClient(path=str(store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)).get_collection(name)
    ids = collection.get(limit=4, include=[])["ids"]
    collection.delete(ids=ids)
    code, lines, checks = doctor(store)
    assert code == 1 and failing(checks) == ["vector count"]
    assert "Chroma holds 61 vectors but the registry lists 65 chunks" in checks["vector count"]["detail"]
    assert "dalil doctor --repair" in fix_line_after(lines, "vector count")


def test_missing_store_is_one_failing_store_check(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-store"
    code, lines, checks = doctor(missing)
    assert code == 1 and failing(checks) == ["store"]
    assert list(checks) == ["configuration", "tiktoken", "store", "llm endpoint"]
    assert str(missing) in checks["store"]["detail"] and "dalil ingest" in fix_line_after(lines, "store")
    assert not missing.exists(), "doctor created the store it was checking"


@pytest.mark.slow
def test_llm_endpoint_reachable_with_its_model(store: Path, server: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("DALIL_LLM_MODEL", "scripted-model")
    code, _, checks = doctor(store)
    assert code == 0 and checks["llm endpoint"]["ok"]
    assert "model scripted-model available" in checks["llm endpoint"]["detail"]
    assert any(r["path"].endswith("/models") for r in server.requests), "doctor did not ask the endpoint"


@pytest.mark.slow
def test_llm_endpoint_without_the_configured_model_fails(store: Path, server: ScriptedOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_LLM_BASE_URL", server.base_url)
    monkeypatch.setenv("DALIL_LLM_MODEL", "no-such-model")
    code, lines, checks = doctor(store)
    assert code == 1 and failing(checks) == ["llm endpoint"]
    assert "does not list model 'no-such-model'" in checks["llm endpoint"]["detail"]
    assert "scripted-model" in checks["llm endpoint"]["detail"]
    assert "llm.model" in fix_line_after(lines, "llm endpoint")


@pytest.mark.slow
def test_llm_endpoint_on_a_closed_port_fails_in_one_line(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    monkeypatch.setenv("DALIL_LLM_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("DALIL_LLM_MODEL", "m")
    started = time.monotonic()
    code, lines, checks = doctor(store)
    assert time.monotonic() - started < 30, "doctor kept retrying a closed port"
    assert code == 1 and failing(checks) == ["llm endpoint"]
    detail = checks["llm endpoint"]["detail"]
    assert "\n" not in detail and "cannot connect to the LLM endpoint" in detail and str(port) in detail
    report_line = next(line for line in lines if line.startswith("✗ llm endpoint:"))
    assert "cannot connect" in report_line and fix_line_after(lines, "llm endpoint")


# --- each store check fails on its own damage (each goes red if its check is removed) --------


def chroma_collection(store: Path):  # returns (client, collection name)
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    return client, next(store.glob("*.sqlite")).stem


def test_missing_collection_fails_its_check(store: Path) -> None:
    client, name = chroma_collection(store)
    client.delete_collection(name)
    code, lines, checks = doctor(store)
    assert code == 1 and failing(checks) == ["collection"]
    assert f"collection {name} is not in the Chroma store" in checks["collection"]["detail"]
    assert "vector count" not in checks, "checks that need the collection ran without it"
    assert "dalil ingest" in fix_line_after(lines, "collection")
    assert name not in [c.name for c in client.list_collections()], "doctor created the collection it was checking"


@pytest.mark.slow
def test_vectors_of_another_dimension_fail_the_dimension_check(store: Path) -> None:
    """The same chunks, ids and count, but vectors of half the dimension (as another embedder makes)."""
    client, name = chroma_collection(store)
    old = client.get_collection(name).get(include=["embeddings", "documents", "metadatas"])
    dim = len(old["embeddings"][0])
    client.delete_collection(name)
    fresh = client.create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
    fresh.add(ids=old["ids"], embeddings=[list(v[: dim // 2]) for v in old["embeddings"]], documents=old["documents"],
              metadatas=old["metadatas"])
    code, lines, checks = doctor(store)
    assert code == 1 and failing(checks) == ["embedding dimension"]
    detail = checks["embedding dimension"]["detail"]
    assert f"stored vectors have {dim // 2} dimensions, the configured embedder makes {dim}" in detail
    assert "re-ingest" in fix_line_after(lines, "embedding dimension")


@pytest.mark.slow
def test_stale_bm25_index_fails_its_check(store: Path, tmp_path: Path) -> None:
    """The index of an earlier generation left on disk (a crash before the save after an ingest)."""
    bm25_dir = next(store.glob("*.bm25"))
    old_index = tmp_path / "old-bm25"
    shutil.copytree(bm25_dir, old_index)
    late = tmp_path / "late"
    late.mkdir()
    (late / "late.txt").write_text("أعلنت وزارة الخارجية الروسية أن لافروف سيزور جنيف الأسبوع المقبل لبحث الهدنة.\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["ingest", str(late), "--store", str(store)]).exit_code == 0
    shutil.rmtree(bm25_dir)
    shutil.copytree(old_index, bm25_dir)
    code, lines, checks = doctor(store)
    assert code == 1 and failing(checks) == ["bm25 index"]
    assert "BM25 index is out of date" in checks["bm25 index"]["detail"]
    assert "rebuilt from the registry" in fix_line_after(lines, "bm25 index")


def test_unknown_tiktoken_encoding_fails_its_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_CHUNKING_ENCODING", "no_such_encoding")
    code, lines, checks = doctor(tmp_path / "store")
    assert code == 1 and failing(checks) == ["tiktoken", "store"]
    assert "no_such_encoding" in checks["tiktoken"]["detail"]
    assert "TIKTOKEN_CACHE_DIR" in fix_line_after(lines, "tiktoken")


def test_unknown_llm_tokenizer_fails_the_tiktoken_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prompt budget's encoding (llm.tokenizer) is checked too, not only the chunker's."""
    monkeypatch.setenv("DALIL_LLM_TOKENIZER", "no_such_prompt_encoding")
    code, _, checks = doctor(tmp_path / "store")
    assert code == 1 and "tiktoken" in failing(checks)
    assert "no_such_prompt_encoding" in checks["tiktoken"]["detail"]


def test_invalid_configuration_is_one_clear_line(tmp_path: Path) -> None:
    """A config file doctor cannot load stops it with one line naming the bad setting (exit 1)."""
    config = tmp_path / "dalil.toml"
    config.write_text('[store]\nlock_timeout = "soon"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["doctor", "--config", str(config), "--store", str(tmp_path / "store")])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "store.lock_timeout" in lines[0] and "Traceback" not in result.output, lines


@pytest.mark.slow
def test_doctor_against_a_chroma_server_after_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """store.url: after the server restarts every store check passes, so its vectors really persisted
    (an answer alone could come from BM25 over the local registry even if the server lost them)."""
    from tests.test_chroma_server import SEEDS, chroma_server, free_port

    data, store, port = tmp_path / "chroma-data", tmp_path / "store", free_port()
    with chroma_server(data, port) as url:
        monkeypatch.setenv("DALIL_STORE_URL", url)
        assert CliRunner().invoke(app, ["ingest", str(SEEDS), "--store", str(store)]).exit_code == 0
    with chroma_server(data, port):
        code, _, checks = doctor(store)
    assert code == 0 and not failing(checks)
    assert checks["vector count"]["ok"] and checks["embedding dimension"]["ok"] and checks["bm25 index"]["ok"]
    assert url in checks["collection"]["detail"]
    shutil.rmtree(data)  # a server that lost its data: the count check must see it
    with chroma_server(data, port):
        code, _, checks = doctor(store)
    assert code == 1 and "collection" in failing(checks)
