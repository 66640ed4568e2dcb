"""The eval suite format: the dev suite's shape, verbatim quotes, and one-line errors for bad items."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from agent.errors import DalilError
from agent.evals.gold import GoldSpan, gold_spans, matched, matches
from agent.evals.suite import KINDS, SuiteError, load_suite, read_article, select

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "evals" / "dev.yaml"


def test_dev_suite_quotes_are_verbatim_in_the_seeds(seeds_dir: Path) -> None:
    suite = load_suite(DEV)  # also checks every quote against seeds/
    assert suite.corpus == seeds_dir
    for item in suite.items:
        for source in item.sources:
            assert source.quote in read_article(seeds_dir / source.file), f"{item.id}: quote not verbatim in {source.file}"


def test_dev_suite_shape() -> None:
    items = load_suite(DEV).items
    langs = Counter(i.lang for i in items)
    assert len(items) >= 40
    assert langs["en"] >= 0.4 * len(items) and langs["ar"] >= 0.4 * len(items)
    assert sum(not i.answerable for i in items) >= 0.2 * len(items)
    assert {i.kind for i in items} == set(KINDS)
    assert all(i.sources for i in items if i.answerable)


def _write_suite(tmp_path: Path, items: list[dict], seeds_dir: Path) -> Path:
    (tmp_path / "evals").mkdir(exist_ok=True)
    path = tmp_path / "evals" / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "items": items}, allow_unicode=True), encoding="utf-8")
    return path


GOOD = {
    "id": "g-1", "question": "من؟", "lang": "ar", "kind": "factoid", "answer": "زاخاروفا",
    "keys": [["زاخاروفا"], "ماريا"],  # a bare string is one alternative
    "sources": [{"file": "001_a9aefecacaf48a1a.txt", "quote": "ماريا زاخاروفا"}],
}


def test_one_line_per_bad_item_naming_id_and_field(tmp_path: Path, seeds_dir: Path) -> None:
    items = [
        GOOD,
        {**GOOD, "id": "bad-lang", "lang": "fr"},
        {**GOOD, "id": "bad-quote", "sources": [{"file": "001_a9aefecacaf48a1a.txt", "quote": "not in this article"}]},
        {**GOOD, "id": "bad-file", "sources": [{"file": "missing.txt", "quote": "x"}]},
        {**GOOD, "id": "g-1"},
        {k: v for k, v in GOOD.items() if k != "id"},
        {**GOOD, "id": "bad-kind", "kind": "unanswerable"},
        {**GOOD, "id": "no-sources", "sources": []},
        {**GOOD, "id": "extra", "colour": "red"},
    ]
    with pytest.raises(SuiteError) as info:
        load_suite(_write_suite(tmp_path, items, seeds_dir), seeds_dir)
    problems = info.value.problems
    assert all("\n" not in p for p in problems)
    text = "\n".join(problems)
    assert "item #2 (bad-lang): field lang:" in text
    assert "item #3 (bad-quote): sources[0].quote not found verbatim in 001_a9aefecacaf48a1a.txt" in text
    assert "item #4 (bad-file): sources[0].file missing.txt not found" in text
    assert "item #5 (g-1): duplicate id" in text
    assert "item #6: field id: Field required" in text
    assert "item #7 (bad-kind): kind unanswerable needs answerable: false" in text
    assert "item #8 (no-sources): an answerable item needs at least one source" in text
    assert "item #9 (extra): field colour:" in text
    assert len(problems) == 8


def test_default_corpus_is_seeds_beside_the_suite_folder(tmp_path: Path, seeds_dir: Path) -> None:
    path = _write_suite(tmp_path, [GOOD], seeds_dir)
    with pytest.raises(SuiteError, match="corpus folder not found"):
        load_suite(path)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "001_a9aefecacaf48a1a.txt").write_bytes((seeds_dir / "001_a9aefecacaf48a1a.txt").read_bytes())
    suite = load_suite(path)
    assert suite.items[0].keys == [["زاخاروفا"], ["ماريا"]]


@pytest.mark.parametrize("text", ["items: []", "just a string", "items: [\n  - {id: 1"])
def test_unusable_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SuiteError):
        load_suite(path, tmp_path)


def test_select_filters() -> None:
    items = load_suite(DEV).items
    assert [i.id for i in select(items, only=["en-001", "ar-002"])] == ["ar-002", "en-001"]
    assert {i.kind for i in select(items, kind="number")} == {"number"}
    assert len(select(items, kind="unanswerable", limit=3)) == 3
    with pytest.raises(DalilError, match="no item with id nope"):
        select(items, only=["nope"])
    with pytest.raises(DalilError, match="--kind must be one of"):
        select(items, kind="trivia")


def test_gold_matching_rules() -> None:
    text = "aaaa. وقالت المتحدثة ماريا زاخاروفا إن الوضع خطير. bbbb"
    quote = "ماريا زاخاروفا إن الوضع خطير"
    start = text.find(quote)
    gold = GoldSpan("f.txt", "ماريا زاخاروفا ان الوضع خطير", start, start + len(quote))  # normalized quote
    # the chunk text contains the quote (here with diacritics, which normalization removes)
    assert matches(gold, "dir/f.txt", "قالت مَارِيَا زاخاروفا إن الوضع خطير", 100, 140)
    # no text containment, but the span covers 60% of the quote → match; 40% → no match
    n = len(quote)
    assert matches(gold, "f.txt", "x", start, start + int(0.6 * n))
    assert not matches(gold, "f.txt", "x", start + int(0.6 * n), start + n + 50)
    # another file never matches
    assert not matches(gold, "g.txt", quote, start, start + n)
    assert matched([gold, gold], "f.txt", quote, 0, 1) == [0, 1]


def test_gold_spans_locate_quotes() -> None:
    suite = load_suite(DEV)
    item = next(i for i in suite.items if i.id == "ar-007")
    span = gold_spans(item, suite)[0]
    assert suite.text_of(span.file)[span.start:span.end] == item.sources[0].quote
