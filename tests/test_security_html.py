"""HTML outputs (eval reports, briefings) escape article, question and answer text."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app

HOSTILE = Path(__file__).resolve().parent / "fixtures_hostile"
SCRIPT = "<script>alert(1)</script>"


def hostile_store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["ingest", str(HOSTILE), "--store", str(store)])
    assert result.exit_code == 0, result.output
    return store


def test_eval_report_escapes_hostile_text(tmp_path: Path) -> None:
    store = hostile_store(tmp_path)
    corpus = tmp_path / "corpus"
    shutil.copytree(HOSTILE, corpus)
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: hostile\nitems:\n"
        "  - id: h-1\n"
        f"    question: \"ماذا نشر موقع الوكالة عن هدنة دير الزور {SCRIPT}؟\"\n"
        "    lang: ar\n    kind: factoid\n"
        f"    answer: \"{SCRIPT} لا شيء\"\n"
        "    keys: [[\"zzz-never-in-an-answer\"]]\n"
        "    sources:\n"
        f"      - file: hostile_article.txt\n        quote: \"{SCRIPT}\"\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", str(suite), "--store", str(store), "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the failing item shows its question, escaped
    assert "\x1b" not in page


def test_briefing_html_never_carries_raw_markup_or_escapes(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    shutil.copytree(HOSTILE, articles)
    manifest = articles / "manifest.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("outlet: وكالة الأنباء", f"outlet: 'وكالة {SCRIPT}'"), encoding="utf-8")
    store = tmp_path / "store"
    assert CliRunner().invoke(app, ["ingest", str(articles), "--store", str(store)]).exit_code == 0
    out = tmp_path / "briefs"
    result = CliRunner().invoke(app, ["brief", "--date", "2016-10-06", "--format", "html", "--out", str(out), "--store", str(store)])
    assert result.exit_code == 0, result.output
    page = (out / "brief-2016-10-06.html").read_text(encoding="utf-8")
    assert "هدنة" in page or "الهدنة" in page  # the hostile article's text is on the page
    assert SCRIPT not in page and 'href="javascript:' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the outlet is shown, escaped
    assert "\x1b" not in page and "\x07" not in page
