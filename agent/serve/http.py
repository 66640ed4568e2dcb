"""HTTP server: Dalil's answers for a team, over HTTP, and as an OpenAI-compatible chat model.

``create_app(settings)`` returns a FastAPI app holding one ``Dalil``; ``run(settings)`` serves it with
uvicorn on ``serve.host:serve.port`` (``dalil serve --http``), or on the Unix socket of ``dalil serve``
(``agent.serve.server``: the same app for the user's own processes). The routes and their JSON:

- ``GET /health`` (liveness: the process answers) and ``GET /ready`` (the store is open: its
  documents and chunks; 503 while it is missing or empty);
- ``POST /v1/search``, ``POST /v1/ask``, ``GET /v1/timeline``, ``POST /v1/summarize`` and
  ``POST /v1/brief``: the documents of ``dalil search / ask / timeline / summarize / brief --json``
  (``agent.schema``, ``agent.sequence``), made by the functions those commands call; ``"stream": true``
  on ``/v1/ask`` gives server-sent events: ``text`` (the answer as it is written; ``"whole": true``
  when it comes at once, as an extractive answer does), ``step`` (a tool call), then ``answer`` (the
  whole ``Answer``) and ``[DONE]``;
- ``GET /v1/articles`` and ``GET /v1/articles/{doc_id}``: the store's articles (``StoredArticle``, one with its
  chunks and events: ``ArticleDetail``); ``DELETE /v1/articles/{doc_id}`` (only with ``serve.ingest``) removes one;
  ``POST /v1/ingest`` (only with ``serve.ingest``): articles sent as text and metadata, ingested
  as ``dalil ingest`` does (see ``ingest_uploaded`` for why text and not paths);
- ``GET /v1/models`` and ``POST /v1/chat/completions``: the model ``dalil`` for any OpenAI client;
  the last user message is the question, the reply's content the answer with a "Sources" list,
  and the extra top-level fields ``citations`` (the ``Answer``'s) and ``dalil`` (mode, abstained, …);
- ``/mcp``: the same search, ask and timeline, and read_article, as MCP tools over streamable HTTP
  (``agent.serve.mcp``);
- ``/docs`` and ``/openapi.json``: FastAPI's description of all of it.

Every error is one JSON object ``{"error": {"message": "<one line>", "type": "…"}}`` (OpenAI's
shape), never a stack trace: a ``DalilError`` is 400, a malformed request 422.

Security: the server binds 127.0.0.1 unless told otherwise, and any other address needs
``serve.tokens``; with tokens every route but ``/health`` needs ``Authorization: Bearer <token>``
(compared in constant time). A request body over ``serve.max_body_bytes`` (``serve.max_ingest_bytes``
for ``/v1/ingest``) is refused (413), and so is a client address past ``serve.rate_limit`` requests a
minute (429). On ``dalil serve``'s Unix socket there are no tokens and no rate limit (only the user can
reach it), but every request must carry the server's settings key (409 otherwise). Tokens are never logged or
sent back. JSON escapes ``<``, ``>`` and ``&`` (as ``\\u003c``…), so an answer quoting hostile
markup stays data wherever a client pastes it.

Concurrency: ``Dalil`` is not thread-safe (its registry's SQLite connection belongs to the thread
that opened it), so every call into it runs on one worker thread, in arrival order; the event
loop only checks, parses and streams.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.config import Settings
from agent.errors import DalilError
from agent.safety import mask_urls_in
from agent.serve import mcp

if TYPE_CHECKING:
    from agent.pipeline import Dalil
    from agent.schema import Answer, Citation

MODEL = "dalil"
MAX_QUESTION_CHARS = 4000
T = TypeVar("T")

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
                405: "invalid_request_error", 409: "conflict", 413: "request_too_large", 422: "invalid_request_error",
                429: "rate_limit_error", 503: "unavailable"}


# ------------------------------------------------------------------------------------ JSON and errors


def dumps(data: Any) -> str:
    """JSON as the server sends it: UTF-8 text, and ``<``, ``>``, ``&``, U+2028/9 escaped (they occur only in strings)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


class SafeJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content).encode("utf-8")


def one_line(message: object, limit: int = 500) -> str:
    """A message for an error reply: one line, URL credentials masked, at most ``limit`` characters."""
    text = " ".join(mask_urls_in(str(message)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_body(status: int, message: object, code: str | None = None, kind: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": one_line(message), "type": kind or _ERROR_TYPES.get(status, "server_error")}
    if code is not None:
        body["code"] = code
    return {"error": body}


def error_response(status: int, message: object, code: str | None = None, headers: dict[str, str] | None = None,
                   kind: str | None = None) -> Response:
    return SafeJSONResponse(error_body(status, message, code, kind), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query")]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    if not loc and first.get("type") in ("dict_type", "model_attributes_type"):
        return "the request body must be a JSON object (Content-Type: application/json)"
    return f"{'.'.join(loc) or 'body'}: {first.get('msg', 'invalid')}"


# ------------------------------------------------------------------------------------ binding and guarding


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Refuse an address other machines can reach unless API tokens are set."""
    if not is_loopback(host) and not settings.serve.tokens:
        raise DalilError(f"binding {host} lets other machines in: set serve.tokens (DALIL_SERVE_TOKENS) first, "
                         "or bind 127.0.0.1")


class RateLimiter:
    """At most ``per_minute`` requests from one client address in any 60 s (a sliding window); 0: no limit."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.seen: dict[str, deque[float]] = {}

    def retry_after(self, client: str) -> float | None:
        """None when the request may go ahead (and it is counted), else the seconds until it may."""
        if self.per_minute <= 0:
            return None
        now = self.clock()
        times = self.seen.setdefault(client, deque())
        while times and times[0] <= now - 60:
            times.popleft()
        if len(self.seen) > 10_000:  # forget the clients that went quiet
            for key in [k for k, v in self.seen.items() if not v and k != client]:
                del self.seen[key]
        if len(times) >= self.per_minute:
            return max(times[0] + 60 - now, 0.0)
        times.append(now)
        return None


_EXTRA_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")]


def _with_headers(send: Send) -> Send:
    """``send`` adding nosniff and no-store to every reply (what it already says is kept)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {name.lower() for name, _ in message.get("headers", [])}
            message = {**message, "headers": [*message.get("headers", []), *(h for h in _EXTRA_HEADERS if h[0] not in names)]}
        await send(message)

    return sending


class Guard:
    """ASGI middleware in front of every route but ``/health``: rate limit, then token, then body size.

    The body is read here (at most ``max_body_bytes``) and handed on, so an oversized or
    endless body is refused before any route parses it."""

    OPEN = frozenset({"/health"})

    def __init__(self, app: ASGIApp, settings: Settings, local_key: str | None = None) -> None:
        self.app = app
        self.local_key = local_key.encode() if local_key else None
        # on the Unix socket of `dalil serve`: the user's own processes, no token and no rate limit (see agent.serve.server)
        self.tokens = [] if local_key else [t.get_secret_value().encode() for t in settings.serve.tokens]
        self.max_body = settings.serve.max_body_bytes
        self.max_ingest = max(settings.serve.max_ingest_bytes, settings.serve.max_body_bytes)
        self.limiter = RateLimiter(0 if local_key else settings.serve.rate_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        if scope["path"] in self.OPEN:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.retry_after(client)
        if wait is not None:
            reply = error_response(429, f"too many requests: at most {self.limiter.per_minute} a minute per client",
                                   headers={"Retry-After": str(max(1, round(wait)))})
            await reply(scope, receive, send)
            return
        if self.tokens and not self.authorized(headers.get(b"authorization")):
            reply = error_response(401, "missing or invalid API token: send Authorization: Bearer <token>", code="invalid_api_key",
                                   headers={"WWW-Authenticate": "Bearer"})
            await reply(scope, receive, send)
            return
        if self.local_key and not hmac.compare_digest(headers.get(b"x-dalil-settings", b""), self.local_key):
            reply = error_response(409, "this server answers for other settings (X-Dalil-Settings differs): answer in process",
                                   code="settings_mismatch")
            await reply(scope, receive, send)
            return
        limit = self.max_ingest if scope["path"] == "/v1/ingest" else self.max_body
        body = await self.read_body(headers, receive, limit)
        if body is None:
            reply = error_response(413, f"the request body is over {limit} bytes")
            await reply(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: http.disconnect, for streamed replies

        await self.app(scope, replay, send)

    def authorized(self, header: bytes | None) -> bool:
        scheme, _, given = (header or b"").partition(b" ")
        if scheme.lower() != b"bearer" or not given.strip():
            return False
        match = False
        for token in self.tokens:  # every token compared, each in constant time
            match |= hmac.compare_digest(given.strip(), token)
        return match

    async def read_body(self, headers: dict[bytes, bytes], receive: Receive, limit: int) -> bytes | None:
        """The whole body, or None when it is (or says it is) larger than ``limit``."""
        try:
            if int(headers.get(b"content-length", b"0")) > limit:
                return None
        except ValueError:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


# ------------------------------------------------------------------------------------ the one Dalil


class Worker:
    """The one ``Dalil`` and the one thread that calls it: jobs run one at a time, in arrival order."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dalil-http")
        self._dalil: Dalil | None = None
        self.started = time.time()
        self.requests = 0  # the jobs of Dalil's own routes (not /ready), for `dalil serve`'s status

    def dalil(self) -> Dalil:
        """Only on the worker thread. Reopens the store when another process has ingested since."""
        if self._dalil is None:
            from agent.pipeline import Dalil

            self._dalil = Dalil(self.settings)
        self._dalil.refresh_store()
        return self._dalil

    async def call(self, job: Callable[[Dalil], T], count: bool = True) -> T:
        self.requests += count
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: job(self.dalil()))

    def warm_up(self, dalil: Dalil) -> dict[str, Any]:
        """Load what every question needs (embedder, store, BM25) before the first client; the store's state."""
        dalil.embedder.get_query_embedding("warm-up")
        return self.status(dalil, warm=True)

    @staticmethod
    def status(dalil: Dalil, warm: bool = False) -> dict[str, Any]:
        """The store's documents and chunks; raises DalilError when it is missing or empty."""
        registry = dalil.store.registry
        if registry.is_empty():
            raise DalilError(f"the store at {dalil.settings.store.path} is empty: run `dalil ingest seeds` first")
        if warm:
            dalil.search("warm-up", 1)
        documents, chunks = registry.counts()
        return {"status": "ready", "documents": documents, "chunks": chunks, "mode": dalil.settings.default_answer_mode}

    def close(self) -> None:
        def stop() -> None:
            if self._dalil is not None and "store" in self._dalil.__dict__:
                self._dalil.store.close()

        try:
            self.pool.submit(stop).result(timeout=30)
        except Exception:  # a store that fails to close is closed by the process's exit
            traceback.print_exc(file=sys.stderr)
        self.pool.shutdown(wait=False, cancel_futures=True)


def _known_outlet(dalil: Dalil, outlet: str | None) -> None:
    if not outlet:
        return
    known = {d.outlet for d in dalil.store.registry.documents(with_text=False) if d.outlet}
    if outlet not in known:
        raise DalilError(f"no articles from outlet {outlet!r} (known outlets: {', '.join(sorted(known)) or 'none'})")


# ------------------------------------------------------------------------------------ requests


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SearchRequest(_Request):
    query: str = Field(max_length=MAX_QUESTION_CHARS, description="What to look for (Arabic or English).")
    k: int | None = Field(default=None, ge=1, le=200, description="Passages to return (default: retrieval.top_k).")
    mode: Literal["hybrid", "dense", "bm25"] | None = Field(default=None, description="Retrieval mode (default: retrieval.mode).")
    date_from: dt.date | None = Field(default=None, alias="from", description="Only articles published on or after this day.")
    date_to: dt.date | None = Field(default=None, alias="to", description="Only articles published on or before this day.")
    outlet: str | None = Field(default=None, description="Only articles from this outlet.")


class AskRequest(_Request):
    question: str = Field(max_length=MAX_QUESTION_CHARS, description="The question (Arabic or English).")
    k: int | None = Field(default=None, ge=1, le=200, description="Passages to retrieve.")
    mode: Literal["extractive", "llm"] | None = Field(default=None, description="Default: llm when an endpoint is configured.")
    lang: Literal["ar", "en"] | None = Field(default=None, description="Answer language (default: the question's).")
    stream: bool = Field(default=False, description="Server-sent events: text, step, answer, then [DONE].")
    date_from: dt.date | None = Field(default=None, alias="from", description="Only articles published on or after this day.")
    date_to: dt.date | None = Field(default=None, alias="to", description="Only articles published on or before this day.")
    outlet: str | None = Field(default=None, description="Only articles from this outlet.")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: the text ones
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """OpenAI's chat completion request; what Dalil does not use (temperature, max_tokens, tools…) is accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class SummarizeRequest(_Request):
    date_from: dt.date | None = Field(default=None, alias="from", description="Only events on or after this day.")
    date_to: dt.date | None = Field(default=None, alias="to", description="Only events on or before this day.")
    mode: Literal["extractive", "llm"] | None = Field(default=None, description="Default: llm when an endpoint is configured.")


class BriefRequest(_Request):
    date: dt.date = Field(description="The day of the briefing.")
    since: dt.date | None = Field(default=None, description="Cover articles published after this day instead of the day only.")
    mode: Literal["extractive", "llm"] | None = Field(default=None, description="Default: llm when an endpoint is configured.")


class UploadedArticle(BaseModel):
    """One article to ingest: its text and metadata, as a ``.json`` article file holds them."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, description="The article's text, as published.")
    id: str | None = Field(default=None, max_length=200, description="Your id for it: sending the same id again replaces the "
                           "article (default: its text's hash, so the same text is stored once).")
    published: dt.date | None = Field(default=None, description="Publication day.")
    outlet: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=2000)
    url: str | None = Field(default=None, max_length=2000)
    language: str | None = Field(default=None, max_length=20)


class ErrorBody(BaseModel):
    message: str = Field(description="One line, never a stack trace.")
    type: str = Field(description="invalid_request_error, authentication_error, not_found_error, rate_limit_error…")
    code: str | None = Field(default=None, description="A finer reason: nothing_published, article_not_found, invalid_api_key…")


class ErrorReply(BaseModel):
    """Every error: OpenAI's shape."""

    error: ErrorBody


class IngestReply(BaseModel):
    """The JSON of `dalil ingest --json`."""

    added: int
    updated: int
    unchanged: int
    repaired: int
    reanalyzed: int = Field(0, description="stored chunks analyzed again (their terms were made by another lexicon)")
    duplicates: list[dict[str, str]] = Field(description="{file, same_as}: an article already stored under another name")
    chunks: int
    errors: list[dict[str, str]] = Field(description="{path, reason}: what could not be read")
    seconds: float
    load_seconds: float
    bm25_seconds: float
    wire_seconds: float = 0.0
    encodings: dict[str, str]


class IngestRequest(_Request):
    articles: list[UploadedArticle] = Field(min_length=1, max_length=10_000, description="The articles to add or replace.")


def _filters(date_from: dt.date | None, date_to: dt.date | None, outlet: str | None) -> Any:
    from agent.retrieval.retrieve import SearchFilters

    if date_from and date_to and date_from > date_to:
        raise DalilError("from is after to")
    return SearchFilters(date_from, date_to, outlet or None)


# ------------------------------------------------------------------------------------ articles in and out


UPLOADS = "uploads"


def ingest_uploaded(dalil: Dalil, articles: list[UploadedArticle]) -> dict[str, Any]:
    """Save each article as a ``.json`` article file in the store's ``uploads/`` folder and ingest those files
    with ``Dalil.ingest`` (what `dalil ingest` calls); the report is the JSON of ``dalil ingest --json``.

    Why text in the body and not paths: a path would let any client of the server make it read whatever file
    of the server's machine the server may read (keys, other users' data, /proc), and a client's own files are
    not on the server anyway; text sent by the client can only become articles. The file names are made here
    (hashes, never the client's strings), so nothing is written outside ``uploads/``."""
    import hashlib

    folder = Path(dalil.settings.store.path) / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[Path, None] = {}
    for article in articles:
        key = article.id if article.id is not None else hashlib.sha256(article.text.encode("utf-8", "surrogatepass")).hexdigest()
        path = folder / f"{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}.json"
        record = {"id": key, **article.model_dump(mode="json", exclude={"id"}, exclude_none=True)}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        paths[path] = None
    return dalil.ingest(list(paths)).as_dict()


# ------------------------------------------------------------------------------------ answers as events


Event = tuple[str, Any]  # ("text", str) | ("step", Step) | ("answer", Answer) | ("error", BaseException)


async def answer_events(worker: Worker, ask: Callable[..., Answer]) -> AsyncIterator[Event]:
    """The events of one answer as the worker produces them: text deltas and steps, then the answer or an error."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Event] = asyncio.Queue()

    def put(event: Event) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, event)

    def job() -> None:
        try:
            put(("answer", ask(worker.dalil(), lambda text: put(("text", text)), lambda step: put(("step", step)))))
        except Exception as exc:  # handed to the event loop, which answers with an error
            put(("error", exc))

    worker.requests += 1
    worker.pool.submit(job)
    while True:
        event = await queue.get()
        yield event
        if event[0] in ("answer", "error"):
            return


def _raise(exc: BaseException) -> Response:
    """The reply for an error that came back from the worker before anything was streamed."""
    if isinstance(exc, DalilError):
        return error_response(400, exc)
    _log_unexpected(exc)
    return error_response(500, "internal error: see the server's log")


def _log_unexpected(exc: BaseException) -> None:
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _stream_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, DalilError):
        return error_body(400, exc)
    _log_unexpected(exc)
    return error_body(500, "internal error: see the server's log")


def sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data if isinstance(data, str) else dumps(data)}\n\n"


async def _started(events: AsyncIterator[Event]) -> tuple[Event, AsyncIterator[Event]] | Response:
    """The first event, or the error reply when the answer failed before anything came."""
    first = await anext(events)
    if first[0] == "error":
        return _raise(first[1])
    return first, events


_SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


# ------------------------------------------------------------------------------------ chat completions content


def _flat(text: str) -> str:
    return " ".join(text.split())


def _source_line(c: Citation) -> str:
    where = ", ".join(x for x in (c.published or "undated", c.outlet) if x)
    return f"[{c.n}] {c.file} ({where}): «{_flat(c.quote)}»"


def chat_parts(answer: Answer) -> tuple[str, str]:
    """An answer as a chat message, in two parts: the lead and the text with its [n] markers; then
    (from its blank line on) the sources, or the nearest passages of an abstention."""
    body = "\n\n".join([answer.lead, answer.answer] if answer.lead and not answer.abstained else [answer.answer])
    if answer.abstained and answer.nearest:
        return body, "\n\nNearest passages (they do not answer it):\n" + "\n".join(_source_line(c) for c in answer.nearest)
    if answer.citations:
        return body, "\n\nSources:\n" + "\n".join(_source_line(c) for c in answer.citations)
    return body, ""


def chat_content(answer: Answer) -> str:
    return "".join(chat_parts(answer))


_MARKER = re.compile(r"\[\d+\]|\s+")


def stream_rest(sent: str, answer: Answer) -> str:
    """What a streamed chat message still needs once the answer is checked, after the model's draft ``sent``.

    The draft and the checked text differ at most in where the [n] markers stand ("… حلب [1]." is
    checked as "… حلب. [1]"): then only the sources follow. An answer that is not the draft (the
    extractive fallback of an empty or failed completion) follows it whole."""
    body, tail = chat_parts(answer)
    if (body + tail).startswith(sent):
        return (body + tail)[len(sent):]
    if _MARKER.sub("", sent) == _MARKER.sub("", answer.answer):
        return tail
    return "\n\n" + body + tail


def chat_extra(answer: Answer) -> dict[str, Any]:
    """The top-level fields a chat completion carries beside OpenAI's: the structured citations and how it was answered."""
    return {
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "dalil": {"mode": answer.mode, "abstained": answer.abstained, "degraded": answer.degraded, "warnings": answer.warnings,
                  "about": answer.about, "lead": answer.lead, "lang": answer.lang,
                  "nearest": [c.model_dump(mode="json") for c in answer.nearest]},
    }


def _usage(answer: Answer) -> dict[str, int]:
    prompt = answer.usage.prompt_tokens if answer.usage else 0
    completion = answer.usage.completion_tokens if answer.usage else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _question_of(request: ChatRequest) -> str:
    for message in reversed(request.messages):
        if message.role == "user":
            return message.text()
    raise DalilError("the messages hold no user message: the last user message is the question")


# ------------------------------------------------------------------------------------ the app


def create_app(settings: Settings, local_key: str | None = None) -> FastAPI:
    """The HTTP API over one ``Dalil`` for ``settings`` (see the module docstring).

    ``local_key``: served on `dalil serve`'s Unix socket for clients with this settings key
    (``agent.serve.server``): no token or rate limit, every request but /health must carry the key."""
    worker = Worker(settings)
    state: dict[str, Any] = {}
    tools = mcp.create_server(worker)
    tools_app = mcp.http_app(tools, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            state["ready"] = await worker.call(worker.warm_up, count=False)
        except DalilError as exc:  # no store yet, or an empty one: /ready says so until it is there
            state["ready"] = {"status": "not ready", "reason": one_line(exc)}
        async with tools.session_manager.run():  # /mcp's requests run in its task group
            yield
        worker.close()

    app = FastAPI(
        title="Dalil", version=_version(), lifespan=lifespan, default_response_class=SafeJSONResponse,
        description="Cited answers about news articles, most of them Arabic: the JSON of `dalil ask / search / timeline --json`, "
        "and an OpenAI-compatible chat endpoint (model `dalil`).",
    )
    app.state.worker = worker
    app.state.startup = state
    app.add_middleware(Guard, settings=settings, local_key=local_key)

    @app.exception_handler(DalilError)
    async def dalil_error(request: Request, exc: DalilError) -> Response:
        return error_response(400, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        return error_response(exc.status_code, message, headers=dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:  # Starlette logs the traceback to stderr
        return error_response(500, "internal error: see the server's log")

    # --- health -------------------------------------------------------------------------------

    @app.get("/health", summary="Liveness: the server answers")
    async def health() -> dict[str, Any]:
        alive: dict[str, Any] = {"status": "ok", "uptime_s": round(time.time() - worker.started, 1)}
        if local_key:  # what a local client compares with its own before it hands over a question
            alive.update({"settings": local_key, "pid": os.getpid()})
        return alive

    @app.get("/ready", summary="Readiness: the store is open and holds documents (503 otherwise)")
    async def ready() -> Response:
        try:
            status = await worker.call(Worker.status, count=False)
        except DalilError as exc:
            return error_response(503, exc)
        if local_key:
            status.update({"pid": os.getpid(), "requests": worker.requests, "uptime_s": round(time.time() - worker.started, 1)})
        return SafeJSONResponse(status)

    # --- Dalil's own JSON ---------------------------------------------------------------------

    from agent.events.models import Timeline
    from agent.schema import Answer, ArticleDetail, ArticleList, RemovedArticles, SearchResult
    from agent.sequence.brief import Brief
    from agent.sequence.summary import Summary

    def documented(model: type[BaseModel], *errors: int) -> dict[int | str, dict[str, Any]]:
        """The reply's model and error statuses for /docs (the routes send JSON they build themselves)."""
        return {200: {"model": model}, **{status: {"model": ErrorReply} for status in (400, 422, *errors)}}

    @app.post("/v1/search", summary="Ranked passages: the JSON of `dalil search --json`", responses=documented(SearchResult))
    async def search(body: SearchRequest) -> Response:
        def job(dalil: Dalil) -> dict[str, Any]:
            _known_outlet(dalil, body.outlet)
            result = dalil.search(body.query, body.k, _filters(body.date_from, body.date_to, body.outlet), body.mode)
            return result.model_dump(mode="json")

        if not body.query.strip():
            raise DalilError("the query is empty")
        return SafeJSONResponse(await worker.call(job))

    def asker(body: AskRequest | ChatRequest, question: str) -> Callable[..., Answer]:
        def ask(dalil: Dalil, on_text: Callable[[str], None] | None, on_step: Callable[[Any], None] | None) -> Answer:
            if isinstance(body, AskRequest):
                _known_outlet(dalil, body.outlet)
                filters = _filters(body.date_from, body.date_to, body.outlet)
                return dalil.ask(question, filters, body.k, mode=body.mode, lang=body.lang, on_text=on_text, on_step=on_step)
            return dalil.ask(question, _filters(None, None, None), on_text=on_text, on_step=on_step)

        return ask

    @app.post("/v1/ask", summary="A cited answer: the JSON of `dalil ask --json`, or server-sent events with `stream`",
              responses=documented(Answer))
    async def ask(body: AskRequest) -> Response:
        answer_with = asker(body, body.question)
        if not body.stream:
            answer = await worker.call(lambda dalil: answer_with(dalil, None, None))
            return SafeJSONResponse(answer.model_dump(mode="json"))
        started = await _started(answer_events(worker, answer_with))
        if isinstance(started, Response):
            return started
        first, events = started

        async def stream() -> AsyncIterator[str]:
            streamed = False
            event: Event | None = first
            while event is not None:
                kind, item = event
                if kind == "text":
                    streamed = True
                    yield sse({"text": item}, "text")
                elif kind == "step":
                    yield sse(item.model_dump(mode="json"), "step")
                elif kind == "answer":
                    if not streamed:  # extractive answers come whole (marked so: a client printing deltas can tell)
                        yield sse({"text": item.answer, "whole": True}, "text")
                    yield sse(item.model_dump(mode="json"), "answer")
                else:
                    yield sse(_stream_error(item), "error")
                event = await anext(events, None)
            yield sse("[DONE]")

        return StreamingResponse(stream(), media_type="text/event-stream", headers=_SSE_HEADERS)

    @app.get("/v1/timeline", summary="The sequence as dated, cited events: the JSON of `dalil timeline --json`",
             responses=documented(Timeline))
    async def timeline(
        date_from: dt.date | None = Query(default=None, alias="from", description="Only events on or after this day."),
        date_to: dt.date | None = Query(default=None, alias="to", description="Only events on or before this day."),
        mode: Literal["extractive", "llm"] | None = Query(default=None, description="Default: llm when an endpoint is configured."),
    ) -> Response:
        from agent.sequence.timeline import timeline_for

        if date_from and date_to and date_from > date_to:
            raise DalilError("from is after to")
        result = await worker.call(lambda dalil: timeline_for(dalil, mode, date_from, date_to))
        return SafeJSONResponse(result.model_dump(mode="json"))

    @app.post("/v1/summarize", summary="The bilingual summary of the sequence: the JSON of `dalil summarize --json`",
              responses=documented(Summary))
    async def summarize(body: SummarizeRequest) -> Response:
        from agent.sequence.summary import summary_for

        if body.date_from and body.date_to and body.date_from > body.date_to:
            raise DalilError("from is after to")
        result = await worker.call(lambda dalil: summary_for(dalil, body.mode, body.date_from, body.date_to))
        return SafeJSONResponse(result.model_dump(mode="json"))

    @app.post("/v1/brief", summary="The daily briefing: the JSON of `dalil brief --json` (404 `nothing_published` when no "
              "article falls in its window)", responses=documented(Brief, 404))
    async def brief(body: BriefRequest) -> Response:
        from agent.sequence.brief import build_brief

        result = await worker.call(lambda dalil: build_brief(dalil, body.date, body.since, body.mode))
        if result is None:
            window = f"after {body.since} up to {body.date}" if body.since else f"on {body.date}"
            return error_response(404, f"nothing was published {window}", code="nothing_published")
        return SafeJSONResponse(result.model_dump(mode="json"))

    @app.post("/v1/ingest", summary="Add or replace articles sent as text and metadata: the JSON of `dalil ingest --json` "
              "(403 unless serve.ingest is true)", responses=documented(IngestReply, 403, 413))
    async def ingest(body: IngestRequest) -> Response:
        if not settings.serve.ingest:
            return error_response(403, "this server does not accept articles: set serve.ingest = true (DALIL_SERVE_INGEST=true)",
                                  code="ingest_disabled", kind="permission_error")
        report = await worker.call(lambda dalil: ingest_uploaded(dalil, body.articles))
        return SafeJSONResponse(IngestReply.model_validate(report).model_dump(mode="json"))

    @app.get("/v1/articles", summary="The store's articles (without their text), by publication date: the JSON of "
             "`dalil articles list --json`", responses=documented(ArticleList))
    async def articles(
        outlet: str | None = Query(default=None, description="Only articles from this outlet."),
        date_from: dt.date | None = Query(default=None, alias="from", description="Only articles published on or after this day."),
        date_to: dt.date | None = Query(default=None, alias="to", description="Only articles published on or before this day."),
        offset: int = Query(default=0, ge=0, description="Skip this many."),
        limit: int = Query(default=100, ge=1, le=1000, description="At most this many."),
    ) -> Response:
        filters = _filters(date_from, date_to, outlet)

        def job(dalil: Dalil) -> dict[str, Any]:
            _known_outlet(dalil, outlet)
            found = dalil.articles(filters)
            return {"total": len(found), "articles": found[offset:offset + limit]}

        return SafeJSONResponse(ArticleList.model_validate(await worker.call(job)).model_dump(mode="json"))

    @app.get("/v1/articles/{doc_id}", summary="One article with its text, its chunks and its events: the JSON of "
             "`dalil articles show --json` (404 when the store has no such id)", responses=documented(ArticleDetail, 404))
    async def article(doc_id: str) -> Response:
        found = await worker.call(lambda dalil: dalil.article(doc_id))
        if found is None:
            return error_response(404, f"no article {doc_id!r} in the store", code="article_not_found")
        return SafeJSONResponse(found.model_dump(mode="json"))

    @app.delete("/v1/articles/{doc_id}", summary="Remove an article with its chunks, vectors, index entries and events: the "
                "JSON of `dalil articles rm --json` (403 unless serve.ingest is true; 404 when the store has no such id)",
                responses=documented(RemovedArticles, 403, 404))
    async def remove_article(doc_id: str) -> Response:
        if not settings.serve.ingest:
            return error_response(403, "this server does not remove articles: set serve.ingest = true (DALIL_SERVE_INGEST=true)",
                                  code="ingest_disabled", kind="permission_error")

        def job(dalil: Dalil) -> list[str] | None:
            if dalil.store.registry.document(doc_id) is None:  # by id only: a client names no file of the server's
                return None
            return dalil.remove([doc_id])

        removed = await worker.call(job)
        if removed is None:
            return error_response(404, f"no article {doc_id!r} in the store", code="article_not_found")
        return SafeJSONResponse(RemovedArticles(removed=[doc_id], files=removed).model_dump(mode="json"))

    # --- OpenAI-compatible --------------------------------------------------------------------

    def model_card() -> dict[str, Any]:
        return {"id": MODEL, "object": "model", "created": int(worker.started), "owned_by": "dalil"}

    def unknown_model(name: str) -> Response:
        return error_response(404, f"the model {name!r} does not exist: this server has only {MODEL!r}", code="model_not_found",
                              kind="invalid_request_error")  # OpenAI's own type and code for it

    @app.get("/v1/models", summary="OpenAI-compatible: the one model, dalil")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{name}", summary="OpenAI-compatible: one model")
    async def model(name: str) -> Response:
        return SafeJSONResponse(model_card()) if name == MODEL else unknown_model(name)

    @app.post("/v1/chat/completions", summary="OpenAI-compatible: the last user message answered, with its citations")
    async def chat_completions(body: ChatRequest) -> Response:
        if body.model != MODEL:
            return unknown_model(body.model)
        question = _question_of(body)
        answer_with = asker(body, question)
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not body.stream:
            answer = await worker.call(lambda dalil: answer_with(dalil, None, None))
            return SafeJSONResponse({
                "id": ident, "object": "chat.completion", "created": created, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": chat_content(answer)},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": _usage(answer), **chat_extra(answer),
            })
        started = await _started(answer_events(worker, answer_with))
        if isinstance(started, Response):
            return started
        first, events = started
        include_usage = bool((body.stream_options or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            return sse({"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra})

        async def stream() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            sent = ""
            event: Event | None = first
            while event is not None:
                kind, item = event
                if kind == "text":
                    sent += item
                    yield chunk({"content": item})
                elif kind == "answer":
                    rest = stream_rest(sent, item)
                    if rest:
                        yield chunk({"content": rest})
                    yield chunk({}, "stop", **chat_extra(item))
                    if include_usage:
                        yield sse({"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                                   "choices": [], "usage": _usage(item)})
                elif kind == "error":
                    yield sse(_stream_error(item))
                event = await anext(events, None)
            yield sse("[DONE]")

        return StreamingResponse(stream(), media_type="text/event-stream", headers=_SSE_HEADERS)

    # --- MCP -----------------------------------------------------------------------------------

    # a route to the MCP app, not app.mount: a Mount does not match the bare /mcp (it redirects to /mcp/, and some MCP clients
    # do not follow that)
    app.router.routes.append(Route("/mcp", tools_app, name="mcp"))

    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dalil")
    except PackageNotFoundError:
        return "unknown"


# ------------------------------------------------------------------------------------ running it


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free one); a failure is one DalilError line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise DalilError(f"cannot resolve the address {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DalilError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(settings: Settings, on_ready: Callable[[dict[str, Any]], None] | None = None, sock: socket.socket | None = None,
        local_key: str | None = None) -> None:
    """Serve ``settings`` on ``serve.host:serve.port`` until Ctrl-C or SIGTERM (``dalil serve --http``), or on ``sock``
    (the Unix socket of ``dalil serve``, for clients with the settings key ``local_key``: ``agent.serve.server``).

    ``on_ready`` gets the URL (TCP) and the store's state once the server accepts requests."""
    import uvicorn

    from agent import runtime

    tcp = sock is None
    if sock is None:
        host, port = settings.serve.host, settings.serve.port
        check_bind(settings, host)
        runtime.setup(settings)  # an entry point of its own (before Chroma opens, on the worker thread)
        sock = bind(host, port)
    listening = sock
    app = create_app(settings, local_key=local_key)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, lifespan="on",
                            timeout_graceful_shutdown=10)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                where = {"url": url_of(listening)} if tcp else {}
                on_ready({**where, "store": str(Path(settings.store.path).resolve()), "tokens": bool(settings.serve.tokens) and tcp,
                          **app.state.startup.get("ready", {})})

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None  # uvicorn raises it again once it has stopped
    try:
        Server(config).run(sockets=[listening])
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM, after uvicorn's graceful shutdown
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        if tcp:
            listening.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
