"""store.url: one corpus on a real Chroma server (`chroma run`), shared by two Dalil "machines".

Each machine is its own --store folder (its registry and BM25 index are a local cache) with the same
DALIL_STORE_URL. What machine A ingests, updates or removes reaches machine B through the server's
ingest log alone; B refuses rather than answer from stale data while the server is down; two writers
at once are serialized by the server lease and both land, with distinct sequence numbers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from agent.config import Settings
from agent.pipeline import Dalil

pytestmark = pytest.mark.slow  # a real `chroma run` server and several `python -m agent` processes

CHROMA = Path(sys.executable).parent / "chroma"
ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
QUESTION = "من هي المتحدثة باسم الخارجية الروسية زاخاروفا؟"
NEW_WORDS = "وأعلنت بلدية تمبكتو افتتاح مكتبة المخطوطات القديمة أمام الزوار."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """A `chroma run` subprocess that can be killed and started again on the same data folder and port."""

    def __init__(self, data: Path) -> None:
        self.data, self.port = data, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([str(CHROMA), "run", "--path", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1).read()
                return
            except OSError:
                assert self.proc.poll() is None, "chroma server exited"
                assert time.monotonic() < deadline, "chroma server did not start"
                time.sleep(0.3)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    assert CHROMA.exists(), "the chromadb package's `chroma` command is missing"
    chroma = ChromaServer(tmp_path_factory.mktemp("chroma") / "data")
    chroma.start()
    yield chroma
    chroma.kill()


def env_for(url: str, collection: str, **extra: str) -> dict[str, str]:
    return {"DALIL_STORE_URL": url, "DALIL_STORE_COLLECTION": collection, **extra}


def ingest(paths: list[Path], store: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`python -m agent ingest PATHS --store STORE --json` as its own process (one machine's ingest)."""
    return subprocess.Popen([sys.executable, "-m", "agent", "ingest", *map(str, paths), "--store", str(store), "--json"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def ingested(paths: list[Path], store: Path, env: dict[str, str]) -> dict:
    proc = ingest(paths, store, env)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    return json.loads(stdout)


def cli(args: list[str], store: Path, env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--store", str(store)], env=env)
    return result.exit_code, result.stdout, result.stderr


def answer(store: Path, env: dict[str, str], question: str = QUESTION) -> dict:
    code, stdout, stderr = cli(["ask", question, "--json"], store, env)
    assert code == 0, stderr
    return json.loads(stdout)


def search(store: Path, env: dict[str, str], query: str) -> dict:
    code, stdout, stderr = cli(["search", query, "--json"], store, env)
    assert code == 0, stderr
    return json.loads(stdout)


def settings(store: Path, env: dict[str, str]) -> Settings:
    return Settings(store={"path": store, "url": env["DALIL_STORE_URL"], "collection": env["DALIL_STORE_COLLECTION"]})


def server_log(store: Path, env: dict[str, str]) -> list[dict]:
    dalil = Dalil(settings(store, env))
    try:
        return dalil.store.server_log()
    finally:
        dalil.store.close()


def files_cited(result: dict) -> set[str]:
    return {hit["file"] for hit in result["hits"]}


def test_a_second_machine_follows_ingests_updates_and_removals_without_ingesting(server: ChromaServer, tmp_path: Path) -> None:
    env = env_for(server.url, "follow")
    corpus, a, b = tmp_path / "corpus", tmp_path / "machine-a", tmp_path / "machine-b"
    shutil.copytree(SEEDS, corpus)
    assert ingested([corpus], a, env)["added"] == 5

    # B has never ingested anything: its empty cache catches up from the server and answers as A does
    first_b = answer(b, env)
    assert not first_b["abstained"] and "زاخاروفا" in first_b["answer"]
    assert first_b == answer(a, env)
    query = "اتصال هاتفي بين لافروف وكيري"
    assert search(b, env, query) == search(a, env, query)
    assert not (b / "chroma").exists() and not (a / "chroma").exists(), "vectors must live on the server"
    log = server_log(b, env)
    assert [e["seq"] for e in log] == [1, 2, 3, 4, 5] and {e["op"] for e in log} == {"put"}

    long_lived = Dalil(settings(tmp_path / "machine-c", env))  # as `dalil serve` or `dalil chat` keep it
    assert long_lived.search(query).model_dump(mode="json") == search(a, env, query)

    # an updated article reaches B
    changed = corpus / "002_e83c710a14adfa23.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n" + NEW_WORDS + "\n", encoding="utf-8")
    report = ingested([corpus], a, env)
    assert report["updated"] == 1 and report["unchanged"] == 4
    found_b = search(b, env, "مكتبة المخطوطات في تمبكتو")
    assert found_b["hits"] and "تمبكتو" in found_b["hits"][0]["text"] and found_b["hits"][0]["file"] == changed.name
    assert found_b == search(a, env, "مكتبة المخطوطات في تمبكتو")
    long_lived.refresh_store()  # what the server and the chat do before each question
    assert long_lived.search("مكتبة المخطوطات في تمبكتو").model_dump(mode="json") == found_b
    long_lived.store.close()
    assert server_log(b, env)[-1]["seq"] == 6

    # a removed article is gone from B too (no CLI command: the pipeline's remove(), on A)
    gone = sorted(files_cited(search(b, env, query)) - {changed.name})[0]
    dalil_a = Dalil(settings(a, env))
    try:
        assert dalil_a.remove([gone]) == [gone]
    finally:
        dalil_a.store.close()
    after_b = search(b, env, query)
    assert gone not in files_cited(after_b) and after_b == search(a, env, query)
    assert answer(b, env) == answer(a, env)
    last = server_log(b, env)[-1]
    assert last["seq"] == 7 and last["op"] == "delete"
    dalil_b = Dalil(settings(b, env))
    try:
        assert dalil_b.store.registry.counts()[0] == 4
        assert gone not in {d.file for d in dalil_b.store.registry.documents(with_text=False)}
    finally:
        dalil_b.store.close()


def test_two_writers_at_once_both_land_with_distinct_sequence_numbers(server: ChromaServer, tmp_path: Path) -> None:
    env = env_for(server.url, "writers")
    first, second = tmp_path / "first", tmp_path / "second"
    names = sorted(p.name for p in SEEDS.glob("*.txt"))
    for folder, part in ((first, names[:2]), (second, names[2:])):
        folder.mkdir()
        manifest = yaml.safe_load((SEEDS / "manifest.yaml").read_text(encoding="utf-8"))
        manifest["articles"] = [a for a in manifest["articles"] if a["file"] in part]
        (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")
        for name in part:
            shutil.copy(SEEDS / name, folder)
    writers = [ingest([first], tmp_path / "writer-1", env), ingest([second], tmp_path / "writer-2", env)]
    outputs = [w.communicate(timeout=300) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [o[1] for o in outputs]
    assert [json.loads(o[0])["added"] for o in outputs] == [2, 3]

    # each writer caught up with the other when it took the lease: the one that wrote second holds all five
    # (read from the registries themselves: opening a Dalil would catch up first)
    counts = []
    for store in ("writer-1", "writer-2"):
        with closing(sqlite3.connect(next((tmp_path / store).glob("*.sqlite")))) as db:
            counts.append(db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    assert sorted(counts) in ([2, 5], [3, 5]), counts

    log = server_log(tmp_path / "reader", env)
    assert [e["seq"] for e in log] == [1, 2, 3, 4, 5] and {e["op"] for e in log} == {"put"}, log
    reader = Dalil(settings(tmp_path / "reader", env))
    try:
        file_of = {d.doc_id: d.file for d in reader.store.registry.documents(with_text=False)}
    finally:
        reader.store.close()
    assert sorted(file_of.values()) == names and {e["doc_id"] for e in log} == set(file_of)
    # one writer's documents got consecutive numbers: the lease kept the two from interleaving
    order = ["first" if file_of[e["doc_id"]] in names[:2] else "second" for e in log]
    assert order in (["first"] * 2 + ["second"] * 3, ["second"] * 3 + ["first"] * 2), order


def test_the_writer_lease_is_exclusive_and_an_expired_one_is_broken(server: ChromaServer) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from agent.index.locks import ServerLease

    client = chromadb.HttpClient(host="127.0.0.1", port=server.port, settings=ChromaSettings(anonymized_telemetry=False))
    first = ServerLease(client, "lease-test", seconds=60)
    assert first.acquire(0)
    second = ServerLease(client, "lease-test", seconds=60)
    started = time.monotonic()
    assert not second.acquire(0.5) and time.monotonic() - started >= 0.5
    first.release()
    assert second.acquire(0)
    second.check()
    second.release()

    stale = ServerLease(client, "lease-test", seconds=0.5)
    assert stale.acquire(0)
    stale._stop.set()  # a writer that died: no heartbeat any more
    time.sleep(1)
    taker = ServerLease(client, "lease-test", seconds=60)
    assert taker.acquire(5)
    with pytest.raises(Exception, match="lost the Chroma server's writer lease"):
        stale.check()
    taker.release()


def test_the_log_is_read_a_page_at_a_time_in_sequence_order(server: ChromaServer) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from agent.index.shared import _entries

    client = chromadb.HttpClient(host="127.0.0.1", port=server.port, settings=ChromaSettings(anonymized_telemetry=False))
    log = client.create_collection("paging__log", embedding_function=None)
    seqs = [5, 3, 1, 4, 2, 7, 6]
    log.add(ids=[f"{n:012d}" for n in seqs], embeddings=[[0.0]] * len(seqs),
            metadatas=[{"seq": n, "op": "put", "doc_id": f"d{n}", "content_hash": ""} for n in seqs])
    assert [e["seq"] for e in _entries(log, None, page=2)] == [1, 2, 3, 4, 5, 6, 7]
    assert [e["seq"] for e in _entries(log, {"seq": {"$gt": 2}}, page=2)] == [3, 4, 5, 6, 7]
    assert [e["seq"] for e in _entries(log, {"seq": {"$gt": 7}}, page=2)] == []


def test_a_machine_with_other_chunking_settings_refuses_clearly(server: ChromaServer, tmp_path: Path) -> None:
    env = env_for(server.url, "shape")
    assert ingested([SEEDS], tmp_path / "a", env)["added"] == 5
    code, stdout, stderr = cli(["ask", QUESTION, "--json"], tmp_path / "b", {**env, "DALIL_CHUNKING_CHUNK_TOKENS": "150"})
    assert code == 1 and not stdout
    assert "built with other embedding or chunking settings" in stderr and "chunking.chunk_tokens = 200" in stderr, stderr
    # an ingest with those settings is not refused: it starts a corpus of its own on the server, as in a store folder
    other = {**env, "DALIL_CHUNKING_CHUNK_TOKENS": "150"}
    assert ingested([SEEDS], tmp_path / "b", other)["added"] == 5
    assert not answer(tmp_path / "c", other)["abstained"]


def test_rebuilding_the_vectors_on_a_server_keeps_the_answers_and_gives_the_lease_back(server: ChromaServer, tmp_path: Path) -> None:
    env = env_for(server.url, "rebuild")
    assert ingested([SEEDS], tmp_path / "a", env)["added"] == 5
    before = answer(tmp_path / "b", env)
    dalil = Dalil(settings(tmp_path / "a", env))
    try:
        assert dalil.rebuild_vectors().vectors == 65
    finally:
        dalil.store.close()
    # the lease was given back at once (not left to expire): another writer gets it without waiting
    assert ingested([SEEDS], tmp_path / "c", {**env, "DALIL_STORE_LOCK_TIMEOUT": "2"})["unchanged"] == 5
    assert answer(tmp_path / "b", env) == before


def test_a_reader_refuses_while_the_server_is_down_and_answers_once_it_is_back(tmp_path: Path) -> None:
    assert CHROMA.exists(), "the chromadb package's `chroma` command is missing"
    chroma = ChromaServer(tmp_path / "chroma-data")
    chroma.start()
    try:
        env = env_for(chroma.url, "restart")
        a, b = tmp_path / "a", tmp_path / "b"
        assert ingested([SEEDS], a, env)["added"] == 5
        before = answer(b, env)
        assert not before["abstained"]

        chroma.kill()
        secret = {**env, "DALIL_STORE_URL": f"http://analyst:s3cret-pw@127.0.0.1:{chroma.port}"}
        for who in (b, tmp_path / "c"):  # a cache already filled, and an empty one
            code, stdout, stderr = cli(["ask", QUESTION, "--json"], who, secret)
            assert code == 1 and not stdout, stdout
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and "cannot bring the local cache up to date from http://****@127.0.0.1" in lines[0], stderr
            assert "s3cret" not in stderr and "Traceback" not in stderr

        chroma.start()
        assert answer(b, env) == before
        assert answer(tmp_path / "c", env) == before

        chroma.kill()  # a server that lost its data: the cache must not pass off what it kept as the corpus
        shutil.rmtree(chroma.data)
        chroma.start()
        code, stdout, stderr = cli(["ask", QUESTION, "--json"], b, env)
        assert code == 1 and not stdout and "the server lost its data or is another one" in stderr, stderr
    finally:
        chroma.kill()
