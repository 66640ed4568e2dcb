"""`dalil ingest --watch DIR` as a real process: the folder's articles first, then files added, a file changed, a bad
file beside a good one (the good one lands, the bad one is one line on stderr), and SIGTERM or Ctrl-C stops it with
exit code 0 once the batch under way is written.

watchfiles polls here (WATCHFILES_FORCE_POLLING): CI's file systems do not all deliver notifications. The tests wait
for the process's lines with a deadline, never for a fixed time.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import ROOT, SEEDS, run_cli

pytestmark = pytest.mark.slow  # a child process watching a folder

DEADLINE = 120.0


class Watcher:
    """`dalil ingest --watch` in a child process; its stdout and stderr lines as they come."""

    def __init__(self, folder: Path, store: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DALIL_", "OPENAI_"))}
        env.update({"WATCHFILES_FORCE_POLLING": "1", "DALIL_INGEST_WATCH_DEBOUNCE_MS": "200", "PYTHONPATH": str(ROOT),
                    "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})
        self.proc = subprocess.Popen([sys.executable, "-m", "agent", "ingest", "--watch", str(folder), "--store", str(store), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                     encoding="utf-8", env=env, cwd=folder.parent)
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        for name, stream in (("out", self.proc.stdout), ("err", self.proc.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()

    def _read(self, name: str, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put((name, line.rstrip("\n")))

    def wait_for(self, name: str, needle: str) -> str:
        """The next line of stdout/stderr holding ``needle`` (every line read meanwhile is kept)."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            try:
                stream, line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, f"the watcher exited {self.proc.returncode}: {self.out} {self.err}"
                continue
            (self.out if stream == "out" else self.err).append(line)
            if stream == name and needle in line:
                return line
        raise AssertionError(f"no {name} line with {needle!r} in {DEADLINE}s: {self.out} {self.err}")

    def stop(self, signum: int) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=DEADLINE)
        while not self.lines.empty():
            stream, line = self.lines.get()
            (self.out if stream == "out" else self.err).append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _articles(store: Path) -> dict[str, str]:
    """file → text of every stored article."""
    from agent.config import load_settings
    from agent.pipeline import Dalil

    dalil = Dalil(load_settings(None, {"store": {"path": store}}))
    try:
        return {d.file: d.text for d in dalil.store.registry.documents()}
    finally:
        dalil.store.close()


def _write(path: Path, text: str) -> None:
    """Written whole, then moved in: the watcher never sees half a file."""
    tmp = path.parent.parent / f".{path.name}.part"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def test_watch_ingests_added_and_changed_files_and_survives_a_bad_one(tmp_path: Path) -> None:
    folder, store = tmp_path / "inbox", tmp_path / "store"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    shutil.copy(seeds[0], folder)
    watcher = Watcher(folder, store)
    try:
        first = watcher.wait_for("out", "watch: batch 1 ")
        assert "1 added" in first and "0 failed" in first
        assert watcher.err[0].startswith("dalil: watching ")

        _write(folder / seeds[1].name, seeds[1].read_text(encoding="utf-8"))
        added = watcher.wait_for("out", "watch: batch 2 ")
        assert "1 added" in added and "0 failed" in added
        assert set(_articles(store)) == {seeds[0].name, seeds[1].name}

        changed = seeds[1].read_text(encoding="utf-8") + "\nوقال المتحدث إن المحادثات ستستأنف الأسبوع المقبل.\n"
        _write(folder / seeds[1].name, changed)
        updated = watcher.wait_for("out", "watch: batch 3 ")
        assert "1 updated" in updated and "0 added" in updated
        assert "ستستأنف الأسبوع المقبل" in _articles(store)[seeds[1].name]

        _write(folder / "broken.json", '{"text": ')  # and a good one beside it, in the same burst
        _write(folder / seeds[2].name, seeds[2].read_text(encoding="utf-8"))
        line = watcher.wait_for("err", "dalil: failed: ")
        assert "broken.json" in line and "\n" not in line
        deadline = time.monotonic() + DEADLINE
        while seeds[2].name not in _articles(store) and time.monotonic() < deadline:
            watcher.wait_for("out", "watch: batch ")
        assert set(_articles(store)) == {seeds[0].name, seeds[1].name, seeds[2].name}

        code = watcher.stop(signal.SIGTERM)
    finally:
        watcher.kill()
    assert code == 0, (watcher.out, watcher.err)
    assert watcher.err[-1] == "dalil: watch stopped" and not any("Traceback" in line for line in watcher.err)
    code, stdout, stderr = run_cli("doctor", "--json", "--store", str(store))
    assert code == 0 and all(c["ok"] for c in json.loads(stdout)), stdout + stderr


def test_ctrl_c_stops_the_watch_with_exit_0_and_json_lines(tmp_path: Path) -> None:
    folder, store = tmp_path / "inbox", tmp_path / "store"
    shutil.copytree(SEEDS, folder)
    watcher = Watcher(folder, store, "--json")
    try:
        line = json.loads(watcher.wait_for("out", '"batch": 1'))
        assert line["report"]["added"] == 5 and line["paths"] == [str(folder)] and line["error"] is None
        _write(folder / "extra.md", "---\npublished: 2016-10-06\noutlet: test\n---\nخبر قصير عن اتصال هاتفي جديد بين الوزيرين.\n")
        second = json.loads(watcher.wait_for("out", '"batch": 2'))
        assert second["report"]["added"] == 1 and second["paths"] == [str(folder / "extra.md")]
        code = watcher.stop(signal.SIGINT)
    finally:
        watcher.kill()
    assert code == 0 and watcher.err[-1] == "dalil: watch stopped", (watcher.out, watcher.err)
    assert len(_articles(store)) == 6


def test_watch_needs_a_folder(tmp_path: Path) -> None:
    code, _, stderr = run_cli("ingest", "--watch", str(tmp_path / "missing"), "--store", str(tmp_path / "s"))
    assert code == 1 and stderr.strip() == f"dalil: error: --watch takes folders: {tmp_path / 'missing'} is not one"


def test_a_stop_during_a_batch_finishes_it_and_a_failed_batch_is_tried_again(tmp_path: Path) -> None:
    """In process, with the faults injected: the store refuses one batch, and the stop comes while a batch is written."""
    from agent.errors import DalilError
    from agent.ingest.run import IngestReport
    from agent.ingest.watch import Batch, watch_folders

    folder = tmp_path / "inbox"
    folder.mkdir()
    stop = threading.Event()
    safety = threading.Timer(DEADLINE, stop.set)  # a broken watcher fails the test instead of hanging it
    safety.start()
    calls: list[list[Path]] = []
    batches: list[Batch] = []

    def ingest(paths: list[Path]) -> IngestReport:
        calls.append(list(paths))
        if len(calls) == 2:
            raise DalilError("the store is busy")
        if len(calls) == 3:
            stop.set()  # as the signal handler does, while this batch is being written
        return IngestReport(added=[str(p) for p in paths])

    def on_batch(batch: Batch) -> None:
        batches.append(batch)
        if batch.number == 1:
            _write(folder / "a.txt", "خبر تجريبي.")

    try:
        count = watch_folders([folder], ingest, on_batch, stop, debounce_ms=100, force_polling=True)
    finally:
        safety.cancel()
    assert count == 3 and calls == [[folder], [folder / "a.txt"], [folder / "a.txt"]]
    assert batches[1].report is None and batches[1].error == "the store is busy"
    assert batches[2].report is not None and batches[2].report.added == [str(folder / "a.txt")]


def test_only_article_files_and_manifests_make_a_batch() -> None:
    from watchfiles import Change

    from agent.ingest.watch import article_change

    for name in ("a.txt", "b.MD", "c.json", "d.jsonl", "sub/manifest.yaml"):
        assert article_change(Change.added, f"/in/{name}") and article_change(Change.modified, f"/in/{name}"), name
    assert not article_change(Change.deleted, "/in/a.txt")  # a deleted file stays in the store (dalil articles rm)
    for name in ("notes.pdf", "a.txt.part", ".a.txt.swp", "a.txt~", "photo.jpg", "other.yaml", ".git/a.txt"):
        assert not article_change(Change.added, f"/in/{name}"), name
