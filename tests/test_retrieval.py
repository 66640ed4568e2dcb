"""Retrieval over the seeded store: BM25, dense, hybrid fusion and date/outlet filters (agent.pipeline.Dalil.search)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import load_settings
from agent.errors import DalilError
from agent.pipeline import Dalil
from agent.retrieval.retrieve import SearchFilters

F000, F001, F002, F003, F004 = (
    "000_05ef239a9c3f61f9.txt", "001_a9aefecacaf48a1a.txt", "002_e83c710a14adfa23.txt",
    "003_6fb0efb9cf778144.txt", "004_2399a9a2b0d5824e.txt",
)
MODES = ("bm25", "dense", "hybrid")


@pytest.fixture
def dalil(seeded_store: Path) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": seeded_store}}))


def _ids(nodes: list) -> list[str]:
    return [n.node.node_id for n in nodes]


# --- each mode finds the right passage -------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("query", "expected_file", "expected_text", "k"),
    [
        ("انهيار الهدنة", F001, "وانهارت الهدنة", 3),
        ("زاخاروفا", F001, "ماريا زاخاروفا", 1),
        ("بيسكوف", F003, "ديمتري بيسكوف", 1),
        ("شويغو", F004, "سيرغي شويغو", 1),
        ("قنابل حارقة", F002, "قنابل حارقة", 1),
        ("ستيفن أوبراين", F001, "ستيفن أوبراين", 1),
    ],
)
def test_each_mode_finds_the_passage(dalil: Dalil, mode: str, query: str, expected_file: str, expected_text: str, k: int) -> None:
    result = dalil.search(query, k, mode=mode)  # type: ignore[arg-type]
    assert 1 <= len(result.hits) <= k
    assert any(h.file == expected_file and expected_text in h.text for h in result.hits), [h.text[:50] for h in result.hits]


@pytest.mark.parametrize("mode", MODES)
def test_diacritized_query_finds_the_same_as_plain(dalil: Dalil, mode: str) -> None:
    plain = _ids(dalil.retrieve("انهيار الهدنة", 5, mode=mode))  # type: ignore[arg-type]
    marked = _ids(dalil.retrieve("انْهِيَارُ الهُدْنَةِ", 5, mode=mode))  # type: ignore[arg-type]
    assert plain and marked == plain


@pytest.mark.parametrize("mode", MODES)
def test_spelling_variant_query_finds_other_spellings(dalil: Dalil, mode: str) -> None:
    """"سريجي" (seed 000's misspelling) finds the articles that write "سيرغي" and "سيرجي"."""
    hits = dalil.search("سريجي لافروف", 10, mode=mode).hits  # type: ignore[arg-type]
    texts = [h.text for h in hits]
    assert any("سيرغي لافروف" in t for t in texts)
    assert any("سيرجي لافروف" in t for t in texts)


def test_ranks_and_scores_are_ordered(dalil: Dalil) -> None:
    for mode in MODES:
        hits = dalil.search("لافروف كيري حلب", 8, mode=mode).hits  # type: ignore[arg-type]
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
        scores = [h.score for h in hits]
        assert scores == sorted(scores, reverse=True), mode
        assert len({h.chunk_id for h in hits}) == len(hits)


# --- hybrid fusion ---------------------------------------------------------------------------

FUSION_QUERIES = ["زاخاروفا", "عقوبات على دمشق", "انهيار الهدنة", "لافروف", "المستشفيات في شرق حلب"]


@pytest.mark.parametrize("query", FUSION_QUERIES)
def test_hybrid_hits_come_from_dense_or_bm25_candidates(dalil: Dalil, query: str) -> None:
    candidates = dalil.settings.retrieval.candidates
    dense = set(_ids(dalil.retrieve(query, candidates, mode="dense")))
    bm25 = set(_ids(dalil.retrieve(query, candidates, mode="bm25")))
    hybrid = _ids(dalil.retrieve(query, 5, mode="hybrid"))
    assert hybrid and len(hybrid) <= 5
    assert set(hybrid) <= dense | bm25


@pytest.mark.parametrize("query", FUSION_QUERIES)
def test_hybrid_ranks_chunks_found_by_both_above_chunks_found_by_one(dalil: Dalil, query: str) -> None:
    """Reciprocal-rank fusion of two lists of at most ``candidates`` (20) items: a chunk in both
    lists scores at least 2/(60+20), more than any chunk in one list (at most 1/60)."""
    candidates = dalil.settings.retrieval.candidates
    dense = set(_ids(dalil.retrieve(query, candidates, mode="dense")))
    bm25 = set(_ids(dalil.retrieve(query, candidates, mode="bm25")))
    hybrid = dalil.retrieve(query, 8, mode="hybrid")
    in_both = [n.node.node_id in dense and n.node.node_id in bm25 for n in hybrid]
    assert in_both[0], "the top hybrid hit should be found by both retrievers"
    first_single = in_both.index(False) if False in in_both else len(in_both)
    assert all(in_both[:first_single]) and not any(in_both[first_single:])
    both_scores = [n.score for n, b in zip(hybrid, in_both, strict=True) if b]
    single_scores = [n.score for n, b in zip(hybrid, in_both, strict=True) if not b]
    if single_scores:
        assert min(both_scores) > max(single_scores)


def test_hybrid_found_by_both_lists(dalil: Dalil) -> None:
    """The Zakharova chunk is first for BM25 and for dense, and first (with the top score) for hybrid."""
    top_dense = dalil.search("زاخاروفا", 5, mode="dense").hits
    top_bm25 = dalil.search("زاخاروفا", 5, mode="bm25").hits
    top_hybrid = dalil.search("زاخاروفا", 5, mode="hybrid").hits
    assert top_dense[0].chunk_id == top_bm25[0].chunk_id == top_hybrid[0].chunk_id
    assert "ماريا زاخاروفا" in top_hybrid[0].text
    assert len(top_bm25) == 1  # one chunk names her
    assert top_hybrid[0].score > top_hybrid[1].score


def test_hybrid_ranking_uses_bm25_not_only_dense(dalil: Dalil) -> None:
    query = "عقوبات على دمشق"
    dense = _ids(dalil.retrieve(query, 3, mode="dense"))
    bm25_all = set(_ids(dalil.retrieve(query, dalil.settings.retrieval.candidates, mode="bm25")))
    hybrid = _ids(dalil.retrieve(query, 3, mode="hybrid"))
    assert any(cid not in bm25_all for cid in dense), "premise: dense alone ranks a non-lexical match in its top 3"
    assert hybrid != dense
    assert all(cid in bm25_all for cid in hybrid)


def test_hybrid_ranking_uses_dense_not_only_bm25(dalil: Dalil) -> None:
    """A misspelled name ("زخاروفا") has no BM25 match; hybrid still finds her through dense retrieval."""
    assert dalil.search("زخاروفا", 5, mode="bm25").hits == []
    hybrid = dalil.search("زخاروفا", 3, mode="hybrid").hits
    assert hybrid and "ماريا زاخاروفا" in hybrid[0].text


def test_k_limits_the_number_of_hits(dalil: Dalil) -> None:
    for k in (1, 2, 7):
        for mode in MODES:
            assert len(dalil.search("حلب", k, mode=mode).hits) == k  # type: ignore[arg-type]


def test_empty_query_gives_no_hits(dalil: Dalil) -> None:
    assert dalil.search("   ", 5).hits == []


def test_query_matching_nothing_lexically_gives_no_bm25_hits(dalil: Dalil) -> None:
    assert dalil.search("بورصة طوكيو", 5, mode="bm25").hits == []


def test_empty_store_is_a_clear_error(tmp_path: Path) -> None:
    empty = Dalil(load_settings(None, {"store": {"path": tmp_path / "empty"}}))
    with pytest.raises(DalilError, match="empty"):
        empty.search("حلب", 3)


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_date_from_filter(dalil: Dalil, mode: str) -> None:
    unfiltered = {h.file for h in dalil.search("لافروف كيري", 40, mode=mode).hits}  # type: ignore[arg-type]
    assert {F002, F004} <= unfiltered  # premise: without the filter both are found
    hits = dalil.search("لافروف كيري", 40, SearchFilters(date_from=dt.date(2016, 10, 1)), mode=mode).hits  # type: ignore[arg-type]
    files = {h.file for h in hits}
    assert files and files <= {F000, F001, F003}
    assert all(h.published >= "2016-10-01" for h in hits)


@pytest.mark.parametrize("mode", MODES)
def test_date_to_and_window_filters(dalil: Dalil, mode: str) -> None:
    to = dalil.search("لافروف كيري", 40, SearchFilters(date_to=dt.date(2016, 9, 30)), mode=mode).hits  # type: ignore[arg-type]
    assert {h.file for h in to} == {F002, F004}
    window = SearchFilters(date_from=dt.date(2016, 9, 1), date_to=dt.date(2016, 9, 30))
    hits = dalil.search("لافروف كيري", 40, window, mode=mode).hits  # type: ignore[arg-type]
    assert {h.file for h in hits} == {F002}
    same_day = SearchFilters(date_from=dt.date(2016, 10, 3), date_to=dt.date(2016, 10, 3))
    assert {h.file for h in dalil.search("حلب", 40, same_day, mode=mode).hits} == {F001}  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_outlet_filter(dalil: Dalil, mode: str) -> None:
    hits = dalil.search("لافروف", 20, SearchFilters(outlet="سيريانيوز"), mode=mode).hits  # type: ignore[arg-type]
    assert hits and {h.file for h in hits} == {F004}
    assert all(h.outlet == "سيريانيوز" for h in hits)
    assert dalil.search("لافروف", 20, SearchFilters(outlet="بي بي سي"), mode=mode).hits == []  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_filters_combine(dalil: Dalil, mode: str) -> None:
    both = SearchFilters(date_from=dt.date(2016, 10, 1), outlet="وكالات")
    hits = dalil.search("حلب", 20, both, mode=mode).hits  # type: ignore[arg-type]
    assert hits and {h.file for h in hits} == {F003}
    clash = SearchFilters(date_from=dt.date(2016, 10, 1), outlet="سيريانيوز")  # 004 is from August
    assert dalil.search("حلب", 20, clash, mode=mode).hits == []  # type: ignore[arg-type]


def test_cli_search_filters(seeded_store: Path) -> None:
    runner = CliRunner()
    base = ["search", "لافروف كيري", "--json", "-k", "30", "--store", str(seeded_store)]
    result = runner.invoke(app, [*base, "--from", "2016-10-01"])
    assert result.exit_code == 0, result.output
    files = {h["file"] for h in json.loads(result.stdout)["hits"]}
    assert files and not files & {F002, F004}

    result = runner.invoke(app, [*base, "--outlet", "سيريانيوز"])
    assert result.exit_code == 0, result.output
    assert {h["file"] for h in json.loads(result.stdout)["hits"]} == {F004}

    result = runner.invoke(app, [*base, "--from", "2016-10-05", "--to", "2016-10-01"])
    assert result.exit_code == 1
    assert "--from is after --to" in result.stderr

    result = runner.invoke(app, [*base, "--mode", "fuzzy"])
    assert result.exit_code == 1
    assert "--mode" in result.stderr and "Traceback" not in result.output
