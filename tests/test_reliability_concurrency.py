"""Concurrency: two `dalil ingest` processes on one store, and readers during an ingest.

A long ingest (2,000 generated articles into a copy of the seeded store) runs as a child
process. Meanwhile a second ingest with ``DALIL_STORE_LOCK_TIMEOUT=0`` must fail at once
with one clear line and write nothing; a third with a long timeout must wait and then
succeed; `dalil search --json` and `dalil ask --json` must keep answering. Writes are never
interleaved: the waiting ingest's rows all come after the long ingest's, and the final
store is consistent (`dalil doctor` exit 0).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.test_reliability_crash import child_env, dalil_cmd, documents_in, registry_query, write_articles

N_LONG = 2000  # long enough (about 20 s at ~100 articles/s) for the second ingest and the readers to run during it
LOCK_MESSAGE = "another `dalil ingest` is writing to the store"


def start(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(dalil_cmd(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, encoding="utf-8", env=child_env(**env))


def rowids(store: Path, prefix: str) -> list[int]:
    return [r[0] for r in registry_query(store, "SELECT rowid FROM documents WHERE file LIKE ?", (f"{prefix}%",))]


@pytest.mark.slow
def test_second_ingest_fails_or_waits_and_readers_keep_working(tmp_path: Path, seeded_store: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(seeded_store, store)
    seeds_docs = documents_in(store)
    long_corpus, small_corpus = tmp_path / "long", tmp_path / "small"
    write_articles(long_corpus, N_LONG, prefix="long")
    write_articles(small_corpus, 3, prefix="small", seed=99)

    first = start("ingest", str(long_corpus), "--store", str(store), "--json")
    children: list[subprocess.Popen[str]] = [first]
    try:
        deadline = time.monotonic() + 120
        while documents_in(store) <= seeds_docs:  # a row written: the first ingest holds the lock
            assert first.poll() is None, first.communicate()[1][-2000:]
            assert time.monotonic() < deadline
            time.sleep(0.02)

        # 1. no waiting: fails at once, one line, nothing written
        refused = subprocess.run(dalil_cmd("ingest", str(small_corpus), "--store", str(store)), capture_output=True, text=True,
                                 encoding="utf-8", stdin=subprocess.DEVNULL, env=child_env(DALIL_STORE_LOCK_TIMEOUT="0"), timeout=120)
        assert first.poll() is None, "the first ingest finished too early for the test to mean anything"
        assert refused.returncode == 1, refused.stdout + refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dalil: error: ") and LOCK_MESSAGE in lines[0], refused.stderr
        assert "Traceback" not in refused.stderr and rowids(store, "small") == []

        # 2. waiting, and 3. readers, while the first ingest is still writing
        waiting = start("ingest", str(small_corpus), "--store", str(store), "--json", DALIL_STORE_LOCK_TIMEOUT="300")
        readers = {
            "search": start("search", "لافروف كيري حلب", "--store", str(store), "--json"),
            "ask": start("ask", "ماذا قالت ماريا زاخاروفا؟", "--store", str(store), "--json"),
            "search-en": start("search", "Lavrov Kerry", "--store", str(store), "--json", "-k", "3"),
        }
        children += [waiting, *readers.values()]
        done_while_writing = 0
        outputs: dict[str, str] = {}
        while readers:
            for name, proc in list(readers.items()):
                if proc.poll() is not None:
                    out, err = proc.communicate()
                    assert proc.returncode == 0, f"{name} failed during an ingest: {err[-2000:]}"
                    outputs[name] = out
                    done_while_writing += first.poll() is None
                    del readers[name]
            if documents_in(store) - seeds_docs < N_LONG:
                assert rowids(store, "small") == [], "the waiting ingest wrote while the first was still writing"
            time.sleep(0.05)
        assert done_while_writing >= 1, "no reader finished while the ingest was running"
        assert json.loads(outputs["search"])["hits"] and json.loads(outputs["search-en"])["query"] == "Lavrov Kerry"
        answer = json.loads(outputs["ask"])
        assert answer["mode"] == "extractive" and not answer["abstained"] and answer["citations"]

        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-3000:]
        assert json.loads(out)["added"] == N_LONG
        out, err = waiting.communicate(timeout=300)
        assert waiting.returncode == 0, err[-3000:]
        assert json.loads(out)["added"] == 3
    finally:
        for proc in children:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    assert max(rowids(store, "long")) < min(rowids(store, "small")), "the two ingests' writes interleaved"
    assert documents_in(store) == seeds_docs + N_LONG + 3
    doctor = CliRunner().invoke(app, ["doctor", "--store", str(store), "--json"])
    failed = [c for c in json.loads(doctor.stdout) if not c["ok"]]
    assert doctor.exit_code == 0 and not failed, failed


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from filelock import FileLock
    lock = FileLock(sys.argv[1])
    lock.acquire()
    print("HOLDING", flush=True)
    time.sleep(120)
    """
)


def test_lock_refusal_is_one_line_when_stderr_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from cron with ``2>>ingest.log`` stderr is no terminal and rich wraps at 80 columns; the
    refusal must still be one line (a log reader greps it, a wrapped path is cut in two)."""
    store = tmp_path / "store"
    store.mkdir()
    articles = tmp_path / "articles"
    write_articles(articles, 1)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(store / "ingest.lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HOLDING"
        monkeypatch.setenv("COLUMNS", "80")
        monkeypatch.setenv("DALIL_STORE_LOCK_TIMEOUT", "0")
        result = CliRunner().invoke(app, ["ingest", str(articles), "--store", str(store)])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert LOCK_MESSAGE in result.stderr.replace("\n", " ")
    assert len(lines) == 1, f"the refusal was wrapped into {len(lines)} lines: {lines}"
