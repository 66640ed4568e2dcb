"""The agent's tools (agent.answer.tools): typed results with citations, and one-line errors for every bad argument."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.answer.tools import TOOLS, call, openai_tool_specs
from agent.config import load_settings
from agent.errors import DalilError
from agent.pipeline import Dalil

CALL_DAYS = ["2016-08-05", "2016-08-16", "2016-09-28", "2016-09-30", "2016-10-01", "2016-10-05", "2016-10-28"]


@pytest.fixture
def dalil(seeded_store: Path) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": seeded_store}}))


def test_events_lists_the_seven_dated_calls_each_cited(dalil: Dalil) -> None:
    found = call(dalil, "events", {"type": "call", "participant": "Lavrov"})
    assert [str(e.date) for e in found.events] == CALL_DAYS
    assert found.summary() == "events: 7 calls"
    assert found.left_out == 1  # "several calls last month": July 2016, no day
    texts = {p.name: p.read_text(encoding="utf-8") for p in (Path(__file__).parents[1] / "seeds").glob("*.txt")}
    for event in found.events:
        assert event.evidence.quote in texts[event.evidence.file]
        assert event.date_phrase and event.date_phrase in event.evidence.quote  # the cited passage is the one dating it


def test_events_by_arabic_participant_and_period(dalil: Dalil) -> None:
    found = call(dalil, "events", {"type": "call", "participant": "لافروف", "from": "2016-10-01", "to": "2016-10-31"})
    assert [str(e.date) for e in found.events] == ["2016-10-01", "2016-10-05", "2016-10-28"]


def test_accounts_gives_both_sides_verbatim(dalil: Dalil) -> None:
    found = call(dalil, "accounts", {"event": "2016-09-28-call-1"})
    assert {s.side for s in found.sides} == {"Russia", "United States"}
    assert found.disagreements
    for side in found.sides:
        for a in side.accounts:
            assert a.quote == a.citation.quote or a.quote in a.citation.quote


def test_search_read_and_resolve_date(dalil: Dalil) -> None:
    found = call(dalil, "search", {"query": "حلب", "from": "2016-10-01", "to": "2016-10-31", "k": 3})
    assert 0 < len(found.passages) <= 3 and all("2016-10-01" <= p.published <= "2016-10-31" for p in found.passages)
    assert found.summary().startswith("searching 'حلب' 2016-10-01…2016-10-31: ")
    hit = found.passages[0]
    text = call(dalil, "read", {"doc": hit.file, "start": 0, "end": 40})
    assert text.doc_id == hit.doc_id and len(text.text) == 40
    dates = call(dalil, "resolve_date", {"phrase": "يوم الثلاثاء", "published": "2016-08-16"})
    assert [str(d.date) for d in dates.dates] == ["2016-08-16"]


@pytest.mark.parametrize(("name", "arguments", "message"), [
    ("search", {"query": "x", "from": "2016-13-01"}, "search: argument from: '2016-13-01' is not a calendar day"),
    ("search", {"query": "x", "to": "1 October"}, "search: argument to: must be a YYYY-MM-DD date"),
    ("search", {"query": "x", "from": 20161001}, "search: argument from: must be a YYYY-MM-DD date"),
    ("search", {"query": "x", "from": "2016-10-31", "to": "2016-10-01"}, "search: from is after to"),
    ("search", {"query": "x", "k": 10000}, "search: argument k: Input should be less than or equal to 50"),
    ("search", {"query": "x", "k": 0}, "search: argument k: Input should be greater than or equal to 1"),
    ("search", {"query": "x", "outlet": "CNN"}, "search: no articles from outlet 'CNN' (known outlets: "),
    ("search", {"query": "x", "api_key": "sk-1"}, "search: argument api_key: unknown argument"),
    ("search", "{not json", "search: arguments are not valid JSON"),
    ("read", {"doc": "../../etc/passwd", "start": 0, "end": 10}, "read: argument doc: must be a doc_id or file name of the store"),
    ("read", {"doc": "/etc/passwd", "start": 0, "end": 10}, "read: argument doc: must be a doc_id or file name of the store"),
    ("read", {"doc": "passwd", "start": 0, "end": 10}, "read: no document 'passwd' in the store"),
    ("read", {"doc": "002_e83c710a14adfa23.txt", "start": 0, "end": 50000}, "read: at most 2000 characters per read"),
    ("events", {"type": "war"}, "events: argument type: Input should be 'call'"),
    ("accounts", {"event": "no-such-event"}, "accounts: no event 'no-such-event'"),
    ("resolve_date", {"phrase": "أمس", "published": "yesterday"}, "resolve_date: argument published: must be a YYYY-MM-DD date"),
    ("shell", {}, "unknown tool 'shell'"),
])
def test_bad_arguments_are_one_line_errors(dalil: Dalil, name: str, arguments: object, message: str) -> None:
    with pytest.raises(DalilError) as caught:
        call(dalil, name, arguments)  # type: ignore[arg-type]
    text = str(caught.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_read_never_leaves_the_store(dalil: Dalil, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    for doc in (str(secret), "secret.txt", "..", "seeds/../secret.txt"):
        with pytest.raises(DalilError):
            call(dalil, "read", {"doc": doc, "start": 0, "end": 10})


def test_openai_specs_come_from_the_input_models() -> None:
    specs = {s["function"]["name"]: s["function"] for s in openai_tool_specs()}
    assert set(specs) == set(TOOLS) == {"search", "events", "accounts", "read", "resolve_date"}
    search = specs["search"]["parameters"]
    assert {"query", "from", "to", "outlet", "k"} <= set(search["properties"])
    assert search["properties"]["k"]["maximum"] == 50 and search["required"] == ["query"]
    assert search["additionalProperties"] is False
    json.dumps(specs)  # JSON-able as sent to an endpoint
