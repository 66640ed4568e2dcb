"""The pipeline in one object: settings → store, analyzer, embedder → ingest / search / ask.

``Dalil(settings)`` builds each part lazily (so ``dalil --help`` imports nothing heavy)
and exposes one method per user-facing job; the CLI only parses, calls and renders. It is the
library's entry point, so it runs ``agent.runtime.setup(settings)`` (idempotent) before anything else.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from agent import runtime
from agent.config import Settings
from agent.errors import DalilError
from agent.events.models import TYPE_LABELS
from agent.retrieval.retrieve import RetrievalMode, SearchFilters
from agent.schema import (
    Answer,
    AnswerMode,
    AnswerSentence,
    ArticleDetail,
    ArticleEvent,
    ArticlePassage,
    Carrier,
    Citation,
    SearchHit,
    SearchResult,
    Step,
    StoredArticle,
)
from agent.text import arabic
from agent.text.arabic import is_arabic

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.schema import NodeWithScore, TextNode

    from agent.answer.extractive import ArticleSentences, Slots
    from agent.answer.llm import ChatClient
    from agent.events.models import Event
    from agent.index.store import ChunkRecord, DocumentRecord, Store
    from agent.ingest.run import IngestReport, ProgressFn, RebuildReport
    from agent.ingest.web_run import WebReport
    from agent.retrieval.question import QuestionFrame
    from agent.text.lexicon import Analyzer


class Dalil:
    def __init__(self, settings: Settings) -> None:
        runtime.setup(settings)  # the library's entry point: once per process, whoever calls first (agent/runtime.py)
        self.settings = settings
        self.retrieval_warnings: list[str] = []  # what the last retrieve() could not do (e.g. the vector store was busy)

    @cached_property
    def store(self) -> Store:
        """The store, opened for reading. With a Chroma server (``store.url``) its registry and BM25 index are a
        local cache, first brought up to date from the server's ingest log (a failure refuses: no stale answer)."""
        from agent.index.store import Store

        store = Store(self.settings)
        try:
            store.catch_up()
        except BaseException:
            store.close()
            raise
        return store

    def refresh_store(self) -> None:
        """Reopen the store if another process has ingested since it was opened.

        For long-lived processes (``dalil serve``, ``dalil chat``): the BM25 index follows the registry
        by itself, but the embedded Chroma client only sees vectors that existed when it opened.
        The embedder, analyzer and LLM client are kept."""
        if "store" in self.__dict__ and self.settings.store.url:
            self.store.catch_up()  # the server is the source of truth; its client sees new vectors by itself
        elif "store" in self.__dict__ and self.store.changed_since_open():
            self.store.close()
            del self.__dict__["store"]

    @cached_property
    def analyzer(self) -> Analyzer:
        from agent.text.lexicon import load_analyzer

        return load_analyzer(self.settings.lexicon)

    @cached_property
    def embedder(self) -> BaseEmbedding:
        from agent.index.embeddings import make_embedder

        return make_embedder(self.settings.embeddings, self.analyzer)

    def ingest(self, paths: list[Path], progress: ProgressFn | None = None) -> IngestReport:
        from agent.ingest.run import WORKER_MIN_BYTES, Preparer, ingest_paths

        if "store" not in self.__dict__:  # the one job that may create a store
            from agent.index.store import Store

            self.store = Store(self.settings, create=True)
        preparer = Preparer.from_settings(self.settings, self.embedder, self.analyzer)
        worker = self.settings if self.settings.ingest_worker() else None
        min_bytes = 0 if self.settings.chunking.worker else WORKER_MIN_BYTES  # forced on: every ingest
        return ingest_paths(paths, self.store, preparer, progress, worker_settings=worker, worker_min_bytes=min_bytes)

    def ingest_web(self, urls: list[str], feeds: list[str] | None = None, paths: list[Path] | None = None) -> WebReport:
        """Fetch web pages (``urls``) and the items of RSS/Atom ``feeds`` not taken before, and ingest them with
        ``paths`` (files) in one run; the pages are kept as article files in the store's ``web/`` folder."""
        from agent.ingest.feeds import SeenItems
        from agent.ingest.fetch import FetchPolicy
        from agent.ingest.web_run import SEEN_FILE, WEB_FOLDER, ingest_web

        folder = Path(self.settings.store.path) / WEB_FOLDER
        return ingest_web(urls, feeds or [], FetchPolicy.from_settings(self.settings.fetch), folder, SeenItems(folder / SEEN_FILE),
                          self.ingest, paths or [])

    def remove(self, names: list[str]) -> list[str]:
        """Remove articles from the store, each named by its source, its file or its doc_id; returns the files
        removed (with a Chroma server, other machines see the removal at their next catch-up)."""
        return [d.file for d in self.remove_articles(names)]

    def remove_articles(self, names: list[str]) -> list[DocumentRecord]:
        """``remove``, returning the records removed: with their chunks, vectors, BM25 entries and event reports, all or
        nothing (an unknown name is an error before anything is removed)."""
        store = self.store
        with store.ingest_lock():  # with a server: under its writer lease, the cache caught up first
            found = [self._document(n) for n in names]
            missing = [n for n, d in zip(names, found, strict=True) if d is None]
            if missing:
                raise DalilError(f"not in the store: {', '.join(missing)} (nothing was removed)")
            records = list({d.doc_id: d for d in found if d is not None}.values())
            store.delete_documents([d.doc_id for d in records])
            store.bm25(writer=True)
        return records

    def articles(self, filters: SearchFilters | None = None) -> list[StoredArticle]:
        """The store's articles without their text, by publication date then file, with how many events each reports
        (``dalil articles list``, ``GET /v1/articles``); ``filters``: publication day and outlet."""
        registry = self.store.registry
        counts = self._events_per_article()
        openings = registry.openings()
        return [StoredArticle.from_record(d, events=len(counts.get(d.doc_id, ())), opening=_first_words(openings.get(d.doc_id, "")))
                for d in registry.documents(with_text=False) if filters is None or _published_within(d.published, d.outlet, filters)]

    def article(self, doc_id: str) -> ArticleDetail | None:
        """One article by its doc_id (or source, or file): its original text, its chunks with their offsets and the
        events it reports with their resolved dates (``dalil articles show``, ``GET /v1/articles/{doc_id}``)."""
        record = self._document(doc_id)
        if record is None:
            return None
        if not record.text:  # found by file: the listing's record has no text
            record = self.store.registry.document(record.doc_id) or record
        chunks = self._chunks_of(record.doc_id)
        passages = [ArticlePassage(chunk_id=c.chunk_id, ordinal=c.ordinal, paragraph=c.paragraph, start=c.start_char, end=c.end_char,
                                   text=record.text[c.start_char:c.end_char]) for c in chunks]
        reported = []
        for event in self.events():
            for report in event.reports:
                if report.doc_id != record.doc_id:
                    continue
                first = report.citations[0] if report.citations else None
                reported.append(ArticleEvent(
                    event=event.id, type=report.type, label=TYPE_LABELS.get(report.type, report.type), date=report.date.label,
                    start=report.date.start.isoformat(), end=report.date.end.isoformat(), basis=report.date.basis,
                    phrase=report.date.phrase, explanation=report.date.explanation, participants=report.participants,
                    evidence=report.text, evidence_start=first.start if first else 0))
        reported.sort(key=lambda e: (e.start, e.evidence_start))
        counts = len({e.event for e in reported})
        return ArticleDetail(**StoredArticle.from_record(record, with_text=True, events=counts).model_dump(), passages=passages,
                             reported=reported)

    def _document(self, name: str) -> DocumentRecord | None:
        """The article named by its source, its doc_id or its file (the first by publication date of that name)."""
        registry = self.store.registry
        return registry.document_by_source(name) or registry.document(name) or next(
            (d for d in registry.documents(with_text=False) if d.file == name), None)

    def _chunks_of(self, doc_id: str) -> list[ChunkRecord]:
        registry = self.store.registry
        return sorted(registry.chunks(registry.chunk_ids_of([doc_id])), key=lambda c: c.ordinal)

    def _events_per_article(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        if self.store.registry.is_empty():
            return found
        for event in self.events():
            for report in event.reports:
                found.setdefault(report.doc_id, set()).add(event.id)
        return found

    def rebuild_vectors(self) -> RebuildReport:
        """Embed every stored chunk again into a fresh vector store (the repair for a damaged index)."""
        from agent.ingest.run import Preparer, rebuild_vectors

        return rebuild_vectors(self.store, Preparer.from_settings(self.settings, self.embedder, self.analyzer))

    def retrieve(self, query: str, k: int | None = None, filters: SearchFilters | None = None,
                 mode: RetrievalMode | None = None, rewrites: list[str] | None = None) -> list[NodeWithScore]:
        from agent.retrieval.retrieve import build_retriever, retrieve

        self._require_documents()
        r = self.settings.retrieval
        top_k = k or r.top_k
        mode = mode or r.mode
        self.retrieval_warnings = []
        frame = self.frame(query)
        if frame.published_on is not None and not filters:  # "in the 5 October piece": that day's articles, if any
            from agent.retrieval.retrieve import SearchFilters

            if self.store.registry.has_published(frame.published_on):
                filters = SearchFilters(date_from=frame.published_on, date_to=frame.published_on)
        collapse = self.settings.wire.enabled
        fetch = min(top_k * 3, 200) if collapse else top_k  # so that k passages are left once wire copies are dropped
        with self.store.vectors_in_use() as busy:
            if busy and mode == "dense":
                raise DalilError(f"{busy}: dense search needs the vector store; try again, or use --mode bm25")
            if busy:
                self.retrieval_warnings.append(f"{busy}, so these results come from BM25 (lexical) search alone")
                mode = "bm25"
            retriever = build_retriever(
                self.store, self.analyzer, self.embedder, top_k=fetch, candidates=max(r.candidates, top_k),
                mode=mode, filters=filters, rewrites=rewrites, bm25_weight=self.settings.bm25_weight, rrf_k=r.rrf_k,
                fusion=r.fusion,
            )
            hits = retrieve(retriever, query)
        if collapse:  # before grounding, which then works on the k passages a store without copies would give
            from agent.retrieval.copies import CollapseCopies

            hits = CollapseCopies(self.store.registry.stories_of).postprocess_nodes(hits)
        return self._ground(frame, hits[:top_k], top_k)

    def also_carried_by(self, doc_ids: list[str]) -> dict[str, list[Carrier]]:
        """For each of ``doc_ids``, the other articles of its wire story (the outlets that also carried it)."""
        if not self.settings.wire.enabled or not doc_ids:
            return {}
        found = self.store.registry.story_copies(list(dict.fromkeys(doc_ids)))
        return {doc_id: [Carrier(doc_id=d.doc_id, file=d.file, outlet=d.outlet, published=d.published) for d in records]
                for doc_id, records in found.items()}

    def _mark_carriers(self, citations: list[Citation]) -> None:
        carriers = self.also_carried_by([c.doc_id for c in citations])
        for citation in citations:
            citation.also_carried_by = carriers.get(citation.doc_id, [])

    def search(self, query: str, k: int | None = None, filters: SearchFilters | None = None,
               mode: RetrievalMode | None = None) -> SearchResult:
        hits = self.retrieve(query, k, filters, mode)
        carriers = self.also_carried_by([h.node.metadata["doc_id"] for h in hits])
        found = [SearchHit.from_node(i, h) for i, h in enumerate(hits, start=1)]
        for hit in found:
            hit.also_carried_by = carriers.get(hit.doc_id, [])
        return SearchResult(query=query, mode=mode or self.settings.retrieval.mode, hits=found, warnings=self.retrieval_warnings)

    @cached_property
    def chat(self) -> ChatClient:
        from agent.answer.llm import ChatClient

        return ChatClient(self.settings.llm)

    def answer_mode(self, requested: AnswerMode | None) -> AnswerMode:
        """The mode a question is answered in: as asked, else llm when an endpoint is configured."""
        if requested == "llm" and not self.settings.llm.configured:
            self.chat  # noqa: B018 - raises the one-line "what to set" error
        return requested or self.settings.default_answer_mode

    def ask(
        self,
        question: str,
        filters: SearchFilters | None = None,
        k: int | None = None,
        mode: AnswerMode | None = None,
        lang: str | None = None,
        on_text: Callable[[str], None] | None = None,
        on_step: Callable[[Step], None] | None = None,
    ) -> Answer:
        """Answer ``question``: cited and verified with an LLM, or extractive (quoted verbatim) offline.

        ``on_text`` receives the model's text as it streams (LLM mode, one pass); ``on_step`` each tool call
        as it is made (the offline planner's, the agent loop's).
        """
        if not question.strip():
            raise DalilError("the question is empty")
        if lang not in (None, "ar", "en"):
            raise DalilError(f"--lang must be ar or en, not {lang!r}")
        if self.answer_mode(mode) == "extractive":
            from agent.answer.planner import counts_days, plan  # list, order, compare and multi-part questions: several tool calls

            answer = plan(self, question, filters, k, lang, on_step)
            if answer is None:
                answer = self._extractive(question, self.retrieve(question, k, filters))
                if counts_days(question) and not answer.abstained:  # the passages, but no count and no one event it is about
                    answer.about, answer.lead = None, None
                    answer.warnings.insert(0, "no day count: the question's words do not single out one event, dated to "
                                              "the day, on each side; these are the passages that come closest")
        else:
            answer = self._llm(question, filters, k, lang or ("ar" if is_arabic(question) else "en"), on_text, on_step)
        answer.warnings[:0] = self.retrieval_warnings
        self._mark_carriers(answer.citations + answer.nearest)
        if answer.frame is None:
            answer.frame = self.frame(question).model_dump(mode="json")
        return answer

    def _extractive(self, question: str, passages: list[NodeWithScore]) -> Answer:
        from agent.answer.extractive import extractive_answer

        bm25 = self.store.bm25()
        r = self.settings.retrieval
        frame = self.frame(question)
        missing = self._no_such_event(frame)
        if missing:
            from agent.answer.answers import abstention

            return abstention(question, "ar" if is_arabic(question) else "en", passages, "extractive", [missing])
        event = self._event_of(frame, passages)
        pinned = event is not None and self._pinned(frame)
        if pinned and event is not None:  # the question names one event: quote only what reports it
            from agent.retrieval.grounding import event_chunks

            chunks = event_chunks(event)
            passages = [p for p in passages if p.node.node_id in chunks] or passages
        passages = [p for p in passages if not _published_too_early(frame, p)] or passages
        passages = [p for p in passages if _published_on(frame, p)] or passages
        sentences = self._article_sentences()
        slots = self._slots(frame, event, sentences)
        from agent.answer.planner import counts_days

        if counts_days(question):
            slots = replace(slots, two_events=True)
        if frame.attribute in ("place", "city") and frame.event == "call":
            slots = replace(slots, placed_call=True)
        if pinned and event is not None:
            slots = replace(slots, unstated=_unstated(frame, event) or self._unmentioned(frame, event))
        elif event is not None and frame.wants_day and self._dated_only_coarsely(frame):
            slots = replace(slots, unstated="the articles date the events of that period no closer than the month")
        elif event is not None and frame.wants_day and frame.event == event.type and event.date.granularity != "day":
            from agent.retrieval.grounding import label  # "on what date exactly did the experts meet": "last week"

            slots = replace(slots, unstated=f"the articles date {label(event, 'en')} no closer than that")
        if event is not None:
            rivals = [e for e in self.events() if e.type == event.type and e.id != event.id]
            slots = replace(slots, about=_evidence_spans(event), rivals=tuple(s for e in rivals for s in _evidence_spans(e)))
        answer = extractive_answer(
            question, passages, self.analyzer, bm25.document_frequency, max(len(bm25), 1), r.min_coverage, r.max_sentences,
            slots, bm25.skeletons,
        )
        if event is not None and not answer.abstained and _cites_evidence(answer, event):
            from agent.retrieval.grounding import label

            answer.about = label(event, answer.lang)
            answer.lead = self._lead(frame, event, answer)
            if _reported_day_only(frame, event):
                if _insists_on_the_day(frame):
                    from agent.answer.answers import abstention

                    return abstention(question, answer.lang, passages, "extractive", [_reported_only(event)])
                answer.warnings.append(f"the reports give only the day {label(event, 'en')} was made known, not the day it took place")
        elif not answer.abstained and _WHICH_EVENT.search(arabic.fold(question).lower()):
            self._name_the_event(frame, answer)
        answer.frame = frame.model_dump(mode="json")
        return answer

    def _name_the_event(self, frame: QuestionFrame, answer: Answer) -> None:
        """"Which call covered …": the event the first quote tells of (``grounding.told_at``), said in ``about``, and
        the quote that states its day added when not cited."""
        from agent.answer.extractive import defang_markers
        from agent.answer.tools import dating_citation, numbered
        from agent.retrieval.grounding import label, told_at

        if not answer.citations:
            return
        first = answer.citations[0]
        event = told_at(self.events(), first.doc_id, first.start, frame.event)
        if event is None:
            return
        answer.about = label(event, answer.lang)
        dating = dating_citation(event)
        if any((c.doc_id, c.start) == (dating.doc_id, dating.start) for c in answer.citations):
            return
        n = len(answer.citations) + 1
        cite = numbered(dating, n)
        answer.citations.append(cite)
        answer.sentences.append(AnswerSentence(text=defang_markers(cite.quote), citations=[n], supported=True, support=1.0))
        answer.answer = f"{answer.answer} {answer.sentences[-1].text} [{n}]"

    # --- question understanding and the events it points at ---------------------------------------

    def frame(self, question: str) -> QuestionFrame:
        """How ``question`` is understood (``dalil ask --explain``); dates resolve against the latest article."""
        from agent.retrieval.question import understand

        key = (question, self.store.registry.generation())
        cached = self.__dict__.get("_frame")
        if cached is None or cached[0] != key:  # ask() needs it for retrieval and for the answer: made once
            cached = (key, self._with_anchor(understand(question, self.analyzer, self.store.registry.latest_published())))
            self.__dict__["_frame"] = cached
        return cached[1].model_copy()

    def _with_anchor(self, frame: QuestionFrame) -> QuestionFrame:
        """The frame with the anchor event its relation's words describe best ("the call that followed the Moscow
        trilateral": the trilateral, not the first meeting of the corpus), when there are several of its kind."""
        if not (frame.relation_target and frame.relation_event and not frame.relation_days and frame.relation_event != frame.event):
            return frame
        concepts = [c for c in self.analyzer.concepts(frame.relation_target) if c.alternatives]
        pool = [e for e in self.events() if e.type in (frame.relation_event, frame.event)]
        if not concepts or not pool:
            return frame

        def told(event: Event) -> int:  # how many of the words naming the anchor the event's reports have
            terms = {t for r in event.reports for t in self.analyzer.terms(r.text)}
            return sum(1 for c in concepts if c.alternatives & terms)

        scores = {e.id: told(e) for e in pool}
        ranked = sorted(pool, key=lambda e: scores[e.id], reverse=True)
        best, runner_up = ranked[0], (scores[ranked[1].id] if len(ranked) > 1 else 0)
        if scores[best.id] <= runner_up or scores[best.id] < ANCHOR_MIN_WORDS:
            return frame  # no clear fit: the first event of the anchor's kind, as the relation alone says
        if best.type == frame.relation_event:
            frame.relation_anchor = best.id
        else:  # the index has no such anchor, but one event's report tells it: "بعد اللقاء الثلاثي … اتصل لافروف بكيري"
            frame.described = best.id
        return frame

    def events(self) -> list[Event]:
        """The corpus's events (offline rules) from the event index, which caches them per registry generation."""
        from agent.events.index import events

        return events(self)

    def _pinned(self, frame: QuestionFrame) -> bool:
        """Whether the frame's time constraints select exactly one event."""
        from agent.retrieval.grounding import candidate_events, constrained

        return constrained(frame) and len(candidate_events(frame, self.events(), self._people(frame))) == 1

    def _dated_only_coarsely(self, frame: QuestionFrame) -> bool:
        """Whether every event the frame's time constraints select is dated no closer than a month ("في أي تاريخ
        تحديدا اتصل لافروف بكيري خلال شهر تموز": the articles say only "last month")."""
        from agent.retrieval.grounding import candidate_events, constrained

        found = candidate_events(frame, self.events(), self._people(frame)) if constrained(frame) else []
        return bool(found) and all(e.date.granularity != "day" for e in found)

    def _no_such_event(self, frame: QuestionFrame) -> str | None:
        """Why a question about a call on a given day cannot be answered: the event index has none that day
        ("What did Lavrov and Kerry discuss on Thursday 29 September?"). None when it has one."""
        from agent.retrieval.grounding import TYPE_EN, candidate_events

        # only a call on one calendar day: a meeting or a weekday alone is often the context of another event
        # ("the meeting in Moscow that preceded the Friday call"), and who took part is not asked here
        # a yes/no question about an event of a kind in a period ("Did they meet in New York in September?") asks
        # whether one happened: none in the index, none to confirm
        # (not a ceasefire: a truce is in force over a span, and "was it in force in August" is not a question of events)
        asks_whether = frame.asks == "yes_no" and frame.event not in (None, "ceasefire") and frame.date_from is not None
        # "Moscow disclosed a call on 20 October: who initiated it?": no call made known that day or just before
        made_known = frame.event == "call" and frame.reported_on is not None and frame.date_from is None
        if not (asks_whether or made_known) and (frame.event != "call" or frame.date_from is None or frame.date_from != frame.date_to):
            return None
        if frame.relation is not None or frame.event is None:
            return None
        if candidate_events(frame, self.events()):
            return None
        kind = TYPE_EN.get(frame.event, frame.event)  # "ceasefire" asks for its start or its end: no label of its own
        if made_known:
            return f"the articles report no {kind} made known on {frame.reported_on}"
        on = "in" if frame.date_from != frame.date_to else "on"
        return f"the articles report no {kind} {on} {frame.date_phrase or frame.date_from}"

    def _unmentioned(self, frame: QuestionFrame, event: Event) -> str | None:
        """Why the one event a question pins does not answer it: a country the question names that no passage
        reporting the event mentions (``grounding.unmentioned``)."""
        from agent.retrieval.grounding import event_chunks, label, unmentioned

        texts = [n.get_content() for n in self.store.registry.nodes(sorted(event_chunks(event))).values()]
        missing = unmentioned(frame, event, texts, self.analyzer)
        return f"the reports of {label(event, 'en')} do not mention {' or '.join(missing)}" if missing else None

    def _people(self, frame: QuestionFrame) -> list[str]:
        kinds = {e.en: e.kind for e in self.analyzer.entities}
        return [name for name in frame.entities if kinds.get(name) == "person"]

    def _event_of(self, frame: QuestionFrame, passages: list[NodeWithScore]) -> Event | None:
        from agent.retrieval.grounding import event_of_passages

        if frame.event is None and not frame.pins_time and frame.asks not in ("who_initiated", "when"):
            return None
        try:
            return event_of_passages(frame, self.events(), passages, self._people(frame))
        except DalilError:
            return None

    def _article_sentences(self) -> ArticleSentences:
        from llama_index.core.schema import NodeWithScore

        from agent.answer.extractive import ArticleSentences

        registry = self.store.registry
        generation = registry.generation()
        cached = self.__dict__.get("_passages_of")
        if cached is None or cached[0] != generation:  # an article's chunks, kept while the corpus is unchanged
            cached = (generation, {})
            self.__dict__["_passages_of"] = cached
        known: dict[str, list[NodeWithScore]] = cached[1]

        def passages_of(doc_id: str) -> list[NodeWithScore]:
            if doc_id not in known:
                known[doc_id] = [NodeWithScore(node=n, score=0.0) for n in registry.nodes(registry.chunk_ids_of([doc_id])).values()]
            return known[doc_id]

        return ArticleSentences(self.store.text_of, passages_of)

    def _slots(self, frame: QuestionFrame, event: Event | None, sentences: ArticleSentences) -> Slots:
        from agent.answer.extractive import Person, Slots
        from agent.retrieval.question import as_written, names_an_institution, unknown_speaker

        evidence = []
        if event is not None:
            for doc_id, offset in _slot_offsets(frame, event):
                found = sentences.around(doc_id, offset)
                if found is not None:
                    evidence.append(found)
        bm25 = self.store.bm25()
        unknown = [n for n in frame.names_unknown
                   if not any(bm25.knows(t) for t in self.analyzer.terms(n) + self.analyzer.query_terms(n))]

        def known(word: str) -> bool | None:  # None: search ignores the word (a stopword)
            terms = self.analyzer.query_terms(word)
            return any(bm25.knows(t) for t in terms) if terms else None

        unknown += unknown_speaker(frame.speaker_words, known)
        named = [e for name in frame.entities for e in self.analyzer.entities if e.en == name]
        surnames = {e.en: frozenset(t for s in self.analyzer.forms(e) for t in self.analyzer.terms(s)[-1:]) for e in named}
        # known to the lexicon, but does the corpus ever name them ("Sergei Shoigu"), or refer to them by a title
        # ("the Assad government": "النظام السوري")?
        unknown += [e.en for e in named if not any(bm25.knows(t) for t in surnames[e.en])
                    and not any(all(bm25.knows(t) for t in self.analyzer.terms(role)) for role in e.roles)]
        persons = {e.en: Person(e.en, surnames[e.en], tuple(arabic.normalize(r) for r in e.roles),
                                frozenset([*(w.lower() for w in [*e.en.split(), *e.en_variants]),
                                           *(w for s in [e.ar, *e.variants] for w in arabic.words(s))]))
                   for e in named if e.kind == "person" and not names_an_institution(e, frame.question)}
        people = tuple(p for name, p in persons.items() if name not in frame.call_names or name == frame.speaker)
        call_people = tuple(p for p in persons.values() if p not in people)
        speaker = next((p for p in people if p.name == frame.speaker), None)
        return Slots(asks=frame.asks, next_sentence=sentences.after, previous_sentence=sentences.before,
                     evidence=tuple(evidence), unknown=tuple(unknown),
                     attribute=frame.attribute, lasting=frame.event if frame.lasts else None, people=people, call_people=call_people,
                     speaker=speaker,
                     counted=frozenset(t for c in self.analyzer.concepts(frame.counted or "") for t in c.alternatives),
                     counted_word=as_written(frame.counted or "", frame.question), realized=frame.realized, verbatim=frame.verbatim,
                     describes=frame.describes,
                     head=frozenset(t for c in self.analyzer.concepts(frame.head or "") for t in c.alternatives
                                    if len(t) > 3),  # "العقوبات": عقوب, عقوبا (not عقب, "after")
                     counted_head=frozenset(t for c in self.analyzer.concepts(frame.counted_head or "") for t in c.alternatives),
                     counted_head_word=frame.counted_head or "",
                     # the question's own words, and their Arabic (an English question's "rebel": المعارضة), name nothing new
                     question_terms=frozenset(self.analyzer.terms(frame.question)) | frozenset(self.analyzer.query_terms(frame.question)),
                     office=(frame.office, frame.office_country) if frame.office and frame.office_country else None,
                     role_country=frame.role_country)

    @staticmethod
    def _lead(frame: QuestionFrame, event: Event, answer: Answer) -> str | None:
        """A short English sentence built only from facts in the cited quotes (English questions, structured slots)."""
        from agent.retrieval.grounding import TYPE_EN, label

        if answer.lang != "en":
            return None
        quotes = " ".join(c.quote for c in answer.citations)
        if frame.asks == "when" and event.date.phrase and event.date.phrase in quotes:
            when = label(event, "en").split(" of ", 1)[1]
            on = "on" if event.date.granularity == "day" else "in"  # "on Friday 5 August 2016", "in July 2016"
            if _reported_day_only(frame, event):
                return f"Derived from the quotes: the {TYPE_EN.get(event.type, event.type)} was made known {on} {when}."
            return f"Derived from the quotes: the {TYPE_EN.get(event.type, event.type)} took place {on} {when}."
        if frame.asks == "who_initiated":
            for report in event.reports:
                if report.initiator and report.initiator_phrase and report.initiator_phrase in quotes:
                    return f"Derived from the quotes: {event.initiator or report.initiator} initiated {label(event, 'en')}."
        return None

    def rewrites(self, question: str) -> list[str]:
        from agent.answer.generate import rewrite_queries

        return rewrite_queries(question, self.chat) if self.settings.llm.rewrite_queries else []

    def searchable_queries(self, queries: list[str]) -> list[str]:
        """The queries worth a ranked list. With the local (lexical) embedder, a query whose
        words the corpus mostly lacks (an English question over Arabic articles) only adds
        noise to the fusion, so it is left out; an embeddings endpoint can bridge languages."""
        if self.settings.embeddings.provider != "local":
            return queries
        bm25 = self.store.bm25()
        keep = []
        for query in queries:
            concepts = self.analyzer.concepts(query)
            known = sum(any(bm25.knows(t) for t in c.alternatives) for c in concepts)
            if concepts and known / len(concepts) >= 0.75:
                keep.append(query)
        return keep or queries[:1]

    def _llm(self, question: str, filters: SearchFilters | None, k: int | None, lang: str,
             on_text: Callable[[str], None] | None, on_step: Callable[[Step], None] | None = None) -> Answer:
        if self.settings.llm.tools != "off":  # the agent loop; one pass when the endpoint cannot take tools
            from agent.answer.agent_loop import ToolsUnavailable, run_agent

            def fallback(seen: list[NodeWithScore]) -> Answer:
                return self._extractive(question, seen or self.retrieve(question, k, filters))

            try:
                return run_agent(self, question, lang, fallback, filters, k, on_step)
            except ToolsUnavailable as exc:
                one_pass = self._llm_one_pass(question, filters, k, lang, on_text)
                one_pass.warnings.insert(0, str(exc))
                return one_pass
        return self._llm_one_pass(question, filters, k, lang, on_text)

    def _llm_one_pass(self, question: str, filters: SearchFilters | None, k: int | None, lang: str,
                      on_text: Callable[[str], None] | None) -> Answer:
        from agent.answer.generate import EmptyCompletion, abstention, llm_answer

        rewrites = self.rewrites(question)
        main, *extra = self.searchable_queries([question, *rewrites])
        passages = self.retrieve(main, k, filters, rewrites=extra)
        if not passages:
            return abstention(question, lang, passages, ["no passage matched the question"])
        try:
            answer = llm_answer(question, passages, self.chat, self.analyzer, lang, on_text)
        except EmptyCompletion as exc:
            fallback = self._extractive(question, passages)
            fallback.degraded = True
            fallback.warnings.insert(0, f"{exc}; showing the extractive answer instead")
            return fallback
        if rewrites:
            answer.warnings.append("searched with: " + " | ".join(rewrites))
        return answer

    def _ground(self, frame: QuestionFrame, hits: list[NodeWithScore], top_k: int) -> list[NodeWithScore]:
        """Passages reporting the events a time-constrained question is about come first; those the
        retrievers missed are added from the registry (event-grounded retrieval, any mode or embedder)."""
        from llama_index.core.schema import NodeWithScore

        from agent.retrieval.grounding import candidate_events, constrained, event_chunks

        if frame.published_on is not None:  # "in the piece published 3 October": that day's articles first
            hits = [h for h in hits if _published_on(frame, h)] + [h for h in hits if not _published_on(frame, h)]
        if not constrained(frame):
            return hits
        hits = _published_in_time(frame, hits)
        try:
            events = candidate_events(frame, self.events(), self._people(frame))
        except DalilError:
            return hits
        if not events or len(events) > 3:  # nothing pinned, or too broad to say which
            return hits
        wanted = list(dict.fromkeys(c for e in events for c in sorted(event_chunks(e))))
        have = {h.node.node_id for h in hits}
        floor = min((h.score or 0.0 for h in hits), default=0.0)
        missing = self.store.registry.nodes([c for c in wanted if c not in have]).values()
        # in reading order (the article's day, file name, place in it): ids hash the file's path, so their order would differ by folder
        added = [NodeWithScore(node=n, score=floor) for n in sorted(missing, key=_reading_order)]
        first = [h for h in hits if h.node.node_id in wanted] + added
        return (first + [h for h in hits if h.node.node_id not in wanted])[:top_k]

    def _require_documents(self) -> None:
        if self.store.registry.is_empty():
            if self.settings.store.url:
                from agent.safety import mask_url

                raise DalilError(f"the corpus on the Chroma server {mask_url(self.settings.store.url)} is empty: "
                                 "run `dalil ingest seeds` first")
            raise DalilError(f"the store at {self.settings.store.path} is empty: run `dalil ingest seeds` first")


def _reading_order(node: TextNode) -> tuple[str, str, int]:
    meta = node.metadata
    return (str(meta.get("published") or ""), str(meta.get("file") or ""), int(meta.get("start_char") or 0))


def _first_words(text: str, words: int = 8) -> str:
    found = text.split()
    return " ".join(found[:words]) + ("…" if len(found) > words else "")


def _published_within(published: str | None, outlet: str | None, filters: SearchFilters) -> bool:
    """Whether an article passes ``filters`` (an undated one fails any date limit, as in search)."""
    if filters.outlet and outlet != filters.outlet:
        return False
    if not (filters.date_from or filters.date_to):
        return True
    try:
        day = dt.date.fromisoformat(published[:10]) if published else None
    except ValueError:
        day = None
    return day is not None and (filters.date_from is None or day >= filters.date_from) and (filters.date_to is None or day <= filters.date_to)


def _published_too_early(frame: QuestionFrame, hit: NodeWithScore) -> bool:
    """Whether the passage's article was published before the day asked about: it cannot report it (a question
    about "the Friday 28 October call" is not answered by an article of 3 October)."""
    published = hit.node.metadata.get("published_ord")
    return frame.date_from is not None and isinstance(published, int) and published < int(frame.date_from.strftime("%Y%m%d"))


ANCHOR_MIN_WORDS = 2  # words naming the anchor an event's reports must have to be taken as the one meant


def _published_on(frame: QuestionFrame, hit: NodeWithScore) -> bool:
    """Whether the passage's article is the one the question names by its day (any article, when it names none)."""
    published = hit.node.metadata.get("published_ord")
    return frame.published_on is None or published == int(frame.published_on.strftime("%Y%m%d"))


def _published_in_time(frame: QuestionFrame, hits: list[NodeWithScore]) -> list[NodeWithScore]:
    """The passages that can report the day asked about, then those that cannot."""
    return [h for h in hits if not _published_too_early(frame, h)] + [h for h in hits if _published_too_early(frame, h)]


# "which call", "in which conversation", "أي اتصال", "في أي مكالمة": the event is what is asked
_WHICH_EVENT = re.compile(r"\b(which|what) (\w+ )?(phone )?(call|conversation)\b|(^|\s)(في |خلال )?(اي|ايه) (ال)?(اتصال|مكالمه|محادثه)")


def _evidence_spans(event: Event) -> tuple[tuple[str, int, int], ...]:
    return tuple((c.doc_id, c.start, c.end) for r in event.reports for c in r.citations)


def _cites_evidence(answer: Answer, event: Event) -> bool:
    """Whether the answer's first quote reports ``event``: only then does it say which event it is about."""
    from agent.answer.extractive import reports_at

    first = answer.citations[0] if answer.citations else None
    return first is not None and reports_at(first.doc_id, first.start, _evidence_spans(event))


def _unstated(frame: QuestionFrame, event: Event) -> str | None:
    """Why the one event a question pins cannot answer the asked slot: no report of it names an initiator, or
    "on exactly which day did the call take place" of a call the reports date only by the day they made it known."""
    from agent.retrieval.grounding import label

    if frame.asks == "who_initiated" and not any(r.initiator for r in event.reports):
        return f"the reports of {label(event, 'en')} do not say who initiated it"
    if _reported_day_only(frame, event) and _insists_on_the_day(frame):
        return _reported_only(event)
    if frame.wants_day and event.date.granularity != "day":  # "on what date exactly … in July": "last month" does not say
        return f"the articles date {label(event, 'en')} no closer than that"
    return None


_EXACTLY = re.compile(r"\b(exact|exactly|precise|precisely)\b|(^|\s)(تحديدا|بالتحديد|بالضبط)(\s|$)")


def _insists_on_the_day(frame: QuestionFrame) -> bool:
    """"On exactly which day did it take place", "the call Moscow reported on 5 October: when was it": the asker
    wants more than the day an event was made known (a plain "when" is answered with that day, and says so)."""
    return bool(_EXACTLY.search(arabic.fold(frame.question).lower())) or frame.realized or frame.reported_on is not None


def _reported_only(event: Event) -> str:
    """Why "on exactly which day" of an event its reports date only by the day they made it known is not answered."""
    from agent.retrieval.grounding import label

    return f"the reports give only the day {label(event, 'en')} was reported, not the day it took place"


def _reported_day_only(frame: QuestionFrame, event: Event) -> bool:
    """Whether "when" is asked of an event its reports date only by the day they made it known."""
    return frame.asks == "when" and frame.event == event.type and event.date.basis == "report_day"


def _slot_offsets(frame: QuestionFrame, event: Event) -> list[tuple[str, int]]:
    """Where the event index says the asked slot is stated: the phrase dating the event (not the day it
    was reported), or the words naming who initiated it; as (doc_id, offset in the article)."""
    from agent.answer.tools import dating_citation
    from agent.events.corpus import date_notes

    doc_of = {r.file: r.doc_id for r in event.reports}
    if frame.asks == "when" and event.date.granularity == "day" and event.date.date is not None:
        # the words that state the day ("والذي انتهى في 19 سبتمبر"), before a phrase it was worked out from ("بعد عشرة أيام")
        cite = dating_citation(event)
        stated = [n.phrase for n in (cite.dates or date_notes(cite.quote, cite.published)) if n.date == event.date.date.isoformat()]
        if stated and stated[0] in cite.quote:
            return [(cite.doc_id, cite.start + cite.quote.index(stated[0]))]
    if frame.asks == "when" and event.date.phrase_start is not None and event.date.file in doc_of:
        return [(doc_of[event.date.file], event.date.phrase_start)]
    if frame.asks == "who_initiated":
        return [(c.doc_id, c.start + c.quote.index(r.initiator_phrase)) for r in event.reports if r.initiator_phrase
                for c in r.initiator_citations()]
    return []
