"""Store: Chroma vectors (through llama-index's ``ChromaVectorStore``) plus a local registry.

Takes settings; gives ``Store`` with the vector store, the registry of ingested
documents (SQLite: original text, content hash, chunk offsets and search terms) and the
BM25 index. Chroma keeps each chunk's vector and filter metadata; the text lives only in the
registry, which rebuilds passages for retrieval. The registry row of a document is committed
only after its vectors are in Chroma, so an interrupted ingest is redone, never half-kept.
"""

from __future__ import annotations

import datetime as dt
import gc
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from agent.config import Settings
from agent.errors import DalilError

if TYPE_CHECKING:
    from llama_index.core.schema import Document, TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from agent.bm25 import BM25Index

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
"""


@dataclass
class PreparedDocument:
    """A document ready to store: its chunks, their vectors (on the nodes) and BM25 terms."""

    doc: Document
    nodes: list[TextNode]
    terms: list[list[str]]


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


class Registry:
    """SQLite registry of documents and chunks, next to the vectors."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

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

    def documents(self) -> list[DocumentRecord]:
        rows = self._db.execute("SELECT * FROM documents ORDER BY published, file").fetchall()
        return [DocumentRecord(**dict(r)) for r in rows]

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
        from agent.chunking import chunk_node

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

    @contextmanager
    def document_writer(self, doc: Document) -> Iterator[Callable[[list[TextNode], list[list[str]]], None]]:
        """Replace the document's rows in one transaction; yields ``add(nodes, terms)`` for chunk batches.

        Nothing is visible (or kept, on a crash) until the block ends without error.
        """
        count = 0
        with self.transaction() as db:
            self._insert_document(db, doc)

            def add(nodes: list[TextNode], terms: list[list[str]]) -> None:
                nonlocal count
                self._insert_chunks(db, doc.doc_id, nodes, terms)
                count += len(nodes)

            yield add
            db.execute("UPDATE documents SET n_chunks = ? WHERE doc_id = ?", (count, doc.doc_id))
            db.execute("DELETE FROM writing WHERE doc_id = ?", (doc.doc_id,))
            self._bump(db)

    def write_documents(self, batch: list[PreparedDocument]) -> None:
        """Replace the rows of several whole documents in one transaction (one commit, one generation)."""
        with self.transaction() as db:
            for item in batch:
                self._insert_document(db, item.doc, len(item.nodes))
                self._insert_chunks(db, item.doc.doc_id, item.nodes, item.terms)
            db.executemany("DELETE FROM writing WHERE doc_id = ?", [(item.doc.doc_id,) for item in batch])
            self._bump(db)

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
    """Everything on disk (or on a Chroma server) for one collection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.store.path
        self.collection_name = settings.collection_name()
        self.registry = Registry(self.root / f"{self.collection_name}.sqlite")
        self.opened_generation = self.registry.generation()
        self._bm25: BM25Index | None = None

    def changed_since_open(self) -> bool:
        """Whether an ingest (in any process) wrote to the store after this object opened it."""
        return self.registry.generation() != self.opened_generation

    def close(self) -> None:
        """Release the registry, the Chroma client and the BM25 index, so a new Store re-reads the store from disk.

        Chroma keeps one system per path for the whole process, and it never sees vectors another
        process wrote later; closing the last client stops it, so the next one starts afresh."""
        self.registry.close()
        if "chroma_client" in self.__dict__:
            self.chroma_client.close()
        self._bm25 = None
        gc.unfreeze()  # what bm25() froze may now be collected

    @property
    def bm25_dir(self) -> Path:
        return self.root / f"{self.collection_name}.bm25"

    def import_backend(self) -> None:
        """Import chromadb (about a second) without opening anything, so an ingest can time it apart."""
        import chromadb  # noqa: F401

    @cached_property
    def chroma_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        url = self.settings.store.url
        try:
            if url:
                parsed = urlparse(url)
                if not parsed.hostname:
                    raise DalilError(f"store.url is not a URL: {url}")
                return chromadb.HttpClient(
                    host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https", settings=chroma_settings,
                )
            return chromadb.PersistentClient(path=str(self.root / "chroma"), settings=chroma_settings)
        except DalilError:
            raise
        except Exception as exc:  # chromadb raises bare exceptions for unreachable servers
            raise DalilError(f"cannot open the Chroma store ({url or self.root}): {str(exc).splitlines()[0][:200]}") from None

    @cached_property
    def collection(self) -> Any:
        # embedding_function=None: Dalil always passes its own vectors, so Chroma never
        # loads (or downloads) its default ONNX embedder (OFFLINE-FACTS).
        try:
            return self.chroma_client.get_or_create_collection(
                self.collection_name, embedding_function=None, metadata={"hnsw:space": "cosine"},
            )
        except Exception as exc:
            raise DalilError(f"cannot open Chroma collection {self.collection_name}: {str(exc).splitlines()[0][:200]}") from None

    @cached_property
    def vector_store(self) -> ChromaVectorStore:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self.collection)

    def write_documents(self, batch: list[PreparedDocument]) -> None:
        """Store several whole documents at once: their old vectors go (one delete), all their vectors
        are added (one Chroma write), then their registry rows commit (one transaction). A crash
        leaves vectors without registry rows, and the next ingest deletes them before adding."""
        if not batch:
            return
        self._delete_old_vectors([item.doc.doc_id for item in batch])
        nodes = [node for item in batch for node in item.nodes]
        if nodes:
            self.vector_store.add(_without_text(nodes))
        self.registry.write_documents(batch)

    @contextmanager
    def writing(self, doc: Document) -> Iterator[Callable[[list[TextNode], list[list[str]]], None]]:
        """Store one document in batches: its old vectors go first, then each batch's vectors are
        added to Chroma and its rows to the registry transaction, which commits at the end. A crash
        leaves vectors without a registry row, and the next ingest deletes them before adding."""
        self._delete_old_vectors([doc.doc_id])
        with self.registry.document_writer(doc) as add_rows:

            def add(nodes: list[TextNode], terms: list[list[str]]) -> None:
                if nodes:
                    self.vector_store.add(_without_text(nodes))
                    add_rows(nodes, terms)

            yield add

    def _delete_old_vectors(self, doc_ids: list[str]) -> None:
        """Remove the vectors these documents have in Chroma before their new ones are added.

        By id, from the registry's list of their chunks: a metadata ``where`` delete scans the
        whole collection (8 s per write at 500,000 chunks, issue #8). Only a document a crashed
        run left half-written (its vectors stored, its rows not) needs that scan."""
        unfinished = self.registry.start_writing(doc_ids)
        old = self.registry.chunk_ids_of(doc_ids)
        if old:
            self.collection.delete(ids=old)
        if unfinished:
            self.collection.delete(where={"document_id": {"$in": unfinished}})

    @contextmanager
    def ingest_lock(self) -> Iterator[None]:
        """One writer per store: a second ingest waits ``store.lock_timeout`` seconds, then fails clearly."""
        from filelock import FileLock, Timeout

        self.root.mkdir(parents=True, exist_ok=True)
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
            yield
        finally:
            lock.release()

    def vector_count(self) -> int:
        return self.collection.count()

    def bm25(self, writer: bool = False) -> BM25Index:
        """The BM25 index, brought up to date from the registry's stored terms when it is out of date.

        Kept in memory while the registry generation is unchanged. Only the ingest holding the
        write lock (``writer``), or a reader while no ingest runs, saves a rebuilt index, so two
        processes never write its files at once.
        """
        from agent.bm25 import BM25Index

        generation = self.registry.generation()
        if self._bm25 is not None and self._bm25.generation == generation:
            return self._bm25
        index = BM25Index.load(self.bm25_dir)
        if index is None or index.generation != generation:
            fresh = None
            if index is not None:  # only the chunks of new or changed documents are read again
                fresh = index.updated(self.registry.document_hashes(), self.registry.chunk_terms, generation)
            index = fresh if fresh is not None else BM25Index.build(self.registry.chunk_terms(), self.registry.document_hashes(), generation)
            if writer:
                index.save(self.bm25_dir)
            else:
                self._save_unless_ingesting(index)
        self._bm25 = index
        # the index lives as long as the process: keep its half a million ids out of the garbage
        # collector's full passes, which otherwise stalled one search in ten by 0.2–0.6 s (issue #8);
        # unfrozen first, so the index this one replaces can be collected
        gc.unfreeze()
        gc.collect()
        gc.freeze()
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

    def describe(self) -> dict[str, Any]:
        docs, chunks = self.registry.counts()
        return {"path": str(self.root), "url": self.settings.store.url, "collection": self.collection_name,
                "documents": docs, "chunks": chunks}


def _parts(items: list[str], size: int = 900) -> Iterator[list[str]]:
    """``items`` in slices small enough for one SQLite ``IN (…)`` each."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _marks(items: list[str]) -> str:
    return ",".join("?" * len(items))


def _without_text(nodes: list[TextNode]) -> list[TextNode]:
    """The nodes as Chroma should keep them: vector, id and metadata, no text. The text lives in the
    registry, where retrieval reads it; a copy in Chroma only fed its full-text index (at 100,000
    articles Chroma's SQLite file reached 4 GB and ingest became disk-bound, issue #8)."""
    return [node.model_copy(update={"text": ""}) for node in nodes]
