"""Shared fixtures: an isolated environment per test, the seeds, a store with the seeds ingested."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """No user config, no endpoint, no key from the developer's shell leaks into a test."""
    for key in list(os.environ):
        if key.startswith("DALIL_") or key.startswith("OPENAI_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # LLM-mode tests script the one-pass exchange (rewrite, answer); tests/test_agent_loop.py turns the agent loop on
    monkeypatch.setenv("DALIL_LLM_TOOLS", "off")
    # `dalil serve` sockets: never a developer's running server; a short path (AF_UNIX allows ~107 bytes)
    runtime = tempfile.mkdtemp(prefix="dalil-run-")
    request.addfinalizer(lambda: shutil.rmtree(runtime, ignore_errors=True))
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the five seed articles ingested once per test session (read-only for tests)."""
    from agent.config import load_settings
    from agent.pipeline import Dalil

    path = tmp_path_factory.mktemp("seeded") / "store"
    old = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(("DALIL_", "OPENAI_"))}
    try:
        report = Dalil(load_settings(None, {"store": {"path": path}})).ingest([SEEDS])
    finally:
        os.environ.update(old)
    assert len(report.added) == 5 and not report.errors
    return path


@pytest.fixture
def store(seeded_store: Path, tmp_path: Path) -> Path:
    """A writable copy of the seeded store, for tests that ingest into it, write beside it or damage it."""
    copy = tmp_path / "store"
    shutil.copytree(seeded_store, copy)
    return copy


@pytest.fixture
def runner() -> Iterator[CliRunner]:
    yield CliRunner()


def chroma_of(store: Any) -> Any:
    """A ``Store``'s Chroma collection, opened under its lease (kept open until the store closes or hands it over)."""
    with store.open_collection() as collection:
        return collection


def scripted_llm(monkeypatch: pytest.MonkeyPatch, store: Path) -> Iterator[Any]:
    """The scripted OpenAI-compatible server over real HTTP, configured as Dalil's endpoint on ``store``."""
    from tests.scripted_openai import ScriptedOpenAI

    with ScriptedOpenAI() as server:
        monkeypatch.setenv("DALIL_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("DALIL_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("DALIL_LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("DALIL_LLM_TIMEOUT", "5")
        monkeypatch.setenv("DALIL_STORE", str(store))
        yield server


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch, seeded_store: Path) -> Iterator[Any]:
    """``scripted_llm`` on the seeded store."""
    yield from scripted_llm(monkeypatch, seeded_store)


def run_cli(*args: str) -> tuple[int, str, str]:
    """`dalil ARGS` in this process: (exit code, stdout, stderr)."""
    from agent.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr
