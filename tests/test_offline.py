"""Offline proof: `dalil ingest` and `dalil ask` in a subprocess whose network is blocked.

A ``sitecustomize.py`` on ``PYTHONPATH`` patches the socket module so every connection or
name lookup that is not loopback or a Unix socket raises ``OSError("network blocked by
test")`` and is written to a log. Nothing is configured to be offline (no HF_HUB_OFFLINE and
the like): the point is to show that nothing even tries to reach the network, so the log
must stay empty, and that no model is downloaded into the (temporary) home folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

SITECUSTOMIZE = textwrap.dedent(
    '''
    """Test-only network blocker (loaded through PYTHONPATH)."""
    import ipaddress
    import os
    import socket

    _LOG = os.environ["NETBLOCK_LOG"]

    with open(os.environ["NETBLOCK_LOADED"], "a", encoding="utf-8") as _f:
        _f.write(f"{os.getpid()}\\n")


    def _local_host(host):
        if host is None:
            return True
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        host = str(host).strip("[]").split("%")[0]
        if host in ("", "localhost", "localhost.localdomain"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


    def _allowed(address, family=None):
        if family == getattr(socket, "AF_UNIX", object()) or isinstance(address, (str, bytes)):
            return True  # Unix socket path
        if isinstance(address, tuple) and address:
            return _local_host(address[0])
        return False


    def _blocked(what, detail):
        with open(_LOG, "a", encoding="utf-8") as f:
            f.write(f"{what} {detail!r}\\n")
        raise OSError("network blocked by test")


    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex
    _create_connection = socket.create_connection
    _getaddrinfo = socket.getaddrinfo
    _gethostbyname = socket.gethostbyname


    def connect(self, address):
        if not _allowed(address, self.family):
            _blocked("connect", address)
        return _connect(self, address)


    def connect_ex(self, address):
        if not _allowed(address, self.family):
            _blocked("connect_ex", address)
        return _connect_ex(self, address)


    def create_connection(address, *args, **kwargs):
        if not _allowed(address):
            _blocked("create_connection", address)
        return _create_connection(address, *args, **kwargs)


    def getaddrinfo(host, *args, **kwargs):
        if not _local_host(host):
            _blocked("getaddrinfo", host)
        return _getaddrinfo(host, *args, **kwargs)


    def gethostbyname(host):
        if not _local_host(host):
            _blocked("gethostbyname", host)
        return _gethostbyname(host)


    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.create_connection = create_connection
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    '''
)

# Settings that would make libraries skip the network on their own; removed so they cannot hide an attempt.
_SCRUB_PREFIXES = ("DALIL_", "OPENAI_", "HF_", "HUGGINGFACE_", "TRANSFORMERS_", "CHROMA_", "TIKTOKEN_", "XDG_", "NLTK_")
_SCRUB = {"ANONYMIZED_TELEMETRY", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME"}


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, object]:
    block = tmp_path / "netblock"
    block.mkdir()
    (block / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    log, loaded = tmp_path / "network-attempts.log", tmp_path / "blocker-loaded.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB}
    env.update({
        "HOME": str(home), "PYTHONPATH": str(block), "NETBLOCK_LOG": str(log), "NETBLOCK_LOADED": str(loaded),
        "COLUMNS": "200", "TERM": "dumb", "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1",
    })
    return {"env": env, "home": home, "log": log, "loaded": loaded, "cwd": tmp_path}


def _dalil_command() -> list[str]:
    script = Path(sys.executable).parent / "dalil"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "agent.cli"]


def _run(sandbox: dict[str, object], args: list[str], timeout: int = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=sandbox["env"], cwd=sandbox["cwd"], capture_output=True, text=True, encoding="utf-8", timeout=timeout,
    )


def _attempts(sandbox: dict[str, object]) -> str:
    log = sandbox["log"]
    assert isinstance(log, Path)
    return log.read_text(encoding="utf-8") if log.exists() else ""


def test_blocker_blocks_and_records(sandbox: dict[str, object]) -> None:
    """The blocker itself works, so an empty log below means something."""
    code = textwrap.dedent(
        """
        import socket
        try:
            socket.create_connection(("example.com", 80), timeout=1)
        except OSError as exc:
            print("blocked:", exc)
        try:
            socket.getaddrinfo("model-hub.example", 443)  # a model hub lookup, as a downloader would make
        except OSError as exc:
            print("blocked:", exc)
        s = socket.socket()
        try:
            s.connect(("93.184.216.34", 443))
        except OSError as exc:
            print("blocked:", exc)
        finally:
            s.close()
        a, b = socket.socketpair()  # local sockets stay usable
        a.sendall(b"ok"); print(b.recv(2).decode())
        """
    )
    result = _run(sandbox, [sys.executable, "-c", code], timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("blocked: network blocked by test") == 3
    assert result.stdout.rstrip().endswith("ok")
    attempts = _attempts(sandbox)
    assert "example.com" in attempts and "model-hub.example" in attempts and "93.184.216.34" in attempts


@pytest.mark.slow
def test_ingest_and_ask_never_touch_the_network(sandbox: dict[str, object]) -> None:
    store = Path(str(sandbox["cwd"])) / "offline-store"
    dalil = _dalil_command()

    ingest = _run(sandbox, [*dalil, "ingest", str(SEEDS), "--store", str(store), "--json"])
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    report = json.loads(ingest.stdout)
    assert report["added"] == 5 and report["errors"] == []

    ask = _run(sandbox, [*dalil, "ask", "ماذا قالت ماريا زاخاروفا؟", "--store", str(store), "--json"])
    assert ask.returncode == 0, ask.stderr[-3000:]
    answer = json.loads(ask.stdout)
    assert answer["mode"] == "extractive" and answer["abstained"] is False
    assert answer["citations"] and "[1]" in answer["answer"]
    assert answer["citations"][0]["quote"] in (SEEDS / answer["citations"][0]["file"]).read_text(encoding="utf-8")

    loaded = Path(str(sandbox["loaded"])).read_text(encoding="utf-8").split()
    assert len(loaded) >= 2, "the network blocker was not loaded in every subprocess"
    assert _attempts(sandbox) == "", "network access attempted:\n" + _attempts(sandbox)
    assert "network blocked by test" not in ingest.stderr + ask.stderr

    home = Path(str(sandbox["home"]))
    assert not (home / ".cache" / "chroma" / "onnx_models").exists()
    assert not (home / ".cache" / "huggingface").exists()
