"""A remote Dalil HTTP server seen from the commands (``dalil --server URL``): its answers as ``agent.schema`` objects.

``remote_answer`` is what ``dalil ask`` and ``dalil chat`` call instead of ``Dalil.ask``: the server's
``Answer``, streamed (its text deltas and tool calls handed to the same callbacks ``Dalil.ask`` takes)
or whole. ``RemoteDalil`` is the part of ``Dalil`` the chat uses (ask, the answer mode, one article,
the outlets, the timeline), each a request to the server; the chat session does not know the difference.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from agent.errors import DalilError
from agent.schema import Answer, AnswerMode, StoredArticle
from agent.serve.client import Client, RemoteError

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.events.models import Timeline
    from agent.retrieval.retrieve import SearchFilters


def remote_answer(remote: Client, timeout: float, body: dict[str, Any], on_text: Callable[[str], None] | None = None,
                  on_step: Callable[[Any], None] | None = None, stream: bool = True) -> Answer:
    """The server's ``Answer`` for ``body`` (``POST /v1/ask``). Streamed: the text deltas go to ``on_text`` and the tool
    calls to ``on_step`` as they come; an extractive answer's text, sent whole, is not a delta (it is printed with the answer)."""
    from agent.schema import Step

    if not stream:
        return Answer.model_validate(remote.call("POST", "/v1/ask", body, timeout=timeout))
    answer = None
    for name, data in remote.events("/v1/ask", {**body, "stream": True}, timeout=timeout):
        item = json.loads(data)
        if name == "text" and not item.get("whole"):
            if on_text is not None:
                on_text(item["text"])
        elif name == "step" and on_step is not None:
            on_step(Step.model_validate(item))
        elif name == "answer":
            answer = Answer.model_validate(item)
    if answer is None:
        raise DalilError(f"the Dalil server at {remote.where} sent no answer")
    return answer


def filters_body(filters: SearchFilters | None) -> dict[str, Any]:
    if not filters:
        return {}
    return {"from": filters.date_from and filters.date_from.isoformat(), "to": filters.date_to and filters.date_to.isoformat(),
            "outlet": filters.outlet}


class _RemoteRegistry:
    """The registry calls the chat makes (``/open N``, ``/filter outlet=``), as requests."""

    def __init__(self, remote: Client, timeout: float) -> None:
        self.remote, self.timeout = remote, timeout

    def document(self, doc_id: str) -> StoredArticle | None:
        try:
            return StoredArticle.model_validate(self.remote.call("GET", f"/v1/articles/{quote(doc_id, safe='')}", timeout=self.timeout))
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def documents(self, with_text: bool = False) -> list[StoredArticle]:
        found: list[StoredArticle] = []
        while True:
            page = self.remote.call("GET", "/v1/articles", query={"offset": len(found), "limit": 1000}, timeout=self.timeout)
            found += [StoredArticle.model_validate(a) for a in page["articles"]]
            if not page["articles"] or len(found) >= page["total"]:
                return found


class RemoteDalil:
    """What ``dalil chat`` asks of ``Dalil``, answered by the server at ``settings.server.url``."""

    remote = True  # the chat's follow-ups are made standalone without a model of its own (the server's is not ours to prompt)

    def __init__(self, settings: Settings, client: Client) -> None:
        self.settings = settings
        self.client = client
        self.timeout = settings.server.timeout
        self.store = SimpleNamespace(registry=_RemoteRegistry(client, self.timeout))
        self._default_mode: AnswerMode | None = None

    @property
    def conversations_dir(self) -> Path:
        """Conversations with a server are kept apart, per server, in the user's data folder."""
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        name = hashlib.sha256((self.settings.server.url or "").encode()).hexdigest()[:16]
        return base / "dalil" / "servers" / name / "conversations"

    def refresh_store(self) -> None:
        """The server follows the store itself."""

    def default_mode(self) -> AnswerMode:
        if self._default_mode is None:
            ready = self.client.call("GET", "/ready", timeout=self.timeout)
            self._default_mode = "llm" if ready.get("mode") == "llm" else "extractive"
        return self._default_mode

    def answer_mode(self, requested: AnswerMode | None) -> AnswerMode:
        if requested == "llm" and self.default_mode() != "llm":
            raise DalilError(f"the Dalil server at {self.client.where} has no LLM endpoint: it answers in extractive mode only")
        return requested or self.default_mode()

    def ask(self, question: str, filters: SearchFilters | None = None, k: int | None = None, *, mode: AnswerMode | None = None,
            lang: str | None = None, on_text: Callable[[str], None] | None = None, on_step: Callable[[Any], None] | None = None) -> Answer:
        body = {"question": question, "k": k, "mode": mode, "lang": lang, **filters_body(filters)}
        return remote_answer(self.client, self.timeout, {key: v for key, v in body.items() if v is not None}, on_text, on_step)

    def timeline(self, mode: str | None, date_from: dt.date | None, date_to: dt.date | None) -> Timeline:
        return remote_timeline(self.client, self.timeout, mode, date_from, date_to)


def remote_timeline(remote: Client, timeout: float, mode: str | None, date_from: dt.date | None, date_to: dt.date | None) -> Timeline:
    """The server's ``Timeline`` (``GET /v1/timeline``), for ``dalil timeline`` and the chat's ``/timeline``."""
    from agent.events.models import Timeline

    query = {"from": date_from and date_from.isoformat(), "to": date_to and date_to.isoformat(), "mode": mode}
    return Timeline.model_validate(remote.call("GET", "/v1/timeline", query=query, timeout=timeout))
