"""Chat client for any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp).

Takes ``LLMSettings`` and chat messages; returns a ``Completion`` (text with
``<think>`` blocks removed, token usage) or streams text deltas; ``llm.timeout`` bounds each
request (each read of a stream), ``llm.total_timeout`` a whole answer, streamed or not. Retries with backoff
(honouring ``Retry-After``) are the ``openai`` SDK's own; what is left after them
becomes one ``DalilError`` line. The API key is never put in a message.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from agent.config import LLMSettings
from agent.errors import DalilError
from agent.safety import mask_url

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
        import openai

        self.settings = settings
        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        self._client = openai.OpenAI(
            base_url=settings.base_url, api_key=key, timeout=settings.timeout, max_retries=settings.max_retries,
        )

    def _too_slow(self) -> DalilError:
        where = mask_url(self.settings.base_url) or "the OpenAI API"
        return DalilError(f"the LLM endpoint at {where} did not finish its answer within "
                          f"{self.settings.total_timeout:g}s (llm.total_timeout); the answer is incomplete")

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

    def complete(self, messages: list[dict[str, Any]], max_tokens: int | None = None) -> Completion:
        """One non-streamed completion."""
        with endpoint_errors(self.settings):
            response = _within(self.settings.total_timeout, lambda: self._request(messages, max_tokens, stream=False),
                               self._too_slow)
            if not getattr(response, "choices", None):
                raise DalilError("the LLM endpoint returned a malformed completion (no choices)")
            choice = response.choices[0]
            usage = getattr(response, "usage", None)
            return Completion(
                text=strip_think(choice.message.content or ""),
                prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
                completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
                finish_reason=choice.finish_reason,
            )

    def complete_with_tools(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                            total_timeout: float | None = None, tool_choice: str | None = None) -> Completion:
        """One non-streamed completion offering ``tools``: text and/or tool calls. ``total_timeout`` (at most
        ``llm.total_timeout``) bounds it. An HTTP error other than auth, permission or rate limiting raises
        ``ToolsRejected``, so a caller can tell an endpoint that cannot take tools."""
        import openai

        seconds = min(total_timeout or self.settings.total_timeout, self.settings.total_timeout)
        with endpoint_errors(self.settings):
            try:
                response = _within(seconds, lambda: self._request(messages, None, stream=False, tools=tools, tool_choice=tool_choice),
                                   self._too_slow)
            except openai.APIStatusError as exc:
                if exc.status_code in (401, 403, 429):
                    raise
                about = " about tools" if re.search(r"tool|function", str(exc.message), re.IGNORECASE) else ""
                raise ToolsRejected(f"the LLM endpoint refused a request with tools (HTTP {exc.status_code}{about})") from None
            if not getattr(response, "choices", None):
                raise DalilError("the LLM endpoint returned a malformed completion (no choices)")
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

    def stream(self, messages: list[dict[str, Any]], on_text: Callable[[str], None], max_tokens: int | None = None) -> Completion:
        """Stream a completion: ``on_text`` gets visible deltas as they come; returns the whole."""
        think = ThinkFilter()
        parts: list[str] = []
        completion = Completion(text="")
        deadline = time.monotonic() + self.settings.total_timeout  # llm.timeout bounds each read, this the whole answer
        with endpoint_errors(self.settings):
            response = self._request(messages, max_tokens, stream=True)
            for chunk in response:
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


class endpoint_errors:
    """Translate what the SDK raises after its retries into one clear ``DalilError``."""

    def __init__(self, settings: LLMSettings, attempts: int | None = None) -> None:
        self.settings = settings
        self.attempts = settings.max_retries + 1 if attempts is None else attempts

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is None or isinstance(exc, DalilError | KeyboardInterrupt):
            return False
        import openai

        where = mask_url(self.settings.base_url) or "the OpenAI API"
        tries = f"after {self.attempts} attempt(s)"
        message: str | None = None
        if isinstance(exc, openai.APITimeoutError):
            message = f"the LLM endpoint at {where} did not answer within {self.settings.timeout:g}s ({tries})"
        elif isinstance(exc, openai.APIConnectionError):
            message = f"cannot connect to the LLM endpoint at {where} ({tries}): is the server running?"
        elif isinstance(exc, openai.RateLimitError):
            message = f"the LLM endpoint is rate-limiting requests (HTTP 429) {tries}; try again later"
        elif isinstance(exc, openai.AuthenticationError):
            message = "the LLM endpoint rejected the API key (HTTP 401): check DALIL_LLM_API_KEY / OPENAI_API_KEY"
        elif isinstance(exc, openai.NotFoundError):
            message = f"the LLM endpoint has no model {self.settings.model!r} (HTTP 404)"
        elif isinstance(exc, openai.APIStatusError):
            message = f"the LLM endpoint failed with HTTP {exc.status_code} {tries}"
        elif isinstance(exc, ValueError | json.JSONDecodeError | AttributeError | TypeError | KeyError | IndexError):
            message = f"the LLM endpoint returned a malformed response ({type(exc).__name__})"
        elif isinstance(exc, openai.OpenAIError):
            message = f"the LLM endpoint failed: {type(exc).__name__}"
        if message is None:
            return False
        raise DalilError(message) from None
