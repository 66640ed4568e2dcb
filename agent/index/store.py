"""Store: Chroma vectors (through llama-index's ``ChromaVectorStore``) plus a local registry.

Takes settings; gives ``Store`` with the vector store, the registry of ingested
documents (SQLite: original text, content hash, chunk offsets and search terms) and the
BM25 index. Chroma keeps each chunk's vector and filter metadata; the text lives only in the
registry, which rebuilds passages for retrieval. The registry row of a document is committed
only after its vectors are in Chroma, so an interrupted ingest is redone, never half-kept.

With a Chroma server (``store.url``) the server is the one source of truth: it also keeps the
chunk text, every document's record and an ingest log (``agent.index.shared``), the registry and
BM25 index under ``--store`` are this machine's cache of it, brought up to date by ``catch_up``,
and writers on every machine take turns under a server lease (``agent.index.locks.ServerLease``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import errno
import json
import os
import re
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from agent import runtime
from agent.config import Settings
from agent.errors import DalilError
from agent.index.locks import LeaseWatcher, ServerLease, VectorLease
from agent.index.records import DocumentEvents, PreparedDocument, StoryMark
from agent.safety import mask_url

if TYPE_CHECKING:
    from llama_index.core.schema import BaseNode, Document, TextNode

    from agent.index.bm25 import BM25Index
    from agent.index.shared import SharedCorpus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, source TEXT UNIQUE NOT NULL, file TEXT NOT NULL, content_hash TEXT NOT NULL,
    published TEXT, outlet TEXT, title TEXT, url TEXT, language TEXT, encoding TEXT,
    text TEXT NOT NULL, n_chunks INTEGER NOT NULL, ingested_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start_char INTEGER NOT NULL, end_char INTEGER NOT NULL,
    paragraph INTEGER NOT NULL, published_ord INTEGER NOT NULL, outlet TEXT, terms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS writing (doc_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS reports (
    report_id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, type TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_doc ON reports(doc_id);
CREATE TABLE IF NOT EXISTS report_chunks (
    report_id INTEGER NOT NULL REFERENCES reports(report_id) ON DELETE CASCADE, chunk_id TEXT NOT NULL,
    PRIMARY KEY (report_id, chunk_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS report_chunks_chunk ON report_chunks(chunk_id);
CREATE TABLE IF NOT EXISTS reports_indexed (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE, extractor TEXT NOT NULL, cited INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stories (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE, story_id TEXT NOT NULL, signature BLOB NOT NULL,
    merged TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_story ON stories(story_id);
CREATE TABLE IF NOT EXISTS story_bands (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE, key BLOB NOT NULL, PRIMARY KEY (doc_id, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_bands_key ON story_bands(key);
"""
# The registry layout this Dalil reads and writes, kept in SQLite's ``user_version``. A registry
# from before versioning (user_version 0) is adopted when its tables have exactly these columns.
# Layout 2 added the event index (``reports``, ``report_chunks``, ``reports_indexed``: see
# ``agent.events.index``); a layout-1 registry gets the new tables when opened, and the next
# ingest extracts the reports of its documents (readers compute them in memory meanwhile). The wire
# stories (``stories``, ``story_bands``: see ``agent.index.wire``) came without a new layout: a layout-2
# Dalil without them reads and writes such a registry (a document it rewrites loses its story row with
# its old rows), and the next ingest with ``wire.enabled`` marks the documents that have none.
SCHEMA_VERSION = 2
_COLUMNS = {"documents": 13, "chunks": 9, "meta": 2, "writing": 1, "reports": 7, "report_chunks": 2, "reports_indexed": 3,
            "stories": 4, "story_bands": 2}


EventsFn = Callable[[list[tuple[str, int, int]]], "DocumentEvents | None"]


class VectorsUnavailable(DalilError):
    """The embedded Chroma store cannot be used now: busy or damaged (search can go on with BM25 alone)."""


class VectorsBusy(VectorsUnavailable):
    """Another process holds the embedded Chroma store (see ``agent.index.locks``)."""


@dataclass(frozen=True)
class DocumentRecord:
    doc_id: str
    source: str
    file: str
    content_hash: str
    published: str | None
    outlet: str | None
    title: str | None
    url: str | None
    language: str | None
    encoding: str | None
    text: str
    n_chunks: int
    ingested_at: str


@dataclass(frozen=True)
class ChunkRecord:
    chunk_id: str
    doc_id: str
    ordinal: int
    start_char: int
    end_char: int
    paragraph: int
    published_ord: int
    outlet: str | None


def _unchanged(db: sqlite3.Connection, doc_id: str, content_hash: str) -> bool:
    """Whether ``doc_id`` is still in the registry with ``content_hash`` (a back-fill skips a document since changed
    or removed)."""
    row = db.execute("SELECT content_hash FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
    return row is not None and row[0] == content_hash


class Registry:
    """SQLite registry of documents and chunks, next to the vectors."""

    def __init__(self, path: Path, shape: dict[str, Any] | None = None) -> None:
        """Open the registry at ``path`` (created when missing); ``shape`` (the settings that shape the
        vectors) is recorded in a new registry, so a later mismatch can say what the store needs."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            _check_layout(self._db, path)  # before anything is written to it
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)
            if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            if shape is not None:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('shape', ?)", (json.dumps(shape),))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise DalilError(f"cannot open the registry {path}: {exc}") from None
        except DalilError:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def document_by_source(self, source: str) -> DocumentRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE source = ?", (source,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    def document_by_hash(self, content_hash: str) -> DocumentRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE content_hash = ?", (content_hash,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    def document(self, doc_id: str) -> DocumentRecord | None:
        row = self._db.execute("SELECT * FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return DocumentRecord(**dict(row)) if row else None

    def documents(self, with_text: bool = True) -> list[DocumentRecord]:
        """Every document, by publication date and file (``with_text=False``: ``text`` is left empty)."""
        if with_text:
            rows = self._db.execute("SELECT * FROM documents ORDER BY published, file").fetchall()
        else:
            rows = self._db.execute(
                "SELECT doc_id, source, file, content_hash, published, outlet, title, url, language, encoding, '' AS text,"
                " n_chunks, ingested_at FROM documents ORDER BY published, file").fetchall()
        return [DocumentRecord(**dict(r)) for r in rows]

    def openings(self, chars: int = 160) -> dict[str, str]:
        """``doc_id → the first ``chars`` characters of its text`` for every document (what a listing shows of an untitled one)."""
        return dict(self._db.execute("SELECT doc_id, substr(text, 1, ?) FROM documents", (chars,)).fetchall())

    def chunks(self, ids: Iterable[str] | None = None) -> list[ChunkRecord]:
        cols = "chunk_id, doc_id, ordinal, start_char, end_char, paragraph, published_ord, outlet"
        if ids is None:
            rows = self._db.execute(f"SELECT {cols} FROM chunks ORDER BY rowid").fetchall()
        else:
            wanted = list(ids)
            rows = self._db.execute(f"SELECT {cols} FROM chunks WHERE chunk_id IN ({_marks(wanted)})", wanted).fetchall()
        return [ChunkRecord(**dict(r)) for r in rows]

    def nodes(self, ids: list[str]) -> dict[str, TextNode]:
        """Chunks as ``TextNode``s, rebuilt from the registry (SQLite's substr counts characters, as Python does)."""
        from agent.index.nodes import chunk_node

        if not ids:
            return {}
        rows = self._db.execute(
            "SELECT c.chunk_id, c.paragraph, c.ordinal, c.start_char, c.end_char, d.doc_id, d.file, d.published, d.outlet,"
            " d.title, d.url, d.language, substr(d.text, c.start_char + 1, c.end_char - c.start_char) AS text"
            f" FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.chunk_id IN ({_marks(ids)})", ids,
        ).fetchall()
        return {r["chunk_id"]: chunk_node(r["chunk_id"], r["text"], dict(r), r["paragraph"], r["start_char"], r["end_char"], r["ordinal"])
                for r in rows}

    def chunk_terms(self, doc_ids: list[str] | None = None) -> Iterator[tuple[str, str, list[str]]]:
        """``(chunk_id, doc_id, terms)`` of every chunk, or of the chunks of ``doc_ids``, in insertion order."""
        if doc_ids is None:
            rows: Iterable[sqlite3.Row] = self._db.execute("SELECT chunk_id, doc_id, terms FROM chunks ORDER BY rowid")
        else:
            rows = sorted((row for part in _parts(doc_ids) for row in self._db.execute(
                f"SELECT rowid, chunk_id, doc_id, terms FROM chunks WHERE doc_id IN ({_marks(part)})", part)),
                key=lambda row: row["rowid"])
        for row in rows:
            yield row["chunk_id"], row["doc_id"], row["terms"].split(" ") if row["terms"] else []

    def analyzed_by(self) -> str | None:
        """The analyzer key (``agent.text.lexicon.analyzer_key``) the chunks' terms were made by; None in a store
        made before it was recorded."""
        return self.meta("analyzer")

    def write_terms(self, rows: list[tuple[str, list[str]]]) -> None:
        """Replace the terms of these chunks (``(chunk_id, terms)``), in one transaction and no new generation:
        ``set_analyzed_by`` ends a re-analysis with one."""
        with self.transaction() as db:
            db.executemany("UPDATE chunks SET terms = ? WHERE chunk_id = ?", [(" ".join(t), c) for c, t in rows])

    def set_analyzed_by(self, key: str, reanalyzed: bool) -> None:
        """Record the analyzer key; after a re-analysis also a new generation (search results change)."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('analyzer', ?)", (key,))
            if reanalyzed:
                self._bump(db)

    def chunk_ids_of(self, doc_ids: list[str]) -> list[str]:
        return [row[0] for part in _parts(doc_ids) for row in self._db.execute(
            f"SELECT chunk_id FROM chunks WHERE doc_id IN ({_marks(part)})", part)]

    def start_writing(self, doc_ids: list[str]) -> list[str]:
        """Record that these documents' vectors are being written; return those a crashed run left half-written."""
        unfinished = [row[0] for part in _parts(doc_ids) for row in self._db.execute(
            f"SELECT doc_id FROM writing WHERE doc_id IN ({_marks(part)})", part)]
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO writing VALUES (?)", [(d,) for d in doc_ids])
        return unfinished

    def document_hashes(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT doc_id, content_hash FROM documents").fetchall())

    def is_empty(self) -> bool:
        """No document yet (one indexed row read; counting is a full scan at newsroom scale)."""
        return self._db.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is None

    def counts(self) -> tuple[int, int]:
        docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return docs, chunks

    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def latest_published(self) -> dt.date | None:
        """The latest publication day in the store (what a question's "5 October" is resolved against)."""
        row = self._db.execute("SELECT MAX(published) FROM documents").fetchone()
        try:
            return dt.date.fromisoformat(row[0][:10]) if row and row[0] else None
        except ValueError:
            return None

    def has_published(self, day: dt.date) -> bool:
        """Whether an article in the store was published on ``day``: one query, not every record read into Python."""
        row = self._db.execute("SELECT 1 FROM documents WHERE published = ? LIMIT 1", (day.isoformat(),)).fetchone()
        return row is not None

    def unfinished(self) -> set[str]:
        """Documents whose vectors a crashed run may have left half-written: they are redone, whatever their hash."""
        return {row[0] for row in self._db.execute("SELECT doc_id FROM writing")}

    @contextmanager
    def document_writer(self, doc: Document, events: EventsFn | None = None, story: StoryMark | None = None,
                        ) -> Iterator[Callable[[list[TextNode], list[list[str]]], None]]:
        """Replace the document's rows in one transaction; yields ``add(nodes, terms)`` for chunk batches.
        ``events``, given every chunk's ``(chunk_id, start, end)`` at the end, makes its event reports.

        Nothing is visible (or kept, on a crash) until the block ends without error.
        """
        spans: list[tuple[str, int, int]] = []
        with self.transaction() as db:
            self._insert_document(db, doc)

            def add(nodes: list[TextNode], terms: list[list[str]]) -> None:
                self._insert_chunks(db, doc.doc_id, nodes, terms)
                spans.extend((n.node_id, n.start_char_idx or 0, n.end_char_idx or 0) for n in nodes)

            yield add
            db.execute("UPDATE documents SET n_chunks = ? WHERE doc_id = ?", (len(spans), doc.doc_id))
            found = events(spans) if events is not None else None
            if found is not None:
                self._insert_events(db, doc.doc_id, found)
            if story is not None:
                self._insert_story(db, doc.doc_id, story)
            self._bump(db)

    def write_documents(self, batch: list[PreparedDocument]) -> None:
        """Replace the rows of several whole documents, with their event reports, in one transaction
        (one commit, one generation)."""
        with self.transaction() as db:
            for item in batch:
                self._insert_document(db, item.doc, len(item.nodes))
                self._insert_chunks(db, item.doc.doc_id, item.nodes, item.terms)
                if item.events is not None:
                    self._insert_events(db, item.doc.doc_id, item.events)
                if item.story is not None:
                    self._insert_story(db, item.doc.doc_id, item.story)
            self._bump(db)

    def delete_documents(self, doc_ids: list[str]) -> int:
        """Remove documents with their chunks and event reports (one commit, one generation); how many were there."""
        removed = 0
        with self.transaction() as db:
            for part in _parts(doc_ids):
                removed += db.execute(f"DELETE FROM documents WHERE doc_id IN ({_marks(part)})", part).rowcount
                db.execute(f"DELETE FROM writing WHERE doc_id IN ({_marks(part)})", part)
            self._bump(db)
        return removed

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def export_document(self, doc_id: str) -> dict[str, Any] | None:
        """Everything the registry holds of one document, as plain data (what a Chroma server keeps for other
        machines, see ``agent.index.shared``): its record, its chunks in written order with their terms, its reports."""
        self._db.execute("BEGIN")  # one snapshot
        try:
            record = self.document(doc_id)
            if record is None:
                return None
            chunks = [list(row) for row in self._db.execute(
                "SELECT chunk_id, ordinal, start_char, end_char, paragraph, published_ord, outlet, terms FROM chunks"
                " WHERE doc_id = ? ORDER BY rowid", (doc_id,))]
            indexed = self._db.execute("SELECT extractor, cited FROM reports_indexed WHERE doc_id = ?", (doc_id,)).fetchone()
            events = None
            if indexed is not None:
                reports = []
                for row in self._db.execute("SELECT report_id, type, start, end, data FROM reports WHERE doc_id = ? ORDER BY ordinal",
                                            (doc_id,)).fetchall():
                    chunk_ids = sorted(r[0] for r in self._db.execute("SELECT chunk_id FROM report_chunks WHERE report_id = ?", (row[0],)))
                    reports.append({"type": row[1], "start": row[2], "end": row[3], "data": base64.b64encode(row[4]).decode("ascii"),
                                    "chunk_ids": chunk_ids})
                events = {"extractor": indexed[0], "cited": indexed[1], "reports": reports}
            marked = self._db.execute("SELECT story_id, signature, merged FROM stories WHERE doc_id = ?", (doc_id,)).fetchone()
        finally:
            self._db.execute("COMMIT")
        fields = {k: v for k, v in dataclasses.asdict(record).items() if k not in ("text", "n_chunks", "ingested_at")}
        story = None if marked is None else {"story_id": marked[0], "signature": base64.b64encode(marked[1]).decode("ascii"),
                                             "merges": marked[2].split()}
        return {"document": fields, "text": record.text, "chunks": chunks, "events": events, "story": story}

    # --- the event index (``agent.events.index``) -------------------------------------------------

    def unindexed(self, extractor: str) -> list[str]:
        """Documents whose event reports are missing, or were found by other rules or another lexicon."""
        return [row[0] for row in self._db.execute(
            "SELECT d.doc_id FROM documents d LEFT JOIN reports_indexed i ON i.doc_id = d.doc_id AND i.extractor = ?"
            " WHERE i.doc_id IS NULL ORDER BY d.rowid", (extractor,))]

    def write_events(self, found: list[tuple[str, str, DocumentEvents]]) -> int:
        """Store ``(doc_id, content_hash, events)`` of documents already in the registry (a back-fill: no new
        generation, the answers do not change); a document since changed or removed is skipped. Returns how many."""
        written = 0
        with self.transaction() as db:
            for doc_id, content_hash, events in found:
                if _unchanged(db, doc_id, content_hash):
                    self._insert_events(db, doc_id, events)
                    written += 1
        return written

    def indexed_reports(self, extractor: str) -> tuple[int, dict[str, int], list[tuple[str, int, bytes, list[str]]]]:
        """One snapshot of the event index: the generation, ``doc_id → cited`` of the documents indexed by
        ``extractor``, and their reports ``(doc_id, ordinal, data, chunk_ids)`` by document and ordinal."""
        self._db.execute("BEGIN")  # a read transaction: a commit by an ingest meanwhile is not half seen
        try:
            generation = self.generation()
            cited = dict(self._db.execute("SELECT doc_id, cited FROM reports_indexed WHERE extractor = ?", (extractor,)).fetchall())
            chunks: dict[int, list[str]] = {}
            for report_id, chunk_id in self._db.execute("SELECT report_id, chunk_id FROM report_chunks"):
                chunks.setdefault(report_id, []).append(chunk_id)
            rows = [(r[1], r[2], r[3], sorted(chunks.get(r[0], ()))) for r in self._db.execute(
                "SELECT r.report_id, r.doc_id, r.ordinal, r.data FROM reports r JOIN reports_indexed i ON i.doc_id = r.doc_id"
                " AND i.extractor = ? ORDER BY r.doc_id, r.ordinal", (extractor,))]
        finally:
            self._db.execute("COMMIT")
        return generation, cited, rows

    @staticmethod
    def _insert_events(db: sqlite3.Connection, doc_id: str, events: DocumentEvents) -> None:
        db.execute("DELETE FROM reports WHERE doc_id = ?", (doc_id,))  # their report_chunks rows go with them
        for ordinal, report in enumerate(events.reports):
            report_id = db.execute("INSERT INTO reports (doc_id, ordinal, type, start, end, data) VALUES (?,?,?,?,?,?)",
                                   (doc_id, ordinal, report.type, report.start, report.end, report.data)).lastrowid
            db.executemany("INSERT OR IGNORE INTO report_chunks VALUES (?,?)", [(report_id, c) for c in report.chunk_ids])
        db.execute("INSERT OR REPLACE INTO reports_indexed VALUES (?,?,?)", (doc_id, events.extractor, events.cited))

    # --- wire stories (``agent.index.wire``) -----------------------------------------------------

    def story_candidates(self, keys: list[bytes]) -> list[str]:
        """Documents filed under any of these LSH band keys."""
        if not keys:
            return []
        return [row[0] for row in self._db.execute(f"SELECT DISTINCT doc_id FROM story_bands WHERE key IN ({_marks(keys)})", keys)]

    def story_marks(self, doc_ids: list[str]) -> dict[str, StoryMark]:
        return {row[0]: StoryMark(row[1], bytes(row[2])) for part in _parts(doc_ids) for row in self._db.execute(
            f"SELECT doc_id, story_id, signature FROM stories WHERE doc_id IN ({_marks(part)})", part)}

    def stories_of(self, doc_ids: list[str]) -> dict[str, str]:
        """``doc_id → story_id`` of those of ``doc_ids`` that have a story."""
        return {row[0]: row[1] for part in _parts(doc_ids) for row in self._db.execute(
            f"SELECT doc_id, story_id FROM stories WHERE doc_id IN ({_marks(part)})", part)}

    def story_copies(self, doc_ids: list[str]) -> dict[str, list[DocumentRecord]]:
        """For each of ``doc_ids``, the other documents of its story (without their text), by publication date and file."""
        found: dict[str, list[DocumentRecord]] = {}
        for part in _parts(doc_ids):
            for row in self._db.execute(
                    "SELECT s.doc_id AS of_doc, d.doc_id, d.source, d.file, d.content_hash, d.published, d.outlet, d.title, d.url,"
                    " d.language, d.encoding, '' AS text, d.n_chunks, d.ingested_at FROM stories s"
                    " JOIN stories o ON o.story_id = s.story_id AND o.doc_id != s.doc_id JOIN documents d ON d.doc_id = o.doc_id"
                    f" WHERE s.doc_id IN ({_marks(part)}) ORDER BY d.published, d.file", part):
                fields = dict(row)
                found.setdefault(fields.pop("of_doc"), []).append(DocumentRecord(**fields))
        return found

    def story_members(self, story_ids: list[str]) -> list[str]:
        """The documents of these stories."""
        return [row[0] for part in _parts(story_ids) for row in self._db.execute(
            f"SELECT doc_id FROM stories WHERE story_id IN ({_marks(part)})", part)]

    def without_story(self) -> list[str]:
        """Documents with no story row, in the order they were ingested."""
        return [row[0] for row in self._db.execute(
            "SELECT d.doc_id FROM documents d LEFT JOIN stories s ON s.doc_id = d.doc_id WHERE s.doc_id IS NULL ORDER BY d.rowid")]

    def write_stories(self, found: list[tuple[str, str, StoryMark]]) -> int:
        """Store ``(doc_id, content_hash, mark)`` of documents already in the registry (a back-fill); a document since
        changed or removed is skipped. A new generation: which passages count as copies changes. Returns how many."""
        written = 0
        with self.transaction() as db:
            for doc_id, content_hash, mark in found:
                if _unchanged(db, doc_id, content_hash):
                    self._insert_story(db, doc_id, mark)
                    written += 1
            if written:
                self._bump(db)
        return written

    @staticmethod
    def _insert_story(db: sqlite3.Connection, doc_id: str, mark: StoryMark) -> None:
        from agent.index.wire import band_keys

        if mark.merges:  # the stories it joined become its story (story ids have no spaces: "s-" and a hex digest)
            db.execute(f"UPDATE stories SET story_id = ? WHERE story_id IN ({_marks(list(mark.merges))})", (mark.story_id, *mark.merges))
        db.execute("INSERT OR REPLACE INTO stories VALUES (?,?,?,?)", (doc_id, mark.story_id, mark.signature, " ".join(mark.merges)))
        db.execute("DELETE FROM story_bands WHERE doc_id = ?", (doc_id,))
        db.executemany("INSERT OR IGNORE INTO story_bands VALUES (?,?)", [(doc_id, key) for key in band_keys(mark.signature)])

    def finish_writing(self, doc_ids: list[str]) -> None:
        """Strike documents off the ``writing`` list: their vectors and rows are complete."""
        with self.transaction() as db:
            db.executemany("DELETE FROM writing WHERE doc_id = ?", [(d,) for d in doc_ids])

    @staticmethod
    def _insert_document(db: sqlite3.Connection, doc: Document, n_chunks: int = 0) -> None:
        m = doc.metadata
        db.execute("DELETE FROM documents WHERE doc_id = ? OR source = ?", (doc.doc_id, m["source"]))
        db.execute(
            "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (doc.doc_id, m["source"], m["file"], m["content_hash"], m.get("published"), m.get("outlet"),
             m.get("title"), m.get("url"), m.get("language"), m.get("encoding"), doc.text, n_chunks,
             dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        )

    @staticmethod
    def _insert_chunks(db: sqlite3.Connection, doc_id: str, nodes: list[TextNode], terms: list[list[str]]) -> None:
        db.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)",
            [(n.node_id, doc_id, n.metadata["ordinal"], n.start_char_idx, n.end_char_idx,
              n.metadata["paragraph"], n.metadata["published_ord"], n.metadata.get("outlet"), " ".join(t))
             for n, t in zip(nodes, terms, strict=True)],
        )

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )


class Store:
    """Everything on disk (or on a Chroma server) for one collection.

    The embedded Chroma files are opened only under the store's ``VectorLease`` (one process at
    a time, see ``agent.index.locks``): an ingest holds it for its whole run; a reader takes it for
    its queries and hands it over when idle and someone else waits. The registry (SQLite in WAL
    mode) and the BM25 index (folders published atomically) are read by any number of processes.
    """

    def __init__(self, settings: Settings, create: bool = False) -> None:
        """Open the store for ``settings``; without ``create``, a store with no registry for these
        settings is an error that says what the folder holds (nothing, or another embedder's store)."""
        self.settings = settings
        self.root = settings.store.path
        if self.root.exists() and not self.root.is_dir():
            raise DalilError(f"the store path {self.root} is not a folder: point --store (or DALIL_STORE) at a folder")
        self.collection_name = settings.collection_name()
        registry_path = self.root / f"{self.collection_name}.sqlite"
        if not create and not registry_path.exists() and not settings.store.url:  # with a server: a cache, filled by catch_up()
            raise DalilError(missing_store_reason(self.root, settings))
        try:
            self.registry = Registry(registry_path, settings.vector_shape())
        except OSError as exc:
            raise DalilError(f"cannot open the store at {self.root}: {exc.strerror or exc}") from None
        self.opened_generation = self.registry.generation()
        self._bm25: BM25Index | None = None
        self._lease = None if settings.store.url else VectorLease(self.root)
        self._vectors_lock = threading.RLock()  # held while Chroma is in use, so the lease is never handed over mid-query
        self._chroma: tuple[Any, Any] | None = None  # (client, collection), open only under the lease
        self._writing = False
        self._watcher: LeaseWatcher | None = None
        self._server_lease: ServerLease | None = None  # held by an ingest writing to a Chroma server
        self._next_seq = 0  # the next log sequence number this writer allocates (under _server_lease)

    def changed_since_open(self) -> bool:
        """Whether an ingest (in any process) wrote to the store after this object opened it."""
        return self.registry.generation() != self.opened_generation

    def close(self) -> None:
        """Release the registry, the Chroma client and the BM25 index, so a new Store re-reads the store from disk."""
        self.close_vectors()
        if self._watcher is not None:
            self._watcher.stop()
        self.registry.close()
        self._bm25 = None
        runtime.thaw()  # what bm25() froze may now be collected

    @property
    def bm25_dir(self) -> Path:
        return self.root / f"{self.collection_name}.bm25"

    def import_backend(self) -> None:
        """Import chromadb (about a second) without opening anything, so an ingest can time it apart."""
        import chromadb  # noqa: F401

    # --- vectors: Chroma, opened under the lease -------------------------------------------------

    @contextmanager
    def vectors_in_use(self) -> Iterator[str | None]:
        """Hold the vectors for a retrieval: yields None when they are open, else why they are not
        (another process holds the embedded store). Nothing can hand them over inside the block."""
        with self._vectors_lock:
            try:
                self._open_vectors()
            except VectorsUnavailable as exc:
                yield str(exc)
                return
            yield None

    @contextmanager
    def open_collection(self) -> Iterator[Any]:
        """The Chroma collection itself, held under the lease for the block (None when nothing was
        ingested with these settings): for inspection by tests and tools."""
        with self._vectors_lock:
            yield self._open_vectors()

    def query_vectors(self, vector: list[float], n: int, where: dict[str, Any] | None) -> tuple[list[str], list[float]]:
        """Ids and cosine distances of the ``n`` nearest chunks (none when nothing was ingested with these settings)."""
        with self._vectors_lock:
            collection = self._open_vectors()
            if collection is None:
                return [], []
            found = collection.query(query_embeddings=[vector], n_results=n, where=where, include=["distances"])
            return list(found["ids"][0]), [float(d) for d in found["distances"][0]]

    def vector_count(self) -> int:
        with self._vectors_lock:
            collection = self._open_vectors()
            return collection.count() if collection is not None else 0

    def sample_vector(self) -> list[float] | None:
        """One stored vector (for the doctor's dimension check), or None when there is none."""
        with self._vectors_lock:
            collection = self._open_vectors()
            if collection is None:
                return None
            embeddings = collection.get(limit=1, include=["embeddings"]).get("embeddings")
            return None if embeddings is None or len(embeddings) == 0 else list(embeddings[0])

    def collection_names(self) -> list[str]:
        with self._vectors_lock:
            self._open_vectors()
            assert self._chroma is not None
            return [getattr(c, "name", c) for c in self._chroma[0].list_collections()]

    @contextmanager
    def vector_lease(self) -> Iterator[str | None]:
        """Hold the lease with Chroma closed, for a child process that opens it on this one's behalf
        (the doctor's probe); yields None, or why the lease is not available."""
        with self._vectors_lock:
            self.close_vectors()
            try:
                self._take_lease()
            except VectorsBusy as exc:
                yield str(exc)
                return
            try:
                yield None
            finally:
                self.close_vectors()

    def close_vectors(self) -> None:
        """Close the Chroma client (it writes its files as it closes) and give the lease back."""
        with self._vectors_lock:
            if self._chroma is not None:
                client, self._chroma = self._chroma[0], None
                client.close()
            if self._lease is not None:
                self._lease.release()

    def _hand_over(self) -> None:
        """From the watcher: another process waits for the lease; give it up unless a query or an ingest is running."""
        if self._writing or not self._vectors_lock.acquire(blocking=False):
            return
        try:
            if not self._writing:
                self.close_vectors()
        finally:
            self._vectors_lock.release()

    def _open_vectors(self) -> Any:
        """The collection, opening Chroma under the lease if needed; None for a reader when the
        collection does not exist (a reader never creates anything)."""
        if self._chroma is None:
            self._take_lease()
            client = self._client()
            try:
                if self._writing:
                    # embedding_function=None: Dalil always passes its own vectors, so Chroma never
                    # loads (or downloads) its default ONNX embedder
                    collection = client.get_or_create_collection(self.collection_name, embedding_function=None,
                                                                 metadata=self._collection_metadata())
                else:
                    names = [getattr(c, "name", c) for c in client.list_collections()]
                    collection = (client.get_collection(self.collection_name, embedding_function=None)
                                  if self.collection_name in names else None)
            except Exception as exc:
                client.close()
                if self._lease is not None:
                    self._lease.release()
                raise self._unreadable(f"cannot open Chroma collection {self.collection_name}: {_first_line(exc)}") from None
            self._chroma = (client, collection)
        if self._chroma[1] is None and self._writing:  # opened by a reader, now written to
            self._chroma = (self._chroma[0], self._chroma[0].get_or_create_collection(
                self.collection_name, embedding_function=None, metadata=self._collection_metadata()))
        return self._chroma[1]

    def _collection_metadata(self) -> dict[str, Any]:
        """Cosine distances; on a server also the settings that shape the vectors, for other machines to check."""
        if not self.settings.store.url:
            return {"hnsw:space": "cosine"}
        from agent.index.shared import SHAPE_KEY

        return {"hnsw:space": "cosine", SHAPE_KEY: json.dumps(self.settings.vector_shape())}

    def _take_lease(self) -> None:
        if self._lease is None:  # a Chroma server: it serializes its own writers
            return
        try:
            self._wait_for_lease(self._lease)
        except OSError as exc:
            raise DalilError(f"cannot lock the vector store at {self.root}: {exc.strerror or exc}") from None

    def _wait_for_lease(self, lease: VectorLease) -> None:
        if self._writing:
            wait = self.settings.store.lock_timeout
            if not lease.acquire(wait):
                raise VectorsBusy(f"another Dalil process kept the vector store at {self.root} busy for {wait:g}s; try again")
            return
        if lease.acquire(0):
            pass
        elif lease.writer_running():  # an ingest keeps the lease for its whole run: no use waiting
            raise VectorsBusy("a `dalil ingest` is writing the vector store")
        elif not lease.acquire(self.settings.store.read_wait):
            raise VectorsBusy(f"another Dalil process kept the vector store busy for {self.settings.store.read_wait:g}s")
        if self._watcher is None:
            self._watcher = LeaseWatcher(lease, self._hand_over)

    def _client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.store.url
        try:
            if url:
                parsed = urlparse(url)
                if not parsed.hostname:
                    raise DalilError(f"store.url is not a URL: {mask_url(url)}")
                return chromadb.HttpClient(
                    host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https", settings=chroma_settings,
                )
            runtime.fill_new_heap_memory()  # done by runtime.setup() at every entry point; here for a Store used without one
            return chromadb.PersistentClient(path=str(self.root / "chroma"), settings=chroma_settings)
        except DalilError:
            if self._lease is not None:
                self._lease.release()
            raise
        except Exception as exc:  # chromadb raises bare exceptions for unreachable servers
            if self._lease is not None:
                self._lease.release()
            raise self._unreadable(f"cannot open the Chroma store ({mask_url(url) or self.root}): {_first_line(exc)}") from None

    def _unreadable(self, message: str) -> DalilError:
        """A Chroma server that cannot be reached is an error; an embedded store that cannot be read is
        damaged, and searches go on with BM25 alone while they say how to repair it."""
        if self.settings.store.url:
            return DalilError(message)
        return VectorsUnavailable(f"{message} (run `dalil doctor --repair` to rebuild the vectors)")

    # --- writing (inside ingest_lock) -------------------------------------------------------------

    def write_documents(self, batch: list[PreparedDocument]) -> None:
        """Store several whole documents at once (one Chroma write, one registry commit).

        Each document is first listed as being written; its new vectors are added, its registry
        rows commit, its old vectors that the new ones did not replace are deleted, and only then
        is it struck off the list. A crash at any point leaves it listed, and the next ingest
        redoes it, whatever its content hash (its vectors are deleted and written again)."""
        if not batch:
            return
        doc_ids = [item.doc.doc_id for item in batch]
        nodes = [node for item in batch for node in item.nodes]
        stale = self._begin_writing(doc_ids, [n.node_id for n in nodes])
        if nodes:
            self._add_vectors(nodes)
        _crash_point("vectors-added")
        renamed = self._renamed([item.story for item in batch])
        self.registry.write_documents(batch)
        _crash_point("rows-committed")
        self._finish_writing(doc_ids, stale, renamed)

    def _renamed(self, stories: list[StoryMark | None]) -> list[str]:
        """With a server: the stored documents whose wire story these marks join into theirs (republished with them)."""
        merged = sorted({m for mark in stories if mark is not None for m in mark.merges})
        return self.registry.story_members(merged) if merged and self.settings.store.url else []

    @contextmanager
    def writing(self, doc: Document, events: EventsFn | None = None,
                story: StoryMark | None = None) -> Iterator[Callable[[list[TextNode], list[list[str]]], None]]:
        """Store one (very large) document in batches, with the same order as ``write_documents``:
        vectors added batch by batch, registry rows (and the event reports ``events`` makes from the
        chunk spans) committed at the end, then the old vectors deleted."""
        old = self._begin_writing([doc.doc_id], [])
        renamed = self._renamed([story])
        written: set[str] = set()
        with self.registry.document_writer(doc, events, story) as add_rows:

            def add(nodes: list[TextNode], terms: list[list[str]]) -> None:
                if nodes:
                    ids = {n.node_id for n in nodes}
                    self._delete_vectors(sorted(ids & old))  # about to be replaced: Chroma's add keeps an existing id
                    self._add_vectors(nodes)
                    add_rows(nodes, terms)
                    written.update(ids)

            yield add
        self._finish_writing([doc.doc_id], old - written, renamed)

    def _begin_writing(self, doc_ids: list[str], new_ids: list[str]) -> set[str]:
        """List the documents as being written and clear what must go before their new vectors are
        added; return their old vector ids that the new ones do not replace (deleted after the commit)."""
        collection = self._writable_collection()
        unfinished = self.registry.start_writing(doc_ids)
        _crash_point("listed")
        if unfinished:  # a crashed run's leftovers: whatever vectors these documents have
            collection.delete(where={"document_id": {"$in": unfinished}})
        old = set(self.registry.chunk_ids_of(doc_ids))
        self._delete_vectors(sorted(old.intersection(new_ids)))  # Chroma's add keeps an existing id's old vector
        _crash_point("replaced-deleted")
        return old.difference(new_ids)

    def _finish_writing(self, doc_ids: list[str], stale: set[str], renamed: list[str] | None = None) -> None:
        self._delete_vectors(sorted(stale))
        _crash_point("stale-deleted")
        # before they are struck off: a crash before it redoes them; with them, the documents whose wire story
        # was joined into another one by these (their records on the server say which story they are in)
        self._publish([("put", d) for d in doc_ids + [r for r in renamed or [] if r not in doc_ids]])
        self.registry.finish_writing(doc_ids)

    def reset_vectors(self) -> Path | None:
        """Start the vectors afresh (inside ``ingest_lock``): the embedded Chroma folder is moved aside,
        not deleted, and its path returned; on a Chroma server this store's collection is dropped."""
        with self._vectors_lock:
            self.close_vectors()
            if self.settings.store.url:
                client = self._client()
                if self.collection_name in [getattr(c, "name", c) for c in client.list_collections()]:
                    client.delete_collection(self.collection_name)
                return None
            self._take_lease()  # kept: the next write opens a new Chroma folder under it
            folder = self.root / "chroma"
            if not folder.exists():
                return None
            aside = self.root / f"chroma.damaged-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
            folder.rename(aside)
            return aside

    def add_vectors(self, nodes: list[TextNode]) -> None:
        """Add vectors for chunks already in the registry (inside ``ingest_lock``; used to rebuild them)."""
        self._add_vectors(nodes)

    def replace_vectors(self, nodes: list[TextNode]) -> None:
        """Write new vectors for chunks that have some (inside ``ingest_lock``): Chroma's ``add`` keeps an id's old
        vector, so they are deleted first; a crash between the two leaves them without one until the caller redoes it."""
        self._delete_vectors([n.node_id for n in nodes])
        self._add_vectors(nodes)

    def _add_vectors(self, nodes: list[TextNode]) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        # on a server the chunk text is kept with the vectors: other machines read it there
        kept: list[BaseNode] = list(nodes) if self.settings.store.url else _without_text(nodes)
        ChromaVectorStore(chroma_collection=self._writable_collection()).add(kept)

    def _delete_vectors(self, ids: list[str]) -> None:
        if ids:
            self._writable_collection().delete(ids=ids)

    def _writable_collection(self) -> Any:
        if not self._writing:
            raise RuntimeError("the store is written only inside ingest_lock()")
        with self._vectors_lock:
            return self._open_vectors()

    @contextmanager
    def ingest_lock(self) -> Iterator[None]:
        """One writer per store: a second ingest waits ``store.lock_timeout`` seconds, then fails clearly.

        Inside, this store writes; it keeps the vector lease from its first write until the block
        ends, then closes Chroma (which writes its files) and gives the lease back."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / "ingest.lock"))
        wait = self.settings.store.lock_timeout
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise DalilError(
                f"another `dalil ingest` is writing to the store at {self.root} (waited {wait:g}s); "
                "try again when it has finished"
            ) from None
        try:
            with self._vectors_lock:
                self.close_vectors()  # a reader's client (same process) is reopened as the writer's
                self._writing = True
            try:
                if self.settings.store.url:
                    self._take_server_lease(wait)
                yield
                self._release_server_lease()
                with self._vectors_lock:
                    self._writing = False
                    self.close_vectors()
            except Exception as exc:
                self._release_server_lease()
                with self._vectors_lock:
                    self._writing = False
                    with suppress(Exception):  # closing writes too; the error that stopped the ingest is the one to tell
                        self.close_vectors()
                if _disk_full(exc):
                    raise DalilError(f"the disk holding the store at {self.root} is full ({_first_line(exc)}): free some space and "
                                     "run `dalil ingest` again; nothing half-written is kept (documents being written are redone)") from None
                raise
        finally:
            lock.release()

    # --- a Chroma server as the one source of truth (``agent.index.shared``) ---------------------------

    def _shared(self) -> SharedCorpus:
        from agent.index.shared import SharedCorpus

        with self._vectors_lock:
            self._open_vectors()
            assert self._chroma is not None
            return SharedCorpus(self._chroma[0], self.collection_name, self.settings.vector_shape(), self.settings.store.collection)

    def _server_error(self, exc: BaseException) -> DalilError:
        reason = re.sub(r"^cannot open the Chroma store \(.*?\): ", "", _first_line(exc))  # the URL is said once
        return DalilError(f"cannot bring the local cache up to date from {mask_url(self.settings.store.url)}: {reason}")

    def catch_up(self) -> int:
        """With a Chroma server: apply to this store's registry (a local cache) every ingest logged on the server
        since it was last brought up to date; how many documents changed. Any failure is a clear refusal,
        never an answer from stale data. Skipped while an ingest in this folder runs (it catches up itself)."""
        from filelock import FileLock, Timeout

        from agent.index.shared import ShapeMismatch

        if not self.settings.store.url:
            return 0
        lock = FileLock(str(self.root / "ingest.lock"))  # one writer of this cache at a time
        try:
            lock.acquire(timeout=self.settings.store.read_wait)
        except Timeout:
            return 0
        try:
            return self._shared().catch_up(self.registry)
        except ShapeMismatch:
            raise
        except Exception as exc:
            with suppress(Exception):
                self.close_vectors()  # the next attempt connects afresh
            raise self._server_error(exc) from None
        finally:
            lock.release()

    def _take_server_lease(self, wait: float) -> None:
        """Inside ``ingest_lock`` with a server: take the writer lease, then bring the cache up to date under it
        (what the ingest compares hashes with), and start numbering after the last log entry. (An ingest with
        other embedding or chunking settings than the corpus's starts a corpus of its own, as in a store folder.)"""
        shown = mask_url(self.settings.store.url)
        try:
            shared = self._shared()
            # a client of its own: the store's is closed and reopened during the run (reset_vectors), the lease's heartbeat goes on
            lease = self._server_lease = ServerLease(self._client(), self.collection_name)
            if not lease.acquire(wait):
                holder = lease.holder() or {}
                raise DalilError(f"another Dalil ({holder.get('owner', 'unknown')}) is writing to the corpus on the Chroma server "
                                 f"{shown} (waited {wait:g}s); try again when it has finished")
            shared.catch_up(self.registry, refuse_other_shapes=False)
            self._next_seq = shared.last_seq() + 1
        except DalilError:
            self._release_server_lease()
            raise
        except Exception as exc:
            self._release_server_lease()
            raise self._server_error(exc) from None

    def _release_server_lease(self) -> None:
        if self._server_lease is not None:
            self._server_lease.release()
            self._server_lease.close()
            self._server_lease = None

    def _publish(self, ops: list[tuple[str, str]]) -> None:
        """With a server: publish these documents' puts or deletes under the lease, log entries last."""
        if not self.settings.store.url or not ops:
            return
        if self._server_lease is None:
            raise RuntimeError("the server is written only inside ingest_lock()")
        self._server_lease.check()
        last = self._shared().publish(self.registry, ops, self._next_seq)
        if last >= self._next_seq:
            self._next_seq = last + 1
            self.registry.set_meta("server_seq", str(last))  # this cache holds what it published

    def delete_documents(self, doc_ids: list[str]) -> int:
        """Remove documents (inside ``ingest_lock``): their vectors, then (with a server) their records and a
        delete in the log, then their registry rows; how many the registry had."""
        if not doc_ids:
            return 0
        self._writable_collection().delete(where={"document_id": {"$in": list(doc_ids)}})
        self._publish([("delete", d) for d in doc_ids])
        return self.registry.delete_documents(doc_ids)

    def server_log(self) -> list[dict[str, Any]]:
        """The ingest log on the Chroma server, in order (empty without a server)."""
        return self._shared().log_entries() if self.settings.store.url else []

    def bm25(self, writer: bool = False) -> BM25Index:
        """The BM25 index, brought up to date from the registry's stored terms when it is out of date.

        Kept in memory while the registry generation is unchanged. Only the ingest holding the
        write lock (``writer``), or a reader while no ingest runs, saves a rebuilt index, so two
        processes never write its files at once.
        """
        from agent.index.bm25 import BM25Index

        generation, analyzer = self.registry.generation(), self.registry.analyzed_by()
        if self._bm25 is not None and self._bm25.generation == generation and self._bm25.analyzer == analyzer:
            return self._bm25
        index = BM25Index.load(self.bm25_dir)
        if index is not None and index.analyzer != analyzer:
            index = None  # built from terms since analyzed again (``agent.ingest.run.reanalyze``): every chunk is read again
        if index is None or index.generation != generation:
            fresh = None
            if index is not None:  # only the chunks of new or changed documents are read again
                fresh = index.updated(self.registry.document_hashes(), self.registry.chunk_terms, generation)
            index = fresh if fresh is not None else BM25Index.build(
                self.registry.chunk_terms(), self.registry.document_hashes(), generation, analyzer)
            if writer:
                index.save(self.bm25_dir)
            else:
                self._save_unless_ingesting(index)
        self._bm25 = index
        runtime.freeze_long_lived()  # the index lives as long as the process: out of the collector's full passes
        return index

    def _save_unless_ingesting(self, index: BM25Index) -> None:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / "ingest.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return  # the running ingest saves the index when it finishes
        try:
            index.save(self.bm25_dir)
        finally:
            lock.release()

    def text_of(self, doc_id: str) -> str:
        record = self.registry.document(doc_id)
        if record is None:
            raise DalilError(f"document {doc_id} is not in the store")
        return record.text


def missing_store_reason(root: Path, settings: Settings) -> str:
    """Why there is no registry for these settings at ``root``: nothing ingested, or a store made with other settings."""
    others = sorted(root.glob(f"{settings.store.collection}-*.sqlite")) if root.is_dir() else []
    if not others:
        return f"the store at {root} is empty: run `dalil ingest seeds` first"
    shapes = [_recorded_shape(path) for path in others]
    described = "; ".join(_describe_shape(shape) if shape else f"{path.stem} (settings not recorded)"
                          for path, shape in zip(others, shapes, strict=True))
    return (f"the store at {root} was built with other embedding or chunking settings ({described}); "
            f"the current ones ({_describe_shape(settings.vector_shape())}) have nothing there: "
            "use the store's settings, or run `dalil ingest` with these to index the articles again")


def _recorded_shape(path: Path) -> dict[str, Any] | None:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'shape'").fetchone()
        finally:
            db.close()
        return json.loads(row[0]) if row else None
    except (sqlite3.Error, ValueError):
        return None


def _describe_shape(shape: dict[str, Any]) -> str:
    return ", ".join(f"{key} = {value}" for key, value in shape.items())


def _check_layout(db: sqlite3.Connection, path: Path) -> None:
    """Refuse, before writing anything, a registry written by another version of Dalil."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise DalilError(f"the registry {path} was written by a newer Dalil (layout {version}; this one reads {SCHEMA_VERSION}): "
                         "upgrade Dalil, or use another --store")
    for table, expected in _COLUMNS.items():
        columns = len(db.execute(f"PRAGMA table_info({table})").fetchall())
        if columns and columns != expected:
            raise DalilError(f"the registry {path} has a layout this Dalil does not know (table {table} has {columns} columns, "
                             f"expected {expected}): use the Dalil that wrote it, or ingest into a new --store")


CRASH_POINTS = ("listed", "replaced-deleted", "vectors-added", "rows-committed", "stale-deleted")


def _crash_point(name: str) -> None:
    """A failpoint for the crash tests: ``DALIL_CRASH_AT=name`` makes the process SIGKILL itself here,
    between two of the writes above, exactly as a ``kill -9`` would (no cleanup runs)."""
    if os.environ.get("DALIL_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` means the disk (or the user's quota) is full, however the library that met it words it."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "database or disk is full" in text or "no space left on device" in text or "disk quota exceeded" in text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _parts(items: list[str], size: int = 900) -> Iterator[list[str]]:
    """``items`` in slices small enough for one SQLite ``IN (…)`` each."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items))


def _without_text(nodes: list[TextNode]) -> list[BaseNode]:
    """The nodes as Chroma should keep them: vector, id and metadata, no text. The text lives in the
    registry, where retrieval reads it; a copy in Chroma only fed its full-text index (at 100,000
    articles Chroma's SQLite file reached 4 GB and ingest became disk-bound)."""
    return [node.model_copy(update={"text": ""}) for node in nodes]
