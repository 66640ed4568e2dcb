"""`dalil timeline`, `dalil summarize`, `dalil brief` on the seeded store (offline)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app

CALL_DAYS = ["2016-08-05", "2016-08-16", "2016-09-28", "2016-09-30", "2016-10-01", "2016-10-05", "2016-10-28"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_timeline_lists_the_calls_in_order_each_cited(seeded_store: Path) -> None:
    code, out, err = run("timeline", "--store", str(seeded_store))
    assert code == 0, err
    assert out.startswith("mode: extractive")
    heads = re.findall(r"^(\d{4}-\d{2}-\d{2}) \(\w{3}\)  phone call · (.+?)  ((?:\[\d+\])+)$", out, re.MULTILINE)
    assert [h[0] for h in heads] == CALL_DAYS
    assert all(set(h[1].split(" – ")) == {"Sergei Lavrov", "John Kerry"} for h in heads)
    assert "initiated by Russia (Sergei Lavrov)" in out and "initiated by United States (John Kerry)" in out
    assert "date: reported on Wednesday" in out and "\nSources\n" in out


def test_timeline_json_contract_and_date_filter(seeded_store: Path) -> None:
    code, out, _ = run("timeline", "--store", str(seeded_store), "--json", "--from", "2016-09-28", "--to", "2016-10-01")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"mode", "date_from", "date_to", "articles", "events", "warnings", "degraded"}
    assert data["mode"] == "extractive" and data["date_from"] == "2016-09-28" and data["articles"] == 5
    assert {e["date"]["date"] for e in data["events"] if e["type"] == "call"} == {"2016-09-28", "2016-09-30", "2016-10-01"}
    event = data["events"][0]
    assert set(event) == {"id", "type", "date", "participants", "initiator", "topics", "what_ar", "what_en", "reports",
                          "disagreements", "flags"}
    report = event["reports"][0]
    assert {"date", "initiator", "initiator_phrase", "reported_by", "reported_on", "positions", "citations", "flags"} <= set(report)
    assert {"phrase", "phrase_start", "offset_days", "basis", "explanation", "weekday_mismatch"} <= set(report["date"])
    numbers = [c["n"] for e in data["events"] for r in e["reports"] for c in r["citations"]]
    assert sorted(set(numbers)) == list(range(1, len(set(numbers)) + 1))


def test_timeline_rejects_a_reversed_range(seeded_store: Path) -> None:
    code, _, err = run("timeline", "--store", str(seeded_store), "--from", "2016-10-05", "--to", "2016-10-01")
    assert code == 1 and "--from is after --to" in err


def test_offline_summary_is_extractive_in_arabic_and_says_translation_needs_an_llm(seeded_store: Path, tmp_path: Path) -> None:
    code, out, err = run("summarize", "--store", str(seeded_store), "--json", "--from", "2016-09-28", "--to", "2016-10-05")
    assert code == 0, err
    data = json.loads(out)
    assert data["mode"] == "extractive" and data["parity"] is True
    assert "Translation needs an LLM endpoint" in data["english_note"]
    assert len(data["arabic"]) == len(data["english"]) >= 7
    quotes = {c["n"]: c["quote"] for c in data["citations"]}
    for ar, en in zip(data["arabic"], data["english"], strict=True):
        assert ar["event"] == en["event"] and ar["citations"] == en["citations"] and ar["citations"]
        assert ar["parts"] and all(any(p["text"] in quotes[n] for n in p["citations"]) for p in ar["parts"])  # verbatim
        assert ar["supported"] and en["supported"], (ar, en)
    order = [data["events"].index(s["event"]) for s in data["arabic"]]  # timeline order; a disputed event has one per side
    assert order == sorted(order) and set(order) == set(range(len(data["events"])))
    target = tmp_path / "summary.md"
    code, _, err = run("summarize", "--store", str(seeded_store), "--out", str(target))
    assert code == 0 and str(target) in err
    text = target.read_text(encoding="utf-8")
    assert "## العربية" in text and "## English" in text and '<div dir="rtl" lang="ar">' in text


def test_brief_writes_stable_file_names_and_says_what_happened_in_its_exit_code(seeded_store: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "briefs"
    code, out, err = run("brief", "--date", "2016-09-28", "--out", str(out_dir), "--store", str(seeded_store))
    assert code == 0, err
    assert out.split() == [str(out_dir / "brief-2016-09-28.md"), str(out_dir / "brief-2016-09-28.html")]
    md = (out_dir / "brief-2016-09-28.md").read_text(encoding="utf-8")
    assert "## Events of 2016-09-28" in md and "phone call · Sergei Lavrov, John Kerry" in md
    assert "## What changed" in md and "New event, 2016-09-28 (Wed): Phone call" in md
    assert '<div dir="rtl" lang="ar">' in md and "## Sources" in md
    # nothing published on 2016-10-04: exit 4, nothing written
    code, out, err = run("brief", "--date", "2016-10-04", "--out", str(out_dir), "--store", str(seeded_store))
    assert code == 4 and out == "" and "nothing was published on 2016-10-04" in err
    assert not list(out_dir.glob("brief-2016-10-04.*"))
    # --since last: everything published after the previous briefing in --out
    code, _, err = run("brief", "--date", "2016-10-05", "--since", "last", "--format", "md", "--out", str(out_dir),
                       "--store", str(seeded_store))
    assert code == 0, err
    md = (out_dir / "brief-2016-10-05.md").read_text(encoding="utf-8")
    assert "published after 2016-09-28 up to 2016-10-05" in md and "Published (2 articles)" in md
    assert "More reports of" not in md or "2016-09" in md
    assert not (out_dir / "brief-2016-10-05.html").exists()


def test_brief_usage_errors_exit_1(seeded_store: Path, tmp_path: Path) -> None:
    for extra, message in ((["--format", "pdf"], "--format must be md, html or both"),
                           (["--since", "yesterday"], "--since must be a day"),
                           (["--since", "2016-10-03"], "--since must be before --date")):
        code, _, err = run("brief", "--date", "2016-10-03", "--out", str(tmp_path), "--store", str(seeded_store), *extra)
        assert code == 1 and message in err, err
    code, _, err = run("brief", "--date", "2016-10-03", "--store", str(tmp_path / "empty"), "--out", str(tmp_path))
    assert code == 1 and "empty" in err


EXTRA_ARTICLE = "005_initiator_dispute.txt"
EXTRA_TEXT = ("أجرى وزير الخارجية الروسي سيرغي لافروف يوم الأربعاء اتصالاً هاتفياً بنظيره الأمريكي جون كيري، "
              "بحثا خلاله الوضع في مدينة حلب.\nصحيفة تجريبية\n")


def test_timeline_shows_the_initiator_dispute_when_another_outlet_differs(seeds_dir: Path, tmp_path: Path) -> None:
    """The seeds agree on every initiator; an outlet saying Lavrov placed the 5 October call (000: at the US side's
    initiative) makes the CLI show both versions side by side, each cited, with no initiator chosen."""
    corpus = tmp_path / "corpus"
    shutil.copytree(seeds_dir, corpus)
    (corpus / EXTRA_ARTICLE).write_text(EXTRA_TEXT, encoding="utf-8")
    with (corpus / "manifest.yaml").open("a", encoding="utf-8") as manifest:
        manifest.write(f"  - file: {EXTRA_ARTICLE}\n    published: 2016-10-06\n    outlet: صحيفة تجريبية\n"
                       "    language: ar\n    confidence: high\n")
    store = str(tmp_path / "store")
    code, _, err = run("ingest", str(corpus), "--store", store)
    assert code == 0, err

    code, out, err = run("timeline", "--store", store, "--from", "2016-10-05", "--to", "2016-10-05")
    assert code == 0, err
    assert "who initiated it is disputed (Russia (Sergei Lavrov) vs United States (John Kerry))" in out
    (line,) = re.findall(r"^  ⚠ disagreement \(initiator\): (.+)$", out, re.MULTILINE)
    assert re.fullmatch(r"Russia \(Sergei Lavrov\) (\[\d+\])+ \| United States \(John Kerry\) (\[\d+\])+", line), line
    assert "initiated by" not in out

    code, out, err = run("timeline", "--store", store, "--json", "--from", "2016-10-05", "--to", "2016-10-05")
    assert code == 0, err
    (event,) = json.loads(out)["events"]
    assert event["initiator"] is None and "sources disagree about the initiator" in event["flags"]
    (dispute,) = [d for d in event["disagreements"] if d["field"] == "initiator"]
    files = {r["id"]: r["file"] for r in event["reports"]}
    quotes = {c["n"]: c["quote"] for r in event["reports"] for c in r["citations"]}
    versions = {v["value"]: v for v in dispute["versions"]}
    assert set(versions) == {"Russia (Sergei Lavrov)", "United States (John Kerry)"}
    assert {files[r] for r in versions["Russia (Sergei Lavrov)"]["reports"]} == {EXTRA_ARTICLE}
    assert {files[r] for r in versions["United States (John Kerry)"]["reports"]} == {"000_05ef239a9c3f61f9.txt"}
    assert any("أجرى وزير الخارجية الروسي" in quotes[n] for n in versions["Russia (Sergei Lavrov)"]["citations"])
    assert any("بمبادرة من" in quotes[n] for n in versions["United States (John Kerry)"]["citations"])
