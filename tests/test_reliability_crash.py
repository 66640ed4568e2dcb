"""Crash safety: `kill -9` of a real `dalil ingest` subprocess, then ingest again.

The corpus is 200 articles of ~4 KB built from the seeds' sentences (distinct dates in a
manifest), plus one 2.5 MB article in the middle. The first run is killed early (polling the
registry's document count); the resumed run is killed mid-way, inside the big article, once a
batch of its vectors is in Chroma but its registry row is not committed; the third run
finishes. After each kill the store must open and hold no half-written document (every
registry chunk has its vector, every document all its chunks); articles whose vectors a kill
left behind are then updated (new text, new chunk ids), as a crawler might. After the last
run everything must match: all documents in the registry, Chroma vector count == registry
chunk count, no chunk stored twice, `dalil doctor` exit 0 and `dalil ask` working. Another
case covers a kill between the last document's commit and the BM25 save.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
N_ARTICLES = 200
ARTICLE_BYTES = 4000
BIG_INDEX, BIG_BYTES = 100, 2_500_000  # ~2,400 chunks: three write batches of 1,024
QUESTION = "ماذا قالت ماريا زاخاروفا؟"


# --- shared helpers (also used by test_reliability_concurrency) -----------------------------


def seed_sentences() -> list[str]:
    """Distinct sentences (6+ words) of the seed articles, in file order."""
    from agent.text import arabic

    out: list[str] = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out += [s.of(text).strip() for s in arabic.sentence_spans(text) if len(arabic.words(s.of(text))) >= 6]
    return list(dict.fromkeys(out))


def write_articles(folder: Path, n: int, prefix: str = "a", seed: int = 7, first_day: dt.date = dt.date(2015, 1, 1),
                   big: dict[int, int] | None = None) -> list[str]:
    """``n`` distinct ~4 KB articles (paragraphs of 4 seed sentences) plus a manifest with one date each;
    ``big`` maps article indexes to larger sizes in bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    sentences = seed_sentences()
    rng = random.Random(seed)
    names: list[str] = []
    manifest = ["articles:"]
    for i in range(n):
        paragraphs: list[str] = []
        size = ARTICLE_BYTES if big is None else big.get(i, ARTICLE_BYTES)
        written = 0
        while written < size:
            paragraphs.append(" ".join(rng.sample(sentences, 4)))
            written += len(paragraphs[-1].encode()) + 1
        name = f"{prefix}{i:03d}.txt"
        (folder / name).write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
        manifest.append(f"  - file: {name}\n    published: {first_day + dt.timedelta(days=i)}\n    outlet: وكالة {i % 7}")
        names.append(name)
    (folder / "manifest.yaml").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return names


DALIL = Path(sys.executable).parent / "dalil"


def dalil_cmd(*args: str) -> list[str]:
    """`dalil ARGS` as a child process: the console script (it honours PYTHONPATH, e.g. for a mutant copy;
    not ``python -m agent``, so that the test runs what users run)."""
    return [str(DALIL), *args]


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONIOENCODING": "utf-8", **extra}


def registry_file(store: Path) -> Path | None:
    found = sorted(store.glob("*.sqlite"))
    return found[0] if found else None


def registry_query(store: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the registry from outside (as another process would), [] when it does not exist yet."""
    path = registry_file(store)
    if path is None:
        return []
    try:
        db = sqlite3.connect(path, timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:  # created but schema not written yet
        return []


def documents_in(store: Path) -> int:
    rows = registry_query(store, "SELECT COUNT(*) FROM documents")
    return rows[0][0] if rows else 0


def uncommitted_vectors(store: Path) -> int | None:
    """Vectors in Chroma beyond the registry's committed chunks (None: Chroma's tables are not readable).
    Read from Chroma's own SQLite file: only a timing aid for the kill, never asserted on."""
    rows = registry_query(store, "SELECT COUNT(*) FROM chunks")
    try:
        db = sqlite3.connect(store / "chroma" / "chroma.sqlite3", timeout=10)
        try:
            vectors = db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return vectors - (rows[0][0] if rows else 0)


def inside_the_big_article(store: Path) -> Callable[[], bool]:
    """True once the articles before the big one are committed and a batch of its vectors is in Chroma
    (or, if Chroma's tables cannot be read, 2.5 s into it)."""
    reached: list[float] = []
    last_look = [0.0]

    def ready() -> bool:
        if documents_in(store) < BIG_INDEX:
            return False
        now = time.monotonic()
        reached[:] = reached or [now]
        if now - last_look[0] < 0.1:  # Chroma's file has a rollback journal: read it sparingly
            return False
        last_look[0] = now
        pending = uncommitted_vectors(store)
        return pending >= 512 if pending is not None else now - reached[0] > 2.5

    return ready


INSPECT = textwrap.dedent(
    """
    import collections, json, sys
    from pathlib import Path
    from agent.config import load_settings
    from agent.index.store import Store

    store = Store(load_settings(None, {"store": {"path": Path(sys.argv[1])}}))
    db = store.registry._db
    registry_ids = [r[0] for r in db.execute("SELECT chunk_id FROM chunks")]
    with store.open_collection() as collection:
        got = collection.get(include=["metadatas"])
    spans = collections.Counter((m.get("doc_id"), m.get("start_char"), m.get("end_char")) for m in got["metadatas"])
    known = set(registry_ids)
    print(json.dumps({
        "documents": [r[0] for r in db.execute("SELECT file FROM documents")],
        "registry_ids": registry_ids,
        "incomplete_documents": [r[0] for r in db.execute(
            "SELECT d.file FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id "
            "GROUP BY d.doc_id HAVING d.n_chunks = 0 OR COUNT(c.chunk_id) != d.n_chunks")],
        "chroma_ids": got["ids"],
        "chroma_count": store.vector_count(),
        "orphan_files": sorted({m["file"] for i, m in zip(got["ids"], got["metadatas"]) if i not in known}),
        "duplicate_spans": sum(c - 1 for c in spans.values() if c > 1),
    }))
    """
)


def inspect_store(store: Path) -> dict:
    """Registry and Chroma contents, read by a fresh process (no client state shared with the test)."""
    result = subprocess.run([sys.executable, "-c", INSPECT, str(store)], capture_output=True, text=True, env=child_env(), timeout=120)
    assert result.returncode == 0, f"the store does not open:\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def assert_no_half_written_document(state: dict) -> None:
    """The registry never lists a chunk whose vector is missing, nor a document with chunks missing."""
    registry, chroma = state["registry_ids"], state["chroma_ids"]
    assert len(registry) == len(set(registry)), "a chunk id appears twice in the registry"
    assert len(chroma) == len(set(chroma)), "a chunk id appears twice in Chroma"
    assert state["duplicate_spans"] == 0, "the same text span is stored twice in Chroma"
    missing = set(registry) - set(chroma)
    assert not missing, f"{len(missing)} registry chunk(s) have no vector"
    assert state["incomplete_documents"] == [], "a document is in the registry without all of its chunks"


def update_orphaned_articles(state: dict, corpus: Path) -> list[str]:
    """Articles whose vectors a kill left without registry rows get new text before the re-run (the
    crawler updated them): their chunk ids change, so the re-run must delete the old vectors, not just
    overwrite them."""
    for name in state["orphan_files"]:
        path = corpus / name
        path.write_text("تحديث: أعادت الوكالة نشر الخبر بعد تعديله.\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    return state["orphan_files"]


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, IndexError, ValueError):
            continue
        if int(ppid) == pid and state != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def ingest_and_kill(store: Path, corpus: Path, ready: Callable[[], bool], log: list[str]) -> int:
    """Start `dalil ingest`, SIGKILL it once ``ready()``; returns the registry's document count after the kill.
    Whatever processes the ingest started (the chunk-and-embed worker) must end with it."""
    proc = subprocess.Popen(dalil_cmd("ingest", str(corpus), "--store", str(store), "--json"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=child_env())
    try:
        deadline = time.monotonic() + 180
        while not ready():
            assert proc.poll() is None, f"ingest ended before the kill point: {proc.stderr.read()[-2000:]!r}"
            assert time.monotonic() < deadline, "ingest made no progress"
            time.sleep(0.01)
        children = children_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the ingest was not killed: it had already finished"
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], "a process started by the killed ingest outlived it"
    count = documents_in(store)
    log.append(f"killed at {count} documents")
    return count


def run(*args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(dalil_cmd(*args), capture_output=True, text=True, encoding="utf-8", env=child_env(),
                          stdin=subprocess.DEVNULL, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("worker", ["false", "true"], ids=["one-process", "with-worker"])
def test_kill_9_early_and_mid_way_then_ingest_finishes_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker: str) -> None:
    """Also with the chunk-and-embed worker process: killing the ingest must not leave the worker
    holding the store, and what was committed is still a prefix of the run."""
    monkeypatch.setenv("DALIL_CHUNKING_WORKER", worker)
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    names = write_articles(corpus, N_ARTICLES, big={BIG_INDEX: BIG_BYTES})
    log: list[str] = []

    early = ingest_and_kill(store, corpus, lambda: documents_in(store) >= 8, log)
    assert 8 <= early < N_ARTICLES
    after_early = inspect_store(store)
    assert_no_half_written_document(after_early)
    assert len(after_early["documents"]) == early
    updated = update_orphaned_articles(after_early, corpus)

    mid = ingest_and_kill(store, corpus, inside_the_big_article(store), log)  # the resumed run, killed in turn
    assert mid == BIG_INDEX
    after_mid = inspect_store(store)
    assert_no_half_written_document(after_mid)
    assert set(after_early["registry_ids"]) <= set(after_mid["registry_ids"]), "a resumed run lost committed documents"
    updated += update_orphaned_articles(after_mid, corpus)
    assert f"a{BIG_INDEX:03d}.txt" in updated, "the mid-way kill did not land inside the big article"

    # no lock waiting: an orphaned worker must not hold the store after its ingest was killed (a lock timeout of 0
    # fails at once). The timeout only guards against a hang: the big article alone takes ~100 s on one core, and the
    # other test worker shares the machine (speed belongs in bench/)
    final_run = subprocess.run(dalil_cmd("ingest", str(corpus), "--store", str(store), "--json"), capture_output=True, text=True,
                               encoding="utf-8", env=child_env(DALIL_STORE_LOCK_TIMEOUT="0"), stdin=subprocess.DEVNULL, timeout=600)
    assert final_run.returncode == 0, final_run.stderr[-3000:]
    report = json.loads(final_run.stdout)
    assert report["errors"] == []
    assert report["added"] == N_ARTICLES - mid and report["unchanged"] == mid

    final = inspect_store(store)
    assert sorted(final["documents"]) == names
    assert_no_half_written_document(final)
    assert final["chroma_count"] == len(final["registry_ids"]), "orphan vectors of a killed document were left in Chroma"
    assert set(final["chroma_ids"]) == set(final["registry_ids"])

    doctor = run("doctor", "--store", str(store))
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    ask = run("ask", QUESTION, "--store", str(store), "--json")
    assert ask.returncode == 0, ask.stderr[-3000:]
    answer = json.loads(ask.stdout)
    assert not answer["abstained"] and answer["citations"] and "زاخاروفا" in answer["answer"]
    print("; ".join(log), f"; orphan vectors after the kills: {after_early['chroma_count'] - len(after_early['registry_ids'])},"
          f" {after_mid['chroma_count'] - len(after_mid['registry_ids'])}; articles updated before the re-run: {updated}")


@pytest.mark.slow
def test_kill_after_the_last_document_before_the_bm25_save(tmp_path: Path, seeded_store: Path) -> None:
    """A kill after the last registry commit but before the BM25 index is written leaves the old
    index on disk (``ids.json`` is replaced last). That state is made here exactly: a complete
    ingest, then the previous index folder put back. Running ingest again must finish the job."""
    store = tmp_path / "store"
    shutil.copytree(seeded_store, store)
    bm25_dir = next(store.glob("*.bm25"))
    old_index = tmp_path / "old-bm25"
    shutil.copytree(bm25_dir, old_index)
    corpus = tmp_path / "corpus"
    write_articles(corpus, 3, prefix="late")
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(corpus), "--store", str(store), "--json"])
    assert first.exit_code == 0, first.output
    shutil.rmtree(bm25_dir)
    shutil.copytree(old_index, bm25_dir)  # the state of `kill -9` just before the BM25 save

    again = runner.invoke(app, ["ingest", str(corpus), "--store", str(store), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["unchanged"] == 3
    doctor = runner.invoke(app, ["doctor", "--store", str(store), "--json"])
    failed = [c for c in json.loads(doctor.stdout) if not c["ok"]]
    assert doctor.exit_code == 0 and not failed, f"after the re-run: {failed}"
