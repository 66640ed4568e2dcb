"""One HTML path: every page comes from ``agent.render_html``'s Jinja2 templates (autoescape on), and hostile text
put in every free-text field of a briefing, a summary and an eval run comes out escaped, never as markup.

The briefing and the summary are the seeds' own, built in-process, with every field a reader sees (quotes,
outlets, files, paragraphs, labels, explanations, sides' accounts, changes, warnings…) extended with markup;
the eval run is written by hand with markup in its suite, items, answers, languages, kinds, tags and settings.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from agent.evals.records import AnswerRecord, ItemRecord, Passage, RunOptions, RunRecord, SuiteInfo, Summary
from agent.evals.report_html import render_html as eval_report_html
from agent.render_html import environment, render_html
from agent.safety import CSP_META

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "agent" / "render_html" / "templates"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = f" {SCRIPT}{IMG}\u202e"
# what markup looks like once shown as text: the tags' angle brackets escaped
RAW = ("<script", "</script", "<img", "onerror=alert(1)>", "\u202e")
FREE_TEXT = {"quote", "outlet", "file", "text", "lead", "explanation", "value", "attribution", "via", "label", "participants",
             "warnings", "problems", "english_note", "topics", "holder", "addressee", "what_en", "what_ar", "note"}


def poison(data: Any, key: str | None = None) -> Any:
    """``data`` (a model_dump) with markup and a bidi override appended to every free-text string."""
    if isinstance(data, dict):
        return {k: poison(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [poison(v, key) for v in data]
    if isinstance(data, str) and key in FREE_TEXT:
        return data + HOSTILE
    return data


def assert_no_markup(page: str) -> None:
    for needle in RAW:
        assert needle not in page, needle
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the hostile text is shown, as text


def shown(text: str) -> str:
    """``text`` as an HTML page shows it: escaped, its bidi override removed."""
    return str(escape(text.replace("\u202e", "")))


@pytest.fixture(scope="module")
def dalil(seeded_store: Path):
    from agent.config import load_settings
    from agent.pipeline import Dalil

    return Dalil(load_settings(None, {"store": {"path": seeded_store}}))


def test_briefing_escapes_hostile_text_everywhere(dalil) -> None:
    from agent.sequence.brief import Brief, brief_markdown, build_brief
    from agent.sequence.html import brief_html

    built = build_brief(dalil, dt.date(2016, 9, 28))
    assert built is not None
    data = poison(built.model_dump())
    for article in data["articles"]:
        article["url"] = "javascript:alert(1)"
    brief = Brief.model_validate(data)
    assert any(d.field == "what_was_said" for e in brief.timeline.events for d in e.disagreements)  # the sides' columns too

    page = brief_html(brief)
    assert_no_markup(page)
    assert "javascript:" not in page
    citations = brief.timeline.citations()
    expected = [c.quote for c in citations] + [c.file for c in citations] + [a.outlet or "" for a in brief.articles]
    expected += [p["label"] for p in brief.overview] + [c.text for c in brief.changes] + brief.warnings
    expected += [a.quote for e in brief.timeline.events for d in e.disagreements for v in d.versions for a in v.accounts]
    expected += [v.value for e in brief.timeline.events for d in e.disagreements for v in d.versions]
    expected += [s.lead or "" for paragraphs in brief.arabic.values() for s in paragraphs]
    missing = [text for text in expected if shown(text) not in page]
    assert not missing, missing
    assert page.count('dir="rtl" lang="ar"') >= len(citations)  # every quote in a right-to-left Arabic block

    markdown = brief_markdown(brief)
    for needle in RAW:
        assert needle not in markdown, needle
    assert "&lt;script&gt;" in markdown


def test_summary_escapes_hostile_text_everywhere(dalil) -> None:
    from agent.sequence.summary import Summary as SequenceSummary
    from agent.sequence.summary import summarize, summary_markdown
    from agent.sequence.timeline import timeline_for

    made = summarize(timeline_for(dalil, None, dt.date(2016, 9, 28), dt.date(2016, 10, 3)), dalil.analyzer)
    data = poison(made.model_dump())
    data["citations"][0]["outlet"] = f"[x](javascript:alert(1)){HOSTILE}"
    data["english_note"] = "note" + HOSTILE
    summary = SequenceSummary.model_validate(data)
    markdown = summary_markdown(summary)
    for needle in RAW:
        assert needle not in markdown, needle
    assert "](javascript:" not in markdown  # a link in an outlet stays text, as in brief-D.md
    assert markdown.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= len(summary.arabic) + len(summary.citations)
    assert markdown.count('<div dir="rtl" lang="ar">') == 1 + len(summary.citations)


def hostile_run() -> RunRecord:
    def summary(n: int) -> Summary:
        return Summary(n=n, metrics={"hit_at_k": 0.5, "mrr": 0.25, "key_recall": 0.5, "latency_p50": 0.1})

    items = [
        ItemRecord(
            id=f"a{HOSTILE}", question=f"من هي المتحدثة باسم وزارة الخارجية الروسية في ذلك اليوم؟{HOSTILE}", lang=f"ar{HOSTILE}",
            kind=f"factoid{HOSTILE}", answerable=True,
            reference=f"ماريا زاخاروفا المتحدثة باسم وزارة الخارجية الروسية{HOSTILE}",
            retrieved=[Passage(rank=1, chunk_id="c", file=f"001.txt{HOSTILE}", start=0, end=5, score=1.0, text=HOSTILE, gold=[0])],
            answer=AnswerRecord(text=f"ماريا{HOSTILE}", mode="extractive", abstained=False, lang="ar"),
            metrics={"hit_at_k": 1.0, "key_recall": 0.0}, failures=[f"key_recall{HOSTILE}"], latency_s=0.1,
        ),
        ItemRecord(
            id="b", question=f"Who spoke?{HOSTILE}", lang="en", kind="factoid", answerable=False, reference=f"nobody{HOSTILE}",
            error=f"boom{HOSTILE}", failures=["abstention"], latency_s=0.2,
        ),
    ]
    return RunRecord(
        suite=SuiteInfo(path=f"evals/x.yaml{HOSTILE}", sha256="0" * 64, name=f"suite{HOSTILE}", items=2, corpus=f"seeds{HOSTILE}"),
        dalil_version="0.1.0", seed=0, started=f"now{HOSTILE}", duration_s=1.0,
        run=RunOptions(mode="extractive", retrieval="hybrid", k=5, judge=False, limit=None, only=[f"a{HOSTILE}"], kind=None),
        config={"llm": {"model": f"m{HOSTILE}"}}, metrics={}, overall=summary(2),
        by_lang={f"ar{HOSTILE}": summary(1), "en": summary(1)}, by_kind={f"factoid{HOSTILE}": summary(2)},
        by_tag={f"paraphrase{HOSTILE}": summary(1)}, items=items,
    )


def test_eval_report_escapes_hostile_text_everywhere() -> None:
    run = hostile_run()
    page = eval_report_html(run)
    assert_no_markup(page)
    for text in (run.suite.name, run.suite.path, run.suite.corpus, run.items[0].id, run.items[0].question, run.items[0].reference,
                 "ماريا" + HOSTILE, "001.txt" + HOSTILE, "key_recall" + HOSTILE, "boom" + HOSTILE, "paraphrase" + HOSTILE):
        assert shown(text) in page, text
    chart = page[page.index("Main metrics by kind of question"):]
    assert shown("factoid" + HOSTILE) in chart[:chart.index("</svg>")]  # a chart's labels are escaped too
    assert '<div class="txt" dir="rtl" lang="ar">' in page and '<div class="txt" dir="ltr">' in page


def test_every_page_extends_the_base_and_marks_nothing_safe() -> None:
    templates = sorted(p.name for p in TEMPLATES.iterdir())
    assert set(environment().list_templates()) == set(templates)
    for name in templates:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup", text), f"{name} marks text safe"
        if name.endswith(".html.j2") and name not in ("base.html.j2", "macros.html.j2"):
            assert '{% extends "base.html.j2" %}' in text, name
    assert environment().autoescape is True
    page = render_html("base.html.j2", page_lang="ar")
    assert page.startswith("<!DOCTYPE html>\n") and '<html lang="ar" dir="rtl">' in page
    assert '<meta charset="utf-8">' in page and CSP_META in page
    assert '<html lang="en" dir="ltr">' in render_html("base.html.j2")


def test_python_builds_no_html_by_hand() -> None:
    """No module but agent.render_html writes a page's frame or escapes HTML itself."""
    offenders = []
    for path in sorted((ROOT / "agent").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"<!DOCTYPE|<html|<svg|html\.escape\(|\bMarkup\(", text) and path.parent.name != "render_html":
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == ["agent/safety.py"], offenders  # safety.markdown_text: Markdown, not HTML


def test_templates_are_found_from_any_working_directory(tmp_path: Path) -> None:
    """The loader finds the templates through the package, not the working directory: a whole eval report (base,
    macros, charts) renders from an empty folder."""
    code = ("import agent.render_html as r; print(sorted(r.environment().list_templates())); "
            "from agent.evals.report_html import render_html; from tests.test_render_html import hostile_run; "
            "print(render_html(hostile_run()))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert str(sorted(p.name for p in TEMPLATES.iterdir())) in done.stdout
    assert "<!DOCTYPE html>" in done.stdout and "<svg" in done.stdout and "&lt;script&gt;" in done.stdout


def test_pyproject_ships_every_template() -> None:
    """A non-editable install has the templates: every file under templates/ matches the package data."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "agent.render_html" in setuptools["packages"]
    patterns = setuptools["package-data"]["agent.render_html"]
    for path in TEMPLATES.iterdir():
        relative = path.relative_to(TEMPLATES.parent).as_posix()
        assert any(fnmatch(relative, p) for p in patterns), f"{relative} is not in pyproject.toml's package-data"


@pytest.mark.slow
def test_an_installed_wheel_renders_from_another_directory(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("agent", "prompts"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"), str(source)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("*.whl"))
    site = tmp_path / "site"
    installed = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=300, check=False)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import agent, agent.render_html as r; print(agent.__file__); print(sorted(r.environment().list_templates())); "
            "print(r.render_html('base.html.j2'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env={**os.environ, "PYTHONPATH": str(site)},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(str(site))  # the installed copy, not this checkout
    assert str(sorted(p.name for p in TEMPLATES.iterdir())) in done.stdout and "<!DOCTYPE html>" in done.stdout
