"""Nothing lost, nothing crashes: no sequence of Dalil processes may damage a store.

Every process that opens the embedded Chroma writes to its files (readers included), so one
process at a time holds the vector lease (``agent.index.locks``). These tests run real `dalil`
processes: searches in a loop while an ingest writes, a reader while a writer holds the lease,
a long-lived reader that must hand the lease over, and a `kill -9` (a failpoint SIGKILLs the
process) at each commit point of an update, followed by the original files coming back.
They also cover the store problems that must be one clear line: a store path that is a file,
a registry from another Dalil version, and a store built with another embedder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from agent.index.locks import VectorLease
from agent.index.store import CRASH_POINTS, SCHEMA_VERSION
from tests.test_reliability_crash import child_env, dalil_cmd, write_articles

QUERY = "لافروف كيري حلب"
ROOT = Path(__file__).resolve().parents[1]
ARTICLES = 1500


def run(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(dalil_cmd(*args), capture_output=True, text=True, encoding="utf-8", stdin=subprocess.DEVNULL,
                          env=child_env(DALIL_SERVER_USE="false", **env), timeout=timeout)


def chroma_files(store: Path) -> dict[str, str]:
    return {str(p.relative_to(store)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted((store / "chroma").rglob("*")) if p.is_file()}


def vector_ids_and_chunks(store: Path) -> tuple[set[str], set[str], int]:
    """(ids in Chroma, chunk ids in the registry, documents listed as being written), read in a child process."""
    script = textwrap.dedent("""
        import json, sys
        from pathlib import Path
        from agent.config import load_settings
        from agent.index.store import Store
        store = Store(load_settings(None, {"store": {"path": Path(sys.argv[1])}}))
        with store.open_collection() as collection:
            ids = collection.get(include=[])["ids"]
        chunks = [c.chunk_id for c in store.registry.chunks()]
        print(json.dumps([ids, chunks, len(store.registry.unfinished())]))
        store.close()
    """)
    done = subprocess.run([sys.executable, "-c", script, str(store)], capture_output=True, text=True, env=child_env(), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    ids, chunks, unfinished = json.loads(done.stdout)
    assert len(ids) == len(set(ids)) and len(chunks) == len(set(chunks))
    return set(ids), set(chunks), unfinished


def doctor_failures(store: Path) -> list[dict]:
    done = run("doctor", "--store", str(store), "--json")
    return [c for c in json.loads(done.stdout) if not c["ok"]]


# --- 1. searching while another process ingests ---------------------------------------------


@pytest.mark.slow
def test_searches_in_a_loop_during_an_ingest_never_crash_or_damage_the_store(tmp_path: Path, store: Path) -> None:
    """The red-team repro, bounded: before the lease, a search beside this ingest segfaulted in Chroma's
    query and every later search, ask and doctor segfaulted too."""
    corpus = tmp_path / "corpus"  # 1,500 articles: before the lease, 1,000 crashed it in one run of two, 2,000 in every run
    made = subprocess.run([sys.executable, str(ROOT / "bench" / "corpus.py"), "--articles", str(ARTICLES), "--out", str(corpus)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    results: list[subprocess.CompletedProcess[str]] = []
    ingest = subprocess.Popen(dalil_cmd("ingest", str(corpus), "--store", str(store), "--json"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL, env=child_env(DALIL_SERVER_USE="false"))

    def loop() -> None:
        while ingest.poll() is None:
            results.append(run("search", QUERY, "--store", str(store), "--json", "-k", "5"))

    readers = [threading.Thread(target=loop) for _ in range(2)]
    for reader in readers:
        reader.start()
    out, err = ingest.communicate(timeout=600)
    for reader in readers:
        reader.join(timeout=300)
    assert ingest.returncode == 0, err[-3000:]
    assert json.loads(out)["added"] == ARTICLES
    assert len(results) >= 2, "no search ran beside the ingest"
    for done in results:
        assert done.returncode == 0, done.stderr[-2000:]
        payload = json.loads(done.stdout)
        assert payload["hits"], payload
        assert all("BM25" in w for w in payload["warnings"]), payload["warnings"]
    assert any(json.loads(d.stdout)["warnings"] for d in results), "no search met the ingest holding the vector store"

    ids, chunks, unfinished = vector_ids_and_chunks(store)
    assert ids == chunks and unfinished == 0
    assert doctor_failures(store) == []
    after = run("search", QUERY, "--store", str(store), "--json")
    assert after.returncode == 0 and json.loads(after.stdout)["warnings"] == []


def _hold_writer(store: Path) -> tuple[FileLock, VectorLease]:
    """Stand in for a running `dalil ingest`: its write lock and the vector lease, held by this process."""
    writer = FileLock(str(store / "ingest.lock"))
    writer.acquire(timeout=5)
    lease = VectorLease(store)
    assert lease.acquire(5)
    return writer, lease


@pytest.mark.slow
def test_a_reader_beside_a_writer_answers_from_bm25_says_so_and_touches_no_vector_file(store: Path) -> None:
    before = chroma_files(store)
    writer, lease = _hold_writer(store)
    try:
        started = time.monotonic()
        searched = run("search", QUERY, "--store", str(store), "--json")
        waited = time.monotonic() - started
        text = run("search", QUERY, "--store", str(store))
        asked = run("ask", "متى جرى الاتصال الهاتفي بين لافروف وكيري حول حلب؟", "--store", str(store), "--json")
        dense = run("search", QUERY, "--store", str(store), "--mode", "dense")
    finally:
        lease.release()
        writer.release()
    assert searched.returncode == 0, searched.stderr
    payload = json.loads(searched.stdout)
    assert payload["hits"] and payload["warnings"] == [
        "a `dalil ingest` is writing the vector store, so these results come from BM25 (lexical) search alone"]
    assert waited < 30  # no waiting for a writer that keeps the lease for its whole run (process start-up aside)
    assert text.returncode == 0 and "note: a `dalil ingest` is writing the vector store" in text.stdout
    assert asked.returncode == 0 and json.loads(asked.stdout)["citations"]
    assert any("BM25" in w for w in json.loads(asked.stdout)["warnings"])
    assert dense.returncode == 1 and dense.stdout == ""
    lines = dense.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dalil: error: a `dalil ingest` is writing the vector store") and "--mode bm25" in lines[0]
    assert chroma_files(store) == before


LONG_LIVED_READER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from agent.config import load_settings
    from agent.pipeline import Dalil
    dalil = Dalil(load_settings(None, {"store": {"path": Path(sys.argv[1])}}))
    assert dalil.search("لافروف", 3).warnings == []
    print("READY", flush=True)
    sys.stdin.readline()  # idle, the vector store open, until the test says go on
    result = dalil.search("لافروف", 3)
    print("WARNINGS", result.warnings, flush=True)
    time.sleep(600)
""")


@pytest.mark.slow
def test_an_idle_long_lived_reader_hands_the_vectors_over_to_an_ingest_and_to_other_readers(tmp_path: Path, store: Path) -> None:
    """`dalil serve` and `dalil chat` keep the store open between questions: they must not block an
    ingest (which waits only store.lock_timeout) nor leave other searches to BM25 alone."""
    reader = subprocess.Popen([sys.executable, "-c", LONG_LIVED_READER, str(store)], stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "READY", reader.stderr.read() if reader.poll() is not None else ""
        assert not VectorLease(store).acquire(0)  # it holds the lease while idle

        other = run("search", QUERY, "--store", str(store), "--json")
        assert other.returncode == 0 and json.loads(other.stdout)["warnings"] == []

        corpus = tmp_path / "corpus"
        write_articles(corpus, 3, prefix="late")
        ingested = run("ingest", str(corpus), "--store", str(store), "--json", DALIL_STORE_LOCK_TIMEOUT="20")
        assert ingested.returncode == 0, ingested.stderr
        assert json.loads(ingested.stdout)["added"] == 3

        reader.stdin.write("go\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "WARNINGS []"  # it took the lease back for its next question
    finally:
        reader.kill()
        reader.wait()
    ids, chunks, _ = vector_ids_and_chunks(store)
    assert ids == chunks


# --- 2. a crash during an update loses nothing ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_kill_9_at_each_commit_point_of_an_update_then_the_original_files_come_back(tmp_path: Path, point: str) -> None:
    """Red-team repro: an update killed after the old vectors were deleted, the original files restored,
    and the next ingest said `unchanged` while Chroma lacked the document's vectors for good."""
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    names = write_articles(corpus, 12, prefix="u")
    assert run("ingest", str(corpus), "--store", str(store)).returncode == 0
    baseline, _, _ = vector_ids_and_chunks(store)
    originals = {name: (corpus / name).read_text(encoding="utf-8") for name in names}
    for name, text in originals.items():  # every text changes: new chunk offsets, new ids
        (corpus / name).write_text("تحديث: " + text.replace("لافروف", "الوزير الروسي"), encoding="utf-8")

    crashed = run("ingest", str(corpus), "--store", str(store), DALIL_CRASH_AT=point)
    assert crashed.returncode == -9, crashed.stderr[-2000:]

    for name, text in originals.items():
        (corpus / name).write_text(text, encoding="utf-8")
    again = run("ingest", str(corpus), "--store", str(store), "--json")
    assert again.returncode == 0, again.stderr[-2000:]
    report = json.loads(again.stdout)
    # before the rows commit, the registry still has the original text: those documents are "repaired";
    # after, it has the update, so the original text is an update back
    redone = report["repaired"] if point in CRASH_POINTS[:3] else report["updated"]
    assert redone >= 1 and report["unchanged"] + report["repaired"] + report["updated"] == len(names)

    ids, chunks, unfinished = vector_ids_and_chunks(store)
    assert ids == chunks == baseline and unfinished == 0
    assert doctor_failures(store) == []
    found = run("search", "لافروف", "--store", str(store), "--json", "--mode", "dense")
    assert found.returncode == 0 and json.loads(found.stdout)["hits"]


# --- damage is found and repaired ----------------------------------------------------------------


@pytest.mark.slow
def test_doctor_finds_a_damaged_vector_index_and_repair_rebuilds_it_from_the_registry(store: Path) -> None:
    before = json.loads(run("search", QUERY, "--store", str(store), "--json", "--mode", "dense").stdout)
    chroma_db = store / "chroma" / "chroma.sqlite3"
    with chroma_db.open("r+b") as handle:  # every page after the first overwritten: what a torn write can leave
        handle.seek(4096)
        handle.write(b"\xff" * (chroma_db.stat().st_size - 4096))

    failures = doctor_failures(store)
    assert [c["name"] for c in failures] == ["vector index"]
    assert "the vector index cannot be read" in failures[0]["detail"] and "malformed" in failures[0]["detail"]
    assert "dalil doctor --repair" in failures[0]["fix"]
    meanwhile = run("search", QUERY, "--store", str(store), "--json")  # hybrid goes on with BM25 and says why
    assert meanwhile.returncode == 0 and json.loads(meanwhile.stdout)["hits"]
    assert "dalil doctor --repair" in json.loads(meanwhile.stdout)["warnings"][0]
    assert "dalil doctor --repair" in one_error_line(run("search", QUERY, "--store", str(store), "--mode", "dense"))

    repaired = run("doctor", "--repair", "--store", str(store))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "repair: 65 vectors rebuilt from the registry" in repaired.stderr
    assert any(p.name.startswith("chroma.damaged-") for p in store.iterdir())  # kept, not deleted
    after = json.loads(run("search", QUERY, "--store", str(store), "--json", "--mode", "dense").stdout)
    assert [h["chunk_id"] for h in after["hits"]] == [h["chunk_id"] for h in before["hits"]]


# --- store problems are one clear line, and nothing is written ------------------------------


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dalil: error: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["file", "devnull"])
def test_a_store_path_that_is_not_a_folder_is_one_line(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "store.txt" if kind == "file" else Path("/dev/null")
    if kind == "file":
        path.write_text("not a store", encoding="utf-8")
    for args in (["ingest", "seeds"], ["search", QUERY], ["ask", "من بادر؟"]):
        line = one_error_line(run(*args, "--store", str(path)))
        assert f"the store path {path} is not a folder" in line
    if kind == "file":
        assert path.read_text(encoding="utf-8") == "not a store"


def _registry(store: Path) -> Path:
    return next(store.glob("dalil-*.sqlite"))


@pytest.mark.slow
def test_a_registry_from_a_newer_dalil_is_refused_before_anything_is_written(store: Path, seeds_dir: Path) -> None:
    registry = _registry(store)
    db = sqlite3.connect(registry)
    db.execute("ALTER TABLE documents ADD COLUMN summary TEXT")  # a later Dalil's extra column
    db.commit()
    db.close()
    before = (registry.read_bytes(), chroma_files(store))
    for args in (["ingest", str(seeds_dir)], ["search", QUERY]):
        line = one_error_line(run(*args, "--store", str(store)))
        assert "table documents has 14 columns, expected 13" in line
    db = sqlite3.connect(registry)
    db.execute("PRAGMA user_version = 7")
    db.commit()
    db.close()
    before = (registry.read_bytes(), chroma_files(store))
    line = one_error_line(run("ingest", str(seeds_dir), "--store", str(store)))
    assert f"written by a newer Dalil (layout 7; this one reads {SCHEMA_VERSION})" in line
    assert (registry.read_bytes(), chroma_files(store)) == before


@pytest.mark.slow
def test_a_store_built_with_another_embedder_says_which_settings_it_needs(store: Path) -> None:
    def files() -> list[str]:  # SQLite's -wal and -shm come and go with its connections: the registry's, not a new one
        return sorted(p.name for p in store.iterdir() if not p.name.endswith(("-wal", "-shm")))

    files_before = files()
    line = one_error_line(run("search", QUERY, "--store", str(store), DALIL_EMBEDDINGS_PROVIDER="e5"))
    assert "was built with other embedding or chunking settings (embeddings.provider = local" in line
    assert "the current ones (embeddings.provider = e5" in line
    assert files() == files_before  # no empty registry left behind
    empty = one_error_line(run("search", QUERY, "--store", str(store.parent / "nothing-here")))
    assert "is empty: run `dalil ingest seeds` first" in empty
    assert not (store.parent / "nothing-here").exists()


@pytest.mark.slow
def test_a_legacy_registry_without_a_layout_version_is_adopted(store: Path) -> None:
    registry = _registry(store)
    db = sqlite3.connect(registry)
    db.execute("PRAGMA user_version = 0")
    db.execute("DELETE FROM meta WHERE key = 'shape'")
    db.commit()
    db.close()
    done = run("search", QUERY, "--store", str(store), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["hits"]
    assert sqlite3.connect(registry).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


@pytest.mark.slow
def test_copying_the_store_while_no_process_holds_it_is_safe(store: Path, tmp_path: Path) -> None:
    """The lease files travel with the store and mean nothing once copied: the copy opens normally."""
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    done = run("search", QUERY, "--store", str(copy), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["warnings"] == []


# --- a full disk during an ingest ----------------------------------------------------------------

FULL_DISK = textwrap.dedent("""
    set -u
    mnt=$1; out=$2; corpus=$3; seeded=$4
    mount -t tmpfs -o size=4m tmpfs "$mnt" || exit 90
    cp -r "$seeded" "$mnt/store"
    "$DALIL" ingest "$corpus" --store "$mnt/store" > "$out/ingest1.out" 2> "$out/ingest1.err"; echo $? > "$out/ingest1.rc"
    mount -o remount,size=300m "$mnt"
    "$DALIL" doctor --json --store "$mnt/store" > "$out/doctor1.out" 2>&1; echo $? > "$out/doctor1.rc"
    "$DALIL" ingest "$corpus" --store "$mnt/store" --json > "$out/ingest2.out" 2> "$out/ingest2.err"; echo $? > "$out/ingest2.rc"
    "$DALIL" doctor --json --store "$mnt/store" > "$out/doctor2.out" 2>&1; echo $? > "$out/doctor2.rc"
""")


@pytest.mark.slow
def test_a_full_disk_during_an_ingest_is_one_line_and_the_store_stays_consistent(tmp_path: Path, seeded_store: Path) -> None:
    """A real full disk: a 4 MB tmpfs in a private mount namespace (``unshare``: no root needed where user
    namespaces are allowed), filled by the ingest, then grown so the same ingest can finish."""
    corpus = tmp_path / "corpus"
    made = subprocess.run([sys.executable, str(ROOT / "bench" / "corpus.py"), "--articles", "1000", "--out", str(corpus)],
                          capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    (tmp_path / "mnt").mkdir()
    script = tmp_path / "full.sh"
    script.write_text(FULL_DISK, encoding="utf-8")
    env = child_env(DALIL_SERVER_USE="false", DALIL="/".join(dalil_cmd())) | {"HOME": str(tmp_path)}
    done = subprocess.run(["unshare", "--mount", "--map-root-user", "bash", str(script), str(tmp_path / "mnt"), str(tmp_path),
                           str(corpus), str(seeded_store)], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, f"could not make a small disk to fill: {done.stderr}"

    def read(name: str) -> str:
        return (tmp_path / name).read_text(encoding="utf-8")

    assert read("ingest1.rc").strip() == "1", read("ingest1.err")
    lines = read("ingest1.err").strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dalil: error: the disk holding the store at ") and " is full (" in lines[0], lines
    assert "Traceback" not in read("ingest1.err")
    assert read("doctor1.rc").strip() == "0", read("doctor1.out")  # consistent: what was written is whole
    assert read("ingest2.rc").strip() == "0", read("ingest2.err")
    second = json.loads(read("ingest2.out"))
    assert second["added"] + second["unchanged"] + second["repaired"] == 1000
    assert read("doctor2.rc").strip() == "0", read("doctor2.out")
