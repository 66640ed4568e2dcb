"""Query server: one long-lived process keeps a store open so `dalil ask` and `dalil search` start fast.

``serve(settings)`` opens the store once and answers ``ask`` / ``search`` requests over a
Unix socket with the same JSON contracts as ``--json`` (``agent.schema``). ``request(settings,
op, args)`` is the client side: it returns the server's reply, or ``None`` when no server
serves this store with these very settings, and the caller then works in its own process.

Why it exists: a `dalil ask` process spends about 1.7 s importing llama-index and
chromadb before any work; the client side imports neither (only the standard library and
``agent.config``), so a question answered by the server costs a few hundred milliseconds.

Why by hand: no dependency of Dalil offers a local request/reply server, and an HTTP framework
would cost the client the very imports this avoids. ``multiprocessing.connection`` gives message
framing and an HMAC handshake; requests and replies are JSON (never pickle). The socket and its
key live in a per-user folder only its owner can enter (``$XDG_RUNTIME_DIR`` or the temp dir).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import socket
import struct
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from agent.config import Settings
from agent.errors import DalilError
from agent.safety import mask_url

if TYPE_CHECKING:
    from agent.pipeline import Dalil

PROTOCOL = 1
MAX_REQUEST_BYTES = 1 << 20  # a question, a few options
HANDSHAKE_SECONDS = 5.0  # a client gives up on a server that does not even greet it in this time
CLIENT_SECONDS = 10.0  # the server gives up on a client that stops reading or writing for this long


class Endpoint:
    """Where the server of one store listens: a socket and the key that authenticates its clients."""

    def __init__(self, settings: Settings) -> None:
        self.store = settings.store.url or settings.store.path
        where = settings.store.url or str(Path(settings.store.path).resolve())
        name = hashlib.sha256(f"{where}|{settings.collection_name()}".encode()).hexdigest()[:24]
        folder = _private_folder()
        self.socket = folder / f"{name}.sock"
        self.key_file = folder / f"{name}.key"
        self.lock_file = folder / f"{name}.lock"


# settings that change how, not what, Dalil answers: a client differing only in these still uses the server
_NOT_IN_KEY: dict[str, bool | set[str]] = {
    "server": True, "serve": True, "store": {"lock_timeout", "read_wait"}, "chunking": {"worker"}, "embeddings": {"threads", "batch_size"},
}


def settings_key(settings: Settings) -> str:
    """A digest of everything that can change an answer: the settings (secrets only as a hash), the
    lexicon file's contents, Dalil's version and ``OPENAI_BASE_URL`` (read by the openai SDK).

    A client uses the server only when both have the same key, so a different config file,
    DALIL_* variable or flag never gets an answer computed under other settings."""
    data = settings.model_dump(mode="python", exclude=_NOT_IN_KEY)
    data["store"]["path"] = str(Path(settings.store.path).resolve())
    if settings.lexicon is not None:
        lexicon = Path(settings.lexicon)
        data["lexicon"] = [str(lexicon.resolve()), hashlib.sha256(lexicon.read_bytes()).hexdigest() if lexicon.is_file() else None]
    data["dalil"] = [_version(), PROTOCOL, os.environ.get("OPENAI_BASE_URL")]

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return hashlib.sha256(value.get_secret_value().encode()).hexdigest()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return str(value) if isinstance(value, Path) else value

    return hashlib.sha256(json.dumps(plain(data), sort_keys=True, default=str).encode()).hexdigest()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dalil")
    except PackageNotFoundError:
        return "unknown"


# client -----------------------------------------------------------------------------------------


def request(settings: Settings, op: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The running server's result for one request, or None when there is no server for these settings.

    A user error on the server side (an empty store, a bad filter) raises ``DalilError`` here as
    it would in process; anything else (no server, another settings key, a server that died or
    timed out) returns None so the caller answers in process.
    """
    if not settings.server.use:
        return None
    message = {"protocol": PROTOCOL, "settings": settings_key(settings), "op": op, "args": args}
    reply = _exchange(settings, message, settings.server.timeout)
    if reply is None:
        return None
    if reply.get("status") == "error":
        raise DalilError(reply["error"])
    return reply.get("result") if reply.get("status") == "ok" else None


def _exchange(settings: Settings, message: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    """Send one message to the store's server and return its reply; None when none answers in time."""
    try:
        endpoint = Endpoint(settings)
        key = endpoint.key_file.read_bytes()
        conn = _connect(endpoint.socket, key)
    except (OSError, EOFError, AuthenticationError, DalilError):
        return None  # no server, a stale socket, or one busy or stopped for longer than the handshake allows
    try:
        with conn:
            conn.send_bytes(json.dumps(message).encode())
            if not conn.poll(timeout):
                return None
            reply = json.loads(conn.recv_bytes())
    except (OSError, EOFError, ValueError):
        return None
    return reply if isinstance(reply, dict) else None


def _connect(path: Path, key: bytes) -> Connection:
    """``multiprocessing.connection.Client`` with a deadline: its handshake would wait forever on a
    server that is suspended (Ctrl-Z) or still busy with another request."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        _set_timeouts(sock, HANDSHAKE_SECONDS)
        sock.connect(str(path))
        conn = Connection(sock.detach())
    finally:
        sock.close()
    try:
        answer_challenge(conn, key)
        deliver_challenge(conn, key)
    except BaseException:
        conn.close()
        raise
    return conn


def _set_timeouts(sock: socket.socket, seconds: float) -> None:
    """Blocking reads and writes that give up after ``seconds`` (Connection reads the raw descriptor,
    so ``settimeout``, which makes it non-blocking, cannot be used)."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


# server -----------------------------------------------------------------------------------------


def serve(settings: Settings, on_ready: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Serve ``settings.store`` until Ctrl-C or SIGTERM. One request at a time, in arrival order."""
    from agent import runtime
    from agent.pipeline import Dalil

    runtime.setup(settings)  # an entry point of its own (a library caller may serve without the CLI)
    endpoint = Endpoint(settings)
    with _exclusive(endpoint):
        key = os.urandom(32)
        _write_private(endpoint.key_file, key)
        endpoint.socket.unlink(missing_ok=True)  # left by a server that was killed
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listening.bind(str(endpoint.socket))
            listening.listen(16)
        except OSError as exc:
            listening.close()
            raise DalilError(f"cannot listen on {endpoint.socket}: {exc.strerror or exc}") from None
        signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            state = _ServerState(Dalil(settings), settings_key(settings))
            state.warm_up()
            if on_ready is not None:
                on_ready({"store": str(Path(settings.store.path).resolve()), "socket": str(endpoint.socket), **state.status()})
            while True:
                client, _ = listening.accept()
                _set_timeouts(client, CLIENT_SECONDS)  # a client that stalls cannot hold the others up for long
                conn = Connection(client.detach())
                try:
                    deliver_challenge(conn, key)
                    answer_challenge(conn, key)
                    state.handle(conn)
                except (AuthenticationError, OSError, EOFError):
                    pass  # a client without the key, or one that left before its answer
                finally:
                    conn.close()
        except KeyboardInterrupt:
            pass
        finally:
            listening.close()
            for path in (endpoint.socket, endpoint.key_file):
                path.unlink(missing_ok=True)


@contextmanager
def _exclusive(endpoint: Endpoint) -> Iterator[None]:
    """One server per store: an exclusive lock held for the server's whole life."""
    handle = open(endpoint.lock_file, "a")  # noqa: SIM115 - held until the server stops
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DalilError(f"a dalil serve process already serves the store at {mask_url(str(endpoint.store))} (stop it first)") from None
        yield
    finally:
        handle.close()


class _ServerState:
    def __init__(self, dalil: Dalil, key: str) -> None:
        self.dalil = dalil
        self.key = key
        self.started = time.time()
        self.requests = 0

    def warm_up(self) -> None:
        """Load what every question needs (embedder, Chroma, the BM25 index) before the first client."""
        self.dalil.embedder.get_query_embedding("warm-up")
        if not self.dalil.store.registry.is_empty():
            self.dalil.search("warm-up", 1)

    def status(self) -> dict[str, Any]:
        docs, chunks = self.dalil.store.registry.counts()
        return {"pid": os.getpid(), "requests": self.requests, "documents": docs, "chunks": chunks,
                "uptime_s": round(time.time() - self.started, 1)}

    def handle(self, conn: Connection) -> None:
        """Read one request and answer it. Raises OSError / EOFError when the client is gone."""
        try:
            message = json.loads(conn.recv_bytes(MAX_REQUEST_BYTES))
        except ValueError:
            message = None  # answered as a mismatch: the client then works in process
        conn.send_bytes(json.dumps(self.reply(message), ensure_ascii=False).encode())

    def reply(self, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict) or message.get("protocol") != PROTOCOL or message.get("settings") != self.key:
            return {"status": "mismatch"}
        args = message.get("args") or {}
        if not isinstance(args, dict):
            return {"status": "failed"}
        try:
            result = self.run(message.get("op"), args)
        except DalilError as exc:
            return {"status": "error", "error": str(exc)}
        except Exception:  # a bug must not take the server down: the client answers in process
            traceback.print_exc(file=sys.stderr)
            return {"status": "failed"}
        return {"status": "ok", "result": result}

    def run(self, op: Any, args: dict[str, Any]) -> dict[str, Any]:
        from agent.retrieval.retrieve import SearchFilters

        if op == "status":
            return self.status()
        self.requests += 1
        self.dalil.refresh_store()
        filters = SearchFilters.parse(args.get("date_from"), args.get("date_to"), args.get("outlet"))
        if op == "ask":
            answer = self.dalil.ask(args["question"], filters, args.get("top_k"), mode=args.get("mode"), lang=args.get("lang"))
            return answer.model_dump(mode="json")
        if op == "search":
            return self.dalil.search(args["query"], args.get("top_k"), filters, args.get("mode")).model_dump(mode="json")
        raise DalilError(f"unknown request {op!r}")


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _private_folder() -> Path:
    """A folder only this user can enter, for sockets and keys."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = base / f"dalil-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise DalilError(f"{folder} is not private to this user: remove it or fix its permissions")
    return folder


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
