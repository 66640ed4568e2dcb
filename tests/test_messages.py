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


@pytest.mark.slow
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


# ------------------------------------------------------------------ unreadable config files


@pytest.mark.slow
def test_config_pointing_to_a_folder_is_one_line(workdir: Path, seeded_store: Path) -> None:
    folder = workdir / "conf.d"
    folder.mkdir()
    before = tree(workdir)
    for args, env in ((["config", "--config", str(folder)], None), (["ask", "x", "--store", str(workdir / "s")], {"DALIL_CONFIG": str(folder)}),
                      (["search", "x", "--config", str(folder), "--store", str(workdir / "s")], None)):
        done = run(*args, cwd=workdir, env=env)
        assert done.returncode == 1, done.stderr
        assert one_error_line(done) == f"dalil: error: config file {folder} is a folder: point --config (or DALIL_CONFIG) at a TOML file"
    assert tree(workdir) == before, "nothing may be created or changed"


def test_unreadable_dalil_toml_in_the_working_folder_is_one_line(workdir: Path) -> None:
    (workdir / "dalil.toml").mkdir()  # readable by nobody as a file, even by root
    before = tree(workdir)
    done = run("search", "لافروف", "--store", str(workdir / "store"), cwd=workdir)
    assert done.returncode == 1
    assert one_error_line(done) == "dalil: error: config file dalil.toml is a folder: point --config (or DALIL_CONFIG) at a TOML file"
    assert tree(workdir) == before


@pytest.mark.slow
def test_config_file_without_read_permission_is_one_line(tmp_path: Path) -> None:
    """chmod 000 stops everyone but root: as root, run dalil as the unprivileged user `nobody`."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="dalil-perm-"))
    try:
        folder.chmod(0o777)
        config = folder / "dalil.toml"
        config.write_text("[retrieval]\ntop_k = 3\n", encoding="utf-8")
        config.chmod(0o000)
        command = [*DALIL]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DALIL_", "OPENAI_"))}
        env = {**base, "HOME": str(folder)}
        if os.geteuid() == 0:
            command, env = as_nobody(env)
        done = subprocess.run([*command, "config", "--store", str(folder / "store")], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 1, done.stdout + done.stderr
        assert one_error_line(done) == "dalil: error: cannot read config file dalil.toml: permission denied"
        assert sorted(p.name for p in folder.iterdir()) == ["dalil.toml"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def as_nobody(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """`dalil` run by the user nobody (root reads any file), with an interpreter nobody may execute:
    this one, or the system's python3 of the same version, given this project and its site-packages."""
    import shutil

    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("running as root without runuser: install util-linux or run the tests as a normal user")
    nobody = [runuser, "-u", "nobody", "--"]
    paths = [str(ROOT), *(p for p in sys.path if p.endswith("site-packages"))]
    env = {**env, "PYTHONPATH": os.pathsep.join(paths)}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, shutil.which(version) or "", f"/usr/bin/{version}"):
        probe = subprocess.run([*nobody, python, "-c", "import agent.config"], env=env, capture_output=True, timeout=60, check=False)
        if python and probe.returncode == 0:
            return [*nobody, python, "-m", "agent"], env
    pytest.fail(f"as root, no {version} interpreter the user nobody may run was found: run the tests as a normal user")


# ------------------------------------------------------------------ a trickling LLM answer


CITED = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1]."
UNCITED = "ناقش الوزيران الوضع في سوريا."
QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"


def llm_env(base_url: str, store: Path, **extra: str) -> dict[str, str]:
    return {"DALIL_LLM_BASE_URL": base_url, "DALIL_LLM_MODEL": "scripted-model", "DALIL_LLM_MAX_RETRIES": "0",
            "DALIL_LLM_REWRITE_QUERIES": "false", "DALIL_LLM_TOOLS": "off", "DALIL_STORE": str(store), **extra}  # the one pass


@pytest.mark.slow
def test_a_trickling_answer_ends_at_the_total_timeout(store: Path, tmp_path: Path) -> None:
    import time

    from tests.scripted_openai import Reply, ScriptedOpenAI

    slow = Reply(content=CITED * 2, chunk_size=1, chunk_delay=0.5)  # one character every 0.5 s: about a minute in all
    with ScriptedOpenAI(default=slow) as server:
        started = time.monotonic()
        done = run("ask", QUESTION, cwd=tmp_path, env=llm_env(server.base_url, store, DALIL_LLM_TIMEOUT="1", DALIL_LLM_TOTAL_TIMEOUT="2"))
        took = time.monotonic() - started
        base_url = server.base_url
        assert server.chat_requests
    assert done.returncode == 1, done.stderr
    assert one_error_line(done) == (f"dalil: error: the LLM endpoint at {base_url} did not finish its answer within 2s "
                                    "(llm.total_timeout); the answer is incomplete")
    assert took < 15, f"took {took:.1f}s"


@pytest.mark.slow
def test_a_trickling_non_streamed_answer_ends_at_the_total_timeout(store: Path, tmp_path: Path) -> None:
    """`ask --json` asks for the whole completion at once: a body sent one byte every 0.5 s never trips the
    per-read llm.timeout, so only the total bound stops it."""
    import time

    from tests.scripted_openai import Reply, ScriptedOpenAI

    with ScriptedOpenAI(default=Reply(content=CITED, chunk_delay=0.5)) as server:
        started = time.monotonic()
        done = run("ask", QUESTION, "--json", cwd=tmp_path,
                   env=llm_env(server.base_url, store, DALIL_LLM_TIMEOUT="1", DALIL_LLM_TOTAL_TIMEOUT="2"))
        took = time.monotonic() - started
        base_url = server.base_url
        assert server.chat_requests
    assert done.returncode == 1 and done.stdout == "", done.stdout
    assert one_error_line(done) == (f"dalil: error: the LLM endpoint at {base_url} did not finish its answer within 2s "
                                    "(llm.total_timeout); the answer is incomplete")
    assert took < 15, f"took {took:.1f}s"


# ------------------------------------------------------------------ --outlet


@pytest.mark.slow
def test_unknown_outlet_is_an_error_listing_the_known_ones(store: Path, tmp_path: Path) -> None:
    known = "known outlets: " + ", ".join(sorted(["العربي الجديد", "سيريانيوز", "وكالات"]))
    for args in (["search", "لافروف", "--outlet", "الجزيرة"], ["ask", "من بادر بالاتصال؟", "--outlet", "الجزيرة"],
                 ["search", "لافروف", "--outlet", "سيريا نيوز", "--json"]):
        done = run(*args, "--store", str(store), cwd=tmp_path)
        assert done.returncode == 1 and done.stdout == "", done.stdout
        line = one_error_line(done)
        assert line.startswith("dalil: error: no articles from outlet ") and line.endswith(f"({known})"), line
    chat = subprocess.run([*DALIL, "chat", "--outlet", "الجزيرة", "--store", str(store)], input="/quit\n", cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert chat.returncode == 1 and one_error_line(chat).endswith(f"({known})")
    found = run("search", "لافروف", "--outlet", "سيريانيوز", "--json", "--store", str(store), cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert '"outlet": "سيريانيوز"' in found.stdout


# ------------------------------------------------------------------ ask --strict


@pytest.mark.slow
def test_strict_ask_exits_4_when_nothing_is_verified(store: Path, tmp_path: Path) -> None:
    from tests.scripted_openai import ScriptedOpenAI

    with ScriptedOpenAI(default=UNCITED) as server:
        env = llm_env(server.base_url, store)
        lenient = run("ask", QUESTION, cwd=tmp_path, env=env)
        strict = run("ask", QUESTION, "--strict", cwd=tmp_path, env=env)
        strict_json = run("ask", QUESTION, "--strict", "--json", cwd=tmp_path, env=env)
        server.default = server.default.__class__(content=CITED)
        verified = run("ask", QUESTION, "--strict", cwd=tmp_path, env=env)
    assert lenient.returncode == 0, lenient.stderr
    assert strict.returncode == 4 and strict_json.returncode == 4, strict.stderr
    assert strict.stdout.startswith("mode: llm") and '"degraded": true' in strict_json.stdout  # the answer is still shown
    line = [ln for ln in strict.stderr.splitlines() if ln.strip()]
    assert line == ["dalil: not verified (--strict): 1 of 1 sentence(s) not supported by their citations"], strict.stderr
    assert verified.returncode == 0, verified.stdout + verified.stderr
