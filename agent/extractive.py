"""Extractive answers (offline mode): passages → the sentences that answer, quoted verbatim.

Takes the question, retrieved ``NodeWithScore`` passages and term statistics; returns an
``Answer`` whose sentences are exact substrings of the articles, each cited. When the
best sentence covers too little of the question's weighted terms, it abstains and
offers the nearest passages instead of quoting noise.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from llama_index.core.schema import NodeWithScore

from agent import arabic
from agent.lexicon import Analyzer, Concept
from agent.schema import Answer, AnswerSentence, Citation, DateNote

ABSTAIN_AR = "لا تجيب المقالات المخزنة عن هذا السؤال."
ABSTAIN_EN = "The stored articles do not answer this question."
TRANSLATION_NOTE = "offline mode quotes the articles in their own language; translation needs an LLM endpoint"


@dataclass(frozen=True)
class Candidate:
    passage: NodeWithScore
    rank: int
    start: int  # offsets in the article
    end: int
    text: str
    coverage: float


def concept_weights(concepts: list[Concept], document_frequency: Callable[[str], int], total: int) -> dict[Concept, float]:
    """IDF weight per concept; a concept absent from the whole corpus gets the top weight.

    A Latin word with no Arabic bridge that the corpus never uses is dropped: offline
    mode cannot translate it, so it must not count for or against an answer.
    """
    weights: dict[Concept, float] = {}
    top = math.log(1 + (total + 0.5) / 0.5)
    for concept in concepts:
        df = max((document_frequency(t) for t in concept.alternatives), default=0)
        if df == 0 and not arabic.is_arabic(concept.word) and len(concept.alternatives) == 1:
            continue
        weights[concept] = top if df == 0 else math.log(1 + (total - df + 0.5) / (df + 0.5))
    return weights


def coverage(terms: set[str], weights: dict[Concept, float]) -> float:
    mass = sum(weights.values())
    if not mass:
        return 0.0
    return sum(w for c, w in weights.items() if c.alternatives & terms) / mass


def candidates(question_weights: dict[Concept, float], passages: list[NodeWithScore], analyzer: Analyzer) -> list[Candidate]:
    out: list[Candidate] = []
    for rank, passage in enumerate(passages):
        text = passage.node.get_content()
        base = int(passage.node.metadata["start_char"])
        for span in arabic.sentence_spans(text):
            sentence = span.of(text)
            cov = coverage(set(analyzer.terms(sentence)), question_weights)
            out.append(Candidate(passage, rank, base + span.start, base + span.end, sentence, cov))
    return out


_WHEN = re.compile(r"(^|\s)(متى|متي|اي يوم|في اي تاريخ|when|what day|what date|which day)(\s|$|[?؟])", re.IGNORECASE)
DATE_BONUS = 0.15


def asks_when(question: str) -> bool:
    return bool(_WHEN.search(arabic.normalize(question)))


def mentions_day(sentence: str) -> bool:
    """Whether the sentence names a day (weekday, relative day or calendar date)."""
    from agent.dates import resolve_dates

    return any(r.granularity == "day" for r in resolve_dates(sentence, dt.date(2000, 1, 1), lang="any"))


_MARKER_LIKE = re.compile(r"\[(\s*[0-9٠-٩۰-۹]+(?:\s*[,،]\s*[0-9٠-٩۰-۹]+)*\s*)\]")


def defang_markers(text: str) -> str:
    """Article text that looks like a citation marker ("[2]") is shown with full-width brackets
    in answers, so only Dalil's own markers cite anything; citation quotes stay verbatim."""
    return _MARKER_LIKE.sub(lambda m: f"［{m.group(1)}］", text)


def _near_duplicate(a: str, b: str) -> bool:
    wa, wb = set(arabic.words(a)), set(arabic.words(b))
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) > 0.7


def date_notes(quote: str, published: str | None) -> list[DateNote]:
    """Relative dates in ``quote`` resolved against the publication date (none when undated)."""
    from agent.dates import resolve_dates

    if not published:
        return []
    return [
        DateNote(phrase=r.phrase, date=r.date.isoformat() if r.date else None, explanation=r.explanation,
                 weekday_mismatch=r.weekday_mismatch)
        for r in resolve_dates(quote, dt.date.fromisoformat(published), lang="any")
    ]


def citation_for(n: int, passage: NodeWithScore, start: int, end: int, quote: str) -> Citation:
    meta = passage.node.metadata
    published = meta.get("published") or None
    return Citation(
        n=n, chunk_id=passage.node.node_id, doc_id=meta["doc_id"], file=meta["file"], published=published,
        outlet=meta.get("outlet") or None, quote=quote, start=start, end=end, dates=date_notes(quote, published),
    )


def passage_citation(n: int, passage: NodeWithScore) -> Citation:
    meta = passage.node.metadata
    return citation_for(n, passage, int(meta["start_char"]), int(meta["end_char"]), passage.node.get_content())


def extractive_answer(
    question: str,
    passages: list[NodeWithScore],
    analyzer: Analyzer,
    document_frequency: Callable[[str], int],
    total_chunks: int,
    min_coverage: float,
    max_sentences: int,
) -> Answer:
    """The few sentences that best answer ``question``, each cited, or an abstention."""
    lang = "ar" if arabic.is_arabic(question) else "en"
    weights = concept_weights(analyzer.concepts(question), document_frequency, total_chunks)
    when = asks_when(question)

    def priority(c: Candidate) -> tuple[float, int, int]:
        bonus = DATE_BONUS if when and mentions_day(c.text) else 0.0
        return (round(c.coverage + bonus, 6), -c.rank, -c.start)

    ranked = sorted(candidates(weights, passages, analyzer), key=priority, reverse=True)
    best = max((c.coverage for c in ranked), default=0.0)
    if not weights or best < min_coverage:
        return _abstain(question, lang, passages, weights)
    chosen: list[Candidate] = []
    for cand in ranked:
        if len(chosen) == max_sentences:
            break
        if cand.coverage < max(min_coverage, 0.75 * best):
            continue
        if not any(_near_duplicate(cand.text, c.text) for c in chosen):
            chosen.append(cand)
    citations = [citation_for(i, c.passage, c.start, c.end, c.text) for i, c in enumerate(chosen, start=1)]
    sentences = [
        AnswerSentence(text=defang_markers(c.text), citations=[i], supported=True, support=round(c.coverage, 3))
        for i, c in enumerate(chosen, start=1)
    ]
    answer = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
    warnings = [] if lang == "ar" else [TRANSLATION_NOTE]
    return Answer(question=question, mode="extractive", answer=answer, abstained=False, citations=citations,
                  sentences=sentences, lang=lang, warnings=warnings)


def _abstain(question: str, lang: str, passages: list[NodeWithScore], weights: dict[Concept, float]) -> Answer:
    warnings = []
    if not weights:
        warnings.append("none of the question's words can be searched offline; configure an LLM endpoint for translation")
    return Answer(
        question=question, mode="extractive", answer=ABSTAIN_AR if lang == "ar" else ABSTAIN_EN, abstained=True,
        citations=[], nearest=[passage_citation(i, p) for i, p in enumerate(passages[:3], start=1)], lang=lang,
        warnings=warnings,
    )
