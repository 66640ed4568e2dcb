"""A scripted, stdlib-only OpenAI-compatible HTTP server for tests and benchmarks.

Use it in-process::

    with ScriptedOpenAI(replies=[Reply("hello")]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")

or as a subprocess::

    python tests/scripted_openai.py --port 0 --script script.json

which prints ``READY http://127.0.0.1:PORT/v1`` once it is listening.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import json
import math
import random
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

HOST = "127.0.0.1"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


@dataclass
class Reply:
    """One scripted answer to a chat completion request."""

    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw_body: str | None = None
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    chunk_size: int = 8
    chunk_delay: float = 0.0
    match: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # OpenAI format; finish_reason becomes "tool_calls"

    def calls(self) -> list[dict[str, Any]]:
        """The tool calls in OpenAI format: ids filled in, dict arguments written as JSON text."""
        out = []
        for index, call in enumerate(self.tool_calls or []):
            function = dict(call.get("function") or {})
            if not isinstance(function.get("arguments"), str):
                function["arguments"] = json.dumps(function.get("arguments") or {}, ensure_ascii=False)
            out.append({"id": call.get("id") or f"call_{index}", "type": call.get("type", "function"), "function": function})
        return out

    @property
    def finish(self) -> str:
        return "tool_calls" if self.tool_calls and self.finish_reason == "stop" else self.finish_reason

    @classmethod
    def from_obj(cls, obj: Reply | str | dict[str, Any]) -> Reply:
        """Build a Reply from a Reply, a plain content string or a dict of fields."""
        if isinstance(obj, Reply):
            return obj
        if isinstance(obj, str):
            return cls(content=obj)
        if isinstance(obj, dict):
            unknown = set(obj) - {f.name for f in fields(cls)}
            if unknown:
                raise ValueError(f"unknown Reply fields: {sorted(unknown)}")
            return cls(**obj)
        raise TypeError(f"cannot make a Reply from {type(obj).__name__}")


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """OpenAI-style error JSON for an HTTP status."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error")
    if not message:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = f"scripted error {status}"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def message_text(body: dict[str, Any] | None) -> str:
    """Concatenate the text of all messages in a chat request (newline-joined)."""
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(
                str(p.get("text", ""))
                for p in content
                if isinstance(p, dict) and "text" in p
            )
    return "\n".join(parts)


def word_count(text: str) -> int:
    """Rough token count: number of whitespace-separated words."""
    return len(text.split())


def embed(text: str, dim: int) -> list[float]:
    """Deterministic unit vector of ``dim`` floats seeded by sha256 of ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")
    rng = random.Random(seed)
    vector = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def _embedding_inputs(raw: Any) -> list[str]:
    """Normalise an embeddings ``input`` (str, list[str], token lists) to strings."""
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list):
        if raw and all(isinstance(x, int) for x in raw):
            return [json.dumps(raw)]
        return [x if isinstance(x, str) else json.dumps(x) for x in raw]
    raise ValueError("'input' must be a string or a list")


def _sse(payload: dict[str, Any] | str) -> bytes:
    data = (
        payload
        if isinstance(payload, str)
        else json.dumps(payload, separators=(",", ":"))
    )
    return f"data: {data}\n\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, app: ScriptedOpenAI, port: int) -> None:
        self.app = app
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__((HOST, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def handle(self) -> None:
        """Serve requests, ignoring clients that went away (timeouts, shutdown)."""
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:
        self.server.app._dispatch(self, "GET")

    def do_POST(self) -> None:
        self.server.app._dispatch(self, "POST")

    def do_DELETE(self) -> None:
        self.server.app._dispatch(self, "DELETE")

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        trickle: float = 0.0,
    ) -> None:
        """Send a complete response with Content-Length (``trickle``: one byte every that many seconds)."""
        self.send_response(status)
        extra = dict(headers or {})
        for name in [n for n in extra if n.lower() == "content-type"]:
            content_type = extra.pop(name)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        if not trickle:
            self.wfile.write(body)
            return
        for i in range(len(body)):
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()
            time.sleep(trickle)

    def send_json(
        self, status: int, obj: Any, headers: dict[str, str] | None = None, trickle: float = 0.0
    ) -> None:
        self.send_bytes(status, json.dumps(obj).encode(), "application/json", headers, trickle)

    def send_stream(
        self, events: Iterable[bytes], headers: dict[str, str], delay: float
    ) -> None:
        """Send an SSE body with chunked transfer encoding, pausing ``delay`` between events."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        for index, event in enumerate(events):
            if index and delay:
                self.server.app._sleep(delay)
            self.wfile.write(f"{len(event):X}\r\n".encode() + event + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


class ScriptedOpenAI:
    """An OpenAI-compatible server that answers chat completions from a script.

    Chat replies are taken from a queue (see :meth:`enqueue`); the first queued reply whose
    ``match`` is None or occurs in the request's message text is used, else ``default``,
    else HTTP 500. Embeddings and model listing are answered deterministically, unless
    ``embeddings_reply`` is set: then every embeddings request gets its ``delay``, and its error
    ``status`` or ``raw_body`` when it has one (a fault to test, as a chat reply would give).
    """

    def __init__(
        self,
        replies: Iterable[Reply | str] | None = None,
        default: Reply | str | None = None,
        embedding_dim: int = 16,
        model: str = "scripted-model",
        port: int = 0,
        tool_calling: bool = True,
        embeddings_reply: Reply | str | None = None,
    ) -> None:
        self.default: Reply | None = (
            None if default is None else Reply.from_obj(default)
        )
        self.embeddings_reply: Reply | None = (
            None if embeddings_reply is None else Reply.from_obj(embeddings_reply)
        )
        self.embedding_dim = embedding_dim
        self.model = model
        self.tool_calling = tool_calling  # False: a request offering tools gets HTTP 400, as from a model without them
        self.requests: list[dict[str, Any]] = []
        self._port = port
        self._queue: list[Reply] = [Reply.from_obj(r) for r in replies or []]
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    @property
    def pending(self) -> list[Reply]:
        """Queued replies not yet used."""
        with self._lock:
            return list(self._queue)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """Parsed bodies of the chat completion requests received so far."""
        with self._lock:
            return [
                r["json"]
                for r in self.requests
                if r["path"].endswith("/chat/completions")
            ]

    def enqueue(self, *replies: Reply | str) -> None:
        """Append replies to the queue; a str means ``Reply(content=str)``."""
        with self._lock:
            self._queue.extend(Reply.from_obj(r) for r in replies)

    def start(self) -> Self:
        """Bind 127.0.0.1 and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with server.connections_lock:
            open_connections = list(server.connections)
        for conn in open_connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _record(
        self, handler: _Handler, method: str, raw: bytes
    ) -> dict[str, Any] | None:
        try:
            body = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        entry = {
            "path": urlsplit(handler.path).path,
            "method": method,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "json": body,
        }
        with self._lock:
            self.requests.append(entry)
        return body

    def _take_reply(self, body: dict[str, Any] | None) -> Reply | None:
        text = message_text(body)
        with self._lock:
            for index, reply in enumerate(self._queue):
                if reply.match is None or reply.match in text:
                    return self._queue.pop(index)
        return self.default

    def _dispatch(self, handler: _Handler, method: str) -> None:
        body = self._record(handler, method, handler.read_body())
        path = urlsplit(handler.path).path.rstrip("/")
        if path.startswith("/v1/"):
            path = path[3:]
        if method == "POST" and path == "/chat/completions":
            self._chat(handler, body if isinstance(body, dict) else {})
        elif method == "POST" and path == "/embeddings":
            self._embeddings(handler, body if isinstance(body, dict) else {})
        elif method == "GET" and path == "/models":
            handler.send_json(200, {"object": "list", "data": [self._model_obj()]})
        elif method == "GET" and path.startswith("/models/"):
            self._model(handler, unquote(path[len("/models/") :]))
        else:
            handler.send_json(404, error_body(404, f"unknown endpoint {method} {path}"))

    def _model_obj(self) -> dict[str, Any]:
        return {
            "id": self.model,
            "object": "model",
            "created": 0,
            "owned_by": "scripted",
        }

    def _model(self, handler: _Handler, model_id: str) -> None:
        if model_id == self.model:
            handler.send_json(200, self._model_obj())
        else:
            handler.send_json(404, error_body(404, f"model {model_id!r} not found"))

    def _chat(self, handler: _Handler, body: dict[str, Any]) -> None:
        if body.get("tools") and not self.tool_calling:
            handler.send_json(400, error_body(400, "this model does not support tools (function calling)"))
            return
        reply = self._take_reply(body)
        if reply is None:
            handler.send_json(500, error_body(500, "no scripted reply"))
            return
        self._sleep(reply.delay)
        stream = bool(body.get("stream"))
        if reply.raw_body is not None:
            kind = "text/event-stream" if stream else "application/json"
            handler.send_bytes(
                reply.status, reply.raw_body.encode(), kind, reply.headers
            )
        elif reply.status != 200:
            handler.send_json(
                reply.status, error_body(reply.status, reply.content), reply.headers
            )
        elif stream:
            events = self._chunks(reply, body)
            handler.send_stream(events, reply.headers, reply.chunk_delay)
        else:  # a non-streamed body trickles one byte per chunk_delay
            handler.send_json(200, self._completion(reply, body), reply.headers, reply.chunk_delay)

    def _usage(self, reply: Reply, body: dict[str, Any]) -> dict[str, int]:
        prompt = reply.prompt_tokens
        if prompt is None:
            prompt = word_count(message_text(body))
        completion = reply.completion_tokens
        if completion is None:
            completion = word_count(reply.content)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _envelope(self, obj: str, body: dict[str, Any], ident: str) -> dict[str, Any]:
        return {
            "id": ident,
            "object": obj,
            "created": int(time.time()),
            "model": body.get("model") or self.model,
        }

    def _completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        result = self._envelope("chat.completion", body, f"chatcmpl-{next(self._ids)}")
        result["choices"] = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content if reply.content or not reply.tool_calls else None,
                            **({"tool_calls": reply.calls()} if reply.tool_calls else {})},
                "finish_reason": reply.finish,
                "logprobs": None,
            }
        ]
        result["usage"] = self._usage(reply, body)
        return result

    def _chunks(self, reply: Reply, body: dict[str, Any]) -> Iterator[bytes]:
        ident = f"chatcmpl-{next(self._ids)}"
        with_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            obj = self._envelope("chat.completion.chunk", body, ident)
            obj["choices"] = [
                {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            ]
            if with_usage:
                obj["usage"] = None
            return _sse(obj)

        yield chunk({"role": "assistant", "content": ""})
        size = max(1, reply.chunk_size)
        for start in range(0, len(reply.content), size):
            yield chunk({"content": reply.content[start : start + size]})
        for index, call in enumerate(reply.calls()):  # each call's name first, then its arguments in pieces
            head = {"index": index, "id": call["id"], "type": call["type"], "function": {"name": call["function"]["name"], "arguments": ""}}
            yield chunk({"tool_calls": [head]})
            arguments = call["function"]["arguments"]
            for start in range(0, len(arguments), size):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments[start : start + size]}}]})
        yield chunk({}, reply.finish)
        if with_usage:
            last = self._envelope("chat.completion.chunk", body, ident)
            last["choices"] = []
            last["usage"] = self._usage(reply, body)
            yield _sse(last)
        yield _sse("[DONE]")

    def _embeddings(self, handler: _Handler, body: dict[str, Any]) -> None:
        fault = self.embeddings_reply
        if fault is not None:
            self._sleep(fault.delay)
            if fault.raw_body is not None:
                handler.send_bytes(fault.status, fault.raw_body.encode(), "application/json", fault.headers)
                return
            if fault.status != 200:
                handler.send_json(fault.status, error_body(fault.status, fault.content), fault.headers)
                return
        try:
            texts = _embedding_inputs(body.get("input"))
        except ValueError as exc:
            handler.send_json(400, error_body(400, str(exc)))
            return
        dim = int(body.get("dimensions") or self.embedding_dim)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector: list[float] | str = embed(text, dim)
            if as_base64:
                vector = base64.b64encode(struct.pack(f"<{dim}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        tokens = sum(word_count(t) for t in texts)
        handler.send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model") or self.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )


def load_script(path: str) -> dict[str, Any]:
    """Read a CLI script: {"replies": [...], "default": {...}, "embedding_dim": N, "model": S, "tool_calling": B,
    "embeddings_reply": {...}}."""
    with open(path, encoding="utf-8") as fh:
        script = json.load(fh)
    if not isinstance(script, dict):
        raise TypeError("script must be a JSON object")
    default = script.get("default")
    return {
        "replies": [Reply.from_obj(r) for r in script.get("replies") or []],
        "default": None if default is None else Reply.from_obj(default),
        "embedding_dim": int(script.get("embedding_dim", 16)),
        "model": str(script.get("model", "scripted-model")),
        "tool_calling": bool(script.get("tool_calling", True)),
        "embeddings_reply": None if script.get("embeddings_reply") is None else Reply.from_obj(script["embeddings_reply"]),
    }


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Serve a script until killed; print ``READY <base_url>`` once listening."""
    parser = argparse.ArgumentParser(description="Scripted OpenAI-compatible server")
    parser.add_argument(
        "--port", type=int, default=0, help="port to bind (0: any free port)"
    )
    parser.add_argument("--script", help="JSON script file")
    args = parser.parse_args(argv)
    options = load_script(args.script) if args.script else {}
    server = ScriptedOpenAI(port=args.port, **options)
    signal.signal(signal.SIGTERM, _raise_exit)
    server.start()
    try:
        print(f"READY {server.base_url}", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
