"""The metric registry: every metric by name, how it scores an item and how it aggregates.

Reports, summaries and ``compare`` iterate over ``METRICS``; adding a metric here adds it
everywhere. Item metrics are computed once per item (``score_item``) and averaged over
the items where they apply; set metrics (abstention P/R, latency percentiles, token
totals) are computed from the whole group of items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from agent.evals import metrics as m
from agent.evals.records import ItemRecord, MetricInfo, SentenceRecord, Summary
from agent.evals.textnorm import marker_numbers

ItemFn = Callable[[ItemRecord, int], float | None]
GroupFn = Callable[[list[ItemRecord]], float | None]
Group = Literal["retrieval", "citations", "answer", "abstention", "judge", "cost"]


@dataclass(frozen=True)
class Metric:
    """One named metric; ``item`` scores one item, ``group`` scores a set (default: mean of items)."""

    name: str
    label: str
    group: Group
    description: str
    item: ItemFn | None = None
    group_fn: GroupFn | None = None
    higher_is_better: bool = True
    scale: float = 1.0  # full range: 1 for shares, 100 for chrF
    gated: bool = True  # checked by `compare --max-drop`
    main: bool = False  # drawn in the per-kind chart and the items table
    headline: bool = False  # a card at the top of the HTML report
    fail_below: float | None = None  # an item fails when its value is below this
    fail_above: float | None = None  # ... or above this

    def aggregate(self, items: list[ItemRecord]) -> float | None:
        if self.group_fn is not None:
            return self.group_fn(items)
        return m.mean(i.metrics.get(self.name) for i in items)

    def title(self, k: int) -> str:
        return self.label.replace("{k}", str(k))

    def format(self, value: float | None) -> str:
        """``value`` for a report: shares with 3 decimals, chrF with 1, token counts as integers."""
        if value is None:
            return "–"
        if self.name.endswith("_tokens"):
            return f"{value:,.0f}"
        return f"{value:.1f}" if self.scale > 1 else f"{value:.3f}"

    def info(self, k: int) -> MetricInfo:
        return MetricInfo(label=self.title(k), group=self.group, higher_is_better=self.higher_is_better,
                          scale=self.scale, description=self.description)


# ----------------------------------------------------------------------------- item scorers

def _ranking(item: ItemRecord) -> list[list[int]]:
    return [p.gold for p in item.retrieved]


def _has_gold(item: ItemRecord) -> bool:
    return item.answerable and bool(item.sources)


def _retrieval(fn: Callable[[ItemRecord, int], float]) -> ItemFn:
    return lambda item, k: fn(item, k) if _has_gold(item) else None


def _answered(item: ItemRecord) -> bool:
    return item.answer is not None and not item.answer.abstained


def _answer_text(item: ItemRecord) -> str:
    return item.answer.text if item.answer else ""


def _numbers(item: ItemRecord, k: int) -> float | None:
    if not _answered(item):
        return None
    assert item.answer is not None
    quotes = {c.n: c.quote for c in item.answer.citations}
    sentences = item.answer.sentences or [_whole_answer(item)]
    return m.numbers_grounded([(s.text, [quotes[n] for n in s.citations if n in quotes]) for s in sentences])


def _whole_answer(item: ItemRecord) -> SentenceRecord:
    assert item.answer is not None
    return SentenceRecord(text=item.answer.text, citations=[c.n for c in item.answer.citations])


def _dangling(item: ItemRecord, k: int) -> float | None:
    if item.answer is None:
        return None
    return m.dangling_rate(marker_numbers(item.answer.text), {c.n for c in item.answer.citations})


def _coverage(item: ItemRecord, k: int) -> float | None:
    if not _answered(item):
        return None
    assert item.answer is not None
    return m.citation_coverage([s.citations for s in item.answer.sentences])


def _cit_precision(item: ItemRecord, k: int) -> float | None:
    if not _has_gold(item) or item.answer is None:
        return None
    return m.citation_precision([c.gold for c in item.answer.citations])


def _cit_recall(item: ItemRecord, k: int) -> float | None:
    if not _has_gold(item):
        return None
    return m.citation_recall([c.gold for c in item.answer.citations] if item.answer else [], len(item.sources))


def _answer_hit(item: ItemRecord, k: int) -> float | None:
    if not _has_gold(item) or item.answer is None:
        return None
    if item.answer.abstained:
        return 0.0
    return m.answer_hit(item.answer.text, item.reference_sentences or [s.quote for s in item.sources])


def _first_citation(item: ItemRecord, k: int) -> float | None:
    """Precision of the first citation: the one the answer's first marker names (else the lowest number)."""
    if not _has_gold(item) or item.answer is None or item.answer.abstained or not item.answer.citations:
        return None
    by_n = {c.n: c for c in item.answer.citations}
    first = next((by_n[n] for n in marker_numbers(item.answer.text) if n in by_n), by_n[min(by_n)])
    return m.first_citation_precision([first.gold])


def _slot(item: ItemRecord, k: int) -> float | None:
    """The slot value (or an accepted form) in the answer, its derived lead or, for an event slot, its ``about``."""
    if item.slot is None or not item.answerable or item.answer is None:
        return None
    answer = item.answer
    if answer.abstained:
        return 0.0
    texts = [answer.text, answer.lead or ""] + ([answer.about or ""] if item.slot.type == "event" else [])
    return m.slot_correct(texts, item.slot.forms(), item.slot.reject, answer.lead)


def _answerable_only(fn: Callable[[str, str], float]) -> ItemFn:
    return lambda item, k: fn(_answer_text(item), item.reference) if item.answerable and item.answer else None


def _abstained_right(item: ItemRecord, k: int) -> float | None:
    if item.answer is None:
        return None
    return 1.0 if item.answer.abstained == (not item.answerable) else 0.0


def _judged(field: str) -> ItemFn:
    return lambda item, k: getattr(item.judge, field) if item.judge else None


# ----------------------------------------------------------------------------- group scorers

def _abstention(field: str) -> GroupFn:
    def score(items: list[ItemRecord]) -> float | None:
        done = [i for i in items if i.answer is not None]
        scores = m.abstention_scores([not i.answerable for i in done], [bool(i.answer and i.answer.abstained) for i in done])
        return getattr(scores, field)
    return score


def _latency(q: float) -> GroupFn:
    return lambda items: m.percentile([i.latency_s for i in items], q)


def _total(field: str) -> GroupFn:
    return lambda items: float(sum(getattr(i, field) for i in items))


METRICS: dict[str, Metric] = {metric.name: metric for metric in (
    Metric("hit_at_k", "hit@{k}", "retrieval", "a top-k passage matches a gold source",
           item=_retrieval(lambda i, k: m.hit_at_k(_ranking(i), k)), main=True, fail_below=1.0, headline=True),
    Metric("recall_at_k", "recall@{k}", "retrieval", "distinct gold sources matched in the top k / gold sources",
           item=_retrieval(lambda i, k: m.recall_at_k(_ranking(i), len(i.sources), k))),
    Metric("mrr", "MRR", "retrieval", "1 / rank of the first passage matching a gold source",
           item=_retrieval(lambda i, k: m.reciprocal_rank(_ranking(i), k)), main=True, headline=True),
    Metric("ndcg_at_k", "nDCG@{k}", "retrieval", "binary nDCG, ideal DCG over min(|gold|, k)",
           item=_retrieval(lambda i, k: m.ndcg_at_k(_ranking(i), len(i.sources), k)), main=True, headline=True),
    Metric("citation_coverage", "cited sentences", "citations", "answer sentences with at least one citation",
           item=_coverage, fail_below=1.0),
    Metric("dangling_rate", "dangling markers", "citations", "citation markers in the answer that name no citation",
           item=_dangling, higher_is_better=False, fail_above=0.0),
    Metric("numbers_grounded", "numbers grounded", "citations", "digits in answer sentences found in their cited quotes",
           item=_numbers, fail_below=1.0),
    Metric("citation_precision", "citation precision", "citations", "citations whose quote matches a gold source",
           item=_cit_precision),
    Metric("first_citation_precision", "first-citation precision", "citations", "the first citation matches a gold source",
           item=_first_citation),
    Metric("citation_recall", "citation recall", "citations", "gold sources matched by some citation",
           item=_cit_recall, main=True),
    Metric("answer_hit", "answer hit", "answer", "the answer quotes a reference sentence (a gold quote or the sentence holding it)",
           item=_answer_hit, main=True, fail_below=1.0, headline=True),
    Metric("slot_accuracy", "slot accuracy", "answer", "the asked slot's value (or an accepted form) in the answer or its derived lead",
           item=_slot, fail_below=1.0),
    Metric("key_recall", "key-fact recall", "answer", "key facts with an alternative in the normalized answer",
           item=lambda i, k: m.key_recall(_answer_text(i), i.keys) if i.answerable and i.answer else None,
           main=True, fail_below=1.0, headline=True),
    Metric("exact_match", "exact match", "answer", "normalized tokens equal to the reference",
           item=_answerable_only(m.exact_match)),
    Metric("token_f1", "token F1", "answer", "token overlap F1 with the reference", item=_answerable_only(m.token_f1)),
    Metric("chrf", "chrF++", "answer", "sacrebleu chrF++ (0-100) on normalized text", item=_answerable_only(m.chrf),
           scale=100.0),
    Metric("abstention_correct", "abstention accuracy", "abstention", "abstained exactly on the unanswerable items",
           item=_abstained_right, main=True, fail_below=1.0),
    Metric("abstention_precision", "abstention precision", "abstention", "abstentions that were on unanswerable items",
           group_fn=_abstention("precision"), headline=True),
    Metric("abstention_recall", "abstention recall", "abstention", "unanswerable items abstained on",
           group_fn=_abstention("recall"), headline=True),
    Metric("false_abstention_rate", "false abstention rate", "abstention", "answerable items abstained on",
           group_fn=_abstention("false_rate"), higher_is_better=False),
    Metric("faithfulness", "faithfulness (judge)", "judge", "answer claims the judge finds SUPPORTED by the cited passages",
           item=_judged("faithfulness"), main=True, fail_below=1.0, headline=True),
    Metric("correctness", "correctness (judge)", "judge", "RAGAS-style F1 of the answer's claims against the reference",
           item=_judged("correctness"), fail_below=0.5, headline=True),
    Metric("latency_p50", "latency p50 (s)", "cost", "median seconds per answer (Dalil.ask, which retrieves too)",
           group_fn=_latency(50), higher_is_better=False, gated=False),
    Metric("latency_p95", "latency p95 (s)", "cost", "95th percentile seconds per answer",
           group_fn=_latency(95), higher_is_better=False, gated=False),
    Metric("prompt_tokens", "prompt tokens", "cost", "total prompt tokens (Answer.usage)",
           group_fn=_total("prompt_tokens"), higher_is_better=False, gated=False),
    Metric("completion_tokens", "completion tokens", "cost", "total completion tokens (Answer.usage)",
           group_fn=_total("completion_tokens"), higher_is_better=False, gated=False),
)}


def score_item(item: ItemRecord, k: int) -> dict[str, float | None]:
    """Values of every item metric for one item (None where a metric does not apply)."""
    return {name: metric.item(item, k) for name, metric in METRICS.items() if metric.item is not None}


def failures(item: ItemRecord, k: int) -> list[str]:
    """Why an item fails, one phrase per failed check (e.g. ``key-fact recall = 0.50 (< 1)``)."""
    reasons = [f"error: {item.error}"] if item.error else []
    if item.judge is not None and item.judge.error:
        reasons.append(f"judge: {item.judge.error}")
    for name, metric in METRICS.items():
        value = item.metrics.get(name)
        if value is None:
            continue
        if name == "abstention_correct" and value < 1:
            reasons.append("wrong abstention: " + ("abstained on an answerable question" if item.answerable
                                                    else "answered an unanswerable question"))
        elif metric.fail_below is not None and value < metric.fail_below:
            reasons.append(f"{metric.title(k)} = {value:.2f} (< {metric.fail_below:g})")
        elif metric.fail_above is not None and value > metric.fail_above:
            reasons.append(f"{metric.title(k)} = {value:.2f} (> {metric.fail_above:g})")
    return reasons


def summarize(items: list[ItemRecord]) -> Summary:
    """Every metric over ``items``."""
    return Summary(n=len(items), metrics={name: _rounded(metric.aggregate(items)) for name, metric in METRICS.items()})


def breakdown(items: list[ItemRecord], key: Callable[[ItemRecord], str], order: Iterable[str]) -> dict[str, Summary]:
    """``summarize`` per group (e.g. per language or kind), in ``order``, skipping empty groups."""
    groups: dict[str, list[ItemRecord]] = {name: [] for name in order}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return {name: summarize(members) for name, members in groups.items() if members}


def breakdown_multi(items: list[ItemRecord], keys: Callable[[ItemRecord], Iterable[str]]) -> dict[str, Summary]:
    """``summarize`` per label where an item may carry several labels (e.g. suite tags), sorted by label."""
    groups: dict[str, list[ItemRecord]] = {}
    for item in items:
        for label in keys(item):
            groups.setdefault(label, []).append(item)
    return {name: summarize(groups[name]) for name in sorted(groups)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def present(summary: Summary) -> list[Metric]:
    """Registry metrics that have a value in ``summary`` (e.g. judge metrics only after ``--judge``)."""
    return [metric for name, metric in METRICS.items() if summary.metrics.get(name) is not None]
