"""Ingest: paths → documents → chunks → vectors + BM25 terms in the store.

Takes paths and settings; returns an ``IngestReport`` (added / updated / unchanged /
duplicate documents, chunks written, errors, seconds). Unchanged files cost one hash
comparison; a changed file replaces its old chunks; exact duplicates are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import Document, TextNode

from agent.chunking import ArabicSentenceChunker
from agent.lexicon import Analyzer
from agent.readers import ReadError, discover, iter_files
from agent.store import PreparedDocument, Store


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    errors: list[ReadError] = field(default_factory=list)
    seconds: float = 0.0
    encodings: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": len(self.added), "updated": len(self.updated), "unchanged": len(self.unchanged),
            "duplicates": [{"file": f, "same_as": s} for f, s in self.duplicates],
            "chunks": self.chunks, "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
            "seconds": round(self.seconds, 3), "encodings": self.encodings,
        }


T = TypeVar("T")
ProgressFn = Callable[[int, int, str], None]
BATCH = 1024  # chunks embedded and written at a time: bounds memory on very large articles


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``itertools.batched`` (Python 3.12+) for 3.11."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ingest_paths(
    paths: list[Path],
    store: Store,
    chunker: ArabicSentenceChunker,
    embedder: BaseEmbedding,
    analyzer: Analyzer,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Ingest every article under ``paths`` into ``store``.

    Files are read one at a time; the chunks of many small documents are embedded and
    written together (one Chroma write and one registry commit per ``BATCH`` chunks),
    because Chroma's cost per write dwarfs its cost per vector. A document larger than a
    batch is streamed on its own in batches.
    """
    started = time.perf_counter()
    files, errors = discover(paths)
    report = IngestReport(errors=errors)
    with store.ingest_lock():
        pending = _Pending(store, embedder, analyzer)
        for i, (path, documents) in enumerate(iter_files(files, report.errors), start=1):
            if progress:
                progress(i, len(files), path.name)
            for doc in documents:
                _ingest_one(doc, store, chunker, embedder, analyzer, report, pending)
        pending.flush()
        store.bm25(writer=True)  # once per run, not per file; also repairs an index a crash left stale
    report.seconds = time.perf_counter() - started
    return report


class _Pending:
    """Documents chunked but not yet stored, written together once they reach ``BATCH`` chunks."""

    def __init__(self, store: Store, embedder: BaseEmbedding, analyzer: Analyzer) -> None:
        self.store, self.embedder, self.analyzer = store, embedder, analyzer
        self.items: list[PreparedDocument] = []
        self.hashes: dict[str, str] = {}  # content hash -> label, for duplicates within one batch
        self.chunks = 0

    def add(self, doc: Document, nodes: list[TextNode], label: str) -> None:
        self.items.append(PreparedDocument(doc, nodes, []))
        self.hashes[doc.metadata["content_hash"]] = label
        self.chunks += len(nodes)
        if self.chunks >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        nodes = [n for item in self.items for n in item.nodes]
        _embed(nodes, self.embedder)
        for item in self.items:
            item.terms = [self.analyzer.terms(n.get_content()) for n in item.nodes]
        self.store.write_documents(self.items)
        self.items, self.hashes, self.chunks = [], {}, 0


def _embed(nodes: list[TextNode], embedder: BaseEmbedding) -> None:
    vectors = embedder.get_text_embedding_batch([n.get_content() for n in nodes])
    for node, vector in zip(nodes, vectors, strict=True):
        node.embedding = vector


def _ingest_one(
    doc: Document, store: Store, chunker: ArabicSentenceChunker, embedder: BaseEmbedding,
    analyzer: Analyzer, report: IngestReport, pending: _Pending,
) -> None:
    meta = doc.metadata
    label = meta["file"] if "#" not in meta["source"] else f"{meta['file']}#{meta['source'].rsplit('#', 1)[1]}"
    report.encodings[label] = meta["encoding"]
    previous = store.registry.document_by_source(meta["source"])
    if previous and previous.content_hash == meta["content_hash"] and _same_meta(previous, meta):
        report.unchanged.append(label)
        return
    twin = store.registry.document_by_hash(meta["content_hash"])
    if twin and twin.source != meta["source"]:
        report.duplicates.append((label, twin.file))
        return
    if meta["content_hash"] in pending.hashes:
        report.duplicates.append((label, pending.hashes[meta["content_hash"]].split("#", 1)[0]))
        return
    chunks = chunker.iter_chunks(doc)
    head = list(islice(chunks, BATCH))
    if len(head) < BATCH:
        pending.add(doc, head, label)
    else:  # a very large article: stream it alone, batch by batch, to bound memory
        pending.flush()
        with store.writing(doc) as add:
            for batch in batched(chain(head, chunks), BATCH):
                _embed(batch, embedder)
                add(batch, [analyzer.terms(n.get_content()) for n in batch])
                report.chunks += len(batch)
        (report.updated if previous else report.added).append(label)
        return
    report.chunks += len(head)
    (report.updated if previous else report.added).append(label)


def _same_meta(previous: object, meta: dict[str, object]) -> bool:
    return all(getattr(previous, key) == meta.get(key) for key in ("published", "outlet", "title", "url", "language"))
