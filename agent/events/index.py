"""The event index: each article's reports (the offline rules of ``agent.events.events``), found at ingest.

Ingest runs ``extract`` on every new or changed document with a publication date and stores its
reports in the registry with the document's own rows, in the same transaction (``agent.index.store``:
``reports``, one row per report, zlib-compressed JSON with its type and date range;
``report_chunks``, the chunks each report's citations overlap; ``reports_indexed``, which rules and
lexicon found them and how many spans the extraction numbered). A changed document's rows replace
its reports; a removed one takes them with it. Citations are numbered within their document; reading
offsets them as one ``Citer`` over the articles in timeline order numbers them, so the timeline is
exactly the one extracted afresh.

Documents the index lacks (a layout-1 registry, or reports found by other rules or another lexicon:
``extractor_key``) are extracted in memory by readers, and back-filled by the next ingest.

Read API (``timeline``, ``summarize``, ``brief``, retrieval), cached in-process per registry
generation: ``stored_reports``, ``events``, ``chunk_events``, ``event_chunk_ids``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from agent.events.corpus import Article, Citer
from agent.events.models import Event, Report
from agent.index.records import DocumentEvents, StoredReport

if TYPE_CHECKING:
    from llama_index.core.schema import Document

    from agent.events.entities import EntityIndex
    from agent.index.store import Registry, Store
    from agent.pipeline import Dalil
    from agent.text.lexicon import Analyzer

# the code whose output the stored reports are: any change to it makes them stale (with the lexicon)
_RULES = ("events/events.py", "events/when.py", "events/entities.py", "events/vocab.py", "events/textmap.py",
          "events/corpus.py", "events/models.py", "text/dates.py", "text/arabic.py", "text/lexicon.py", "schema.py")
_rules_hash: str | None = None


def extractor_key(lexicon: Path | None) -> str:
    """Fingerprint of the extraction: the rules' source and the lexicon file's bytes."""
    global _rules_hash
    from agent.text.lexicon import BUNDLED

    if _rules_hash is None:
        root = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for name in _RULES:
            digest.update(name.encode() + b"\0" + (root / name).read_bytes())
        _rules_hash = digest.hexdigest()
    try:
        lexicon_bytes = (lexicon or BUNDLED).read_bytes()
    except OSError:
        lexicon_bytes = b""  # the analyzer cannot be loaded either; nothing is stored then
    return hashlib.sha256(_rules_hash.encode() + lexicon_bytes).hexdigest()[:20]


_ENTITIES: dict[tuple[int, str], EntityIndex] = {}


def entities_for(analyzer: Analyzer, lexicon: Path | None) -> EntityIndex:
    """The entity index of ``analyzer`` and its lexicon, built once per process."""
    from agent.events.entities import build_index

    key = (id(analyzer), str(lexicon))
    if key not in _ENTITIES:
        _ENTITIES.clear()
        _ENTITIES[key] = build_index(analyzer)
    return _ENTITIES[key]


# ------------------------------------------------------------------------------------------ writing
class EventIndexer:
    """Makes a document's ``DocumentEvents`` at ingest (in the ingesting process or its worker)."""

    def __init__(self, analyzer: Analyzer, lexicon: Path | None) -> None:
        self.analyzer, self.lexicon = analyzer, lexicon
        self.key = extractor_key(lexicon)

    def __call__(self, doc_id: str, text: str, metadata: Mapping[str, Any], chunks: Iterable[tuple[str, int, int]]) -> DocumentEvents:
        article = article_of(doc_id, text, metadata, chunks)
        if article is None:  # no publication date: its relative dates cannot be resolved (as in the timeline)
            return DocumentEvents(self.key, 0, [])
        citer = Citer()
        reports = extract_article(article, entities_for(self.analyzer, self.lexicon), self.analyzer, citer)
        return DocumentEvents(self.key, len(citer.numbers), [_stored(r, article) for r in reports])

    def document(self, doc: Document, chunks: Iterable[tuple[str, int, int]]) -> DocumentEvents:
        return self(doc.doc_id, doc.text, doc.metadata, chunks)


def extract_article(article: Article, index: EntityIndex, analyzer: Analyzer, citer: Citer) -> list[Report]:
    from agent.events.events import extract

    return extract(article, index, analyzer, citer)


def article_of(doc_id: str, text: str, metadata: Mapping[str, Any], chunks: Iterable[tuple[str, int, int]]) -> Article | None:
    """The document as the timeline reads it (``load_articles``), or None without a usable publication date."""
    published = _day(metadata.get("published"))
    if published is None:
        return None
    return Article(doc_id=doc_id, file=metadata["file"], published=published, outlet=metadata.get("outlet"), text=text,
                   chunks=tuple(chunks), url=metadata.get("url"))


def _day(published: str | None) -> dt.date | None:
    if not published:
        return None
    try:
        return dt.date.fromisoformat(published[:10])
    except ValueError:
        return None


def report_chunks(report: Report, article: Article) -> list[str]:
    """The chunks of ``article`` that overlap one of the report's citations, in article order."""
    spans = [(c.start, c.end) for c in report.citations]
    return [chunk_id for chunk_id, s, e in article.chunks if any(s < end and e > start for start, end in spans)]


def _stored(report: Report, article: Article) -> StoredReport:
    return StoredReport(type=report.type, start=report.date.start.isoformat(), end=report.date.end.isoformat(),
                        data=zlib.compress(report.model_dump_json().encode("utf-8"), 6), chunk_ids=report_chunks(report, article))


def backfill(store: Store, indexer: EventIndexer, batch: int = 64) -> int:
    """Extract and store the reports of the documents the index lacks (inside the ingest lock); how many."""
    registry = store.registry
    missing = registry.unindexed(indexer.key)
    done = 0
    for start in range(0, len(missing), batch):
        part = missing[start:start + batch]
        spans = _chunk_spans(registry, part)
        found = []
        for doc_id in part:
            record = registry.document(doc_id)
            if record is not None:
                found.append((doc_id, record.content_hash, indexer(doc_id, record.text, dataclasses.asdict(record), spans.get(doc_id, []))))
        done += registry.write_events(found)
    return done


def _chunk_spans(registry: Registry, doc_ids: list[str] | None) -> dict[str, list[tuple[str, int, int]]]:
    """``doc_id → [(chunk_id, start, end)]`` in the order the chunks were written (as ``load_articles`` reads them)."""
    ids = None if doc_ids is None else registry.chunk_ids_of(doc_ids)
    chunks = registry.chunks(ids)
    if ids is not None:
        chunks.sort(key=lambda c: (c.doc_id, c.ordinal))
    spans: dict[str, list[tuple[str, int, int]]] = {}
    for c in chunks:
        spans.setdefault(c.doc_id, []).append((c.chunk_id, c.start_char, c.end_char))
    return spans


# ------------------------------------------------------------------------------------------ reading
@dataclass
class DocReports:
    """One document's reports, citations numbered 1..``cited`` within it, and each report's chunks."""

    cited: int
    reports: list[Report]
    chunks: list[list[str]]

    def numbered(self, citer: Citer) -> list[Report]:
        """Copies of the reports numbered as ``extract`` with ``citer`` would have numbered them."""
        offset = citer.reserve(self.cited)
        return [_shift(r.model_copy(deep=True), offset) for r in self.reports]


def _shift(report: Report, offset: int) -> Report:
    if offset:
        for c in report.citations:
            c.n += offset
        for p in report.positions:
            p.citation += offset
        for a in report.accounts:
            a.citation += offset
            for p in a.positions:
                p.citation += offset
    return report


@dataclass
class Corpus:
    """The store's dated articles in timeline order (text only where the index lacked them), their reports."""

    generation: int
    extractor: str
    documents: int
    articles: list[Article]
    warnings: list[str]
    docs: dict[str, DocReports]
    extracted: int = 0  # documents the index lacked, extracted in memory
    cache: dict[str, Any] = field(default_factory=dict)


_CORPORA: dict[str, Corpus] = {}


def _store(source: Dalil | Store) -> Store:
    """The store itself, or a ``Dalil``'s."""
    return cast("Store", getattr(source, "store", source))


def _tools(source: Dalil | Store) -> tuple[Registry, Analyzer, Path | None]:
    store = _store(source)
    if hasattr(source, "analyzer"):
        analyzer = source.analyzer
    else:
        from agent.text.lexicon import load_analyzer

        analyzer = _ANALYZERS.get(str(store.settings.lexicon)) or _ANALYZERS.setdefault(
            str(store.settings.lexicon), load_analyzer(store.settings.lexicon))
    return store.registry, analyzer, store.settings.lexicon


_ANALYZERS: dict[str, Analyzer] = {}


def load_corpus(source: Dalil | Store) -> Corpus:
    """The stored articles and their reports: from the index, or extracted now for documents it lacks.
    Cached per registry (and generation, and extractor) in this process."""
    registry, analyzer, lexicon = _tools(source)
    key = extractor_key(lexicon)
    cached = _CORPORA.get(str(registry.path))
    if cached is not None and cached.generation == registry.generation() and cached.extractor == key:
        return cached
    while True:
        generation = registry.generation()
        records = registry.documents(with_text=False)
        indexed_generation, cited, rows = registry.indexed_reports(key)
        if indexed_generation == generation:
            break  # else an ingest committed in between: read again
    docs: dict[str, DocReports] = {}
    for doc_id, _ordinal, data, chunk_ids in rows:
        entry = docs.setdefault(doc_id, DocReports(cited[doc_id], [], []))
        entry.reports.append(Report.model_validate_json(zlib.decompress(data)))
        entry.chunks.append(chunk_ids)
    for doc_id, n in cited.items():
        docs.setdefault(doc_id, DocReports(n, [], []))
    articles, warnings = [], []
    lacking = [r for r in records if r.doc_id not in cited and _day(r.published) is not None]
    spans = _chunk_spans(registry, None) if lacking else {}
    for record in records:
        meta = dataclasses.asdict(record)
        article = article_of(record.doc_id, "", meta, spans.get(record.doc_id, ()))
        if article is None:
            warnings.append(f"{record.file}: no publication date, so its relative dates cannot be resolved; left out")
            continue
        if record.doc_id not in cited:  # not indexed yet: extracted here, as the next ingest will
            text = registry.document(record.doc_id).text  # type: ignore[union-attr]  # None only for an id the registry did not list
            article = dataclasses.replace(article, text=text)
            citer = Citer()
            found = extract_article(article, entities_for(analyzer, lexicon), analyzer, citer)
            docs[record.doc_id] = DocReports(len(citer.numbers), found, [report_chunks(r, article) for r in found])
            article = dataclasses.replace(article, text="")
        articles.append(article)
    articles.sort(key=lambda a: (a.published, a.file))
    corpus = Corpus(generation, key, len(records), articles, warnings, docs, extracted=len(lacking))
    _CORPORA[str(registry.path)] = corpus
    return corpus


def with_texts(source: Dalil | Store, articles: list[Article]) -> list[Article]:
    """The articles with their text and chunks (for LLM-mode extraction, which reads them)."""
    registry = _store(source).registry
    spans = _chunk_spans(registry, [a.doc_id for a in articles])
    out = []
    for a in articles:
        record = registry.document(a.doc_id)
        out.append(a if record is None else dataclasses.replace(a, text=record.text, chunks=tuple(spans.get(a.doc_id, ()))))
    return out


def stored_reports(source: Dalil | Store) -> list[Report]:
    """Every report of the store (fresh copies), articles in timeline order, citations numbered as
    ``build_timeline`` numbers them before grouping."""
    corpus = load_corpus(source)
    citer = Citer()
    return [r for a in corpus.articles for r in corpus.docs[a.doc_id].numbered(citer)]


@dataclass
class _Grouped:
    events: list[Event]
    by_chunk: dict[str, list[str]]
    chunks_of: dict[str, set[str]]


def _grouped(dalil: Dalil | Store) -> _Grouped:
    from agent.events.grouping import group, renumber

    corpus = load_corpus(dalil)
    found = corpus.cache.get("grouped")
    if found is not None:
        return found
    _, analyzer, lexicon = _tools(dalil)
    citer = Citer()
    reports: list[Report] = []
    chunks: dict[int, list[str]] = {}
    for article in corpus.articles:
        doc = corpus.docs[article.doc_id]
        for report, ids in zip(doc.numbered(citer), doc.chunks, strict=True):
            reports.append(report)
            chunks[id(report)] = ids
    events = group(reports, entities_for(analyzer, lexicon))
    renumber(events)
    by_chunk: dict[str, list[str]] = {}
    chunks_of: dict[str, set[str]] = {}
    for event in events:
        mine = chunks_of.setdefault(event.id, set())
        for report in event.reports:
            for chunk_id in chunks[id(report)]:
                mine.add(chunk_id)
                ids = by_chunk.setdefault(chunk_id, [])
                if event.id not in ids:
                    ids.append(event.id)
    found = corpus.cache["grouped"] = _Grouped(events, by_chunk, chunks_of)
    return found


def events(dalil: Dalil | Store, type: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None,
           participant: str | None = None) -> list[Event]:
    """The corpus's events as ``dalil timeline`` shows them (same ids, citations numbered over the whole
    timeline), optionally of one type, overlapping ``[date_from, date_to]``, with a participant (English
    name, any case). Shared objects, cached per registry generation: copy one before changing it."""
    wanted = participant.casefold() if participant else None
    return [e for e in _grouped(dalil).events
            if (type is None or e.type == type) and e.date.overlaps(date_from, date_to)
            and (wanted is None or any(p.casefold() == wanted for p in e.participants))]


def chunk_events(dalil: Dalil | Store, chunk_ids: Iterable[str]) -> dict[str, list[str]]:
    """``chunk_id → ids of the events`` whose reports cite a passage overlapping that chunk (timeline order);
    a chunk with none is left out."""
    by_chunk = _grouped(dalil).by_chunk
    return {c: list(by_chunk[c]) for c in chunk_ids if c in by_chunk}


def event_chunk_ids(dalil: Dalil | Store, event: Event | str) -> set[str]:
    """The chunks that an event's reports cite (by the event or its id; empty for an unknown id)."""
    return set(_grouped(dalil).chunks_of.get(event if isinstance(event, str) else event.id, ()))
