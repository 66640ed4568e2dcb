"""The generated parts of README.md and docs/*.md are what scripts/docs.py makes of this checkout.

A stale example or settings block fails here with the diff; `python scripts/docs.py` rewrites them.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from agent.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "docs.py"


def _docs_module():
    spec = importlib.util.spec_from_file_location("dalil_docs_script", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_generated_docs_are_current() -> None:
    """Runs every documented command on a fresh store (about a minute) and compares."""
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert done.returncode == 0, f"the docs are out of date; run `python scripts/docs.py`:\n{done.stdout}{done.stderr}"


def test_the_settings_block_is_the_defaults_and_names_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DALIL_LLM_TOOLS", raising=False)
    text = _docs_module().settings_toml()
    assert Settings(**tomllib.loads(text)) == Settings()
    comments = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    for name, info in Settings.model_fields.items():
        if info.exclude:  # openai_api_key: OPENAI_API_KEY, never dumped; the api_key fields it fills name it
            assert info.validation_alias == "OPENAI_API_KEY" and "(defaults to OPENAI_API_KEY)" in comments
            continue
        section = getattr(info.annotation, "model_fields", None)
        for field, field_info in (section or {name: info}).items():
            assert re.search(rf"^(# )?{field} = ", text, re.M), field
            assert field_info.description and field_info.description in comments, field


def test_what_varies_between_runs_is_normalized() -> None:
    normalize = _docs_module().normalize
    assert normalize("… events: 4 calls · 111 ms   \n\n") == "… events: 4 calls · N ms"
    assert normalize("        ingest       \n seconds         12.40 ") == "        ingest\n seconds         N.NN"
    assert normalize("conversation 20261122-141539-644c (new)") == "conversation YYYYMMDD-HHMMSS-xxxx (new)"
    assert normalize("store /tmp/x1/store", Path("/tmp/x1")) == "store /tmp/demo/store"
