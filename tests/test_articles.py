"""`dalil articles list / show / rm`: what the store holds, one article in full, and a removal that leaves
search, the timeline, the event index, BM25, the vectors and `dalil doctor` consistent (and is undone by
ingesting the file again)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SEEDS, chroma_of, run_cli


def _json(*args: str) -> Any:
    code, stdout, stderr = run_cli(*args)
    assert code == 0, stderr
    return json.loads(stdout)


def _one_line_error(code: int, stderr: str, *needles: str) -> None:
    assert code == 1 and stderr.startswith("dalil: error: ") and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    for needle in needles:
        assert needle in stderr, stderr


def _registry(store: Path) -> Any:
    from agent.config import load_settings
    from agent.pipeline import Dalil

    return Dalil(load_settings(None, {"store": {"path": store}})).store


def test_list_shows_every_article_with_its_chunks_and_events(seeded_store: Path) -> None:
    records = _registry(seeded_store).registry.documents()
    listed = _json("articles", "list", "--json", "--store", str(seeded_store))
    assert listed["total"] == 5 and [a["doc_id"] for a in listed["articles"]] == [d.doc_id for d in records]
    for article, record in zip(listed["articles"], records, strict=True):
        assert article["chunks"] == record.n_chunks and article["file"] == record.file and article["text"] is None
        assert article["opening"] and record.text.startswith(article["opening"].rstrip("…").split()[0])
    assert all(a["events"] >= 1 for a in listed["articles"])  # every seed reports at least one dated event

    code, table, _ = run_cli("articles", "list", "--store", str(seeded_store))
    assert code == 0 and "5 article(s)" in table
    for record in records:
        row = next(line for line in table.splitlines() if line.startswith(record.doc_id))
        assert record.published in row and str(record.n_chunks) in row


def test_list_filters_by_day_and_outlet(seeded_store: Path) -> None:
    after = _json("articles", "list", "--json", "--from", "2016-10-01", "--store", str(seeded_store))
    assert [a["published"] for a in after["articles"]] == ["2016-10-03", "2016-10-05", "2016-10-30"]
    window = _json("articles", "list", "--json", "--from", "2016-09-01", "--to", "2016-10-04", "--store", str(seeded_store))
    assert [a["published"] for a in window["articles"]] == ["2016-09-28", "2016-10-03"]
    outlet = _json("articles", "list", "--json", "--outlet", "وكالات", "--store", str(seeded_store))
    assert [a["file"] for a in outlet["articles"]] == ["003_6fb0efb9cf778144.txt"]
    code, _, stderr = run_cli("articles", "list", "--outlet", "no such outlet", "--store", str(seeded_store))
    _one_line_error(code, stderr, "no articles from outlet", "وكالات")
    code, _, stderr = run_cli("articles", "list", "--from", "2016-10-05", "--to", "2016-10-01", "--store", str(seeded_store))
    _one_line_error(code, stderr, "--from is after --to")


def test_show_gives_the_text_its_chunks_and_its_dated_events(seeded_store: Path) -> None:
    record = next(d for d in _registry(seeded_store).registry.documents() if d.file == "000_05ef239a9c3f61f9.txt")
    shown = _json("articles", "show", record.doc_id, "--json", "--store", str(seeded_store))
    assert shown["text"] == record.text and shown["file"] == record.file and shown["chunks"] == len(shown["passages"])
    assert [p["ordinal"] for p in shown["passages"]] == list(range(record.n_chunks))
    for passage in shown["passages"]:
        assert passage["text"] == record.text[passage["start"]:passage["end"]] and passage["text"].strip()
    assert shown["reported"], "the 5 October article reports the call of that day"
    call = next(e for e in shown["reported"] if e["type"] == "call")
    assert call["start"] == "2016-10-05" and call["date"].startswith("2016-10-05") and call["explanation"]
    assert call["evidence"] in record.text and record.text[call["evidence_start"]:].startswith(call["evidence"])
    timeline = _json("timeline", "--json", "--store", str(seeded_store))
    assert {e["event"] for e in shown["reported"]} <= {e["id"] for e in timeline["events"]}
    assert shown["events"] == len({e["event"] for e in shown["reported"]})
    assert _json("articles", "show", record.file, "--json", "--store", str(seeded_store)) == shown  # by file too

    code, text, _ = run_cli("articles", "show", record.doc_id, "--store", str(seeded_store))
    assert code == 0 and record.text.splitlines()[0][:30] in text and f"Chunks ({record.n_chunks})" in text
    assert "phone call" in text and "2016-10-05" in text

    code, _, stderr = run_cli("articles", "show", "no-such-id", "--store", str(seeded_store))
    _one_line_error(code, stderr, "no article 'no-such-id'")


def _search_docs(store: Path, query: str, mode: str) -> set[str]:
    hits = _json("search", query, "--json", "--mode", mode, "-k", "200", "--store", str(store))["hits"]
    return {h["doc_id"] for h in hits}


def _report_ids(store: Path) -> dict[str, set[str]]:
    """Every timeline event's id → the ids (file#offset) of its reports."""
    timeline = _json("timeline", "--json", "--store", str(store))
    return {e["id"]: {r["id"] for r in e["reports"]} for e in timeline["events"]}


def _consistent(store: Path) -> None:
    """`dalil doctor` healthy, and the vectors, the registry's chunks and the BM25 index hold the same chunks."""
    code, stdout, stderr = run_cli("doctor", "--json", "--store", str(store))
    assert code == 0, stdout + stderr
    assert all(check["ok"] for check in json.loads(stdout))
    opened = _registry(store)
    try:
        chunk_ids = {c.chunk_id for c in opened.registry.chunks()}
        assert set(chroma_of(opened).get(include=[])["ids"]) == chunk_ids
        assert {chunk_id for chunk_id, _, _ in opened.registry.chunk_terms()} == chunk_ids
        assert len(opened.bm25()) == len(chunk_ids)
    finally:
        opened.close()


def test_rm_leaves_search_the_timeline_and_doctor_consistent(store: Path) -> None:
    registry = _registry(store).registry
    gone = next(d for d in registry.documents() if d.file == "000_05ef239a9c3f61f9.txt")
    kept_docs = {d.doc_id for d in registry.documents()} - {gone.doc_id}
    first_words = " ".join(gone.text.split()[:6])
    before = _report_ids(store)
    gone_reports = {r for reports in before.values() for r in reports if r.startswith(gone.file + "#")}
    only_gone = {e for e, reports in before.items() if reports <= gone_reports}
    shared = {e for e, reports in before.items() if reports & gone_reports and reports - gone_reports}
    assert gone_reports and shared, "the 5 October call is reported by other articles too"
    for mode in ("bm25", "dense", "hybrid"):
        assert gone.doc_id in _search_docs(store, first_words, mode)

    removed = _json("articles", "rm", gone.doc_id, "--json", "--store", str(store))
    assert removed == {"removed": [gone.doc_id], "files": [gone.file]}

    listed = _json("articles", "list", "--json", "--store", str(store))
    assert {a["doc_id"] for a in listed["articles"]} == kept_docs
    for mode in ("bm25", "dense", "hybrid"):
        found = _search_docs(store, first_words, mode)
        assert gone.doc_id not in found and found <= kept_docs, mode
    after = _report_ids(store)
    all_after = {r for reports in after.values() for r in reports}
    # the timeline keeps every other article's reports and loses only the removed one's
    assert all_after == {r for reports in before.values() for r in reports} - gone_reports
    assert not any(reports <= gone_reports for reports in after.values()) and len(after) >= len(before) - len(only_gone) - len(shared)
    code, _, stderr = run_cli("articles", "show", gone.doc_id, "--store", str(store))
    _one_line_error(code, stderr, "no article")
    _consistent(store)

    code, _, stderr = run_cli("ingest", str(SEEDS), "--store", str(store))  # the file again: it comes back as it was
    assert code == 0, stderr
    assert _report_ids(store) == before
    assert gone.doc_id in _search_docs(store, first_words, "hybrid")
    assert _json("articles", "list", "--json", "--store", str(store))["total"] == 5
    _consistent(store)


def test_rm_with_an_unknown_id_removes_nothing(store: Path) -> None:
    known = _json("articles", "list", "--json", "--store", str(store))["articles"]
    code, stdout, stderr = run_cli("articles", "rm", known[0]["doc_id"], "no-such-id", "--store", str(store))
    _one_line_error(code, stderr, "no-such-id", "nothing was removed")
    assert stdout == ""
    assert _json("articles", "list", "--json", "--store", str(store))["total"] == 5

    code, stdout, _ = run_cli("articles", "rm", known[0]["doc_id"], known[1]["file"], "--store", str(store))
    assert code == 0 and stdout.startswith("removed 2 article(s): ") and known[0]["file"] in stdout and known[1]["file"] in stdout
    assert _json("articles", "list", "--json", "--store", str(store))["total"] == 3


@pytest.mark.parametrize("hostile", ["title", "outlet"])
def test_listing_shows_hostile_metadata_as_plain_text(tmp_path: Path, hostile: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    article = {"id": "x", "text": "نص تجريبي عن اتصال هاتفي بين وزيرين.", "published": "2016-10-05", hostile: "\x1b[31mred\x1b[0m\u202e[bold]x"}
    (folder / "a.json").write_text(json.dumps(article, ensure_ascii=False), encoding="utf-8")
    code, _, stderr = run_cli("ingest", str(folder), "--store", str(tmp_path / "s"))
    assert code == 0, stderr
    code, table, _ = run_cli("articles", "list", "--store", str(tmp_path / "s"))
    assert code == 0 and "\x1b" not in table and "\u202e" not in table and "[bold]x" in table


def test_articles_help_lists_its_commands() -> None:
    code, stdout, _ = run_cli("articles", "--help")
    assert code == 0 and all(name in stdout for name in ("list", "show", "rm"))


@pytest.mark.slow  # a server process and CLI processes
def test_rm_through_a_server_that_accepts_articles(store: Path, tmp_path: Path) -> None:
    """`dalil --server URL articles …`: the server's routes; a removal needs its serve.ingest, and an unknown id
    removes nothing there either."""
    from tests.test_http_server import start
    from tests.test_remote_client import dalil

    work = tmp_path / "work"
    work.mkdir()
    server = start(store, work, env={"DALIL_SERVE_INGEST": "true", "DALIL_SERVE_RATE_LIMIT": "0"})
    home = tmp_path / "home"
    try:
        listed = json.loads(dalil("--server", server.url, "articles", "list", "--json", home=home).stdout)
        assert listed["total"] == 5
        gone = listed["articles"][0]
        shown = dalil("--server", server.url, "articles", "show", gone["doc_id"], "--json", home=home)
        assert shown.returncode == 0 and json.loads(shown.stdout)["passages"]

        refused = dalil("--server", server.url, "articles", "rm", gone["doc_id"], "no-such-id", home=home)
        assert refused.returncode == 1 and refused.stderr.strip() == "dalil: error: not in the store: no-such-id (nothing was removed)"
        assert json.loads(dalil("--server", server.url, "articles", "list", "--json", home=home).stdout)["total"] == 5

        removed = dalil("--server", server.url, "articles", "rm", gone["doc_id"], home=home)
        assert removed.returncode == 0 and removed.stdout.strip() == f"removed 1 article(s): {gone['file']}", removed.stderr
        after = json.loads(dalil("--server", server.url, "articles", "list", "--json", home=home).stdout)
        assert after["total"] == 4 and gone["doc_id"] not in {a["doc_id"] for a in after["articles"]}
        status, missing = server.json("GET", f"/v1/articles/{gone['doc_id']}")
        assert status == 404 and missing["error"]["code"] == "article_not_found"
        status, hits = server.json("POST", "/v1/search", {"query": gone["opening"].rstrip("…"), "k": 50})
        assert status == 200 and hits["hits"] and all(h["doc_id"] != gone["doc_id"] for h in hits["hits"])
    finally:
        server.stop()
    _consistent(store)
