""""What was said" disagreements: each side's account of one event, side by side, cited verbatim, and flagged
when the sides claim different things (agent.events extraction → grouping → agent.sequence timeline / brief / summary / JSON)."""

from __future__ import annotations

import datetime as dt
import json
import re
from datetime import date as D
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.events.corpus import Article
from agent.events.entities import build_index
from agent.events.models import Event, Timeline
from agent.sequence.timeline import build_timeline
from agent.text.lexicon import load_analyzer
from tests.test_sequence_events import seed_articles

SATURDAY = dt.date(2016, 10, 1)
MONDAY = dt.date(2016, 10, 3)
F002, F003 = "002_e83c710a14adfa23.txt", "003_6fb0efb9cf778144.txt"


@pytest.fixture(scope="module")
def tools():
    analyzer = load_analyzer(None)
    return analyzer, build_index(analyzer)


@pytest.fixture(scope="module")
def seeds(tools) -> tuple[Timeline, dict[str, str]]:
    articles = seed_articles()
    return build_timeline(articles, *tools), {a.file: a.text for a in articles}


def article(name: str, text: str, outlet: str | None = None) -> Article:
    return Article(doc_id=name, file=f"{name}.txt", published=MONDAY, outlet=outlet or f"outlet {name}", text=text)


def the_call(line: Timeline, day: D = SATURDAY) -> Event:
    (event,) = [e for e in line.events if e.type == "call" and e.date.date == day]
    return event


def said(event: Event):
    return next((d for d in event.disagreements if d.field == "what_was_said"), None)


def check_cited(event: Event, texts: dict[str, str]) -> None:
    """Every account's quote is its citation's quote, which is the article's text at the citation's offsets."""
    citations = {c.n: c for r in event.reports for c in r.citations}
    for account in [a for r in event.reports for a in r.accounts] + [a for d in event.disagreements for v in d.versions for a in v.accounts]:
        c = citations[account.citation]
        assert account.quote == c.quote == texts[c.file][c.start:c.end]
        assert account.cue is None or account.cue in texts[c.file]
        assert all(p.citation == account.citation for p in account.positions)


# ---------------------------------------------------------------------- seeds


def test_the_28_september_call_keeps_the_us_and_russian_accounts_side_by_side(seeds) -> None:
    line, texts = seeds
    event = the_call(line, D(2016, 9, 28))
    dispute = said(event)
    assert dispute is not None and "sources disagree about what was said" in event.flags
    sides = {v.value: v for v in dispute.versions}
    assert set(sides) == {"United States", "Russia"}
    us, ru = sides["United States"], sides["Russia"]
    # the US State Department's account via its spokesman Kirby: Kerry's concern, and Russia held responsible
    kirby = next(a for a in us.accounts if a.attribution == "US State Department")
    assert kirby.via == "John Kirby" and kirby.basis == "named" and kirby.cue.startswith("وقال المتحدث باسم الخارجية الأميركية")
    assert "أعرب عن قلقه البالغ" in kirby.quote and "يحملون روسيا مسؤولية الوضع" in kirby.quote  # "وأضاف أن …" goes on
    assert ("John Kerry", "expressed") in {(p.holder, p.stance) for p in kirby.positions}
    # Kerry's own words to Lavrov (no source named): the US is preparing to suspend its bilateral engagement
    kerry = next(a for a in us.accounts if a.basis == "speaker")
    assert kerry.attribution == "John Kerry" and "تستعد لتعليق التزامها الثنائي" in kerry.quote
    # the Russian Foreign Ministry's account: Lavrov urged Kerry to separate the moderate opposition from terrorists
    ministry = [a for a in ru.accounts if a.attribution == "Russian Foreign Ministry"]
    urged = next(a for a in ministry if "حث نظيره الأميركي" in a.quote)
    assert urged.basis == "named" and urged.cue == "قالت وزارة الخارجية الروسية"
    assert ("Sergei Lavrov", "urged", "John Kerry") in {(p.holder, p.stance, p.addressee) for p in urged.positions}
    assert "separating moderates from terrorist groups" in urged.topics
    # "وأوضحت أن …" and "وبحسب وزارة الخارجية، فإن …" go on with the Russian ministry named before them
    assert {a.cue for a in ministry if a.basis == "continued"} >= {"وأوضحت", "وبحسب وزارة الخارجية"}
    assert all(a.side == "Russia" for a in ru.accounts) and all(a.side == "United States" for a in us.accounts)
    # side by side: each version cites exactly its own accounts, and the event cites them all
    for version in dispute.versions:
        assert version.citations == sorted({a.citation for a in version.accounts})
    assert not set(us.citations) & set(ru.citations)
    assert set(us.citations) | set(ru.citations) <= set(event.citation_numbers)
    assert "John Kirby" in dispute.note and "Sergei Lavrov urged" in dispute.note
    assert "accounts of what was said differ" in event.what_en
    check_cited(event, texts)


def test_on_the_seeds_only_calls_whose_sides_say_different_things_are_flagged(seeds) -> None:
    line, texts = seeds
    flagged = {(e.type, e.date.date) for e in line.events if said(e)}
    assert flagged == {("call", D(2016, 9, 28)), ("call", D(2016, 10, 28))}
    # 003: the US spokesman's comment on Lavrov's 28 October call ("علق … على الاتصال") is the US account of it
    october = said(the_call(line, D(2016, 10, 28)))
    us = next(v for v in october.versions if v.value == "United States")
    (toner,) = us.accounts
    assert toner.via == "Mark Toner" and "على الاتصال" in toner.quote and toner.quote in texts[F003]
    # several accounts, all from the Russian side: not a dispute
    for day in (D(2016, 10, 1), D(2016, 10, 5)):
        event = the_call(line, day)
        accounts = [a for r in event.reports for a in r.accounts]
        assert len(accounts) >= 3 and {a.side for a in accounts} == {"Russia"} and said(event) is None
        check_cited(event, texts)
    # 001: "كما شدَّد على أن … وفق المصدر" goes on with the Russian ministry's account of the call
    source = [a for r in the_call(line).reports for a in r.accounts if a.cue == "وفق المصدر"]
    assert [(a.attribution, a.basis) for a in source] == [("Russian Foreign Ministry", "continued")]


# ---------------------------------------------------------------------- small made-up articles

RU = ("قالت وزارة الخارجية الروسية إن سيرغي لافروف حث نظيره الأمريكي جون كيري في اتصال هاتفي يوم السبت "
      "على الفصل بين المعارضة المعتدلة والجماعات الإرهابية.")
US = "أعلنت الخارجية الأمريكية أن جون كيري حذر نظيره الروسي سيرغي لافروف في اتصال هاتفي يوم السبت من أن واشنطن ستعلق التعاون بشأن حلب."


def test_two_outlets_quoting_the_same_side_are_one_version_not_a_dispute(tools) -> None:
    other = "وبحسب الخارجية الروسية، بحث لافروف وكيري في مكالمة هاتفية يوم السبت الوضع في حلب."  # "بحث" is not "حث"
    event = the_call(build_timeline([article("a", RU), article("b", other)], *tools))
    accounts = [a for r in event.reports for a in r.accounts]
    assert [(a.attribution, a.side) for a in accounts] == [("Russian Foreign Ministry", "Russia")] * 2
    assert accounts[0].claims != accounts[1].claims  # they say different things, but for the same side
    assert said(event) is None and not any("what was said" in f for f in event.flags)


def test_two_sides_with_different_claims_are_flagged_with_both_versions_cited(tools) -> None:
    a, b = article("a", RU, "Outlet A"), article("b", US, "Outlet B")
    event = the_call(build_timeline([a, b], *tools))
    dispute = said(event)
    assert dispute is not None and "sources disagree about what was said" in event.flags
    assert [v.value for v in dispute.versions] == ["Russia", "United States"]
    (ru,), (us,) = (v.accounts for v in dispute.versions)
    assert (ru.attribution, ru.cue, ru.quote) == ("Russian Foreign Ministry", "قالت وزارة الخارجية الروسية", RU)
    assert (us.attribution, us.cue, us.quote) == ("US State Department", "أعلنت الخارجية الأمريكية", US)
    assert {"Sergei Lavrov urged"} <= ru.claims and {"John Kerry warned", "Aleppo"} <= us.claims
    assert [v.reports for v in dispute.versions] == [["a.txt#0"], ["b.txt#0"]]
    check_cited(event, {"a.txt": RU, "b.txt": US})
    # the date and the initiator are not in dispute: only what was said
    assert [d.field for d in event.disagreements] == ["what_was_said"]


def test_two_sides_that_say_the_same_are_not_flagged(tools) -> None:
    a = article("a", "قالت وزارة الخارجية الروسية إن لافروف وكيري بحثا في اتصال هاتفي يوم السبت الوضع في حلب.")
    b = article("b", "أعلنت الخارجية الأمريكية أن كيري ولافروف بحثا في اتصال هاتفي يوم السبت الوضع في حلب.")
    event = the_call(build_timeline([a, b], *tools))
    assert {a.side for r in event.reports for a in r.accounts} == {"Russia", "United States"}
    assert said(event) is None


def test_a_spokesman_paragraph_after_the_call_is_the_other_sides_account(tools) -> None:
    text = ("بحث سيرغي لافروف ونظيره الأمريكي جون كيري في اتصال هاتفي يوم السبت الوضع في حلب، بحسب وزارة الخارجية الروسية.\n"
            "وكانت الهدنة قد انهارت يوم 19 سبتمبر الماضي.\n"
            "وقال المتحدث باسم الخارجية الأمريكية، جون كيربي، إن كيري أبلغ لافروف أن واشنطن ستعلق التعاون العسكري.\n"
            "وأضاف أن الولايات المتحدة تحمل روسيا مسؤولية الهجوم على حلب.\n"
            "وقالت المتحدثة باسم وزارة الخارجية الروسية، ماريا زاخاروفا، إن موسكو منفتحة على الحوار مع جميع الأطراف.")
    line = build_timeline([article("a", text)], *tools)
    event = the_call(line)
    dispute = said(event)
    assert dispute is not None
    us = next(v for v in dispute.versions if v.value == "United States")
    (kirby,) = us.accounts
    assert kirby.via == "John Kirby" and ("John Kerry", "told") in {(p.holder, p.stance) for p in kirby.positions}
    assert kirby.quote.endswith("مسؤولية الهجوم على حلب.")  # the "وأضاف أن …" sentence goes on with Kirby
    # neither the ceasefire sentence nor Zakharova's general remark (no call, no participant) is an account of the call
    quotes = " ".join(a.quote for r in event.reports for a in r.accounts)
    assert "الهدنة" not in quotes and "زاخاروفا" not in quotes
    check_cited(event, {"a.txt": text})


# ---------------------------------------------------------------------- LLM mode (the same rule on the model's JSON)


class FakeModel:
    """A chat client that answers every events prompt with the reply for the article named in it."""

    def __init__(self, replies: dict[str, dict | str]) -> None:
        self.replies = replies
        self.settings = SimpleNamespace(max_tokens=500)

    def complete(self, messages, max_tokens=None):
        name = re.search(r"Article file: (\S+)", messages[-1]["content"]).group(1)
        reply = self.replies[name]
        return SimpleNamespace(text=reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False))


def llm_call(quote: str, **extra) -> dict:
    return {"events": [{"type": "call", "date": "2016-10-01", "date_phrase": "يوم السبت", "participants": ["Sergei Lavrov", "John Kerry"],
                        "quote": quote, **extra}]}


def test_llm_accounts_are_validated_cited_and_compared_by_side(tools) -> None:
    text = RU + "\n" + US
    model = FakeModel({"a.txt": llm_call(RU, accounts=[
        {"attribution": "Russian Foreign Ministry", "side": "Russia", "quote": RU, "topics": ["separating moderates"],
         "positions": [{"holder": "Lavrov", "stance": "urged", "addressee": "Kerry"}]},
        {"attribution": "US State Department", "side": "the American side", "quote": US, "topics": ["suspending cooperation"],
         "positions": [{"holder": "Kerry", "stance": "warned", "addressee": "Lavrov"}]},
        {"attribution": "Reuters", "quote": "a sentence the article does not have"},
    ])})
    line = build_timeline([article("a", text)], tools[0], tools[1], model)
    event = the_call(line)
    assert any("dropped an account by 'Reuters'" in w for w in line.warnings) and not line.degraded
    dispute = said(event)
    assert dispute is not None
    assert {v.value: [(a.attribution, a.basis) for a in v.accounts] for v in dispute.versions} == {
        "Russia": [("Russian Foreign Ministry", "model")], "United States": [("US State Department", "model")],
    }
    us = next(v for v in dispute.versions if v.value == "United States").accounts[0]
    assert [(p.holder, p.stance) for p in us.positions] == [("John Kerry", "warned")]
    check_cited(event, {"a.txt": text})


def test_llm_accounts_from_one_side_or_a_malformed_reply(tools) -> None:
    text = RU + "\nوقالت المتحدثة باسم الخارجية الروسية ماريا زاخاروفا إن الوزيرين بحثا الوضع في حلب."
    second = text.split("\n")[1]
    same_side = FakeModel({"a.txt": llm_call(RU, accounts=[
        {"attribution": "Russian Foreign Ministry", "side": "Russia", "quote": RU, "topics": ["separating moderates"]},
        {"attribution": "Maria Zakharova", "side": None, "quote": second, "topics": ["Aleppo"]},  # her side comes from the lexicon
    ])})
    event = the_call(build_timeline([article("a", text)], tools[0], tools[1], same_side))
    assert [a.side for a in event.reports[0].accounts] == ["Russia", "Russia"] and said(event) is None
    # an account without its attribution is not the asked-for JSON: this article falls back to the offline rules
    broken = FakeModel({"a.txt": llm_call(RU, accounts=[{"side": "Russia", "quote": RU}])})
    line = build_timeline([article("a", text)], tools[0], tools[1], broken)
    assert line.degraded and any("accounts.0.attribution" in w for w in line.warnings)
    assert {r.source for e in line.events for r in e.reports} == {"rules"}


# ---------------------------------------------------------------------- through the commands


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_timeline_json_text_summary_and_brief_show_both_accounts(seeded_store: Path, tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[1] / "seeds" / F002).read_text(encoding="utf-8")
    code, out, err = run("timeline", "--store", str(seeded_store), "--json", "--from", "2016-09-28", "--to", "2016-09-28")
    assert code == 0, err
    (event,) = json.loads(out)["events"]
    assert "sources disagree about what was said" in event["flags"]
    (dispute,) = [d for d in event["disagreements"] if d["field"] == "what_was_said"]
    assert [v["value"] for v in dispute["versions"]] == ["Russia", "United States"]
    citations = {c["n"]: c for r in event["reports"] for c in r["citations"]}
    for version in dispute["versions"]:
        for account in version["accounts"]:
            assert set(account) == {"attribution", "side", "via", "basis", "cue", "topics", "positions", "quote", "citation"}
            c = citations[account["citation"]]
            assert account["quote"] == c["quote"] == text[c["start"]:c["end"]]
    assert any(a["accounts"] for a in event["reports"])

    code, out, err = run("timeline", "--store", str(seeded_store), "--from", "2016-09-28", "--to", "2016-09-28")
    assert code == 0, err
    block = out[out.index("⚠ disagreement (what was said)"):out.index("\nSources\n")]
    assert block.index("Russia:") < block.index("United States:")
    flat = " ".join(block.split())
    assert "US State Department (via John Kirby)" in flat and "Russian Foreign Ministry" in flat
    assert "وزير الخارجية كيري أعرب عن قلقه البالغ" in flat and "حث نظيره الأميركي، جون كيري" in flat

    code, out, err = run("summarize", "--store", str(seeded_store), "--json", "--from", "2016-09-28", "--to", "2016-09-28")
    assert code == 0, err
    summary = json.loads(out)
    english = [s["text"] for s in summary["english"]]
    assert len(english) == 2 and "speaking for Russia" in english[0] and "speaking for United States" in english[1]
    assert [s["citations"] for s in summary["arabic"]] == [s["citations"] for s in summary["english"]]
    assert all(s["supported"] for s in summary["arabic"] + summary["english"])

    code, _, err = run("brief", "--store", str(seeded_store), "--date", "2016-09-28", "--out", str(tmp_path))
    assert code == 0, err
    md = (tmp_path / "brief-2016-09-28.md").read_text(encoding="utf-8")
    assert "**Sources disagree (what was said):**" in md and "<th>Russia</th><th>United States</th>" in md
    page = (tmp_path / "brief-2016-09-28.html").read_text(encoding="utf-8")
    sides = page[page.index('<div class="sides">'):]
    assert sides.index("<h4>Russia</h4>") < sides.index("<h4>United States</h4>")
    assert sides.count('class="said" dir="rtl" lang="ar"') == sum(len(v["accounts"]) for v in dispute["versions"])
    assert "US State Department (via John Kirby)" in sides
