"""Wire copies: one agency story carried by three outlets is one story at ingest, shown once in search and
answers with the outlets that also carried it (agent.index.wire, agent.retrieval.copies, agent.pipeline)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import load_settings
from agent.index import wire
from agent.pipeline import Dalil
from agent.text import arabic

FIXTURES = Path(__file__).resolve().parent / "fixtures_wire"
COPIES = {"wire_tass_ar.txt": "وكالة سبوتنيك", "wire_outlet_b.txt": "روسيا اليوم", "wire_outlet_c.txt": "الشرق الأوسط"}
UNRELATED = "opec_algiers.txt"
QUERIES = [
    "لافروف مستعد لتمديد الهدنة الإنسانية في حلب ثمان وأربعين ساعة",
    "استئناف المشاورات بين الخبراء العسكريين الروس والأميركيين في جنيف",
    "مئتين وخمسين ألف شخص محاصرون في الأحياء الشرقية لحلب",
]


def _dalil(store: Path, **wire_settings: Any) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": store}, "wire": wire_settings}))


def _stories(dalil: Dalil) -> dict[str, str]:
    """file → story id of every stored article."""
    records = dalil.store.registry.documents(with_text=False)
    story_of = dalil.store.registry.stories_of([d.doc_id for d in records])
    return {d.file: story_of[d.doc_id] for d in records if d.doc_id in story_of}


def _words(text: str) -> set[str]:
    return set(arabic.words(text))


def _copies_in(hits: list[dict[str, Any]], stories: dict[str, str]) -> list[tuple[str, str]]:
    """Pairs of hits from two articles of one story whose passages are mostly the same words (checked here with
    plain word sets, not with the shingles the collapsing uses)."""
    found = []
    for i, a in enumerate(hits):
        for b in hits[i + 1:]:
            if a["file"] != b["file"] and stories.get(a["file"]) is not None and stories.get(a["file"]) == stories.get(b["file"]):
                x, y = _words(a["text"]), _words(b["text"])
                if len(x & y) / min(len(x), len(y)) >= 0.7:
                    found.append((a["file"], b["file"]))
    return found


@pytest.fixture(scope="module")
def wire_store(tmp_path_factory: pytest.TempPathFactory, seeds_dir_module: Path) -> Path:
    """The seeds and the wire fixtures, ingested once (read-only for the tests)."""
    path = tmp_path_factory.mktemp("wire") / "store"
    report = Dalil(load_settings(None, {"store": {"path": path}})).ingest([seeds_dir_module, FIXTURES])
    assert len(report.added) == 9 and not report.errors
    return path


@pytest.fixture(scope="module")
def seeds_dir_module() -> Path:
    return Path(__file__).resolve().parents[1] / "seeds"


def test_normalized_copies_have_the_same_signature() -> None:
    text = (FIXTURES / "wire_tass_ar.txt").read_text(encoding="utf-8")
    marked = text.replace("لافروف", "لافْرُوف").replace("سيرغي", "سيرغِي").replace("إطلاق", "اطلاق").replace("الإنسانية", "الانسانيه")
    a, b = wire.signature(text), wire.signature(marked)
    assert a is not None and b is not None
    assert wire.similarity(a.tobytes(), b.tobytes()) == 1.0  # diacritics, hamza and ta marbuta forms do not count
    assert wire.signature("خبر قصير من سطر واحد") is None  # too short to tell a copy


def test_three_outlet_variants_are_one_story_and_the_others_are_not(wire_store: Path) -> None:
    stories = _stories(_dalil(wire_store))
    assert len(stories) == 9  # every article has a story
    assert len({stories[f] for f in COPIES}) == 1
    story = stories["wire_tass_ar.txt"]
    others = {f: s for f, s in stories.items() if f not in COPIES}
    assert story not in others.values()
    assert len(set(others.values())) == 6  # the five seeds and the unrelated article: no false story


def test_the_seeds_make_no_story_of_two(seeded_store: Path) -> None:
    stories = _stories(_dalil(seeded_store))
    assert len(stories) == 5 and len(set(stories.values())) == 5


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_top_k_holds_no_two_copies(wire_store: Path, mode: str) -> None:
    dalil = _dalil(wire_store)
    stories = _stories(dalil)
    crowded = 0
    for query in QUERIES:
        hits = [h.model_dump() for h in dalil.search(query, k=5, mode=mode).hits]  # type: ignore[arg-type]
        assert len(hits) == 5  # collapsing still fills k
        assert any(h["file"] in COPIES for h in hits)
        assert _copies_in(hits, stories) == []
        off = _dalil(wire_store, enabled=False)
        crowded += len(_copies_in([h.model_dump() for h in off.search(query, k=5, mode=mode).hits], stories))  # type: ignore[arg-type]
    assert crowded > 0  # without collapsing, the copies crowd the same queries (the check above can fail)


def test_search_and_ask_say_who_also_carried_it(wire_store: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["search", QUERIES[0], "--store", str(wire_store), "-k", "3", "--json"])
    assert result.exit_code == 0, result.output
    top = json.loads(result.output)["hits"][0]
    assert top["file"] in COPIES
    carried = top["also_carried_by"]
    assert {c["file"] for c in carried} == set(COPIES) - {top["file"]}
    assert {c["outlet"] for c in carried} == {COPIES[c["file"]] for c in carried}
    assert all(set(c) == {"doc_id", "file", "outlet", "published"} for c in carried)
    unrelated = [h for h in json.loads(result.output)["hits"] if h["file"] not in COPIES]
    assert all(h["also_carried_by"] == [] for h in unrelated)

    text = runner.invoke(app, ["search", QUERIES[0], "--store", str(wire_store), "-k", "3"])
    assert text.exit_code == 0
    others = sorted(carried, key=lambda c: (c["published"], c["file"]))
    assert "also carried by: " + ", ".join(f"{c['outlet']} ({c['published']})" for c in others) in text.output

    question = "كم ساعة مستعدة موسكو لتمديد الهدنة في حلب؟"
    asked = runner.invoke(app, ["ask", question, "--store", str(wire_store), "--json"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.output)
    cited = answer["citations"][0]
    assert cited["file"] in COPIES and "ثمان" in cited["quote"]
    source = (FIXTURES / cited["file"]).read_text(encoding="utf-8")
    assert source[cited["start"]:cited["end"]] == cited["quote"]  # the quote stays verbatim, from the one article cited
    assert {c["file"] for c in cited["also_carried_by"]} == set(COPIES) - {cited["file"]}
    shown = runner.invoke(app, ["ask", question, "--store", str(wire_store)])
    assert shown.exit_code == 0 and "also carried by: " in shown.output


def test_removing_a_copy_keeps_the_others_story(tmp_path: Path, seeds_dir: Path) -> None:
    store = tmp_path / "store"
    _dalil(store).ingest([FIXTURES])
    dalil = _dalil(store)
    # the agency's own text is what joined the other two (outlet c alone is too far from b): removing it
    # must not split them
    assert dalil.remove(["wire_tass_ar.txt"]) == ["wire_tass_ar.txt"]
    stories = _stories(_dalil(store))
    assert set(stories) == {"wire_outlet_b.txt", "wire_outlet_c.txt", UNRELATED}
    assert stories["wire_outlet_b.txt"] == stories["wire_outlet_c.txt"] != stories[UNRELATED]
    hits = _dalil(store).search(QUERIES[0], k=3).hits
    assert [c.file for c in hits[0].also_carried_by] == [f for f in ("wire_outlet_b.txt", "wire_outlet_c.txt") if f != hits[0].file]


def test_reingest_unchanged_is_a_no_op(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _dalil(store).ingest([FIXTURES])
    dalil = _dalil(store)
    before, generation = _stories(dalil), dalil.store.registry.generation()
    again = _dalil(store).ingest([FIXTURES])
    assert len(again.unchanged) == 4 and not again.added and not again.updated
    dalil = _dalil(store)
    assert _stories(dalil) == before and dalil.store.registry.generation() == generation


def test_copies_ingested_one_by_one_in_any_order_are_one_story(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    store = tmp_path / "store"
    for name in ["wire_outlet_c.txt", "wire_outlet_b.txt", "wire_tass_ar.txt"]:  # c and b are too far apart to match
        shutil.copy(FIXTURES / name, folder / name)
        _dalil(store).ingest([folder / name])
    stories = _stories(_dalil(store))
    assert len(stories) == 3 and len(set(stories.values())) == 1


def test_an_edited_copy_leaves_its_story_and_a_disabled_ingest_is_back_filled(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(FIXTURES, folder)
    store = tmp_path / "store"
    _dalil(store, enabled=False).ingest([folder])
    assert _stories(_dalil(store)) == {}  # wire.enabled off: nothing marked
    _dalil(store).ingest([folder])  # on again: the stored articles are marked
    stories = _stories(_dalil(store))
    assert len(stories) == 4 and len({stories[f] for f in COPIES}) == 1

    (folder / "wire_outlet_b.txt").write_text((FIXTURES / UNRELATED).read_text(encoding="utf-8").replace("أوبك", "أوبك+"),
                                              encoding="utf-8")
    report = _dalil(store).ingest([folder])
    assert report.updated == ["wire_outlet_b.txt"]
    stories = _stories(_dalil(store))
    assert stories["wire_outlet_b.txt"] == stories[UNRELATED]  # it now copies the OPEC article
    assert stories["wire_tass_ar.txt"] == stories["wire_outlet_c.txt"] != stories["wire_outlet_b.txt"]


def test_a_published_record_carries_its_story(wire_store: Path) -> None:
    """With a Chroma server, other machines' caches get each document's story from its published record."""
    from agent.index.shared import prepared

    dalil = _dalil(wire_store)
    doc = next(d for d in dalil.store.registry.documents(with_text=False) if d.file == "wire_outlet_c.txt")
    record = dalil.store.registry.export_document(doc.doc_id)
    assert record is not None
    mark = prepared(json.loads(json.dumps(record))).story
    assert mark is not None and mark == dalil.store.registry.story_marks([doc.doc_id])[doc.doc_id]


@pytest.mark.slow  # a real `chroma run` server
def test_another_machine_sees_the_same_stories_through_a_chroma_server(tmp_path: Path) -> None:
    from tests.test_store_server import ChromaServer

    chroma = ChromaServer(tmp_path / "chroma")
    chroma.start()
    try:
        def machine(name: str) -> Dalil:
            return Dalil(load_settings(None, {"store": {"path": tmp_path / name, "url": chroma.url}}))

        folder = tmp_path / "in"
        folder.mkdir()
        for name in ["wire_outlet_c.txt", "wire_outlet_b.txt", "wire_tass_ar.txt"]:  # the last one joins the first two's stories
            shutil.copy(FIXTURES / name, folder / name)
            machine("a").ingest([folder / name])
        here, there = _stories(machine("a")), _stories(machine("b"))
        assert there == here and len(set(there.values())) == 1
        assert machine("b").remove(["wire_tass_ar.txt"]) == ["wire_tass_ar.txt"]
        there = _stories(machine("c"))
        assert set(there) == {"wire_outlet_b.txt", "wire_outlet_c.txt"} and len(set(there.values())) == 1
    finally:
        chroma.kill()


@pytest.mark.slow  # processes killed mid-write
@pytest.mark.parametrize("point", ["vectors-added", "rows-committed"])
def test_an_ingest_killed_mid_write_leaves_the_stories_right_once_run_again(tmp_path: Path, point: str) -> None:
    """A story row commits with its document's rows: a `kill -9` before or after that commit, then a normal run, gives
    the same stories as an ingest that was never interrupted."""
    import os
    import subprocess
    import sys

    store = tmp_path / "store"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "DALIL_CRASH_AT": point}
    killed = subprocess.run([sys.executable, "-m", "agent", "ingest", str(FIXTURES), "--store", str(store)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9
    report = _dalil(store).ingest([FIXTURES])
    assert not report.errors
    stories = _stories(_dalil(store))
    assert set(stories) == {*COPIES, UNRELATED}
    assert len({stories[f] for f in COPIES}) == 1 and stories[UNRELATED] != stories["wire_tass_ar.txt"]


def test_an_ingest_with_the_worker_process_finds_the_same_story(tmp_path: Path) -> None:
    store = tmp_path / "store"
    Dalil(load_settings(None, {"store": {"path": store}, "chunking": {"worker": True}})).ingest([FIXTURES])
    stories = _stories(_dalil(store))
    assert len(stories) == 4 and len({stories[f] for f in COPIES}) == 1 and stories[UNRELATED] != stories["wire_tass_ar.txt"]
