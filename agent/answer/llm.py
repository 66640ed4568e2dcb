"""Chat client for any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp).

Takes ``LLMSettings`` and chat messages; returns a ``Completion`` (text with
``<think>`` blocks removed, token usage) or streams text deltas; ``llm.timeout`` bounds each
request (each read of a stream), ``llm.total_timeout`` a whole answer, streamed or not. The SDK
client and the error lines are ``agent.endpoint``'s, shared with the embeddings endpoint and the
judge: retries with backoff are the SDK's own, what is left after them becomes one
``EndpointError`` line, and the API key is never put in a message.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from agent import endpoint
from agent.config import LLMSettings
from agent.endpoint import EndpointError, endpoint_errors
from agent.errors import DalilError

_THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def load_prompt(name: str) -> str:
    """A prompt template from ``prompts/`` (shipped as the ``agent.prompts`` package)."""
    return resources.files("agent.prompts").joinpath(name).read_text(encoding="utf-8")


def strip_think(text: str) -> str:
    """Remove ``<think>…</think>`` reasoning blocks (and an unclosed one) from model output."""
    return _THINK_BLOCK.sub("", text).strip()


class ThinkFilter:
    """Streaming version of :func:`strip_think`: feed deltas, get only the visible text."""

    def __init__(self) -> None:
        self._buffer = ""
        self._inside = False

    def feed(self, delta: str) -> str:
        self._buffer += delta
        visible = []
        while self._buffer:
            tag = "</think>" if self._inside else "<think>"
            pos = self._buffer.lower().find(tag)
            if pos == -1:
                keep = _partial_tag_suffix(self._buffer, tag)
                if not self._inside:
                    visible.append(self._buffer[: len(self._buffer) - keep])
                self._buffer = self._buffer[len(self._buffer) - keep:]
                break
            if not self._inside:
                visible.append(self._buffer[:pos])
            self._buffer = self._buffer[pos + len(tag):]
            self._inside = not self._inside
        return "".join(visible)

    def flush(self) -> str:
        rest, self._buffer = ("" if self._inside else self._buffer), ""
        return rest


def _partial_tag_suffix(text: str, tag: str) -> int:
    lowered = text.lower()
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if lowered.endswith(tag[:size]):
            return size
    return 0


@dataclass(frozen=True)
class ToolCall:
    """A tool call as the model wrote it: ``arguments`` is its JSON text, unparsed (it may be malformed)."""

    id: str
    name: str
    arguments: str


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)


class ToolsRejected(DalilError):
    """The endpoint refused a request that offered tools (some llama.cpp and Ollama models cannot call tools)."""


class ChatClient:
    """One configured endpoint and model."""

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.configured:
            raise DalilError(
                "no LLM endpoint configured: set llm.model and llm.base_url (DALIL_LLM_MODEL, DALIL_LLM_BASE_URL) "
                "or an API key (OPENAI_API_KEY), or use the extractive mode"
            )
        self.settings = settings
        self._client = endpoint.client(settings)

    def _too_slow(self) -> EndpointError:
        return EndpointError(f"the LLM endpoint at {endpoint.where(self.settings)} did not finish its answer within "
                             f"{self.settings.total_timeout:g}s (llm.total_timeout); the answer is incomplete", "timeout")

    def models(self) -> list[Any]:
        """Models the endpoint lists (one quick request, no retries)."""
        return list(self._client.with_options(max_retries=0, timeout=min(self.settings.timeout, 10)).models.list())

    def _request(self, messages: list[dict[str, Any]], max_tokens: int | None, stream: bool,
                 tools: list[dict[str, Any]] | None = None, tool_choice: str | None = None) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.settings.model, "messages": messages, "temperature": self.settings.temperature,
            "max_tokens": max_tokens or self.settings.max_tokens,
        }
        if tools:
            kwargs["tools"] = tools
        if tools and tool_choice:
            kwargs["tool_choice"] = tool_choice
        if stream:
            kwargs.update(stream=True, stream_options={"include_usage": True})
        return self._client.chat.completions.create(**kwargs)

    def _completion(self, response: Any) -> Completion:
        """A non-streamed response read (inside ``endpoint_errors``: a malformed one becomes its line)."""
        if not getattr(response, "choices", None):
            raise endpoint.malformed(self.settings, "no choices")
        choice = response.choices[0]
        usage = getattr(response, "usage", None)
        calls = [ToolCall(id=str(c.id or f"call_{i}"), name=str(c.function.name or ""), arguments=c.function.arguments or "")
                 for i, c in enumerate(getattr(choice.message, "tool_calls", None) or [])
                 if getattr(c, "function", None) is not None]
        return Completion(
            text=strip_think(choice.message.content or ""),
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            finish_reason=choice.finish_reason, tool_calls=calls,
        )

    def complete(self, messages: list[dict[str, Any]], max_tokens: int | None = None) -> Completion:
        """One non-streamed completion."""
        with endpoint_errors(self.settings):
            response = _within(self.settings.total_timeout, lambda: self._request(messages, max_tokens, stream=False),
                               self._too_slow)
            return self._completion(response)

    def complete_with_tools(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                            total_timeout: float | None = None, tool_choice: str | None = None) -> Completion:
        """One non-streamed completion offering ``tools``: text and/or tool calls. ``total_timeout`` (at most
        ``llm.total_timeout``) bounds it. An HTTP 4xx other than auth, permission or rate limiting, or a 5xx
        whose message is about tools, raises ``ToolsRejected``, so a caller can tell an endpoint that cannot
        take tools; other failures are the endpoint's usual ``EndpointError``."""
        seconds = min(total_timeout or self.settings.total_timeout, self.settings.total_timeout)
        try:
            with endpoint_errors(self.settings):
                response = _within(seconds, lambda: self._request(messages, None, stream=False, tools=tools, tool_choice=tool_choice),
                                   self._too_slow)
                return self._completion(response)
        except EndpointError as exc:
            about = bool(re.search(r"tool|function", exc.detail, re.IGNORECASE))
            if exc.status is None or exc.status in (401, 403, 429) or (exc.status >= 500 and not about):
                raise
            raise ToolsRejected(f"the LLM endpoint refused a request with tools (HTTP {exc.status}"
                                f"{' about tools' if about else ''})") from None

    def stream(self, messages: list[dict[str, Any]], on_text: Callable[[str], None], max_tokens: int | None = None) -> Completion:
        """Stream a completion: ``on_text`` gets visible deltas as they come; returns the whole."""
        think = ThinkFilter()
        parts: list[str] = []
        completion = Completion(text="")
        deadline = time.monotonic() + self.settings.total_timeout  # llm.timeout bounds each read, this the whole answer
        chunks = 0
        with endpoint_errors(self.settings):
            response = self._request(messages, max_tokens, stream=True)
            for chunk in response:
                chunks += 1
                if time.monotonic() > deadline:
                    _close(response)
                    raise self._too_slow()
                if getattr(chunk, "usage", None):
                    completion.prompt_tokens = chunk.usage.prompt_tokens or 0
                    completion.completion_tokens = chunk.usage.completion_tokens or 0
                for choice in chunk.choices or []:
                    delta = choice.delta.content if choice.delta else None
                    if delta:
                        visible = think.feed(delta)
                        parts.append(delta)
                        if visible:
                            on_text(visible)
                    if choice.finish_reason:
                        completion.finish_reason = choice.finish_reason
            if not chunks:  # not one server-sent event: a body that is not a stream (an endpoint always sends its finish)
                raise endpoint.malformed(self.settings, "no stream events")
            tail = think.flush()
            if tail:
                on_text(tail)
        completion.text = strip_think("".join(parts))
        return completion


def _within(seconds: float, call: Callable[[], Any], too_slow: Callable[[], DalilError]) -> Any:
    """``call()``, or ``too_slow()`` raised once ``seconds`` have passed. The OpenAI SDK's timeout bounds each
    read, so a server trickling a non-streamed body byte by byte never trips it; the call runs in a daemon
    thread, abandoned (its socket times out on its own) if it overruns, and never keeps the process alive."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, name="dalil-llm-request", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise too_slow()
    if failure:
        raise failure[0]
    return result[0]


def _close(response: Any) -> None:
    """Stop reading a streamed response (the connection is dropped, the server stops sending)."""
    close = getattr(response, "close", None)
    if callable(close):
        with contextlib.suppress(Exception):  # already broken: nothing left to stop
            close()
