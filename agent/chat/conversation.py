"""Saved conversations: one JSON file per conversation under a data folder.

Takes a folder (default ``<store>/conversations``); returns ``Conversation`` objects
(id, created, turns of question / standalone question / ``Answer``). Only what the user
typed and what Dalil answered is written: never settings, so never an API key.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from agent.errors import DalilError
from agent.schema import Answer

_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
HISTORY_FILE = "history"


def now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


class Turn(BaseModel):
    question: str = Field(description="the question as typed")
    standalone: str = Field(description="the question actually answered (follow-ups rewritten or given context)")
    context: str | None = Field(default=None, description="offline follow-ups: the earlier question they were answered against")
    asked_at: str = Field(default_factory=now)
    answer: Answer


class Conversation(BaseModel):
    id: str
    created: str
    updated: str
    mode: str | None = Field(default=None, description="answer mode chosen with /mode (None: automatic)")
    lang: str | None = Field(default=None, description="answer language chosen with /lang (None: the question's)")
    filters: dict[str, str | None] = Field(default_factory=dict, description="date_from, date_to, outlet")
    turns: list[Turn] = Field(default_factory=list)

    @property
    def title(self) -> str:
        return self.turns[0].question if self.turns else ""


def new_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class ConversationStore:
    """The folder of saved conversations (and the prompt's input history)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def history_path(self) -> Path:
        return self.folder / HISTORY_FILE

    def ensure(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DalilError(f"cannot create the conversations folder {self.folder}: {exc.strerror}") from None

    def new(self) -> Conversation:
        stamp = now()
        return Conversation(id=new_id(), created=stamp, updated=stamp)

    def path(self, conversation_id: str) -> Path:
        return self.folder / f"{conversation_id}.json"

    def save(self, conversation: Conversation) -> Path:
        """Write atomically (a crash mid-write never leaves half a file)."""
        self.ensure()
        conversation.updated = now()
        target = self.path(conversation.id)
        data = conversation.model_dump_json(indent=1)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise DalilError(f"cannot save the conversation to {target}: {exc.strerror}") from None
        return target

    def read(self, path: Path) -> Conversation:
        try:
            return Conversation.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
            raise DalilError(f"conversation file {path} is unreadable ({type(exc).__name__})") from None

    def list(self) -> tuple[list[Conversation], list[Path]]:
        """Saved conversations, most recently updated first, and the files that could not be read."""
        if not self.folder.is_dir():
            return [], []
        found: list[Conversation] = []
        broken: list[Path] = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                found.append(self.read(path))
            except DalilError:
                broken.append(path)
        found.sort(key=lambda c: (c.updated, c.id), reverse=True)
        return found, broken

    def load(self, ref: str) -> Conversation:
        """A conversation by ID, unique ID prefix, or ``last``."""
        ref = ref.strip()
        if ref == "last":
            found, _ = self.list()
            if not found:
                raise DalilError(f"no saved conversations in {self.folder}")
            return found[0]
        if not _ID.match(ref):
            raise DalilError(f"not a conversation ID: {ref!r} (see `dalil chat --list`)")
        exact = self.path(ref)
        if exact.is_file():
            return self.read(exact)
        matches = sorted(self.folder.glob(f"{ref}*.json")) if self.folder.is_dir() else []
        if len(matches) == 1:
            return self.read(matches[0])
        if not matches:
            raise DalilError(f"no conversation {ref!r} in {self.folder} (see `dalil chat --list`)")
        raise DalilError(f"{ref!r} matches {len(matches)} conversations: give more of the ID")
