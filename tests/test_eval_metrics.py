"""Unit tests of agent.evals.metrics (and the registry's use of them), with hand-computed values."""

from __future__ import annotations

import math

import pytest

from agent.evals import metrics as m
from agent.evals.records import AnswerRecord, CitedQuote, ItemRecord, Passage, SentenceRecord
from agent.evals.registry import METRICS, breakdown, failures, score_item, summarize
from agent.evals.suite import Source

# A made-up ranking for an item with two gold sources (0 and 1), k = 5:
#   rank 1: no gold    rank 2: gold 0    rank 3: gold 0 again (already found: counts once)
#   rank 4: no gold    rank 5: gold 1
RANKING = [[], [0], [0], [], [1]]


def test_hit_at_k() -> None:
    assert m.hit_at_k(RANKING, 5) == 1.0
    assert m.hit_at_k(RANKING, 1) == 0.0  # rank 1 matches nothing
    assert m.hit_at_k(RANKING, 2) == 1.0
    assert m.hit_at_k([[], [], []], 3) == 0.0


def test_recall_at_k_counts_each_gold_once() -> None:
    assert m.recall_at_k(RANKING, 2, 5) == 1.0  # {0, 1} / 2
    assert m.recall_at_k(RANKING, 2, 3) == 0.5  # {0} / 2 (rank 3 repeats gold 0)
    assert m.recall_at_k(RANKING, 4, 5) == 0.5  # two of four gold sources


def test_reciprocal_rank() -> None:
    assert m.reciprocal_rank(RANKING, 5) == 0.5  # first match at rank 2
    assert m.reciprocal_rank(RANKING, 1) == 0.0
    assert m.reciprocal_rank([[3]], 5) == 1.0


def test_ndcg_at_k_by_hand() -> None:
    # relevant (new gold) at ranks 2 and 5; rank 3 repeats gold 0 and gains nothing
    # DCG  = 1/log2(2+1) + 1/log2(5+1) = 0.630930 + 0.386853 = 1.017783
    # IDCG = min(|gold|=2, k=5) = 2 relevant first: 1/log2(2) + 1/log2(3) = 1 + 0.630930 = 1.630930
    # nDCG = 1.017783 / 1.630930 = 0.624051
    assert m.ndcg_at_k(RANKING, 2, 5) == pytest.approx(0.624051, abs=1e-6)
    # top 3: DCG = 1/log2(3) = 0.630930; IDCG still over 2 → 0.630930 / 1.630930 = 0.386853
    assert m.ndcg_at_k(RANKING, 2, 3) == pytest.approx(0.386853, abs=1e-6)
    # perfect rankings score exactly 1, whatever the number of passages retrieved
    assert m.ndcg_at_k([[0], [1], [], [], []], 2, 5) == pytest.approx(1.0)
    assert m.ndcg_at_k([[0], [], [], [], []], 1, 5) == pytest.approx(1.0)
    # with more gold than k the ideal stops at k: 3 relevant of k=3 → 1.0
    assert m.ndcg_at_k([[0], [1], [2]], 5, 3) == pytest.approx(1.0)


def test_ndcg_is_not_llama_index_variant() -> None:
    # llama-index's ideal DCG runs over len(retrieved)=5 passages:
    # 1 + 0.630930 + 0.5 + 0.430677 + 0.386853 = 2.948460 → 1.017783 / 2.948460 = 0.345191
    llama_style = (1 / math.log2(3) + 1 / math.log2(6)) / sum(1 / math.log2(i + 1) for i in range(1, 6))
    assert llama_style == pytest.approx(0.345191, abs=1e-6)
    assert m.ndcg_at_k(RANKING, 2, 5) != pytest.approx(llama_style)


def test_retrieval_metrics_need_gold() -> None:
    with pytest.raises(ValueError):
        m.ndcg_at_k(RANKING, 0, 5)
    with pytest.raises(ValueError):
        m.recall_at_k(RANKING, 0, 5)


def test_token_f1() -> None:
    # hyp: lavrov and kerry spoke on saturday (6); ref: kerry and lavrov spoke saturday evening (6)
    # common: lavrov, and, kerry, spoke, saturday = 5 → P = R = 5/6 → F1 = 5/6
    assert m.token_f1("Lavrov and Kerry spoke on Saturday.", "Kerry and Lavrov spoke Saturday evening") == pytest.approx(5 / 6)
    # Arabic, diacritics and Arabic-Indic digits normalized: hyp {قتل, 3500, عسكري} (3), ref adds سوري (4)
    # P = 3/3, R = 3/4 → F1 = 2 * 1 * 0.75 / 1.75 = 0.857143
    assert m.token_f1("قُتِلَ ٣٥٠٠ عسكري", "قتل 3500 عسكري سوري") == pytest.approx(0.857143, abs=1e-6)
    assert m.token_f1("nothing shared", "completely different") == 0.0
    assert m.token_f1("", "") == 1.0


def test_exact_match_normalized() -> None:
    assert m.exact_match("ماريا زاخاروفا [1].", "ماريا زاخاروفا") == 1.0  # markers and punctuation ignored
    assert m.exact_match("مَارِيَا زاخاروفا", "ماريا زاخاروفا") == 1.0  # diacritics ignored
    assert m.exact_match("Maria Zakharova", "Zakharova") == 0.0


def test_key_recall_with_alternatives() -> None:
    keys = [["250 ألف", "250,000"], ["أوبراين", "اوبراين"], ["Geneva"]]
    # answer spells "الف" without hamza and uses Arabic-Indic digits: normalization finds key 1 and 2, not 3 → 2/3
    assert m.key_recall("دعا اوبراين إلى تخفيف معاناة ٢٥٠ الف شخص [1]", keys) == pytest.approx(2 / 3)
    assert m.key_recall("250,000 people, said O'Brien", [["250 ألف", "250,000"]]) == 1.0
    assert m.key_recall("anything", []) is None


def test_chrf_arabic_normalization() -> None:
    hyp = "قُتِلَ ٣٥٠٠ عسكري وأُصيب ١٢٫٨ ألف مدني"  # diacritics, Arabic-Indic digits, Arabic decimal sign, hamza
    ref = "قتل 3500 عسكري واصيب 12.8 الف مدني"
    assert m.chrf(hyp, ref) == pytest.approx(100.0)
    raw = m.chrf(hyp, ref, normalized=False)
    assert raw < 50.0  # about 27: the same words count as different characters


def test_abstention_scores() -> None:
    unanswerable = [True, True, True, False, False, False, False]
    abstained = [True, True, False, True, False, False, False]
    # TP = 2 (items 1, 2), FP = 1 (item 4), FN = 1 (item 3), answerable = 4
    scores = m.abstention_scores(unanswerable, abstained)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.false_rate == pytest.approx(1 / 4)
    none = m.abstention_scores([True, False], [False, False])
    assert none.precision is None and none.recall == 0.0 and none.false_rate == 0.0


def test_citation_metrics() -> None:
    assert m.citation_coverage([[1], [], [1, 2]]) == pytest.approx(2 / 3)
    assert m.citation_coverage([]) is None
    assert m.dangling([1, 2, 2, 5], {1, 2}) == [5]
    assert m.dangling_rate([1, 2, 2, 5], {1, 2}) == pytest.approx(1 / 3)  # distinct markers {1, 2, 5}
    assert m.dangling_rate([], {1}) is None
    assert m.citation_precision([[0], [], [1]]) == pytest.approx(2 / 3)
    assert m.citation_recall([[0], [], [1]], 3) == pytest.approx(2 / 3)
    assert m.citation_precision([]) is None


def test_numbers_grounded() -> None:
    sentences = [
        ("قتل 3500 عسكري و١٢٫٨ ألف مدني [1]", ["وكانت النتيجة أن 3500 عسكري سوري و12.8 ألف مدني لقوا مصرعهم."]),
        ("وذلك في 2016", []),
    ]
    # digits: 3500, 12.8 (Arabic-Indic, grounded), 2016 (no citation) — the marker [1] is not a number → 2/3
    assert m.numbers_grounded(sentences) == pytest.approx(2 / 3)
    assert m.numbers_grounded([("no digits here [2]", ["x"])]) is None


def test_mean_and_percentile() -> None:
    assert m.mean([1.0, None, 0.0]) == 0.5
    assert m.mean([None]) is None
    assert m.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert m.percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)  # 1 + 0.95 * 3 = position 2.85
    assert m.percentile([], 50) is None


def _record(**kwargs) -> ItemRecord:
    base = dict(id="x", question="q", lang="ar", kind="number", answerable=True, reference="3500 عسكري",
                keys=[["3500"], ["12.8"]], sources=[Source(file="a.txt", quote="3500 عسكري")])
    return ItemRecord(**(base | kwargs))


def test_registry_scores_an_item() -> None:
    item = _record(
        retrieved=[Passage(rank=1, chunk_id="c1", file="b.txt", start=0, end=10, score=1.0, text="..."),
                   Passage(rank=2, chunk_id="c2", file="a.txt", start=0, end=10, score=0.5, text="...", gold=[0])],
        answer=AnswerRecord(text="قتل 3500 عسكري [1] [3]", mode="extractive", abstained=False, lang="ar",
                            citations=[CitedQuote(n=1, file="a.txt", start=0, end=10, quote="قتل 3500 عسكري", gold=[0])],
                            sentences=[SentenceRecord(text="قتل 3500 عسكري", citations=[1])]),
        latency_s=0.2,
    )
    item.metrics = score_item(item, 5)
    assert item.metrics["hit_at_k"] == 1.0 and item.metrics["mrr"] == 0.5
    assert item.metrics["key_recall"] == 0.5
    assert item.metrics["dangling_rate"] == 0.5  # [3] names no citation
    assert item.metrics["citation_precision"] == 1.0 and item.metrics["numbers_grounded"] == 1.0
    assert item.metrics["abstention_correct"] == 1.0
    reasons = failures(item, 5)
    assert "key-fact recall = 0.50 (< 1)" in reasons
    assert any(r.startswith("dangling markers") for r in reasons)


def test_registry_group_metrics() -> None:
    answered = AnswerRecord(text="x", mode="extractive", abstained=False, lang="ar")
    abstained = AnswerRecord(text="-", mode="extractive", abstained=True, lang="en")
    items = [
        _record(id="a", answer=abstained, latency_s=1.0),  # answerable, abstained: false abstention
        _record(id="b", lang="en", kind="unanswerable", answerable=False, sources=[], keys=[], answer=abstained, latency_s=3.0),
        _record(id="c", lang="en", kind="unanswerable", answerable=False, sources=[], keys=[], answer=answered, latency_s=2.0),
    ]
    for item in items:
        item.metrics = score_item(item, 5)
    summary = summarize(items).metrics
    assert summary["abstention_precision"] == 0.5 and summary["abstention_recall"] == 0.5
    assert summary["false_abstention_rate"] == 1.0
    assert summary["latency_p50"] == 2.0
    assert summary["hit_at_k"] == 0.0  # only item a has gold, and nothing was retrieved
    by_lang = breakdown(items, lambda i: i.lang, ["ar", "en"])
    assert by_lang["en"].n == 2 and by_lang["en"].metrics["abstention_recall"] == 0.5
    wrong = failures(items[2], 5)
    assert "wrong abstention: answered an unanswerable question" in wrong


def test_every_metric_has_one_way_to_score() -> None:
    for name, metric in METRICS.items():
        assert metric.name == name
        assert metric.label and metric.description
