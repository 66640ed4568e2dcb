"""One bad file never takes the batch down, hangs it or exhausts memory.

Each test runs the real ``dalil ingest`` as a subprocess (under an address-space limit, so a
regression fails the test instead of eating the machine's memory, and with a timeout, so a hang
fails it too) on files made in ``tmp_path``, then checks the exit code, the one stderr line per
bad file (with the line number for JSONL) and what the store holds afterwards.

Unreadable files and folders are made with ``chmod 000``. When the tests run as root, which
reads through any mode, the child process first drops ``CAP_DAC_OVERRIDE`` and
``CAP_DAC_READ_SEARCH`` from its capability bounding set, so the ``exec``'d ``dalil`` meets the
permission bits like any user would.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.pipeline import Dalil

DALIL = Path(sys.executable).parent / "dalil"
GOOD = "أعلنت وزارة الخارجية الروسية أن لافروف وكيري بحثا في اتصال هاتفي هدنة إنسانية في مدينة حلب.\n"
OTHER = "وقالت الخارجية الأمريكية إن كيري سيلتقي لافروف في لوزان لبحث وقف إطلاق النار.\n"
THIRD = "وذكرت الأمم المتحدة أن قوافل المساعدات لم تدخل الأحياء الشرقية من حلب منذ أسبوعين.\n"
MEMORY_LIMIT = 1536 * 2**20  # address space of every child: seeds need under 1 GiB; a runaway read or n-gramming hits it
THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # per-thread buffers would count against the limit on many cores
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def _limit_child(drop_dac: bool) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    if drop_dac:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def ingest(*paths: Path, store: Path, env: dict[str, str] | None = None, timeout: float = 120,
           respect_permissions: bool = False) -> tuple[int, list[str], dict]:
    """``dalil ingest PATHS --json``: exit code, non-empty stderr lines, the JSON report."""
    drop = respect_permissions and os.geteuid() == 0
    done = subprocess.run(
        [str(DALIL), "ingest", *map(str, paths), "--store", str(store), "--json"],
        capture_output=True, text=True, encoding="utf-8", errors="backslashreplace", timeout=timeout,
        env={**os.environ, **THREADS, **(env or {})}, preexec_fn=lambda: _limit_child(drop),
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, lines, report


def stored(store: Path) -> dict[str, object]:
    """Label (``file`` or ``file#id``) → document record, after checking Chroma agrees with the registry."""
    dalil = Dalil(load_settings(None, {"store": {"path": store}}))
    docs, chunks = dalil.store.registry.counts()
    assert dalil.store.vector_count() == chunks
    records = dalil.store.registry.documents()
    assert len(records) == docs
    return {r.file if "#" not in r.source else f"{r.file}#{r.source.rsplit('#', 1)[1]}": r for r in records}


def one_line(lines: list[str], path: Path, reason: str) -> str:
    matching = [line for line in lines if f"{path}:" in line]
    assert len(matching) == 1, f"{path}: expected one line, got {matching} in {lines}"
    assert matching[0].startswith("dalil: failed: ") and reason in matching[0], matching[0]
    return matching[0]


def can_drop_dac() -> bool:
    if os.geteuid() != 0:
        return True
    probe = subprocess.run(["true"], preexec_fn=lambda: _limit_child(True), capture_output=True)
    return probe.returncode == 0


# --- nesting: 50,000-200,000 levels ------------------------------------------------------------

@pytest.mark.slow
def test_deeply_nested_json_yaml_fail_alone(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "good.txt").write_text(GOOD, encoding="utf-8")
    (batch / "deep.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    deep_line = '{"id": "deep", "text": "x", "extra": ' + "[" * 50_000 + "]" * 50_000 + "}"
    (batch / "feed.jsonl").write_text(
        json.dumps({"id": "a", "text": OTHER}, ensure_ascii=False) + "\n" + deep_line + "\n"
        + json.dumps({"id": "b", "text": THIRD}, ensure_ascii=False) + "\n", encoding="utf-8")
    (batch / "front.md").write_text("---\ntags: " + "[" * 100_000 + "]" * 100_000 + "\n---\n" + GOOD.replace("حلب", "دمشق"),
                                    encoding="utf-8")
    sub = batch / "sub"
    sub.mkdir()
    (sub / "article.txt").write_text(GOOD.replace("حلب", "جنيف"), encoding="utf-8")
    (sub / "manifest.yaml").write_text("articles: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")

    code, lines, report = ingest(batch, store=tmp_path / "store")

    assert code == 3, lines
    one_line(lines, batch / "deep.json", "nested too deeply")
    one_line(lines, batch / "feed.jsonl", "line 2: nested too deeply")
    one_line(lines, batch / "front.md", "nested too deeply")
    one_line(lines, sub / "manifest.yaml", "nested too deeply")
    assert len(lines) == 4, lines
    assert set(stored(tmp_path / "store")) == {"good.txt", "feed.jsonl#a", "feed.jsonl#b", "article.txt"}
    assert report["added"] == 4


# --- lone surrogates -----------------------------------------------------------------------------

@pytest.mark.slow
def test_lone_surrogates_are_replaced_and_every_line_lands(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "o", "outlet": "\\ud800", "text": "' + GOOD.strip() + '"}\n'
        '{"id": "t", "title": "عنوان \\udfff", "text": "' + OTHER.strip() + '"}\n'
        '{"id": "x", "text": "' + THIRD.strip() + ' \\ud800 نهاية"}\n'
        '{"id": "last", "text": "وأضاف البيان أن الهدنة ستستمر ثلاثة أيام."}\n', encoding="utf-8")
    store = tmp_path / "store"

    code, lines, report = ingest(feed, store=store)

    assert (code, lines) == (0, []), lines
    docs = stored(store)
    assert set(docs) == {"feed.jsonl#o", "feed.jsonl#t", "feed.jsonl#x", "feed.jsonl#last"}
    assert docs["feed.jsonl#o"].outlet == "\ufffd"
    assert docs["feed.jsonl#t"].title == "عنوان \ufffd"
    assert docs["feed.jsonl#x"].text.endswith(" \ufffd نهاية")
    code, lines, report = ingest(feed, store=store)  # and a rerun changes nothing
    assert (code, lines, report["unchanged"]) == (0, [], 4)


# --- unreadable manifest, folder; FIFOs and devices -----------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not can_drop_dac(), reason="running as root without CAP_SETPCAP: chmod 000 cannot block reads")
def test_unreadable_manifest_and_folder(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    (batch / "dated").mkdir(parents=True)
    (batch / "dated" / "a.txt").write_text(GOOD, encoding="utf-8")
    manifest = batch / "dated" / "manifest.yaml"
    manifest.write_text("articles:\n  - file: a.txt\n    published: 2016-10-04\n", encoding="utf-8")
    (batch / "locked").mkdir()
    (batch / "locked" / "hidden.txt").write_text(THIRD, encoding="utf-8")
    (batch / "open.txt").write_text(OTHER, encoding="utf-8")
    manifest.chmod(0)
    (batch / "locked").chmod(0)
    try:
        code, lines, _ = ingest(batch, store=tmp_path / "store", respect_permissions=True)
    finally:
        manifest.chmod(0o644)
        (batch / "locked").chmod(0o755)

    assert code == 3, lines
    one_line(lines, manifest, "cannot read manifest")
    one_line(lines, batch / "locked", "cannot read folder")
    assert len(lines) == 2, lines
    docs = stored(tmp_path / "store")
    assert set(docs) == {"a.txt", "open.txt"}
    assert docs["a.txt"].published is None  # ingested without the metadata it could not read


@pytest.mark.slow
def test_manifest_that_is_a_fifo_a_folder_or_a_device(tmp_path: Path) -> None:
    """Unreadable manifests that stay unreadable for root too."""
    made = {}
    for name, make in (("fifo", os.mkfifo), ("folder", os.mkdir), ("device", lambda p: os.symlink("/dev/zero", p))):
        folder = tmp_path / "batch" / name
        folder.mkdir(parents=True)
        (folder / f"{name}.txt").write_text(GOOD.replace("حلب", name), encoding="utf-8")
        make(folder / "manifest.yaml")
        made[name] = folder / "manifest.yaml"

    code, lines, _ = ingest(tmp_path / "batch", store=tmp_path / "store", timeout=60)

    assert code == 3, lines
    one_line(lines, made["fifo"], "named pipe")
    one_line(lines, made["folder"], "a folder")
    one_line(lines, made["device"], "character device")
    assert set(stored(tmp_path / "store")) == {"fifo.txt", "folder.txt", "device.txt"}


@pytest.mark.slow
def test_fifo_and_device_are_skipped_not_read(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "good.txt").write_text(GOOD, encoding="utf-8")
    os.mkfifo(batch / "pipe.txt")
    (batch / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "named.jsonl")

    code, lines, _ = ingest(batch, tmp_path / "named.jsonl", store=tmp_path / "store", timeout=60)

    assert code == 3, lines
    one_line(lines, batch / "pipe.txt", "not a regular file (named pipe)")
    one_line(lines, batch / "zero.txt", "not a regular file (character device)")
    one_line(lines, tmp_path / "named.jsonl", "not a regular file (named pipe)")
    assert len(lines) == 3, lines
    assert set(stored(tmp_path / "store")) == {"good.txt"}


# --- size caps -------------------------------------------------------------------------------

@pytest.mark.slow
def test_file_over_the_size_cap_is_skipped_with_its_size(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "small.txt").write_text(GOOD, encoding="utf-8")
    (batch / "big.txt").write_text(GOOD * 200, encoding="utf-8")  # about 33 KB
    (batch / "big.jsonl").write_text(json.dumps({"text": GOOD * 200}, ensure_ascii=False) + "\n", encoding="utf-8")

    code, lines, _ = ingest(batch, store=tmp_path / "store", env={"DALIL_INGEST_MAX_FILE_MB": "0.01"})

    assert code == 3, lines
    line = one_line(lines, batch / "big.txt", "over the 0.01 MB limit (ingest.max_file_mb)")
    assert f"{(batch / 'big.txt').stat().st_size:,} bytes" in line
    one_line(lines, batch / "big.jsonl", "over the 0.01 MB limit (ingest.max_file_mb)")
    assert len(lines) == 2, lines
    assert set(stored(tmp_path / "store")) == {"small.txt"}


@pytest.mark.slow
def test_a_few_megabyte_word_is_ingested_in_bounded_memory(tmp_path: Path) -> None:
    """An 8 MB word used to take 2.2 GB (every character n-gram of it embedded); now its tokens are capped."""
    (tmp_path / "word.txt").write_text("وقال " + "ب" * 2_000_000 + "x" * 2_000_000 + " " + GOOD, encoding="utf-8")

    code, lines, report = ingest(tmp_path / "word.txt", store=tmp_path / "store")

    assert (code, lines, report["added"]) == (0, [], 1)
    assert set(stored(tmp_path / "store")) == {"word.txt"}


# --- the same JSONL id twice -------------------------------------------------------------------

@pytest.mark.slow
def test_repeated_id_keeps_the_later_record_and_reports_the_earlier(tmp_path: Path) -> None:
    """``file#id`` names one article: a later record with the same id replaces the earlier one (an
    appended correction), and the earlier one is reported, so "added" counts what was stored."""
    feed = tmp_path / "feed.jsonl"
    records = [{"id": "r1", "text": GOOD}, {"id": "r2", "text": OTHER}, {"id": "r1", "text": THIRD}]
    feed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    listing = tmp_path / "items.json"
    listing.write_text(json.dumps([{"id": 7, "text": THIRD + "!"}, {"id": "7", "text": GOOD + "!"}], ensure_ascii=False),
                       encoding="utf-8")

    code, lines, report = ingest(feed, listing, store=tmp_path / "store")

    assert code == 3, lines
    one_line(lines, feed, "line 1: id 'r1' is used again on line 3, which replaces this record")
    one_line(lines, listing, "item 0: id '7' is used again on item 1, which replaces this record")
    assert report["added"] == 3 and not report["duplicates"]
    docs = stored(tmp_path / "store")
    assert set(docs) == {"feed.jsonl#r1", "feed.jsonl#r2", "items.json#7"}
    assert docs["feed.jsonl#r1"].text == THIRD and docs["items.json#7"].text == GOOD + "!"
