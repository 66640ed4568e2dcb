"""The one way to an OpenAI-compatible endpoint: ``client(settings)`` builds the SDK client, and
``endpoint_errors(settings)`` turns what the SDK raises into one ``EndpointError`` line.

Every request to an endpoint goes through both: the chat client (``agent.answer.llm.ChatClient``:
one-pass answers, the agent loop, query rewriting, event extraction, summaries, ``dalil doctor``),
the embeddings endpoint (``agent.index.embeddings.EndpointEmbedding``) and the eval judge. The
settings are ``LLMSettings`` or ``EmbeddingSettings``: base URL, API key (its own, or
``OPENAI_API_KEY`` as the settings read it), seconds per request, retries.

Retries with backoff (honouring ``Retry-After``) are the ``openai`` SDK's own. What is left after
them becomes an ``EndpointError`` (a ``DalilError``) whose message has one shape whichever endpoint
failed, the endpoint named ("the LLM endpoint", "the embeddings endpoint")::

    the LLM endpoint at http://****@host:8000/v1 did not answer within 60s (after 4 attempt(s))
    cannot connect to the embeddings endpoint at http://host:8000/v1 (after 4 attempt(s)): is the server running?
    the LLM endpoint is rate-limiting requests (HTTP 429) after 4 attempt(s); try again later
    the embeddings endpoint rejected the API key (HTTP 401): check DALIL_EMBEDDINGS_API_KEY / OPENAI_API_KEY
    the LLM endpoint failed with HTTP 500 after 4 attempt(s)
    the LLM endpoint returned a malformed response (JSONDecodeError)

A message is one line; it shows the URL with its credentials masked (``agent.safety.mask_url``),
never the key and never the server's own words (which may quote the key). Those words, masked,
are kept in ``EndpointError.detail`` for a caller that must tell errors apart (an endpoint refusing
tools), with ``kind`` and ``status``: the judge stops a run on a refused key and goes on after a
timeout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from agent.config import EmbeddingSettings, LLMSettings
from agent.errors import DalilError
from agent.safety import MASK, mask_url, mask_urls_in

if TYPE_CHECKING:
    import openai

EndpointSettings = LLMSettings | EmbeddingSettings
Kind = Literal["timeout", "connection", "rate_limit", "auth", "forbidden", "not_found", "status", "malformed", "failed"]
# what a malformed body raises on its way through the SDK's parsing and Dalil's reading of the result
MALFORMED = (ValueError, json.JSONDecodeError, AttributeError, TypeError, KeyError, IndexError)


class EndpointError(DalilError):
    """An endpoint request that failed for good (after the SDK's retries), as one line.

    ``kind`` says how; ``status`` is the HTTP status when there was one; ``detail`` the server's
    own message, credentials masked, for decisions, not for display."""

    def __init__(self, message: str, kind: Kind, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.detail = detail


def name(settings: EndpointSettings) -> str:
    """The endpoint as messages name it."""
    return "embeddings endpoint" if isinstance(settings, EmbeddingSettings) else "LLM endpoint"


def where(settings: EndpointSettings) -> str:
    """The endpoint's URL with its credentials masked (the SDK's default when none is set)."""
    return mask_url(settings.base_url) or "the OpenAI API"


def client(settings: EndpointSettings) -> openai.OpenAI:
    """The SDK client for ``settings``: its base URL, key, seconds per request and retries."""
    import openai

    # no key: a placeholder, for servers that want none (the SDK would refuse to start, or read
    # OPENAI_API_KEY behind the settings' back; the settings have read it already)
    key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
    return openai.OpenAI(base_url=settings.base_url, api_key=key, timeout=settings.timeout, max_retries=settings.max_retries)


def endpoint_error(exc: BaseException, settings: EndpointSettings, attempts: int | None = None) -> EndpointError | None:
    """The one line ``exc`` (raised by the SDK, or by reading its result) means; None when it is not an endpoint failure."""
    import httpx
    import openai

    what, at = name(settings), where(settings)
    tries = f"after {settings.max_retries + 1 if attempts is None else attempts} attempt(s)"
    status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    detail = _detail(exc, settings)

    def error(message: str, kind: Kind) -> EndpointError:
        return EndpointError(message, kind, status, detail)

    # a stream read after the response began raises httpx's own errors, unwrapped by the SDK
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return error(f"the {what} at {at} did not answer within {settings.timeout:g}s ({tries})", "timeout")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return error(f"cannot connect to the {what} at {at} ({tries}): is the server running?", "connection")
    if isinstance(exc, openai.RateLimitError):
        return error(f"the {what} is rate-limiting requests (HTTP 429) {tries}; try again later", "rate_limit")
    if isinstance(exc, openai.AuthenticationError):
        return error(f"the {what} rejected the API key (HTTP 401): check {_key_variables(settings)}", "auth")
    if isinstance(exc, openai.PermissionDeniedError):
        return error(f"the {what} denied access (HTTP 403): check that the API key may use model {settings.model!r}", "forbidden")
    if isinstance(exc, openai.NotFoundError):
        return error(f"the {what} has no model {settings.model!r} (HTTP 404)", "not_found")
    if isinstance(exc, openai.APIStatusError):
        return error(f"the {what} failed with HTTP {exc.status_code} {tries}", "status")
    if isinstance(exc, (openai.APIResponseValidationError, *MALFORMED)):
        return error(_malformed(settings, type(exc).__name__), "malformed")
    if isinstance(exc, openai.OpenAIError):
        return error(f"the {what} failed: {type(exc).__name__}", "failed")
    return None


def malformed(settings: EndpointSettings, why: str) -> EndpointError:
    """A response Dalil cannot use (not JSON, no choices, too few vectors…)."""
    return EndpointError(_malformed(settings, why), "malformed")


@contextmanager
def endpoint_errors(settings: EndpointSettings, attempts: int | None = None) -> Iterator[None]:
    """Raise what the SDK raises inside as one ``EndpointError`` (``attempts``: the requests made, when
    not ``max_retries + 1``). A ``DalilError`` and anything that is not an endpoint failure pass through."""
    try:
        yield
    except DalilError:
        raise
    except Exception as exc:
        mapped = endpoint_error(exc, settings, attempts)
        if mapped is None:
            raise
        raise mapped from None


def _malformed(settings: EndpointSettings, why: str) -> str:
    return f"the {name(settings)} returned a malformed response ({why})"


def _key_variables(settings: EndpointSettings) -> str:
    section = "EMBEDDINGS" if isinstance(settings, EmbeddingSettings) else "LLM"
    return f"DALIL_{section}_API_KEY / OPENAI_API_KEY"


def _detail(exc: BaseException, settings: EndpointSettings) -> str:
    """The server's message (or the exception's), one line, URLs and the key masked, at most 300 characters."""
    text = str(getattr(exc, "message", None) or exc)
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    if len(key) >= 4:
        text = text.replace(key, MASK)
    return " ".join(mask_urls_in(text).split())[:300]
