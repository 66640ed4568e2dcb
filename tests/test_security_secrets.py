"""Secrets: a planted DALIL_LLM_API_KEY never shows up anywhere but the Authorization header.

Every command that loads settings or talks to the endpoint runs with the key set, against the
scripted OpenAI-compatible server (whose error messages echo the key back, as some proxies
do): `config`, `config --json`, `ask` (success, HTTP 401, HTTP 500), `doctor`, `eval --mode
llm`, and a piped `chat` session with /save. Their stdout/stderr and every file under the
test's temporary folder (store copy, report folder, conversations, HOME, working directory)
are searched for the key; so are the JSON bodies of the requests the server received.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.scripted_openai import Reply, ScriptedOpenAI

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-planted-7f3a9c2e5b8d4f1a0c6e9b2d5a8c1e4f"
CITED = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1]."
QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, seeded_store: Path, tmp_path: Path) -> Iterator[ScriptedOpenAI]:
    store = tmp_path / "store"
    shutil.copytree(seeded_store, store)
    (tmp_path / "home").mkdir(exist_ok=True)
    with ScriptedOpenAI(default=CITED) as srv:
        monkeypatch.setenv("DALIL_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("DALIL_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("DALIL_LLM_API_KEY", KEY)
        monkeypatch.setenv("DALIL_LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("DALIL_LLM_TIMEOUT", "5")
        monkeypatch.setenv("DALIL_STORE", str(store))
        yield srv


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout + result.stderr


def files_holding_the_key(folder: Path) -> list[str]:
    return [str(p) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and KEY.encode() in p.read_bytes()]


def assert_key_kept_secret(outputs: dict[str, str], folder: Path, server: ScriptedOpenAI | None) -> None:
    for name, text in outputs.items():
        assert KEY not in text, f"`dalil {name}` printed the API key"
        assert KEY[:16] not in text, f"`dalil {name}` printed part of the API key"
    assert files_holding_the_key(folder) == [], "the API key was written to disk"
    if server is None:
        return
    assert server.requests, "nothing reached the server: the check proves nothing"
    for request in server.requests:
        assert KEY not in json.dumps(request["json"], ensure_ascii=False), f"the key is in a {request['path']} request body"
        assert {k for k, v in request["headers"].items() if KEY in v} == {"authorization"}
        assert request["headers"]["authorization"] == f"Bearer {KEY}"


def test_config_masks_the_key(server: ScriptedOpenAI, tmp_path: Path) -> None:
    code, text = invoke("config")
    assert code == 0 and "llm.api_key = '****'" in text
    code, as_json = invoke("config", "--json")
    assert code == 0 and json.loads(as_json)["llm"]["api_key"] == "****"
    assert_key_kept_secret({"config": text, "config --json": as_json}, tmp_path, None)


def test_ask_success_and_endpoint_errors_keep_the_key(server: ScriptedOpenAI, tmp_path: Path) -> None:
    outputs: dict[str, str] = {}
    code, outputs["ask"] = invoke("ask", QUESTION)
    assert code == 0 and "citations checked: 1/1" in outputs["ask"]
    code, outputs["ask --json"] = invoke("ask", QUESTION, "--json")
    assert code == 0
    server.default = Reply(status=401, content=f"Incorrect API key provided: {KEY}")
    code, outputs["ask (401)"] = invoke("ask", QUESTION)
    assert code == 1 and "rejected the API key" in outputs["ask (401)"]
    server.default = Reply(status=500, content=f"upstream failed for Authorization: Bearer {KEY}")
    code, outputs["ask (500)"] = invoke("ask", QUESTION, "--json")
    assert code == 1 and "HTTP 500" in outputs["ask (500)"]
    assert_key_kept_secret(outputs, tmp_path, server)


@pytest.mark.slow
def test_doctor_keeps_the_key(server: ScriptedOpenAI, tmp_path: Path) -> None:
    code, text = invoke("doctor")
    assert code == 0 and "✓ llm endpoint" in text
    code, as_json = invoke("doctor", "--json")
    assert code == 0
    assert_key_kept_secret({"doctor": text, "doctor --json": as_json}, tmp_path, server)


def test_llm_eval_keeps_the_key_out_of_its_reports(server: ScriptedOpenAI, tmp_path: Path) -> None:
    out = tmp_path / "eval-out"
    code, text = invoke("eval", str(ROOT / "evals" / "dev.yaml"), "--mode", "llm", "--limit", "2", "--out", str(out))
    assert code == 0, text
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["run"]["mode"] == "llm" and results["config"]["llm"]["api_key"] == "****"
    assert all(item["answer"]["mode"] == "llm" for item in results["items"])
    assert {p.name for p in out.iterdir()} >= {"results.json", "report.md", "report.html"}
    assert_key_kept_secret({"eval": text}, tmp_path, server)


def test_chat_session_and_saves_keep_the_key(server: ScriptedOpenAI, tmp_path: Path) -> None:
    saved = tmp_path / "chat.md"
    code, text = invoke("chat", stdin=f"{QUESTION}\n/sources\n/save {saved}\n/quit\n")
    assert code == 0, text
    assert "mode: llm" in text and saved.is_file()
    conversations = list((tmp_path / "store" / "conversations").glob("*.json"))
    assert len(conversations) == 1 and json.loads(conversations[0].read_text(encoding="utf-8"))["turns"]
    assert_key_kept_secret({"chat": text}, tmp_path, server)


HEAP_PROBE = """
import ctypes, sys
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "setup":  # what every entry point does, with an embedded store
    from agent import runtime
    from agent.config import Settings
    runtime.setup(Settings())
elif sys.argv[1] == "store":  # what the store does before it opens Chroma, for a caller without an entry point
    from agent.runtime import fill_new_heap_memory
    fill_new_heap_memory()
secret = b"sk-HEAPPROBE-" * 5000  # 65 kB: a buffer like an index's, not a small object
leaked = 0
for _ in range(50):
    p = libc.malloc(len(secret))
    ctypes.memmove(p, secret, len(secret))
    libc.free(p)
    q = libc.malloc(len(secret))
    leaked += ctypes.string_at(q + 64, 26) == secret[64:90]  # past the allocator's own free-list words
    libc.free(q)
print(leaked)
"""


@pytest.mark.parametrize(("mode", "leaks"), [("bare", True), ("setup", False), ("store", False)])
def test_memory_chroma_could_write_to_disk_never_holds_what_the_process_held_before(mode: str, leaks: bool) -> None:
    """Chroma writes index buffers of its own capacity to disk; one CI run found the API key in
    data_level0.bin. ``runtime.setup()`` (at every entry point, with an embedded store) and the store
    (before it opens Chroma) make glibc fill every new heap block, so such a buffer cannot carry an
    earlier secret. The bare run shows that without it a reused block does."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", HEAP_PROBE, mode], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert (int(run.stdout) > 0) is leaks, run.stdout
