"""`dalil summarize --format html`: the summary as one page of the same template system as the briefing (autoescape,
the shared frame, CSS and Content-Security-Policy): hostile text comes out escaped, Arabic sits in right-to-left
blocks, every [n] links to its source, derived English is marked as such."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from agent.safety import CSP_META
from tests.conftest import run_cli
from tests.test_render_html import HOSTILE, assert_no_markup, poison, shown


@pytest.fixture(scope="module")
def dalil(seeded_store: Path):
    from agent.config import load_settings
    from agent.pipeline import Dalil

    return Dalil(load_settings(None, {"store": {"path": seeded_store}}))


def _summary(dalil, start: dt.date | None = None, end: dt.date | None = None):
    from agent.sequence.summary import summarize
    from agent.sequence.timeline import timeline_for

    return summarize(timeline_for(dalil, None, start, end), dalil.analyzer)


def test_summary_page_escapes_hostile_text_everywhere(dalil) -> None:
    from agent.sequence.html import summary_html
    from agent.sequence.summary import Summary

    data = poison(_summary(dalil, dt.date(2016, 9, 28), dt.date(2016, 10, 3)).model_dump())
    data["english_note"] = "note" + HOSTILE
    data["warnings"] = ["careful" + HOSTILE]
    data["english"][0]["supported"] = False  # an unsupported sentence shows its problems, escaped too
    data["english"][0]["problems"] = ["no support" + HOSTILE]
    summary = Summary.model_validate(data)
    page = summary_html(summary)
    assert_no_markup(page)
    expected = [c.quote for c in summary.citations] + [c.file for c in summary.citations] + [c.outlet or "" for c in summary.citations]
    expected += [s.lead or "" for s in summary.arabic] + [p.text for s in summary.arabic + summary.english for p in s.parts]
    expected += ["note" + HOSTILE, "careful" + HOSTILE, "no support" + HOSTILE]
    missing = [text for text in expected if text and shown(text) not in page]
    assert not missing, missing


def test_summary_page_is_rtl_linked_and_marked(dalil) -> None:
    from agent.sequence.html import summary_html
    from agent.sequence.paragraphs import DERIVED_LABEL

    summary = _summary(dalil)
    page = summary_html(summary)
    assert page.startswith("<!DOCTYPE html>\n") and CSP_META in page and '<meta charset="utf-8">' in page
    assert "<script" not in page and "<link" not in page and "src=" not in page  # nothing to load
    # every Arabic paragraph and every source's quote in a right-to-left Arabic block
    assert page.count('<div class="ar" dir="rtl" lang="ar">') == len(summary.arabic) + len(summary.citations)
    for s in summary.arabic:
        assert shown(s.lead or "") in page
    # every [n] is a link to a source that exists, and every source is cited
    linked = {int(n) for n in re.findall(r'<a class="m" href="#src-(\d+)">\[\1\]</a>', page)}
    sources = {int(n) for n in re.findall(r'<li id="src-(\d+)" value="\1">', page)}
    assert sources == {c.n for c in summary.citations} and linked and linked <= sources
    assert linked == {n for s in summary.arabic + summary.english for p in s.parts or [s] for n in p.citations}
    body = page[page.index("<body>"):page.index("<h2>Sources</h2>")]
    assert not re.search(r"\[\d+\]", re.sub(r'<a class="m" href="#src-(\d+)">\[\1\]</a>', "", body))  # no marker unlinked
    # the same markers, in the same order, in both languages (parity), as the page shows them
    arabic = page[page.index("العربية</h2>"):page.index("<h2>English</h2>")]
    english = page[page.index("<h2>English</h2>"):page.index("<h2>Sources</h2>")]
    assert summary.parity and re.findall(r"#src-(\d+)", arabic) and set(re.findall(r"#src-(\d+)", arabic)) == set(
        re.findall(r"#src-(\d+)", english))
    derived = sum(s.derived for s in summary.english)
    assert derived and english.count(f'<span class="derived">{DERIVED_LABEL}</span>') == derived
    assert "citation parity (same markers, same order, both languages): yes" in page


def test_summarize_format_html_writes_and_prints_the_page(seeded_store: Path, tmp_path: Path) -> None:
    target = tmp_path / "summary.html"
    code, stdout, stderr = run_cli("summarize", "--format", "html", "--out", str(target), "--store", str(seeded_store))
    assert code == 0 and stdout == "" and stderr.strip() == f"dalil: wrote {target}", stderr
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>") and 'dir="rtl" lang="ar"' in page
    code, printed, _ = run_cli("summarize", "--format", "html", "--store", str(seeded_store))
    assert code == 0 and printed == page
    code, _, _ = run_cli("summarize", "--out", str(tmp_path / "by-suffix.html"), "--store", str(seeded_store))
    assert code == 0 and (tmp_path / "by-suffix.html").read_text(encoding="utf-8") == page
    code, markdown, _ = run_cli("summarize", "--format", "md", "--store", str(seeded_store))
    assert code == 0 and markdown.startswith("# The sequence") and "<!DOCTYPE" not in markdown
    code, _, stderr = run_cli("summarize", "--format", "pdf", "--store", str(seeded_store))
    assert code == 1 and stderr.strip() == "dalil: error: --format must be md or html, not 'pdf'"
