"""What reaches the terminal: one line per failure, nothing raw from file names, nothing changed on disk.

Every case runs the real `dalil` as a subprocess (the user sees its stdout, stderr and exit code)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.safety import display

DALIL = [sys.executable, "-m", "agent"]
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DALIL_", "OPENAI_"))}
    return subprocess.run([*DALIL, *args], cwd=cwd, env={**base, "DALIL_SERVER_USE": "false", "COLUMNS": "200", **(env or {})},
                          capture_output=True, text=True, timeout=timeout, check=False)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dalil: error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


def tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


# ------------------------------------------------------------------ file names on the terminal


def test_file_names_with_escapes_and_newlines_are_shown_escaped(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "clear\x1b[2Jscreen.txt").write_text("", encoding="utf-8")  # empty: fails, named on stderr
    (articles / "two\nlines.txt").write_text("", encoding="utf-8")
    (articles / "rtl\u202eexe.txt").write_text("", encoding="utf-8")
    (articles / "ok.txt").write_text("أعلنت وزارة الخارجية الروسية أن اتصالا هاتفيا جرى بين لافروف وكيري.\n", encoding="utf-8")
    done = run("ingest", str(articles), "--store", str(tmp_path / "store"), cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    for stream in (done.stdout, done.stderr):
        assert "\x1b" not in stream and "\u202e" not in stream
    failed = [line for line in done.stderr.splitlines() if line.startswith("dalil: failed: ")]
    shown = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(failed) == 3 and len(shown) == 3, done.stderr  # one line each, no line broken by a name
    assert any("clear\\x1b[2Jscreen.txt" in line for line in failed)
    assert any("two\\x0alines.txt" in line for line in failed)
    assert any("rtl\\u202eexe.txt" in line for line in failed)


def test_error_lines_escape_what_the_user_typed(tmp_path: Path) -> None:
    done = run("ask", "x", "--config", str(tmp_path / "no\x1b]0;owned\x07such.toml"), cwd=tmp_path)
    assert done.returncode == 1
    line = one_error_line(done)
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr
    assert "no\\x1b]0;owned\\x07such.toml" in line


def test_display_helper() -> None:
    assert display("a\x1b[2Jb\nc\rd\te\u202ef\u2066g\x9bh") == "a\\x1b[2Jb\\x0ac\\x0dd\\x09e\\u202ef\\u2066g\\x9bh"
    assert display("سيريانيوز · 2016-08-16 · 004.txt") == "سيريانيوز · 2016-08-16 · 004.txt"
    assert display(None) == ""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder
