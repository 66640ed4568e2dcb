"""What the registry stores of a document beside its row: its chunks ready to write, its event reports and its wire story.

Plain dataclasses, shared by the store (``agent.index.store``), which writes them, and the server
sync (``agent.index.shared``), which rebuilds them from another machine's published records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llama_index.core.schema import Document, TextNode


@dataclass
class StoredReport:
    """One event report of a document as the registry keeps it: its type and date range (ISO days), the
    report itself (zlib-compressed JSON, citations numbered within the document) and the chunks its
    citations overlap."""

    type: str
    start: str
    end: str
    data: bytes
    chunk_ids: list[str]


@dataclass
class DocumentEvents:
    """A document's event reports (made by ``agent.events.index``), written with its rows."""

    extractor: str  # fingerprint of the rules and lexicon that found them: others' reports are stale
    cited: int  # spans the extraction numbered (the reports' citations are numbered 1..cited)
    reports: list[StoredReport]


@dataclass(frozen=True)
class StoryMark:
    """A document's wire story (``agent.index.wire``): the story it belongs to (shared by every copy of one agency
    text), its MinHash signature (128 uint32 values; empty for a text too short to match), from which its LSH band
    keys are derived, and the stories it joined into this one (it matched copies filed under each)."""

    story_id: str
    signature: bytes
    merges: tuple[str, ...] = ()


@dataclass
class PreparedDocument:
    """A document ready to store: its chunks, their vectors (on the nodes), BM25 terms and event reports."""

    doc: Document
    nodes: list[TextNode]
    terms: list[list[str]]
    events: DocumentEvents | None = None  # None: not extracted (a later ingest back-fills it)
    story: StoryMark | None = None  # None: no wire story (wire.enabled off, or back-filled by a later ingest)
