"""Credentials inside a URL (userinfo, ``?api-key=…``) are masked wherever a URL is shown or saved:
the connection-error line, `dalil config`, `dalil doctor`, and an eval's results.json / report.html."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.safety import mask_url, mask_urls_in
from tests.scripted_openai import ScriptedOpenAI

ROOT = Path(__file__).resolve().parents[1]
DALIL = [sys.executable, "-m", "agent"]
PASSWORD = "sk-userinfo-3b9e1f7a2c4d6e8f0a1b"
QUERY_KEY = "sk-query-9d8c7b6a5f4e3d2c1b0a"
CITED = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1]."
QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def secret_url(host_port: str, path: str = "/v1") -> str:
    return f"http://admin:{PASSWORD}@{host_port}{path}?api-key={QUERY_KEY}&deployment=d1"


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DALIL, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def assert_masked(text: str, where: str) -> None:
    assert PASSWORD not in text and PASSWORD[:12] not in text, f"{where} shows the URL's password"
    assert QUERY_KEY not in text and QUERY_KEY[:12] not in text, f"{where} shows the URL's api-key"


@pytest.fixture
def env(store: Path, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DALIL_", "OPENAI_"))}
    return {**base, "DALIL_STORE": str(store), "DALIL_LLM_MODEL": "scripted-model", "DALIL_LLM_MAX_RETRIES": "0",
            "DALIL_LLM_TIMEOUT": "5", "DALIL_SERVER_USE": "false", "HOME": str(tmp_path / "home"), "COLUMNS": "200"}


@pytest.mark.slow
def test_connection_error_line_masks_the_url(env: dict[str, str], tmp_path: Path) -> None:
    env["DALIL_LLM_BASE_URL"] = secret_url(f"127.0.0.1:{closed_port()}")
    done = run("ask", QUESTION, env=env, cwd=tmp_path)
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line.startswith("dalil: error: cannot connect to the LLM endpoint at http://****@127.0.0.1:"), line
    assert "api-key=****&deployment=d1" in line and len(line.splitlines()) == 1
    assert_masked(done.stdout + done.stderr, "the connection error")


@pytest.mark.slow
def test_config_and_doctor_mask_urls(env: dict[str, str], tmp_path: Path) -> None:
    port = closed_port()
    env["DALIL_LLM_BASE_URL"] = secret_url(f"127.0.0.1:{port}")
    env["DALIL_EMBEDDINGS_BASE_URL"] = f"https://bob:{PASSWORD}@emb.example/v1?token={QUERY_KEY}"
    text = run("config", env=env, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert f"llm.base_url = 'http://****@127.0.0.1:{port}/v1?api-key=****&deployment=d1'" in text.stdout
    as_json = run("config", "--json", env=env, cwd=tmp_path)
    data = json.loads(as_json.stdout)
    assert data["llm"]["base_url"].startswith("http://****@127.0.0.1:") and data["llm"]["base_url"].endswith("?api-key=****&deployment=d1")
    assert data["embeddings"]["base_url"] == "https://****@emb.example/v1?token=****"
    doctor = run("doctor", env=env, cwd=tmp_path)
    doctor_json = run("doctor", "--json", env=env, cwd=tmp_path)
    assert doctor.returncode == 1 and "✗ llm endpoint" in doctor.stdout  # nothing listens there
    assert "http://****@127.0.0.1:" in doctor.stdout
    for name, done in {"config": text, "config --json": as_json, "doctor": doctor, "doctor --json": doctor_json}.items():
        assert_masked(done.stdout + done.stderr, f"dalil {name}")


@pytest.mark.slow
def test_doctor_success_line_masks_the_url(env: dict[str, str], tmp_path: Path) -> None:
    with ScriptedOpenAI(default=CITED) as server:
        env["DALIL_LLM_BASE_URL"] = f"http://admin:{PASSWORD}@127.0.0.1:{server.port}/v1"
        done = run("doctor", env=env, cwd=tmp_path)
    assert "✓ llm endpoint: http://****@127.0.0.1:" in done.stdout, done.stdout
    assert_masked(done.stdout + done.stderr, "dalil doctor")


def test_eval_results_and_reports_mask_the_url(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedOpenAI(default=CITED) as server:
        monkeypatch.setenv("DALIL_LLM_BASE_URL", f"http://admin:{PASSWORD}@127.0.0.1:{server.port}/v1")
        monkeypatch.setenv("DALIL_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("DALIL_LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("DALIL_STORE", str(store))
        out = tmp_path / "eval-out"
        result = CliRunner().invoke(app, ["eval", str(ROOT / "evals" / "dev.yaml"), "--mode", "llm", "--limit", "1", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert server.chat_requests, "nothing reached the server"
        port = server.port
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["config"]["llm"]["base_url"] == f"http://****@127.0.0.1:{port}/v1"
    assert_masked(result.output, "dalil eval")
    for path in out.iterdir():
        assert_masked(path.read_text(encoding="utf-8"), path.name)


@pytest.mark.parametrize(("url", "masked"), [
    ("http://admin:pw@host/v1", "http://****@host/v1"),
    ("http://token@host:8000/v1", "http://****@host:8000/v1"),
    ("https://host/v1?api-key=sk-1&model=m", "https://host/v1?api-key=****&model=m"),
    ("https://host/v1?key=a&api_key=b&apikey=c&token=d&secret=e&password=f&sig=g", "https://host/v1?key=****&api_key=****&apikey=****"
     "&token=****&secret=****&password=****&sig=****"),
    ("https://host/v1?X-Amz-Signature=s&access_token=t#client_secret=u", "https://host/v1?X-Amz-Signature=****&access_token=****"
     "#client_secret=****"),
    ("http://localhost:8000/v1", "http://localhost:8000/v1"),
    (None, None),
])
def test_mask_url(url: str | None, masked: str | None) -> None:
    assert mask_url(url) == masked


def test_mask_urls_in_a_message() -> None:
    message = "Client error '404' for url 'http://u:p@h/v1/models?api-key=sk-9'"
    assert mask_urls_in(message) == "Client error '404' for url 'http://****@h/v1/models?api-key=****'"
