"""The client of Dalil's HTTP server, standard library only: over TCP (``dalil --server URL``) or over
the Unix socket of a local ``dalil serve``.

Why the standard library (``http.client``): a command that hands its question to a server must not
pay for the imports the server exists to avoid (llama-index, Chroma, FastAPI, an HTTP stack); this
module imports ``http.client``, ``socket``, ``json`` and ``agent.errors`` / ``agent.safety`` only.

``Client`` sends one request and returns the JSON reply, or the server-sent events of a streamed
one. What goes wrong is a ``DalilError`` of one line: the server's own message for a request it
refused (400, 404, 422: an empty question, an unknown outlet), and a ``ServerUnavailable`` for
everything about reaching it (refused, timed out, 401, 429, 5xx, a reply that is not Dalil's). The
API token is sent in the ``Authorization`` header only: never in a message, never in a repr.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from agent.errors import DalilError
from agent.safety import display, mask_url

SETTINGS_HEADER = "X-Dalil-Settings"  # the local server's settings key (agent.serve.server.settings_key)


class ServerUnavailable(DalilError):
    """The server could not be reached, refused the client (401, 429) or failed (5xx): not the request's fault."""


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (``dalil serve``'s)."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self.socket_path))
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Client:
    """Requests to one Dalil server: ``Client.for_url(url, token)`` or ``Client.for_socket(path)``.

    One connection, kept open between requests (uvicorn keeps it alive); ``close()`` ends it."""

    def __init__(self, where: str, connect: Any, prefix: str = "", token: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.where = where  # for messages: the URL with any credentials masked, or the socket's path
        self._connect = connect  # timeout -> an unopened HTTPConnection
        self._prefix = prefix.rstrip("/")
        self._headers = {"Accept": "application/json", **(headers or {})}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._conn: http.client.HTTPConnection | None = None
        self._timeout: float | None = None

    def __repr__(self) -> str:  # never the token
        return f"Client({self.where!r})"

    @classmethod
    def for_url(cls, url: str, token: str | None = None) -> Client:
        parts = urlsplit(url.strip())
        where = mask_url(url.strip()) or url
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DalilError(f"the server URL must look like http://host:port, not {display(where)!r}")
        try:
            port = parts.port
        except ValueError:
            raise DalilError(f"the server URL {display(where)!r} has an invalid port") from None
        host = parts.hostname
        if parts.scheme == "https":
            context = ssl.create_default_context()

            def connect(timeout: float) -> http.client.HTTPConnection:
                return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        else:
            def connect(timeout: float) -> http.client.HTTPConnection:
                return http.client.HTTPConnection(host, port, timeout=timeout)
        return cls(where, connect, parts.path, token)

    @classmethod
    def for_socket(cls, path: Path, headers: dict[str, str] | None = None) -> Client:
        return cls(str(path), lambda timeout: _UnixConnection(path, timeout), headers=headers)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- requests ------------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: Any, timeout: float, accept: str | None = None) -> http.client.HTTPResponse:
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if accept:
            headers["Accept"] = accept
        for attempt in (1, 2):  # a kept-alive connection the server has since closed: once more on a new one
            if self._conn is None or self._timeout != timeout:
                self.close()
                self._conn, self._timeout = self._connect(timeout), timeout
            conn = self._conn
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if attempt == 2:
                    raise self._unreachable(exc) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise self._unreachable(exc) from None
        raise AssertionError("unreachable")

    def _unreachable(self, exc: BaseException) -> ServerUnavailable:
        if isinstance(exc, TimeoutError | socket.timeout):
            reason = "no answer in time"
        elif isinstance(exc, ssl.SSLError):
            reason = f"TLS error ({exc.reason or exc})"
        elif isinstance(exc, socket.gaierror):
            reason = "unknown host"
        elif isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror.lower()
        else:
            reason = type(exc).__name__
        return ServerUnavailable(f"cannot reach the Dalil server at {self.where}: {reason}")

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
             timeout: float = 300.0) -> Any:
        """The JSON reply of one request; a ``DalilError`` for an error reply (see the module docstring)."""
        path = _with_query(path, query)
        try:
            reply = self._send(method, path, body, timeout)
            data = reply.read()
        except ServerUnavailable:
            raise
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise self._unreachable(exc) from None
        if reply.will_close:
            self.close()
        parsed = self._parsed(reply, data)
        if reply.status >= 400:
            raise self._error(reply, parsed)
        return parsed

    def events(self, path: str, body: Any, timeout: float = 300.0) -> Iterator[tuple[str | None, str]]:
        """The server-sent events of a streamed request, as (event name, data), up to ``[DONE]``."""
        reply = self._send("POST", path, body, timeout, accept="text/event-stream")
        if reply.status >= 400 or not (reply.getheader("Content-Type") or "").startswith("text/event-stream"):
            body_bytes = reply.read()
            self.close()
            parsed = self._parsed(reply, body_bytes)
            raise self._error(reply, parsed) if reply.status >= 400 else self._not_dalil(reply)
        name: str | None = None
        lines: list[str] = []
        try:
            while True:
                raw = reply.readline()
                if not raw:
                    raise ServerUnavailable(f"the Dalil server at {self.where} ended the answer early")
                line = raw.decode("utf-8").rstrip("\r\n")
                if line:
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        lines.append(line[6:])
                    continue
                if not lines:
                    continue
                data = "\n".join(lines)
                if data == "[DONE]":
                    break
                if name == "error":
                    raise self._error(reply, _loads(data), status=None)
                yield name, data
                name, lines = None, []
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None
        finally:
            self.close()  # a stream is read to its end or abandoned: the connection is not reused

    # -- replies -------------------------------------------------------------------------------

    def _parsed(self, reply: http.client.HTTPResponse, data: bytes) -> Any:
        if not (reply.getheader("Content-Type") or "").startswith("application/json"):
            if reply.status >= 500 or reply.status in (401, 429):
                return None  # a proxy's error page: the status says enough
            raise self._not_dalil(reply)
        parsed = _loads(data.decode("utf-8", errors="replace"))
        if parsed is _BAD:
            raise self._not_dalil(reply)
        return parsed

    def _not_dalil(self, reply: http.client.HTTPResponse) -> ServerUnavailable:
        kind = (reply.getheader("Content-Type") or "no content type").split(";")[0]
        return ServerUnavailable(f"the server at {self.where} did not answer as a Dalil server (HTTP {reply.status}, {display(kind)})")

    def _error(self, reply: http.client.HTTPResponse, parsed: Any, status: int | None = -1) -> DalilError:
        status = reply.status if status == -1 else status
        error = parsed.get("error") if isinstance(parsed, dict) else None
        message = display(str(error.get("message") or "")) if isinstance(error, dict) else ""
        code = error.get("code") if isinstance(error, dict) else None
        if status == 401:
            return ServerUnavailable(f"the Dalil server at {self.where} refused the request (401): missing or invalid API token "
                                     "(set server.token or DALIL_SERVER_TOKEN)")
        if status == 429:
            wait = reply.getheader("Retry-After")
            later = f"; try again in {display(wait)} s" if wait else ""
            return ServerUnavailable(f"the Dalil server at {self.where} is rate limiting this client (429){later}")
        if status is None and isinstance(error, dict) and error.get("type") != "server_error":
            return DalilError(message or "the server reported an error")
        if status is None or status >= 500:
            detail = f": {message}" if message else ""
            return ServerUnavailable(f"the Dalil server at {self.where} failed ({status or 'while streaming'}){detail}")
        return RemoteError(message or f"the Dalil server refused the request (HTTP {status})", status, code)


class RemoteError(DalilError):
    """A request the server refused as the request's fault (400, 404, 409, 413, 422): its one-line message."""

    def __init__(self, message: str, status: int, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


_BAD = object()


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _BAD


def _with_query(path: str, query: dict[str, Any] | None) -> str:
    values = {k: v for k, v in (query or {}).items() if v is not None}
    return f"{path}?{urlencode(values)}" if values else path
