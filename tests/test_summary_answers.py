"""The offline bilingual summary and briefing answer: every Arabic paragraph dated, no quote twice, every
initiator in both languages, and English sentences built only from the event's facts, cited and marked derived."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.retrieval.grounding import MONTHS_AR, WEEKDAYS_AR

FIELD_LIST = re.compile(r"\b\w+: |; topics|\s–\s")  # "topics: a, b", "Phone call: Lavrov – Kerry"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def summary(seeded_store: Path) -> dict:
    code, out, err = run("summarize", "--store", str(seeded_store), "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def events(seeded_store: Path) -> dict[str, dict]:
    code, out, err = run("timeline", "--store", str(seeded_store), "--json")
    assert code == 0, err
    return {e["id"]: e for e in json.loads(out)["events"]}


def arabic_date(date: dict) -> str:
    """The resolved date as the Arabic label writes it ("السبت 1 تشرين الأول 2016"), else the date's label."""
    if date["granularity"] == "day" and date["date"]:
        import datetime as dt

        day = dt.date.fromisoformat(date["date"])
        return f"{WEEKDAYS_AR[day.weekday()]} {day.day} {MONTHS_AR[day.month - 1]} {day.year}"
    start = date["start"]  # a month: "في تموز 2016", in Arabic words too
    return f"{MONTHS_AR[int(start[5:7]) - 1]} {start[:4]}"


def test_every_arabic_paragraph_states_its_resolved_date(summary: dict, events: dict[str, dict]) -> None:
    assert summary["arabic"] and {s["event"] for s in summary["arabic"]} == set(events)
    for paragraph in summary["arabic"]:
        when = arabic_date(events[paragraph["event"]]["date"])
        assert paragraph["lead"] and when in paragraph["lead"] and paragraph["text"].startswith(paragraph["lead"]), paragraph
    (first,) = [s for s in summary["arabic"] if s["event"] == "2016-10-01-call-1"]
    assert first["text"].startswith("الاتصال الهاتفي يوم السبت 1 تشرين الأول 2016: ")
    assert "امس الأحد" in first["text"]  # the article's own words stay, after the resolved date


def test_arabic_quotes_are_verbatim_and_none_is_repeated(summary: dict) -> None:
    passages = {c["n"]: c["quote"] for c in summary["citations"]}
    quotes = [p for s in summary["arabic"] for p in s["parts"] if p["text"]]
    for part in quotes:
        assert part["citations"] and any(part["text"] in passages[n] for n in part["citations"]), part
    texts = [p["text"] for p in quotes]
    assert len(texts) == len(set(texts))
    assert not [a for a in texts for b in texts if a != b and a in b]  # nor one inside another
    nine = "أبلغ كيري لافروف أن “الولايات المتحدة تستعد لتعليق التزامها الثنائي"  # 9 and 19 September shared it
    assert sum(nine in s["text"] for s in summary["arabic"]) == 1
    # the same sentence from two passages is one quote with both markers (001 reports the 1 October call twice)
    (first,) = [s for s in summary["arabic"] if s["event"] == "2016-10-01-call-1"]
    assert len(first["parts"][0]["citations"]) == 2


def test_every_initiator_the_timeline_knows_is_in_both_languages_with_its_citation(summary: dict, events: dict[str, dict]) -> None:
    known = {i: e for i, e in events.items() if e["initiator"]}
    assert "2016-10-28-call-1" in known and known["2016-10-28-call-1"]["initiator"] == "Russia (Sergei Lavrov)"
    for event_id, event in known.items():
        claims = [r for r in event["reports"] if r["initiator"]]
        evidence = {r["citations"][0]["n"] for r in claims}
        english = [p for s in summary["english"] if s["event"] == event_id for p in s["parts"] if "initiated" in p["text"]]
        assert english and english[0]["text"].startswith(f"{event['initiator']} initiated the phone call"), english
        assert evidence & set(english[0]["citations"])
        arabic = [p for s in summary["arabic"] if s["event"] == event_id for p in s["parts"]]
        said = [p for p in arabic if any(r["initiator_phrase"] in p["text"] for r in claims)]
        assert said and evidence & set(said[0]["citations"]), (event_id, arabic)
    (october,) = [s for s in summary["arabic"] if s["event"] == "2016-10-28-call-1" and "أجرى لافروف" in s["text"]]
    assert "Russia (Sergei Lavrov) initiated" in next(s for s in summary["english"] if s["event"] == "2016-10-28-call-1")["text"]
    assert october["citations"]


def _names(event: dict) -> set[str]:
    names = {*event["participants"], *(event["initiator"] or "").replace("(", ",").replace(")", "").split(",")}
    for r in event["reports"]:
        names |= {r["reported_by"] or "", r["initiator"] or "", r["initiator_side"] or ""}
        for a in r["accounts"]:
            names |= {a["attribution"], a["side"] or "", a["via"] or ""}
            names |= {x for p in a["positions"] for x in (p["holder"], p["addressee"] or "")}
    return {n.strip() for n in names if n.strip()}


def test_english_sentences_are_derived_cited_and_use_only_the_events_facts(summary: dict, events: dict[str, dict]) -> None:
    import datetime as dt

    assert "Translation needs an LLM endpoint" in summary["english_note"]
    everyone = set().union(*(_names(e) for e in events.values())) | {"Vladimir Putin", "Mark Toner", "John Kirby"}
    months = "January February March April May June July August September October November December".split()
    weekdays = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
    for paragraph in summary["english"]:
        event = events[paragraph["event"]]
        assert paragraph["derived"] is True and paragraph["supported"], paragraph
        assert not FIELD_LIST.search(paragraph["text"]), paragraph["text"]
        names = _names(event)
        start = dt.date.fromisoformat(event["date"]["start"])
        day = dt.date.fromisoformat(event["date"]["date"]) if event["date"]["date"] else None
        for part in paragraph["parts"]:
            text = part["text"]
            assert part["citations"] and set(part["citations"]) <= set(paragraph["citations"]), part
            assert text.endswith(".") and not re.search(r"[\u0600-\u06ff]", text)
            for name in everyone:
                if re.search(rf"\b{re.escape(name)}\b", text):
                    assert name in names, (name, text)
            allowed = {str(start.year), *(str(x) for x in ((day.day,) if day else ()))}
            assert set(re.findall(r"\d+", text)) <= allowed, (text, allowed)
            for month in months:
                if month in text:
                    assert month == f"{start:%B}", text
            for weekday in weekdays:
                if weekday in text:
                    assert day is not None and weekday == f"{day:%A}", text
        # the same markers in both languages, paragraph by paragraph
    assert [s["citations"] for s in summary["arabic"]] == [s["citations"] for s in summary["english"]] and summary["parity"]


def test_text_and_markdown_mark_the_english_as_derived(seeded_store: Path, tmp_path: Path) -> None:
    code, out, err = run("summarize", "--store", str(seeded_store), "--from", "2016-10-01", "--to", "2016-10-01")
    assert code == 0, err
    flat = " ".join(out.split())
    assert "Derived from the cited reports: Sergei Lavrov and John Kerry spoke by phone on Saturday 1 October 2016 [1]" in flat
    assert "الاتصال الهاتفي يوم السبت 1 تشرين الأول 2016: قالت وزارة الخارجية الروسية، امس الأحد" in flat
    target = tmp_path / "summary.md"
    code, _, err = run("summarize", "--store", str(seeded_store), "--out", str(target))
    assert code == 0, err
    md = target.read_text(encoding="utf-8")
    english = md[md.index("## English"):md.index("## Sources")]
    bullets = [line for line in english.splitlines() if line.startswith("- ")]
    assert bullets and all(line.startswith("- _Derived from the cited reports:_ ") for line in bullets)
    assert all(re.search(r"\[\d+\]\.$", line) for line in bullets)  # every sentence cited, the last too


def test_the_briefing_shows_the_same_paragraphs(seeded_store: Path, tmp_path: Path) -> None:
    code, out, err = run("brief", "--store", str(seeded_store), "--date", "2016-10-30", "--since", "2016-09-27",
                         "--out", str(tmp_path), "--json")
    assert code == 0, err
    brief = json.loads(out)
    md = (tmp_path / "brief-2016-10-30.md").read_text(encoding="utf-8")
    page = (tmp_path / "brief-2016-10-30.html").read_text(encoding="utf-8")
    cards = md[md.index("## Events of"):md.index("## What changed")] + md[md.index("## Reported about earlier days"):md.index("## Sources")]
    assert "Phone call: " not in cards and "topics:" not in cards
    assert "_Derived from the cited reports:_ Sergei Lavrov and John Kerry spoke by phone on Friday 28 October 2016" in md
    assert "Russia (Sergei Lavrov) initiated the phone call" in md and "Russia (Sergei Lavrov) initiated the phone call" in page
    assert '<div dir="rtl" lang="ar">الاتصال الهاتفي يوم الجمعة 28 تشرين الأول 2016: ' in md
    assert '<div class="ar" dir="rtl" lang="ar"><b>الاتصال الهاتفي يوم الجمعة 28 تشرين الأول 2016:</b> ' in page
    assert '<span class="derived">Derived from the cited reports:</span>' in page
    quotes = [p["text"] for paragraphs in brief["arabic"].values() for s in paragraphs for p in s["parts"] if p["text"]]
    assert quotes and len(quotes) == len(set(quotes))
    for event in brief["timeline"]["events"]:
        for paragraph in brief["arabic"][event["id"]]:
            assert arabic_date(event["date"]) in paragraph["lead"]
        for paragraph in brief["english"][event["id"]]:
            assert paragraph["derived"] and not FIELD_LIST.search(paragraph["text"])
