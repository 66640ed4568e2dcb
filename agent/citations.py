"""Citation verification: a model's answer + the passages it saw → checked sentences.

Takes the answer text with ``[n]`` markers and the numbered passages; returns
``AnswerSentence`` objects (markers, ``supported`` verdict, support score, problems),
the citations actually used (each quote the passage sentence that best matches the
claim, verbatim), and the markers that pointed nowhere. Checks per sentence: it has a
marker; numbers and dates in it appear in the cited passages (digits normalized); and
enough of its terms (bridged English→Arabic by the lexicon) occur in those passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llama_index.core.schema import NodeWithScore

from agent import arabic
from agent.extractive import citation_for
from agent.lexicon import Analyzer
from agent.schema import AnswerSentence, Citation

_MARKER = re.compile(r"\[\s*([0-9٠-٩۰-۹]+(?:\s*[,،]\s*[0-9٠-٩۰-۹]+)*)\s*\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
MIN_SUPPORT = 0.5


@dataclass
class Verification:
    sentences: list[AnswerSentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dangling: list[int] = field(default_factory=list)

    @property
    def all_supported(self) -> bool:
        return bool(self.sentences) and all(s.supported for s in self.sentences)

    @property
    def text(self) -> str:
        return " ".join(s.text + (" " + "".join(f"[{n}]" for n in s.citations) if s.citations else "") for s in self.sentences)


def split_claims(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of the answer with their markers; a marker-only fragment joins the sentence before it."""
    out: list[tuple[str, list[int]]] = []
    for span in arabic.sentence_spans(answer):
        raw = span.of(answer)
        markers = [int(arabic.normalize(n)) for group in _MARKER.findall(raw) for n in re.split(r"\s*[,،]\s*", group)]
        text = _MARKER.sub("", raw).strip()
        text = re.sub(r"\s+([.!?؟،؛,])", r"\1", text)
        if not any(c.isalnum() for c in text):
            if out and markers:
                out[-1][1].extend(markers)
            continue
        out.append((text, markers))
    return out


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", ".") for n in _NUMBER.findall(arabic.normalize(text))}


def _passage_numbers(text: str) -> set[str]:
    found = numbers_in(text)
    return found | {n.split(".")[0] for n in found}


def ungrounded_numbers(sentence: str, passages: list[str], dates: set[str] | None = None) -> list[str]:
    """Numbers in the sentence that neither the cited passages nor their resolved dates contain."""
    available = set().union(*(_passage_numbers(p) for p in passages)) if passages else set()
    available |= dates or set()
    return [n for n in sorted(numbers_in(sentence)) if n not in available]


def date_numbers(passage: NodeWithScore) -> set[str]:
    """Day, month and year numbers of the passage's publication date and of the dates it mentions."""
    import datetime as dt

    from agent.dates import resolve_dates

    published = passage.node.metadata.get("published")
    if not published:
        return set()
    day = dt.date.fromisoformat(published)
    days = [day] + [r.date for r in resolve_dates(passage.node.get_content(), day) if r.date]
    return {str(x) for d in days for x in (d.day, d.month, d.year, f"{d.day:02d}", f"{d.month:02d}")}


def support_score(sentence: str, passages: list[str], analyzer: Analyzer) -> float | None:
    """Share of the sentence's checkable words found in the passages (None: nothing checkable)."""
    passage_terms = set().union(*(set(analyzer.terms(p)) for p in passages)) if passages else set()
    checkable = [
        c for c in analyzer.concepts(sentence)
        if arabic.is_arabic(c.word) or len(c.alternatives) > 1 or c.word.isdigit()
    ]
    checkable = [c for c in checkable if not c.word.isdigit()]
    if not checkable:
        return None
    return sum(bool(c.alternatives & passage_terms) for c in checkable) / len(checkable)


def verify(answer: str, passages: list[NodeWithScore], analyzer: Analyzer) -> Verification:
    """Check every sentence of ``answer`` against the passages its markers point to."""
    result = Verification()
    used: dict[int, list[str]] = {}
    for text, markers in split_claims(answer):
        valid = list(dict.fromkeys(n for n in markers if 1 <= n <= len(passages)))
        result.dangling.extend(n for n in markers if not 1 <= n <= len(passages))
        problems: list[str] = []
        support = 0.0
        if not markers:
            problems.append("no citation")
        elif not valid:
            problems.append("cites passages that do not exist")
        else:
            cited = [passages[n - 1].node.get_content() for n in valid]
            dates = set().union(*(date_numbers(passages[n - 1]) for n in valid))
            missing = ungrounded_numbers(text, cited, dates)
            if missing:
                problems.append("numbers not in the cited passages: " + ", ".join(missing))
            score = support_score(text, cited, analyzer)
            if score is None:
                problems.append("nothing in the sentence can be checked against the passages")
            else:
                support = score
                if score < MIN_SUPPORT:
                    problems.append(f"only {score:.0%} of its terms are in the cited passages")
            for n in valid:
                used.setdefault(n, []).append(text)
        result.sentences.append(
            AnswerSentence(text=text, citations=valid, supported=not problems, support=round(support, 3), problems=problems)
        )
    result.citations = [_best_quote(n, passages[n - 1], claims, analyzer) for n, claims in sorted(used.items())]
    result.dangling = sorted(set(result.dangling))
    return result


def _best_quote(n: int, passage: NodeWithScore, claims: list[str], analyzer: Analyzer) -> Citation:
    """Cite the sentence of the passage that shares most with the claims citing it."""
    text = passage.node.get_content()
    base = int(passage.node.metadata["start_char"])
    wanted = {t for claim in claims for c in analyzer.concepts(claim) for t in c.alternatives}
    spans = arabic.sentence_spans(text) or [arabic.Span(0, len(text))]
    best = max(spans, key=lambda s: (len(wanted & set(analyzer.terms(s.of(text)))), -s.start))
    return citation_for(n, passage, base + best.start, base + best.end, best.of(text))
