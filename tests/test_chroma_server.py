"""store.url: the same commands against a real Chroma server (`chroma run` from the chromadb package)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app

pytestmark = pytest.mark.slow  # a real `chroma run` server, started twice

CHROMA = Path(sys.executable).parent / "chroma"
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chroma_server(data: Path, port: int) -> Iterator[str]:
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                assert proc.poll() is None, "chroma server exited"
                assert time.monotonic() < deadline, "chroma server did not start"
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def ask_json(store: Path, url: str) -> dict:
    result = CliRunner().invoke(app, ["ask", "من هي المتحدثة باسم الخارجية الروسية زاخاروفا؟", "--json", "--store", str(store)],
                                env={"DALIL_STORE_URL": url})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_ingest_and_ask_against_a_chroma_server_survive_a_restart(tmp_path: Path) -> None:
    assert CHROMA.exists(), "the chromadb package's `chroma` command is missing"
    data, store, port = tmp_path / "chroma-data", tmp_path / "store", free_port()
    with chroma_server(data, port) as url:
        ingest = CliRunner().invoke(app, ["ingest", str(SEEDS), "--store", str(store), "--json"], env={"DALIL_STORE_URL": url})
        assert ingest.exit_code == 0, ingest.output
        assert json.loads(ingest.stdout)["added"] == 5
        first = ask_json(store, url)
    assert not (store / "chroma").exists(), "vectors must live on the server, not in an embedded store"
    with chroma_server(data, port) as url:
        second = ask_json(store, url)
    assert not first["abstained"] and "زاخاروفا" in first["answer"]
    assert first["citations"] == second["citations"]
