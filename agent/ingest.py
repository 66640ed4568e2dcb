"""Ingest: paths → documents → chunks → vectors + BM25 terms in the store.

Takes paths and settings; returns an ``IngestReport`` (added / updated / unchanged /
duplicate documents, chunks written, errors, seconds). Unchanged files cost one hash
comparison; a changed file replaces its old chunks; exact duplicates are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import Document

from agent.chunking import ArabicSentenceChunker
from agent.lexicon import Analyzer
from agent.readers import ReadError, read_paths
from agent.store import Store


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
    """Ingest every article under ``paths`` into ``store``."""
    started = time.perf_counter()
    read = read_paths(paths)
    report = IngestReport(errors=list(read.errors))
    total = len(read.documents)
    with store.ingest_lock():
        for i, doc in enumerate(read.documents, start=1):
            if progress:
                progress(i, total, doc.metadata["file"])
            _ingest_one(doc, store, chunker, embedder, analyzer, report)
        store.bm25(writer=True)  # once per batch, not per file; also repairs an index a crash left stale
    report.seconds = time.perf_counter() - started
    return report


def _ingest_one(
    doc: Document, store: Store, chunker: ArabicSentenceChunker, embedder: BaseEmbedding,
    analyzer: Analyzer, report: IngestReport,
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
    with store.writing(doc) as add:
        for batch in batched(chunker.iter_chunks(doc), BATCH):
            texts = [n.get_content() for n in batch]
            for node, vector in zip(batch, embedder.get_text_embedding_batch(texts), strict=True):
                node.embedding = vector
            add(batch, [analyzer.terms(t) for t in texts])
            report.chunks += len(batch)
    (report.updated if previous else report.added).append(label)


def _same_meta(previous: object, meta: dict[str, object]) -> bool:
    return all(getattr(previous, key) == meta.get(key) for key in ("published", "outlet", "title", "url", "language"))
