"""`dalil serve`: real processes over the real socket (the HTTP app of `dalil serve --http` on a Unix socket).

A served answer must be byte-for-byte the in-process answer, the client must not load
llama-index, chromadb or the HTTP server's stack, the server must follow ingests made by other
processes, and anything odd (other settings, another store, a dead or stopped server, a request
with another settings key, a shared folder) must fall back to answering in process or fail with one line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import load_settings
from agent.errors import DalilError
from agent.serve import server
from agent.serve.client import _UnixConnection

QUESTION = "متى جرى الاتصال الهاتفي بين لافروف وكيري حول حلب؟"
NEW_ARTICLE = "خبر تجريبي عن زلزال في مدينة قونية التركية وانقطاع الكهرباء عن أحياء واسعة.\n"


def dalil(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def start_server(store: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "agent", "serve", "--store", str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    settings = load_settings(None, {"store": {"path": store}})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dalil serve exited: {proc.stderr.read() if proc.stderr else ''}")
        if server.request(settings, "status", {}) is not None:
            return proc
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("dalil serve did not come up")


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    return stderr


def status(store: Path) -> dict:
    reply = server.request(load_settings(None, {"store": {"path": store}}), "status", {})
    assert reply is not None, "the server did not answer"
    return reply


@pytest.fixture
def served(store: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    proc = start_server(store)
    yield store, proc
    stop(proc)


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["ask", QUESTION, "--json"],
    ["ask", QUESTION],
    ["ask", "Who did Kerry call?", "--json", "-k", "3"],
    ["search", "لافروف كيري", "--json", "-k", "4"],
    ["search", "لافروف", "--mode", "dense", "--from", "2016-10-01", "--json"],
    ["ask", "ما هو سعر النفط اليوم؟", "--json"],  # an abstention
])
def test_served_output_is_the_in_process_output(served: tuple[Path, subprocess.Popen[str]], command: list[str]) -> None:
    store, _ = served
    before = status(store)["requests"]
    via_server = dalil(*command, "--store", str(store))
    in_process = dalil(*command, "--store", str(store), env={"DALIL_SERVER_USE": "false"})
    assert via_server.returncode == in_process.returncode == 0, via_server.stderr + in_process.stderr
    assert via_server.stdout == in_process.stdout
    assert via_server.stdout.strip()
    assert status(store)["requests"] == before + 1  # the first went to the server, the second did not


@pytest.mark.slow
def test_the_client_loads_neither_llama_index_nor_chromadb(served: tuple[Path, subprocess.Popen[str]]) -> None:
    store, _ = served
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "agent", "ask", QUESTION, "--store", str(store)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mode: extractive" in result.stdout
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "agent" in loaded  # the import log is really there
    assert not {"llama_index", "chromadb", "bm25s", "numpy", "fastapi", "starlette", "uvicorn", "httpx"} & loaded


@pytest.mark.slow
def test_other_settings_are_answered_in_process(served: tuple[Path, subprocess.Popen[str]], tmp_path: Path) -> None:
    store, _ = served
    before = status(store)["requests"]
    other = dalil("search", "لافروف", "--store", str(store), "--json", env={"DALIL_RETRIEVAL_MODE": "bm25"})
    assert other.returncode == 0, other.stderr
    assert '"mode": "bm25"' in other.stdout
    copy = tmp_path / "other-store"  # the same articles in another store: never answered by this store's server
    shutil.copytree(store, copy)
    answer = dalil("ask", QUESTION, "--store", str(copy), "--json")
    assert answer.returncode == 0 and json.loads(answer.stdout)["citations"], answer.stderr
    assert status(store)["requests"] == before


@pytest.mark.slow
def test_user_errors_come_back_as_one_line(served: tuple[Path, subprocess.Popen[str]]) -> None:
    store, proc = served
    before = status(store)["requests"]
    for args, message in [
        (["ask", QUESTION, "--from", "2016-10-10", "--to", "2016-10-01"], "--from is after --to"),  # the client's
        (["ask", "   "], "the question is empty"),  # the server's
        (["ask", QUESTION, "--lang", "fr"], "--lang must be ar or en"),  # the client's
        (["search", "   "], "the query is empty"),  # the client's
    ]:
        result = dalil(*args, "--store", str(store))
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [f"dalil: error: {result.stderr.split('error: ', 1)[1].strip()}"]
        assert message in result.stderr
        in_process = dalil(*args, "--store", str(store), env={"DALIL_SERVER_USE": "false"})
        assert in_process.returncode == 1 and in_process.stderr == result.stderr  # the same line either way
    assert status(store)["requests"] == before + 1  # one was the server's error
    assert proc.poll() is None


@pytest.mark.slow
def test_the_server_sees_what_another_process_ingests(served: tuple[Path, subprocess.Popen[str]], tmp_path: Path) -> None:
    store, _ = served
    query = ["search", "زلزال قونية", "--store", str(store), "--json", "-k", "1"]
    assert "quake.txt" not in dalil(*query).stdout
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "quake.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert dalil("ingest", str(tmp_path / "new"), "--store", str(store)).returncode == 0
    before = status(store)["requests"]
    for mode in ("dense", "bm25", "hybrid"):
        result = dalil(*query, "--mode", mode)
        assert '"file": "quake.txt"' in result.stdout, (mode, result.stdout[:500])
    assert status(store)["requests"] == before + 3
    assert status(store)["documents"] == 6


@pytest.mark.slow
def test_a_killed_server_is_replaced_and_clients_fall_back(store: Path) -> None:
    proc = start_server(store)
    proc.kill()
    proc.wait(timeout=30)
    settings = load_settings(None, {"store": {"path": store}})
    assert server.Endpoint(settings).socket.exists()  # SIGKILL leaves the socket behind
    answer = dalil("ask", QUESTION, "--store", str(store))
    assert answer.returncode == 0 and "mode: extractive" in answer.stdout
    second = start_server(store)
    try:
        assert status(store)["pid"] == second.pid
    finally:
        stop(second)


@pytest.mark.slow
def test_one_server_per_store_and_sigterm_cleans_up(served: tuple[Path, subprocess.Popen[str]]) -> None:
    store, proc = served
    again = dalil("serve", "--store", str(store), timeout=60)
    assert again.returncode == 1
    assert again.stderr.strip() == f"dalil: error: a dalil serve process already serves the store at {store} (stop it first)"
    endpoint = server.Endpoint(load_settings(None, {"store": {"path": store}}))
    assert "dalil serve: stopped" in stop(proc)
    assert proc.returncode == 0
    assert not endpoint.socket.exists()


def raw(path: Path, method: str, route: str, body: dict | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """One HTTP request over the socket, as any local process could send it."""
    conn = _UnixConnection(path, timeout=60)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, route, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read())
    finally:
        conn.close()


@pytest.mark.slow
def test_only_a_client_with_the_same_settings_gets_answers(served: tuple[Path, subprocess.Popen[str]]) -> None:
    store, proc = served
    settings = load_settings(None, {"store": {"path": store}})
    endpoint = server.Endpoint(settings)
    assert oct(endpoint.socket.stat().st_mode & 0o777) == "0o600"
    assert oct(endpoint.socket.parent.stat().st_mode & 0o777) == "0o700"
    for headers in ({}, {"X-Dalil-Settings": "0" * 64}, {"X-Dalil-Settings": server.settings_key(settings)[:-1]}):
        code, reply = raw(endpoint.socket, "POST", "/v1/ask", {"question": QUESTION}, headers)
        assert code == 409 and reply["error"]["code"] == "settings_mismatch"
    code, health = raw(endpoint.socket, "GET", "/health")
    assert code == 200 and health["settings"] == server.settings_key(settings) and health["pid"] == proc.pid
    assert proc.poll() is None
    result = dalil("search", "لافروف", "--store", str(store), "--json")
    assert result.returncode == 0 and status(store)["requests"] == 1  # it still serves the others, and refused the three


@pytest.mark.slow
def test_a_folder_others_can_enter_is_refused(store: Path, tmp_path: Path) -> None:
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    shared = runtime / f"dalil-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    result = dalil("serve", "--store", str(store), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == f"dalil: error: {shared} is not private to this user: remove it or fix its permissions"
    answer = dalil("ask", QUESTION, "--store", str(store))  # the client just works in process
    assert answer.returncode == 0 and "mode: extractive" in answer.stdout


def test_settings_key_follows_what_changes_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = load_settings(None, {"store": {"path": tmp_path / "s"}})
    assert server.settings_key(base) == server.settings_key(load_settings(None, {"store": {"path": tmp_path / "s"}}))
    assert server.settings_key(base) != server.settings_key(load_settings(None, {"store": {"path": tmp_path / "s"},
                                                                                  "retrieval": {"top_k": 9}}))
    same = load_settings(None, {"store": {"path": tmp_path / "s"}, "server": {"timeout": 5}})
    assert server.settings_key(base) == server.settings_key(same)  # how long a client waits changes no answer
    monkeypatch.chdir(tmp_path)
    relative = load_settings(None, {"store": {"path": Path("s")}})
    assert server.settings_key(base) == server.settings_key(relative)
    keyed = load_settings(None, {"store": {"path": tmp_path / "s"}, "llm": {"api_key": "sk-secret-abc"}})
    assert server.settings_key(keyed) != server.settings_key(base)
    assert "sk-secret-abc" not in server.settings_key(keyed)


def test_no_server_means_none_and_use_false_never_connects(tmp_path: Path) -> None:
    settings = load_settings(None, {"store": {"path": tmp_path / "s"}})
    assert server.request(settings, "status", {}) is None
    off = load_settings(None, {"store": {"path": tmp_path / "s"}, "server": {"use": False}})
    assert server.request(off, "ask", {"question": QUESTION}) is None


def test_unknown_requests_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(DalilError, match="unknown request"):
        server.request(load_settings(None, {"store": {"path": tmp_path}}), "drop-tables", {})


@pytest.mark.slow
def test_a_long_lived_pipeline_reopens_after_another_process_ingests(store: Path, tmp_path: Path) -> None:
    """What `dalil serve` and `dalil chat` rely on. The ingest takes the vector lease, so this pipeline's Chroma
    client is closed during it and reopened afterwards: its next dense search already sees the new vectors."""
    from agent.pipeline import Dalil

    pipeline = Dalil(load_settings(None, {"store": {"path": store}}))
    assert pipeline.search("زلزال قونية", 1, mode="dense").hits[0].file != "quake.txt"
    opened, embedder = pipeline.store, pipeline.embedder
    pipeline.refresh_store()
    assert pipeline.store is opened  # nothing changed
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "quake.txt").write_text(NEW_ARTICLE, encoding="utf-8")
    assert dalil("ingest", str(tmp_path / "new"), "--store", str(store)).returncode == 0
    assert pipeline.search("زلزال قونية", 1, mode="dense").hits[0].file == "quake.txt"  # handed over, reopened: not stale
    pipeline.refresh_store()
    assert pipeline.store is not opened and pipeline.embedder is embedder  # only the store is reopened
    assert pipeline.search("زلزال قونية", 1, mode="dense").hits[0].file == "quake.txt"


@pytest.mark.slow
def test_a_client_that_leaves_before_its_answer_does_not_stop_the_server(served: tuple[Path, subprocess.Popen[str]]) -> None:
    store, proc = served
    settings = load_settings(None, {"store": {"path": store}})
    endpoint = server.Endpoint(settings)
    key = server.settings_key(settings)
    body = json.dumps({"question": QUESTION}).encode()
    for _ in range(3):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(endpoint.socket))
        sock.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     + f"X-Dalil-Settings: {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        sock.close()  # gone before the answer is sent
    for junk in (b"[1, 2]\r\n\r\n", b"not http at all\r\n\r\n", b"\x00\xff" * 100 + b"\r\n\r\n"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(30)
        sock.connect(str(endpoint.socket))
        sock.sendall(junk)
        reply = sock.recv(100)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 400"), reply  # a 400, or the connection closed: no answer
        sock.close()
    assert raw(endpoint.socket, "POST", "/v1/ask", {"question": QUESTION, "k": 0}, {"X-Dalil-Settings": key})[0] == 422
    assert proc.poll() is None
    deadline = time.monotonic() + 60
    while status(store)["requests"] < 3 and time.monotonic() < deadline:  # the three that left are answered in turn
        time.sleep(0.2)
    assert status(store)["requests"] == 3  # it answered the three that left (not the malformed one), and still answers


@pytest.mark.slow
def test_a_stopped_server_does_not_hang_clients(served: tuple[Path, subprocess.Popen[str]]) -> None:
    store, proc = served
    proc.send_signal(signal.SIGSTOP)  # as Ctrl-Z on `dalil serve`
    try:
        started = time.monotonic()
        answer = dalil("ask", QUESTION, "--store", str(store), timeout=60)
        waited = time.monotonic() - started
    finally:
        proc.send_signal(signal.SIGCONT)
    assert answer.returncode == 0 and "mode: extractive" in answer.stdout  # answered in process
    assert waited < server.HANDSHAKE_SECONDS + 30
    assert status(store)["requests"] == 0  # the server never saw it
