"""Metric functions: small, pure and typed; the registry (``registry.py``) names and applies them.

Retrieval metrics take a *ranking*: for each retrieved passage in rank order, the indices
of the gold sources it matches. Each gold source counts once (a second passage matching
an already-found source adds nothing). Text metrics normalize both sides with
``textnorm.norm`` first. ``None`` means "not applicable" and is left out of averages.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from agent.evals.textnorm import norm, number_tokens, strip_markers, tokens

if TYPE_CHECKING:
    from sacrebleu.metrics import CHRF

Ranking = Sequence[Collection[int]]


def _new_gold_per_rank(ranking: Ranking, k: int) -> list[int]:
    """How many not-yet-seen gold sources each of the top ``k`` passages adds."""
    seen: set[int] = set()
    gains = []
    for golds in ranking[:k]:
        new = set(golds) - seen
        seen |= new
        gains.append(len(new))
    return gains


def hit_at_k(ranking: Ranking, k: int) -> float:
    """1.0 when any of the top ``k`` passages matches a gold source."""
    return 1.0 if any(ranking[:k]) else 0.0


def recall_at_k(ranking: Ranking, n_gold: int, k: int) -> float:
    """Distinct gold sources matched in the top ``k`` / gold sources."""
    if n_gold <= 0:
        raise ValueError("recall needs at least one gold source")
    return sum(_new_gold_per_rank(ranking, k)) / n_gold


def reciprocal_rank(ranking: Ranking, k: int) -> float:
    """1 / rank of the first passage matching a gold source (0 when none in the top ``k``)."""
    for rank, golds in enumerate(ranking[:k], start=1):
        if golds:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking: Ranking, n_gold: int, k: int) -> float:
    """Binary nDCG@k: a passage is relevant when it matches a gold source not matched above it.

    The ideal DCG puts ``min(n_gold, k)`` relevant passages first (not ``len(ranking)``,
    llama-index's mistake), so a perfect ranking scores 1.0 and the score never exceeds it.
    """
    if n_gold <= 0:
        raise ValueError("nDCG needs at least one gold source")
    dcg = sum(1.0 / math.log2(rank + 1) for rank, gain in enumerate(_new_gold_per_rank(ranking, k), start=1) if gain)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_gold, k) + 1))
    return dcg / ideal


def citation_coverage(sentence_citations: Sequence[Collection[int]]) -> float | None:
    """Share of answer sentences carrying at least one citation (None without sentences)."""
    if not sentence_citations:
        return None
    return sum(1 for c in sentence_citations if c) / len(sentence_citations)


def dangling(markers: Iterable[int], cited: Collection[int]) -> list[int]:
    """Distinct marker numbers in the answer text that name no citation, sorted."""
    return sorted(set(markers) - set(cited))


def dangling_rate(markers: Sequence[int], cited: Collection[int]) -> float | None:
    """Share of distinct markers in the answer text that name no citation (None without markers)."""
    distinct = set(markers)
    return len(dangling(distinct, cited)) / len(distinct) if distinct else None


def numbers_grounded(sentences: Sequence[tuple[str, Sequence[str]]]) -> float | None:
    """Share of digit tokens in answer sentences that also occur in that sentence's cited quotes.

    ``sentences`` pairs each sentence's text with its cited quotes; Arabic-Indic digits are
    read as ASCII and citation markers are ignored. None when the answer has no digits.
    """
    total = grounded = 0
    for text, quotes in sentences:
        available = {n for q in quotes for n in number_tokens(q)}
        for number in number_tokens(strip_markers(text)):
            total += 1
            grounded += number in available
    return grounded / total if total else None


def citation_precision(citation_golds: Sequence[Collection[int]]) -> float | None:
    """Citations whose quote matches some gold source / citations (None without citations)."""
    if not citation_golds:
        return None
    return sum(1 for g in citation_golds if g) / len(citation_golds)


def citation_recall(citation_golds: Sequence[Collection[int]], n_gold: int) -> float:
    """Gold sources matched by at least one citation / gold sources."""
    if n_gold <= 0:
        raise ValueError("citation recall needs at least one gold source")
    return len({g for golds in citation_golds for g in golds}) / n_gold


def key_recall(answer: str, keys: Sequence[Sequence[str]]) -> float | None:
    """Share of key facts with at least one alternative found in the normalized answer."""
    if not keys:
        return None
    text = norm(strip_markers(answer))
    return sum(1 for alts in keys if any(norm(a) in text for a in alts if norm(a))) / len(keys)


def _phrase(text: str) -> str:
    """Normalized word tokens joined by single spaces and padded, for whole-word containment."""
    return " " + " ".join(tokens(strip_markers(text))) + " "


def contains_phrase(text: str, phrase: str) -> bool:
    """Does ``text`` contain ``phrase`` as whole normalized words (punctuation and markers ignored)?"""
    needle = _phrase(phrase)
    return bool(needle.strip()) and needle in _phrase(text)


def answer_hit(answer: str, reference_sentences: Sequence[str]) -> float:
    """1.0 when the answer quotes a reference sentence (a gold quote or a sentence containing one).

    Quoting is whole-word containment of the normalized sentence in the normalized answer.
    """
    return 1.0 if any(contains_phrase(answer, s) for s in reference_sentences) else 0.0


def first_citation_precision(citation_golds: Sequence[Collection[int]]) -> float | None:
    """1.0 when the first citation matches a gold source (None without citations)."""
    if not citation_golds:
        return None
    return 1.0 if citation_golds[0] else 0.0


def slot_correct(texts: Sequence[str], forms: Sequence[str], reject: Sequence[str] = (), lead: str | None = None) -> float:
    """1.0 when an accepted form of the slot value is in one of ``texts`` and no rejected form is in ``lead``.

    Forms are compared as whole normalized words (``agent.text.arabic.normalize``): ``1 October``
    matches ``on 1 October 2016`` but ``1 October`` does not match ``11 October``.
    """
    if lead and any(contains_phrase(lead, r) for r in reject):
        return 0.0
    return 1.0 if any(contains_phrase(t, f) for t in texts if t for f in forms) else 0.0


def exact_match(answer: str, reference: str) -> float:
    """1.0 when both have the same normalized tokens (punctuation and markers ignored)."""
    return 1.0 if tokens(strip_markers(answer)) == tokens(reference) else 0.0


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style F1 over normalized tokens (multiset overlap)."""
    hyp, ref = tokens(strip_markers(answer)), tokens(reference)
    if not hyp or not ref:
        return 1.0 if hyp == ref else 0.0
    common = sum((Counter(hyp) & Counter(ref)).values())
    if not common:
        return 0.0
    precision, recall = common / len(hyp), common / len(ref)
    return 2 * precision * recall / (precision + recall)


@cache
def _chrf_scorer() -> CHRF:
    from sacrebleu.metrics import CHRF

    return CHRF(word_order=2)


def chrf(answer: str, reference: str, normalized: bool = True) -> float:
    """chrF++ (sacrebleu ``CHRF(word_order=2)``), 0-100, on normalized text unless ``normalized=False``."""
    hyp = strip_markers(answer)
    if normalized:
        hyp, reference = norm(hyp), norm(reference)
    return float(_chrf_scorer().sentence_score(hyp, [reference]).score)


@dataclass(frozen=True)
class AbstentionScores:
    precision: float | None  # abstentions that were on unanswerable items
    recall: float | None  # unanswerable items abstained on
    false_rate: float | None  # answerable items abstained on


def abstention_scores(unanswerable: Sequence[bool], abstained: Sequence[bool]) -> AbstentionScores:
    """Precision/recall of abstaining (positive = unanswerable) and the false-abstention rate."""
    pairs = list(zip(unanswerable, abstained, strict=True))
    tp = sum(1 for u, a in pairs if u and a)
    fp = sum(1 for u, a in pairs if not u and a)
    positives = sum(1 for u, _ in pairs if u)
    negatives = len(pairs) - positives
    return AbstentionScores(
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / positives if positives else None,
        false_rate=fp / negatives if negatives else None,
    )


def mean(values: Iterable[float | None]) -> float | None:
    """Average of the values that are not None (None when there are none)."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation, like ``numpy.percentile``."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
