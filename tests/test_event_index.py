"""The event index built at ingest (``agent.events.index``): stored reports, updates, crashes, migration, reading."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import sqlite3
import subprocess
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import load_settings
from agent.events import index
from agent.events.corpus import Citer, load_articles
from agent.events.events import extract
from agent.events.models import Report
from agent.index.store import SCHEMA_VERSION
from agent.pipeline import Dalil
from agent.sequence import brief
from tests.test_reliability_crash import child_env, dalil_cmd, write_articles

CALL_DAYS = ["2016-08-05", "2016-08-16", "2016-09-28", "2016-09-30", "2016-10-01", "2016-10-05", "2016-10-28"]


def open_dalil(store: Path, **overrides: object) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": store}, **overrides}))


def registry_path(store: Path) -> Path:
    return next(store.glob("dalil-*.sqlite"))


def query(store: Path, sql: str, params: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(registry_path(store))
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def stored(store: Path) -> dict[str, tuple[int, list[dict], list[list[str]]]]:
    """doc_id → (cited, reports as JSON, chunk ids of each), read straight from the registry."""
    out: dict[str, tuple[int, list[dict], list[list[str]]]] = {}
    for doc_id, cited in query(store, "SELECT doc_id, cited FROM reports_indexed"):
        rows = query(store, "SELECT report_id, data FROM reports WHERE doc_id = ? ORDER BY ordinal", (doc_id,))
        reports = [json.loads(zlib.decompress(data)) for _, data in rows]
        chunks = [sorted(c for (c,) in query(store, "SELECT chunk_id FROM report_chunks WHERE report_id = ?", (rid,))) for rid, _ in rows]
        out[doc_id] = (cited, reports, chunks)
    return out


def extracted_now(dalil: Dalil) -> dict[str, tuple[int, list[dict], list[list[str]]]]:
    """What the rules give for every stored document, extracted now from the registry's text (as before the index)."""
    registry = dalil.store.registry
    spans: dict[str, list[tuple[str, int, int]]] = {}
    for c in registry.chunks():
        spans.setdefault(c.doc_id, []).append((c.chunk_id, c.start_char, c.end_char))
    entities = index.entities_for(dalil.analyzer, dalil.settings.lexicon)
    out = {}
    for record in registry.documents():
        article = index.article_of(record.doc_id, record.text, dataclasses.asdict(record), spans.get(record.doc_id, []))
        if article is None:
            out[record.doc_id] = (0, [], [])
            continue
        citer = Citer()
        reports = extract(article, entities, dalil.analyzer, citer)
        out[record.doc_id] = (len(citer.numbers), [json.loads(r.model_dump_json()) for r in reports],
                              [sorted(index.report_chunks(r, article)) for r in reports])
    return out


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def forget_index(store: Path) -> None:
    """Drop the stored reports (readers then extract every article in memory, as before the index)."""
    db = sqlite3.connect(registry_path(store))
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("DELETE FROM reports_indexed")
    db.execute("DELETE FROM reports")
    db.commit()
    db.close()
    index._CORPORA.clear()


# --- what is stored ---------------------------------------------------------------------------------


def test_the_reports_stored_at_ingest_are_what_extract_gives_for_each_article(seeded_store: Path) -> None:
    dalil = open_dalil(seeded_store)
    kept = stored(seeded_store)
    assert len(kept) == 5 and sum(len(r) for _, r, _ in kept.values()) >= 20
    assert kept == extracted_now(dalil)
    assert all(all(chunks) for _, _, chunk_lists in kept.values() for chunks in chunk_lists), "a report without its chunks"
    assert query(seeded_store, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    # the stored JSON reads back as the same pydantic reports
    corpus = index.load_corpus(dalil)
    assert corpus.extracted == 0
    for doc_id, (_, reports, _) in kept.items():
        assert [r.model_dump(mode="json") for r in corpus.docs[doc_id].reports] == reports


@pytest.mark.slow
def test_the_worker_process_stores_the_same_reports(tmp_path: Path, seeds_dir: Path, seeded_store: Path) -> None:
    dalil = open_dalil(tmp_path / "store", chunking={"worker": True})
    assert len(dalil.ingest([seeds_dir]).added) == 5
    assert stored(tmp_path / "store") == stored(seeded_store)


def test_a_changed_article_replaces_its_reports_and_an_unchanged_one_keeps_them(seeds_dir: Path, tmp_path: Path) -> None:
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    shutil.copytree(seeds_dir, corpus)
    dalil = open_dalil(store)
    assert len(dalil.ingest([corpus]).added) == 5
    rows_before = query(store, "SELECT report_id, doc_id, data FROM reports ORDER BY report_id")
    assert len(dalil.ingest([corpus]).unchanged) == 5
    assert query(store, "SELECT report_id, doc_id, data FROM reports ORDER BY report_id") == rows_before  # not touched

    target = corpus / "001_a9aefecacaf48a1a.txt"
    text = target.read_text(encoding="utf-8")
    assert "أمس الأول السبت" in text
    target.write_text(text.replace("أمس الأول السبت", "يوم الخميس"), encoding="utf-8")
    doc = next(d for d, f in query(store, "SELECT doc_id, file FROM documents") if f == target.name)
    report = dalil.ingest([corpus])
    assert len(report.updated) == 1 and len(report.unchanged) == 4
    rows_after = query(store, "SELECT report_id, doc_id, data FROM reports ORDER BY report_id")
    old_ids = {r[0] for r in rows_before if r[1] == doc}
    assert old_ids and not old_ids & {r[0] for r in rows_after}  # the changed document's reports were replaced
    orphans = query(store, "SELECT COUNT(*) FROM report_chunks WHERE report_id NOT IN (SELECT report_id FROM reports)")
    assert orphans == [(0,)]
    # the other documents' rows are the very same rows
    assert [r for r in rows_after if r[1] != doc] == [r for r in rows_before if r[1] != doc]
    assert stored(store) == extracted_now(open_dalil(store))
    days = {r["date"]["date"] for r in stored(store)[doc][1] if r["type"] == "call"}
    assert "2016-09-29" in days  # the Thursday before the 3 October article


def test_a_removed_document_takes_its_reports_with_it(store: Path) -> None:
    doc_id = query(store, "SELECT doc_id FROM documents ORDER BY file LIMIT 1")[0][0]
    assert query(store, "SELECT COUNT(*) FROM reports WHERE doc_id = ?", (doc_id,))[0][0] > 0
    dalil = open_dalil(store)
    with dalil.store.registry.transaction() as db:
        db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
    assert query(store, "SELECT COUNT(*) FROM reports WHERE doc_id = ?", (doc_id,)) == [(0,)]
    assert query(store, "SELECT COUNT(*) FROM report_chunks WHERE report_id NOT IN (SELECT report_id FROM reports)") == [(0,)]
    assert doc_id not in {r.doc_id for r in index.stored_reports(dalil)}


@pytest.mark.slow
@pytest.mark.parametrize("point", ["vectors-added", "rows-committed"])
def test_a_crash_leaves_the_reports_consistent_with_the_documents(tmp_path: Path, point: str) -> None:
    corpus, store = tmp_path / "corpus", tmp_path / "store"
    names = write_articles(corpus, 6, prefix="c")
    assert subprocess.run(dalil_cmd("ingest", str(corpus), "--store", str(store)), env=child_env(), capture_output=True).returncode == 0
    for name in names:  # every article changes: the first call it reports gets another day
        path = corpus / name
        path.write_text("قال لافروف أمس الأحد إن الاتصال الهاتفي مع كيري جرى يوم الجمعة. " + path.read_text(encoding="utf-8"),
                        encoding="utf-8")
    crashed = subprocess.run(dalil_cmd("ingest", str(corpus), "--store", str(store)), env=child_env(DALIL_CRASH_AT=point),
                             capture_output=True, text=True)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    expected = extracted_now(open_dalil(store))
    assert stored(store) == expected  # the registry's documents (old or new) and their reports agree
    texts = [t for (t,) in query(store, "SELECT text FROM documents")]
    assert all(t.startswith("قال لافروف") for t in texts) == (point == "rows-committed")
    again = subprocess.run(dalil_cmd("ingest", str(corpus), "--store", str(store)), env=child_env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert stored(store) == extracted_now(open_dalil(store))
    assert query(store, "SELECT COUNT(*) FROM reports_indexed") == [(len(names),)]


# --- migration -----------------------------------------------------------------------------------


def test_a_layout_1_registry_is_migrated_read_in_memory_and_back_filled_by_the_next_ingest(store: Path, seeds_dir: Path,
                                                                                        seeded_store: Path) -> None:
    expected = cli("timeline", "--json", "--store", str(seeded_store))
    db = sqlite3.connect(registry_path(store))
    db.executescript("DROP TABLE report_chunks; DROP TABLE reports; DROP TABLE reports_indexed; PRAGMA user_version = 1;")
    db.close()
    index._CORPORA.clear()

    assert cli("timeline", "--json", "--store", str(store)) == expected  # the reports extracted in memory meanwhile
    assert query(store, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(store, "SELECT COUNT(*) FROM reports_indexed") == [(0,)]  # a reader does not write them
    assert index.load_corpus(open_dalil(store)).extracted == 5

    report = open_dalil(store).ingest([seeds_dir])
    assert len(report.unchanged) == 5
    assert stored(store) == stored(seeded_store)  # back-filled, while holding the write lock
    index._CORPORA.clear()
    assert index.load_corpus(open_dalil(store)).extracted == 0
    assert cli("timeline", "--json", "--store", str(store)) == expected


def test_reports_found_with_another_lexicon_are_not_used(store: Path, tmp_path: Path) -> None:
    from agent.text.lexicon import BUNDLED

    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(BUNDLED.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    dalil = open_dalil(store, lexicon=lexicon)
    assert index.load_corpus(dalil).extracted == 5  # stale for this lexicon: extracted in memory
    assert index.load_corpus(open_dalil(store)).extracted == 0


# --- reading -------------------------------------------------------------------------------------


def test_timeline_summary_and_brief_from_the_index_equal_those_extracted_afresh(store: Path, tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    commands = [("timeline", "--json"), ("timeline", "--json", "--from", "2016-09-28", "--to", "2016-10-01"),
                ("summarize", "--json"), ("brief", "--json", "--date", "2016-10-03", "--since", "2016-09-27", "--out", str(tmp_path))]
    real_load_corpus = index.load_corpus

    def before_the_index(source: Dalil) -> index.Corpus:
        """Every article with its text and no stored reports: ``extract`` runs per article with one Citer, as it
        did before the index."""
        articles, _ = load_articles(source)
        return dataclasses.replace(real_load_corpus(source), articles=articles, docs={}, cache={})

    with monkeypatch.context() as patch:
        patch.setattr("agent.events.index.load_corpus", before_the_index)
        patch.setattr(brief, "load_corpus", before_the_index)
        afresh = [cli(*args, "--store", str(store)) for args in commands]

    def no_extraction(*args: object) -> list[Report]:
        raise AssertionError("extracted at read time")

    monkeypatch.setattr("agent.events.events.extract", no_extraction)
    monkeypatch.setattr("agent.sequence.timeline.extract", no_extraction)
    index._CORPORA.clear()
    assert [cli(*args, "--store", str(store)) for args in commands] == afresh
    days = [e["date"]["date"] for e in json.loads(afresh[0])["events"] if e["type"] == "call"
            and set(e["participants"]) == {"Sergei Lavrov", "John Kerry"}]
    assert [d for d in days if d in CALL_DAYS] == CALL_DAYS


def test_documents_the_index_lacks_are_extracted_in_memory_with_the_same_timeline(store: Path) -> None:
    expected = cli("timeline", "--json", "--store", str(store))
    forget_index(store)
    assert cli("timeline", "--json", "--store", str(store)) == expected
    assert index.load_corpus(open_dalil(store)).extracted == 5


def test_stored_reports_are_numbered_as_one_citer_over_the_articles(seeded_store: Path) -> None:
    dalil = open_dalil(seeded_store)
    entities = index.entities_for(dalil.analyzer, dalil.settings.lexicon)
    articles, _ = load_articles(dalil)  # with text and chunks, as the timeline read them before the index
    citer = Citer()
    expected = [r.model_dump() for a in articles for r in extract(a, entities, dalil.analyzer, citer)]
    assert [r.model_dump() for r in index.stored_reports(dalil)] == expected
    assert [r.model_dump() for r in index.stored_reports(dalil.store)] == expected


def test_chunk_events_finds_the_1_october_call_from_the_chunk_that_says_saturday(seeded_store: Path) -> None:
    dalil = open_dalil(seeded_store)
    registry = dalil.store.registry
    chunk_ids = [c.chunk_id for c in registry.chunks()]
    nodes = registry.nodes(chunk_ids)
    saturday = [cid for cid, node in nodes.items()
                if node.metadata["file"].startswith("001_") and "ناقشا" in node.get_content() and "السبت" in node.get_content()]
    assert saturday
    found = index.chunk_events(dalil, saturday)
    assert all("2016-10-01-call-1" in found[c] for c in saturday)
    event = next(e for e in index.events(dalil, type="call") if e.id == "2016-10-01-call-1")
    assert set(saturday) <= index.event_chunk_ids(dalil, event) == index.event_chunk_ids(dalil, event.id)
    assert index.chunk_events(dalil, ["no-such-chunk"]) == {}
    calls = index.events(dalil, type="call", participant="john kerry")
    assert [e.date.date.isoformat() for e in calls if e.date.date is not None and e.date.date.isoformat() in CALL_DAYS] == CALL_DAYS
    first_october = dt.date(2016, 10, 1)
    assert "2016-10-01-call-1" in [e.id for e in index.events(dalil, date_from=first_october, date_to=first_october)]
    assert all(e.date.overlaps(first_october, first_october) for e in index.events(dalil, date_from=first_october, date_to=first_october))
    # the same events (ids, dates, citations) as `dalil timeline --json`, and cached: no regrouping on the next call
    timeline = json.loads(cli("timeline", "--json", "--store", str(seeded_store)))
    assert [e.model_dump(mode="json") for e in index.events(dalil)] == timeline["events"]
    assert index.events(dalil)[0] is index.events(dalil)[0]
