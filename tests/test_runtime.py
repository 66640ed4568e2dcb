"""Process-wide setup is explicit (``agent.runtime.setup``), done at the entry points, and never on import.

Each check runs in a fresh interpreter, since the test process itself has long been set up by the
tests before it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# the modules the issue named, and the entry points' own modules
IMPORTS = ["agent.index.store", "agent.ingest.chunking", "agent.config", "agent.endpoint", "agent.index.embeddings",
           "agent.answer.llm", "agent.pipeline", "agent.cli", "agent.serve.server", "agent.chat.session", "agent.runtime"]

# reports the process state as JSON: the environment, the collector, runtime's steps, and whether a freed heap
# block comes back still holding what it held (it does unless mallopt(M_PERTURB) is on; see test_security_secrets)
STATE = """
def state():
    import ctypes, gc, json, os, sys
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    secret = b"sk-RUNTIMEPROBE-" * 4000
    kept = 0
    for _ in range(20):
        p = libc.malloc(len(secret))
        ctypes.memmove(p, secret, len(secret))
        libc.free(p)
        q = libc.malloc(len(secret))
        kept += ctypes.string_at(q + 64, 32) == secret[64:96]
        libc.free(q)
    runtime = sys.modules.get("agent.runtime")
    return {"env": dict(os.environ), "frozen": gc.get_freeze_count(), "enabled": gc.isenabled(),
            "threshold": list(gc.get_threshold()), "heap_kept": kept > 0,
            "done": sorted(runtime.done()) if runtime else None}
"""


def run(body: str, env: dict[str, str] | None = None) -> dict[str, object]:
    script = STATE + textwrap.dedent(body)
    with tempfile.TemporaryDirectory() as cwd:  # an empty folder: no stray module there can shadow the stdlib
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                              env=env if env is not None else clean_env(), cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return env


def test_importing_dalil_changes_nothing_in_the_process() -> None:
    result = run(f"""
        import json
        before = state()
        import importlib
        for name in {IMPORTS!r}:
            importlib.import_module(name)
        after = state()
        print(json.dumps({{"before": before, "after": after}}))
    """)
    before, after = result["before"], result["after"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert after["env"] == before["env"]
    assert "TIKTOKEN_CACHE_DIR" not in after["env"]
    assert after["frozen"] == 0 and after["enabled"] and after["threshold"] == before["threshold"]
    assert after["heap_kept"] is True, "an import turned glibc's heap filling on"
    assert after["done"] == []


def test_setup_does_each_step_once_and_says_which() -> None:
    result = run("""
        import json, os
        from agent import runtime
        from agent.config import Settings
        runtime.setup()
        first = state()
        runtime.setup()
        again = state()
        runtime.setup(Settings(store={"path": "s", "url": "http://chroma.example:8000"}))
        served_vectors = state()
        runtime.setup(Settings())
        embedded = state()
        print(json.dumps({"first": first, "again": again, "served": served_vectors, "embedded": embedded}))
    """)
    first, again, served, embedded = (result[k] for k in ("first", "again", "served", "embedded"))
    assert isinstance(first, dict) and isinstance(again, dict) and isinstance(served, dict) and isinstance(embedded, dict)
    folder = Path(first["env"]["TIKTOKEN_CACHE_DIR"])
    assert folder.is_dir() and folder.parts[-3:] == ("core", "_static", "tiktoken_cache") and any(folder.iterdir())
    assert first["done"] == ["tiktoken"] and first["heap_kept"] is True  # no settings yet: the heap step waits for them
    assert again == first
    assert served["done"] == ["tiktoken"] and served["heap_kept"] is True  # a Chroma server: nothing of it in this heap
    assert embedded["done"] == ["heap", "tiktoken"] and embedded["heap_kept"] is False
    assert embedded["env"] == first["env"] and embedded["frozen"] == 0


def test_setup_keeps_a_tiktoken_cache_the_user_chose(tmp_path: Path) -> None:
    env = clean_env() | {"TIKTOKEN_CACHE_DIR": str(tmp_path)}
    result = run("""
        import json
        from agent import runtime
        runtime.setup()
        print(json.dumps(state()))
    """, env)
    assert isinstance(result["env"], dict) and result["env"]["TIKTOKEN_CACHE_DIR"] == str(tmp_path)


CLI = "from typer.testing import CliRunner\nfrom agent.cli import app\nassert CliRunner().invoke(app, {args!r}).exit_code == {code}"


@pytest.mark.parametrize(("call", "steps"), [
    # the command's callback, before any command runs: a command that fails before it reads its settings
    (CLI.format(args=["ask", "q", "--mode", "bogus"], code=1), ["tiktoken"]),
    # a command that opens Dalil with its settings (an embedded store)
    (CLI.format(args=["config"], code=0), ["heap", "tiktoken"]),
    # a library caller's entry point
    ("from agent.config import load_settings\nfrom agent.pipeline import Dalil\nDalil(load_settings())", ["heap", "tiktoken"]),
], ids=["cli-callback", "cli-command", "Dalil"])
def test_the_entry_points_set_the_process_up(call: str, steps: list[str], tmp_path: Path) -> None:
    result = run("import json\n" + call + "\nprint(json.dumps(state()))", clean_env() | {"HOME": str(tmp_path)})
    assert result["done"] == steps and result["heap_kept"] is ("heap" not in steps)
    assert isinstance(result["env"], dict) and "TIKTOKEN_CACHE_DIR" in result["env"]


def test_the_bm25_index_is_kept_out_of_the_collectors_passes_until_the_store_closes(seeded_store: Path) -> None:
    result = run(f"""
        import gc, json
        from agent.config import load_settings
        from agent.index.store import Store
        store = Store(load_settings(None, {{"store": {{"path": {str(seeded_store)!r}}}}}))
        opened = gc.get_freeze_count()
        store.bm25()
        loaded = gc.get_freeze_count()
        store.close()
        print(json.dumps({{"opened": opened, "loaded": loaded, "closed": gc.get_freeze_count()}}))
    """)
    assert result["opened"] == 0 and isinstance(result["loaded"], int) and result["loaded"] > 0 and result["closed"] == 0
