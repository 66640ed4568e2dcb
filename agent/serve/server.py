"""`dalil serve`: one long-lived process keeps a store open so `dalil ask` and `dalil search` start fast.

``serve(settings)`` runs the HTTP app of ``agent.serve.http`` (the very routes and JSON of
``dalil serve --http``) under uvicorn, listening on a Unix socket instead of a TCP port.
``request(settings, op, args)`` is the client side: it returns the server's reply (the JSON of
``--json``, ``agent.schema``), or ``None`` when no server serves this store with these very
settings, and the caller then works in its own process.

Why it exists: a `dalil ask` process spends about 1.7 s importing llama-index and chromadb before
any work; the client side imports neither, nor FastAPI: only the standard library (``http.client``
over an ``AF_UNIX`` socket, ``agent.serve.client``) and ``agent.config``, so a question answered by
the server costs a few hundred milliseconds.

Same store, same settings: the socket's name is a digest of the store and collection, and the
server knows the digest of everything that can change an answer (``settings_key``). The client
first asks ``GET /health`` (answered without touching the store, so a server busy with another
question still greets it at once) and goes on only when the server's key is its own; every
request then carries the key in ``X-Dalil-Settings``, and the server refuses one with another key
(409), so a client never gets an answer computed under other settings.

Who may connect: the socket lives in a per-user folder only its owner can enter (``$XDG_RUNTIME_DIR``
or the temp dir, checked to be 0700 and the user's own), and the socket itself is 0600; no token is
needed or checked there, and no rate limit applies (one user's own processes).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from agent.config import Settings
from agent.errors import DalilError
from agent.safety import mask_url

PROTOCOL = 2  # 1: multiprocessing.connection messages; 2: HTTP
HANDSHAKE_SECONDS = 5.0  # a client gives up on a server that does not even greet it in this time

# an op of ``request`` -> its route; the args are the route's JSON fields
_ROUTES = {"ask": "/v1/ask", "search": "/v1/search"}


class Endpoint:
    """Where the server of one store listens: a socket beside its lock, in the user's private folder."""

    def __init__(self, settings: Settings) -> None:
        self.store = settings.store.url or settings.store.path
        where = settings.store.url or str(Path(settings.store.path).resolve())
        name = hashlib.sha256(f"{where}|{settings.collection_name()}".encode()).hexdigest()[:24]
        folder = _private_folder()
        self.socket = folder / f"{name}.sock"
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

    ``op`` is ``ask`` or ``search`` (``args``: the route's JSON fields) or ``status`` (``GET /ready``:
    the store's documents and chunks, the server's pid and the questions it answered). A user error
    on the server side (an empty question) raises ``DalilError`` here as it would in process;
    anything else (no server, another settings key, a server that died, is stopped or timed out)
    returns None so the caller answers in process.
    """
    from agent.serve.client import SETTINGS_HEADER, Client, RemoteError, ServerUnavailable

    if op not in (*_ROUTES, "status"):
        raise DalilError(f"unknown request {op!r}")
    if not settings.server.use:
        return None
    try:
        path = Endpoint(settings).socket
    except DalilError:
        return None  # a folder others can enter: never used (``dalil serve`` says why)
    if not path.exists():
        return None
    key = settings_key(settings)
    client = Client.for_socket(path, headers={SETTINGS_HEADER: key})
    try:
        health = client.call("GET", "/health", timeout=HANDSHAKE_SECONDS)
        if not isinstance(health, dict) or health.get("settings") != key:
            return None
        if op == "status":
            reply = client.call("GET", "/ready", timeout=HANDSHAKE_SECONDS)
        else:
            body = {("k" if k == "top_k" else k): v for k, v in args.items() if v is not None}  # the CLI's names, the route's fields
            reply = client.call("POST", _ROUTES[op], body=body, timeout=settings.server.timeout)
    except RemoteError as exc:
        if exc.status == 409 or exc.status >= 500:
            return None  # the server's settings changed in between
        raise DalilError(str(exc)) from None
    except ServerUnavailable:
        return None
    finally:
        client.close()
    return reply if isinstance(reply, dict) else None


# server -----------------------------------------------------------------------------------------


def serve(settings: Settings, on_ready: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Serve ``settings.store`` on its Unix socket until Ctrl-C or SIGTERM (one question at a time, in arrival order)."""
    from agent import runtime
    from agent.serve import http

    runtime.setup(settings)  # an entry point of its own (a library caller may serve without the CLI)
    endpoint = Endpoint(settings)
    with _exclusive(endpoint):
        endpoint.socket.unlink(missing_ok=True)  # left by a server that was killed
        listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # bound here, not with uvicorn's uds= (which makes the socket 0666): it is born 0600
        old_umask = os.umask(0o177)
        try:
            listening.bind(str(endpoint.socket))
            listening.listen(128)
        except OSError as exc:
            listening.close()
            raise DalilError(f"cannot listen on {endpoint.socket}: {exc.strerror or exc}") from None
        finally:
            os.umask(old_umask)

        def ready(info: dict[str, Any]) -> None:
            if on_ready is not None:
                on_ready({**info, "socket": str(endpoint.socket), "pid": os.getpid()})

        try:
            http.run(settings, on_ready=ready, sock=listening, local_key=settings_key(settings))
        finally:
            listening.close()
            endpoint.socket.unlink(missing_ok=True)


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


def _private_folder() -> Path:
    """A folder only this user can enter, for the sockets and their locks."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = base / f"dalil-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise DalilError(f"{folder} is not private to this user: remove it or fix its permissions")
    return folder
