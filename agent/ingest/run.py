"""Ingest: paths → documents → chunks → vectors + BM25 terms in the store.

Takes paths and a ``Preparer`` (chunker, embedder, analyzer); returns an ``IngestReport``
(added / updated / unchanged / duplicate documents, chunks written, errors, seconds).
Unchanged files cost one hash comparison; a changed file replaces its old chunks; exact
duplicates are skipped. Large runs chunk and embed in a worker process while this one
writes, so both cores work. Each written document's event reports (``agent.events.index``)
are extracted here (or in the worker) and committed with its rows; documents the event index
lacks are back-filled at the end. With ``wire.enabled``, each written document is marked with its wire
story (``agent.index.wire``: copies of one agency text share one) in the same commit; documents without
one (ingested with it off) are marked at the end.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from multiprocessing import get_context
from multiprocessing.connection import wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import Document, TextNode

from agent.index.nodes import chunk_node
from agent.index.records import DocumentEvents, PreparedDocument, StoryMark
from agent.index.store import Store
from agent.index.wire import WireMatcher
from agent.index.wire import backfill as backfill_stories
from agent.ingest.chunking import ArabicSentenceChunker, token_counter
from agent.ingest.readers import DEFAULT_MAX_BYTES, ReadError, discover, iter_files
from agent.text.lexicon import Analyzer

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.events.index import EventIndexer


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)  # left half-written by a crashed run, written again
    reanalyzed: int = 0  # stored chunks analyzed again: their terms were made by another lexicon or analyzer
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    errors: list[ReadError] = field(default_factory=list)
    seconds: float = 0.0
    load_seconds: float = 0.0  # part of ``seconds``: importing Chroma's client and loading the tokenizer
    bm25_seconds: float = 0.0  # part of ``seconds``: bringing the BM25 index up to date at the end
    wire_seconds: float = 0.0  # part of ``seconds``: finding wire copies (``agent.index.wire``)
    encodings: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added), "updated": len(self.updated), "unchanged": len(self.unchanged), "repaired": len(self.repaired),
            "reanalyzed": self.reanalyzed,
            "duplicates": [{"file": f, "same_as": s} for f, s in self.duplicates],
            "chunks": self.chunks, "errors": [{"path": e.path, "reason": e.reason} for e in self.errors],
            "seconds": round(self.seconds, 3), "load_seconds": round(self.load_seconds, 3),
            "bm25_seconds": round(self.bm25_seconds, 3), "wire_seconds": round(self.wire_seconds, 3), "encodings": self.encodings,
        }


T = TypeVar("T")
ProgressFn = Callable[[int, int, str], None]
BATCH = 1024  # chunks embedded and written at a time: bounds memory on very large articles
WORKER_TASK = 64  # documents per task sent to the worker process
WORKER_WINDOW = 3  # tasks in flight, so the worker stays ahead while this process writes
# below this, the worker's start (about 2 s of imports) costs more than it saves: 1k articles (4 MB)
# took 12.3 s in one process and 14.3 s with the worker; 10k (42 MB) 125 s and 98 s (bench/run.py)
WORKER_MIN_BYTES = 16_000_000
STREAM_CHARS = 200_000  # longer articles are chunked and written here, batch by batch (bounded memory)


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``itertools.batched`` (Python 3.12+) for 3.11."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Preparer:
    """Chunks, embeds and analyzes documents: everything before the store."""

    def __init__(self, chunker: ArabicSentenceChunker, embedder: BaseEmbedding, analyzer: Analyzer,
                 max_file_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.chunker, self.embedder, self.analyzer = chunker, embedder, analyzer
        self.max_file_bytes = max_file_bytes  # files larger than this are not read (ingest.max_file_mb)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: BaseEmbedding | None = None, analyzer: Analyzer | None = None) -> Preparer:
        from agent.index.embeddings import make_embedder
        from agent.text.lexicon import load_analyzer

        c = settings.chunking
        analyzer = analyzer or load_analyzer(settings.lexicon)
        chunker = ArabicSentenceChunker(chunk_tokens=c.chunk_tokens, overlap_tokens=c.overlap_tokens, encoding=c.encoding)
        max_file_bytes = int(settings.ingest.max_file_mb * 1_000_000)
        return cls(chunker, embedder or make_embedder(settings.embeddings, analyzer), analyzer, max_file_bytes)

    def load(self) -> None:
        """Load the tokenizer now rather than inside the first chunk."""
        token_counter(self.chunker.encoding)

    def finish(self, nodes: list[TextNode]) -> list[list[str]]:
        """Embed ``nodes`` (in place, one batch) and return their BM25 terms."""
        texts = [n.get_content() for n in nodes]
        for node, vector in zip(nodes, self.embedder.get_text_embedding_batch(texts), strict=True):
            node.embedding = vector
        return self.terms(nodes)

    def terms(self, nodes: list[TextNode]) -> list[list[str]]:
        """The BM25 terms of ``nodes`` (what ``finish`` returns, without embedding)."""
        return [self.analyzer.terms(n.get_content()) for n in nodes]


def ingest_paths(
    paths: list[Path],
    store: Store,
    preparer: Preparer,
    progress: ProgressFn | None = None,
    worker_settings: Settings | None = None,
    worker_min_bytes: int = WORKER_MIN_BYTES,
) -> IngestReport:
    """Ingest every article under ``paths`` into ``store``.

    Files are read one at a time; the chunks of many small documents are written together
    (one Chroma write and one registry commit per ``BATCH`` chunks), because Chroma's cost
    per write dwarfs its cost per vector. With ``worker_settings`` and a large enough input,
    a worker process built from those settings chunks and embeds while this one writes.
    """
    started = time.perf_counter()
    files, errors = discover(paths)
    report = IngestReport(errors=errors)
    with store.ingest_lock():
        report.reanalyzed = reanalyze(store, preparer)  # first: the documents written next are analyzed as these
        todo = _to_ingest(files, store, report, progress, preparer.max_file_bytes)
        first = next(todo, None)
        if first is not None:  # only a run with work to do loads them
            report.load_seconds = _load_libraries(store, preparer)
            todo = chain([first], todo)
        wire = WireMatcher(store.registry, store.settings.wire.threshold) if store.settings.wire.enabled else None
        pending = _Pending(store, preparer, _indexer(store, preparer), wire)
        if worker_settings is not None and sum(_size(f) for f in files) >= worker_min_bytes:
            _with_worker(todo, pending, preparer, worker_settings, report)
        else:
            for item in todo:
                _chunk_or_stream(item, pending, preparer, report)
        pending.flush()
        report.chunks = pending.written + report.chunks
        if pending.indexer is not None:  # documents without event reports yet (a layout-1 registry, a new lexicon)
            from agent.events.index import backfill

            backfill(store, pending.indexer)
        if wire is not None:  # documents ingested with wire.enabled off (or by a Dalil without it)
            backfill_stories(store.registry, wire)
            report.wire_seconds = wire.seconds
        bm25_started = time.perf_counter()
        store.bm25(writer=True)  # once per run, not per file; also repairs an index a crash left stale
        report.bm25_seconds = time.perf_counter() - bm25_started
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class RebuildReport:
    vectors: int
    set_aside: Path | None  # where the old embedded Chroma folder was moved
    seconds: float


def rebuild_vectors(store: Store, preparer: Preparer) -> RebuildReport:
    """Registry → vectors: start the vector store afresh and embed every chunk again from the text
    the registry keeps (no source file is needed), then bring the BM25 index up to date."""
    started = time.perf_counter()
    with store.ingest_lock():
        set_aside = store.reset_vectors()
        written = 0
        for ids in batched((c.chunk_id for c in store.registry.chunks()), BATCH):
            nodes = list(store.registry.nodes(ids).values())
            preparer.finish(nodes)  # embeds in place; the terms are already in the registry
            store.add_vectors(nodes)
            written += len(nodes)
        store.registry.finish_writing(list(store.registry.unfinished()))
        store.bm25(writer=True)
    return RebuildReport(written, set_aside, time.perf_counter() - started)


def reanalyze(store: Store, preparer: Preparer) -> int:
    """Analyze the stored chunks again when their terms were made by another analyzer (a changed lexicon file, or
    a Dalil whose normalizing or stemming changed: ``analyzer_key``), inside ``ingest_lock``; how many chunks.

    Their BM25 terms are rewritten from the text the registry keeps, and with the local embedder (whose vectors
    use the lexicon's spellings) their vectors too; one new generation at the end. A crash midway leaves the old
    key recorded, so the next ingest starts again. A store on a Chroma server is left as it is: its terms and
    vectors are shared with machines that may run another lexicon."""
    from agent.text.lexicon import analyzer_key

    registry, key = store.registry, analyzer_key(store.settings.lexicon)
    if registry.analyzed_by() == key or store.settings.store.url:
        return 0
    with_vectors = store.settings.embeddings.provider == "local"
    done = 0
    for ids in batched((c.chunk_id for c in registry.chunks()), BATCH):
        nodes = list(registry.nodes(ids).values())
        if with_vectors:
            terms = preparer.finish(nodes)  # embeds in place
            store.replace_vectors(nodes)
        else:
            terms = preparer.terms(nodes)
        registry.write_terms([(n.node_id, t) for n, t in zip(nodes, terms, strict=True)])
        done += len(nodes)
    registry.set_analyzed_by(key, reanalyzed=done > 0)
    return done


def _indexer(store: Store, preparer: Preparer) -> EventIndexer | None:
    """What extracts the event reports of the documents written (None when the lexicon cannot be read:
    the documents are written without them, and readers extract them)."""
    from agent.events.index import EventIndexer

    try:
        return EventIndexer(preparer.analyzer, store.settings.lexicon)
    except OSError:
        return None


def _load_libraries(store: Store, preparer: Preparer) -> float:
    """Import Chroma's client and load the tokenizer up front, and say how long that took, so the
    report can tell library loading (about 1.5 s, whatever the size) from the ingest itself."""
    started = time.perf_counter()
    store.import_backend()
    preparer.load()
    return time.perf_counter() - started


@dataclass
class _Todo:
    doc: Document
    label: str


def _to_ingest(files: list[Path], store: Store, report: IngestReport, progress: ProgressFn | None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[_Todo]:
    """The documents that need work, in order; unchanged ones and duplicates are only reported."""
    queued: dict[str, str] = {}  # content hash -> label, for duplicates within this run
    unfinished = store.registry.unfinished()  # a crashed run's documents: redone whatever their hash
    for i, (path, documents) in enumerate(iter_files(files, report.errors, max_bytes), start=1):
        if progress:
            progress(i, len(files), path.name)
        for doc in documents:
            meta = doc.metadata
            label = meta["file"] if "#" not in meta["source"] else f"{meta['file']}#{meta['source'].rsplit('#', 1)[1]}"
            report.encodings[label] = meta["encoding"]
            previous = store.registry.document_by_source(meta["source"])
            same = previous is not None and previous.content_hash == meta["content_hash"] and _same_meta(previous, meta)
            if same and doc.doc_id not in unfinished:
                report.unchanged.append(label)
                continue
            twin = store.registry.document_by_hash(meta["content_hash"])
            if twin and twin.source != meta["source"]:
                report.duplicates.append((label, twin.file))
                continue
            if meta["content_hash"] in queued:
                report.duplicates.append((label, queued[meta["content_hash"]].split("#", 1)[0]))
                continue
            queued[meta["content_hash"]] = label
            (report.repaired if same else report.updated if previous else report.added).append(label)
            yield _Todo(doc, label)


class _Pending:
    """Documents chunked but not yet stored, written together once they reach ``BATCH`` chunks."""

    def __init__(self, store: Store, preparer: Preparer, indexer: EventIndexer | None = None, wire: WireMatcher | None = None) -> None:
        self.store, self.preparer, self.indexer, self.wire = store, preparer, indexer, wire
        self.items: list[PreparedDocument] = []
        self.doc_ids: set[str] = set()
        self.chunks = 0
        self.written = 0

    def add(self, item: _Todo, nodes: list[TextNode], terms: list[list[str]] | None = None,
            events: DocumentEvents | None = None) -> None:
        if item.doc.doc_id in self.doc_ids:  # the same source twice in one run: the later one replaces it
            self.flush()
        self.items.append(PreparedDocument(item.doc, nodes, terms or [], events))
        self.doc_ids.add(item.doc.doc_id)
        self.chunks += len(nodes)
        if self.chunks >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        unprepared = [item for item in self.items if item.nodes and not item.terms]
        terms = self.preparer.finish([n for item in unprepared for n in item.nodes])
        for item in unprepared:
            item.terms, terms = terms[:len(item.nodes)], terms[len(item.nodes):]
        if self.indexer is not None:
            for item in self.items:
                if item.events is None:
                    item.events = self.indexer.document(item.doc, _spans(item.nodes))
        if self.wire is not None:  # in input order: a story's first copy comes before the others
            for item in self.items:
                item.story = _story(self.wire, item.doc)
        self.store.write_documents(self.items)
        self.written += self.chunks
        self.items, self.doc_ids, self.chunks = [], set(), 0


def _chunk_or_stream(item: _Todo, pending: _Pending, preparer: Preparer, report: IngestReport) -> None:
    """Queue a document's chunks, or write a very large one on its own, batch by batch (bounded memory)."""
    chunks = preparer.chunker.iter_chunks(item.doc)
    head = list(islice(chunks, BATCH))
    if len(head) < BATCH:
        pending.add(item, head)
        return
    pending.flush()
    indexer = pending.indexer
    events = None if indexer is None else lambda spans: indexer.document(item.doc, spans)
    story = None if pending.wire is None else _story(pending.wire, item.doc)
    with pending.store.writing(item.doc, events, story) as add:
        for batch in batched(chain(head, chunks), BATCH):
            add(batch, preparer.finish(batch))
            report.chunks += len(batch)


def _story(wire: WireMatcher, doc: Document) -> StoryMark:
    return wire.mark(doc.doc_id, doc.text, doc.metadata["content_hash"])


def _spans(nodes: list[TextNode]) -> list[tuple[str, int, int]]:
    return [(n.node_id, n.start_char_idx or 0, n.end_char_idx or 0) for n in nodes]


def _with_worker(todo: Iterator[_Todo], pending: _Pending, preparer: Preparer, settings: Settings, report: IngestReport) -> None:
    """Chunk and embed in a worker process (spawned: it inherits no lock or open store) while this one
    writes. Documents are still written in input order, so a crash leaves a prefix of the run.

    Extracting event reports is shared: a task's documents are extracted by the worker while this
    process is the slower one (it did not wait for the last result), else here when they are written."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=_start_worker, initargs=(settings,)) as pool:
        inflight: deque[tuple[list[_Todo], Future[list[_Remote]]]] = deque()
        waited = [0.0]  # seconds this process last waited for the worker's result

        def submit(items: list[_Todo]) -> None:
            if items:
                docs = [(i.doc.doc_id, i.doc.text, i.doc.metadata) for i in items]
                inflight.append((items, pool.submit(_prepare_in_worker, docs, waited[0] < 0.005)))

        def collect(keep: int) -> None:
            while len(inflight) > keep:
                items, future = inflight.popleft()
                started = time.perf_counter()
                future.result()
                waited[0] = time.perf_counter() - started
                _collect(items, future, pending)

        batch: list[_Todo] = []
        for item in todo:
            if len(item.doc.text) >= STREAM_CHARS:  # streamed here, after everything before it
                submit(batch)
                batch = []
                collect(0)
                _chunk_or_stream(item, pending, preparer, report)
                continue
            batch.append(item)
            if len(batch) == WORKER_TASK:
                submit(batch)
                batch = []
                collect(WORKER_WINDOW - 1)
        submit(batch)
        collect(0)


# chunks, vectors, terms, event reports
_Remote = tuple[list[tuple[str, int, int, int, int]], np.ndarray, list[str], DocumentEvents | None]
_worker: Preparer | None = None
_worker_indexer: EventIndexer | None = None


def _start_worker(settings: Settings) -> None:
    global _worker, _worker_indexer
    from agent import runtime
    from agent.events.index import EventIndexer

    runtime.setup()  # a spawned interpreter: an entry point of its own (it never opens Chroma: no heap filling)
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    _worker = Preparer.from_settings(settings)
    try:
        _worker_indexer = EventIndexer(_worker.analyzer, settings.lexicon)
    except OSError:
        _worker_indexer = None


def _exit_with_parent() -> None:
    """End the worker when the ingest that started it dies (a kill -9 included): its task queue
    never reports that, so an orphan would otherwise wait forever."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])
        os._exit(1)


def _prepare_in_worker(docs: list[tuple[str, str, dict[str, Any]]], extract: bool = True) -> list[_Remote]:
    """In the worker: each document's chunks as plain tuples, their vectors, their terms and (``extract``)
    its event reports (cheap to send back)."""
    assert _worker is not None
    out: list[_Remote] = []
    for doc_id, text, metadata in docs:
        nodes = list(_worker.chunker.iter_chunks(Document(id_=doc_id, text=text, metadata=metadata)))
        terms = _worker.finish(nodes)
        chunks = [(n.node_id, n.start_char_idx or 0, n.end_char_idx or 0, n.metadata["paragraph"], n.metadata["ordinal"]) for n in nodes]
        vectors = np.array([n.embedding for n in nodes], dtype=np.float32)  # (chunks, dim); (0,) for a text with no sentence
        events = _worker_indexer(doc_id, text, metadata, _spans(nodes)) if extract and _worker_indexer is not None else None
        out.append((chunks, vectors, [" ".join(t) for t in terms], events))
    return out


def _collect(items: list[_Todo], future: Future[list[_Remote]], pending: _Pending) -> None:
    for item, (chunks, vectors, terms, events) in zip(items, future.result(), strict=True):
        doc = item.doc
        nodes = []
        for (node_id, start, end, paragraph, ordinal), vector in zip(chunks, vectors, strict=True):
            node = chunk_node(node_id, doc.text[start:end], doc.metadata, paragraph, start, end, ordinal)
            node.embedding = vector.tolist()
            nodes.append(node)
        pending.add(item, nodes, [t.split(" ") if t else [] for t in terms], events)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _same_meta(previous: object, meta: dict[str, object]) -> bool:
    return all(getattr(previous, key) == meta.get(key) for key in ("published", "outlet", "title", "url", "language"))
