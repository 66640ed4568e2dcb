"""Links and pages: only http(s) URLs become links, every HTML page carries a restrictive CSP,
and the Markdown files (briefing, eval report.md, chat /save) neutralize markup, non-http
links and bidi overrides the way the HTML pages do."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from agent.safety import http_link, markdown_text

HOSTILE = Path(__file__).resolve().parent / "fixtures_hostile"
SCRIPT = "<script>alert(1)</script>"
CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">')


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout + result.stderr


def front_matter_articles(tmp_path: Path) -> Path:
    """The hostile article with a javascript: URL in its front matter, a second one with an https URL."""
    folder = tmp_path / "articles"
    folder.mkdir()
    body = (HOSTILE / "hostile_article.txt").read_text(encoding="utf-8")
    (folder / "js.md").write_text(
        "---\npublished: 2016-10-06\noutlet: وكالة الأنباء\nurl: javascript:alert(document.cookie)\n---\n" + body, encoding="utf-8")
    seed = (Path(__file__).resolve().parents[1] / "seeds" / "000_05ef239a9c3f61f9.txt").read_text(encoding="utf-8")
    (folder / "ok.md").write_text(
        "---\npublished: 2016-10-06\noutlet: سيريانيوز\nurl: https://example.org/news/1?a=1&b=2\n---\n" + seed, encoding="utf-8")
    (folder / "data.md").write_text(
        "---\npublished: 2016-10-06\noutlet: data\nurl: ' DATA:text/html;base64,PHNjcmlwdD4='\n---\n"
        "أعلنت وزارة الخارجية الروسية أن اتصالا هاتفيا جرى بين لافروف وكيري يوم السادس من أكتوبر.\n", encoding="utf-8")
    return folder


def assert_restrictive_csp(page: str) -> None:
    found = CSP.findall(page)
    assert len(found) == 1, "no Content-Security-Policy meta tag"
    policy = {part.split()[0]: part.split()[1:] for part in found[0].split(";") if part.strip()}
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy, "the page has no script: nothing may run"
    assert policy.get("style-src") == ["'unsafe-inline'"]
    assert policy.get("base-uri") == ["'none'"] and policy.get("form-action") == ["'none'"]
    assert page.index("Content-Security-Policy") < page.index("<style>"), "the policy must come before any content"


def test_brief_links_only_http_urls_and_pages_carry_a_csp(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code, text = invoke("ingest", str(front_matter_articles(tmp_path)), "--store", str(store))
    assert code == 0, text
    out = tmp_path / "briefs"
    code, text = invoke("brief", "--date", "2016-10-06", "--format", "both", "--out", str(out), "--store", str(store))
    assert code == 0, text
    page = (out / "brief-2016-10-06.html").read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert "https://example.org/news/1?a=1&amp;b=2" in hrefs  # the https article is still a link
    assert all(h.startswith("#") or h.startswith("https://example.org/") for h in hrefs), hrefs
    assert "javascript:" not in page.lower().replace("javascript:alert(1))", "")  # the article's own text may quote one
    assert "js.md" in page and "data.md" in page  # the articles are listed, just not linked
    assert_restrictive_csp(page)
    markdown = (out / "brief-2016-10-06.md").read_text(encoding="utf-8")
    assert "](javascript:" not in markdown and SCRIPT not in markdown


def test_eval_report_md_neutralizes_markup_and_overrides_like_the_html(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert invoke("ingest", str(HOSTILE), "--store", str(store))[0] == 0
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: hostile\nitems:\n"
        "  - id: h-1\n"
        f"    question: \"ماذا نشر موقع الوكالة عن هدنة دير الزور {SCRIPT} \u202eevil\u202c [x](javascript:alert(2))؟\"\n"
        "    lang: ar\n    kind: factoid\n"
        f"    answer: \"{SCRIPT} لا شيء \u202e\"\n"
        "    keys: [[\"zzz-never-in-an-answer\"]]\n"
        "    sources:\n"
        f"      - file: hostile_article.txt\n        quote: \"{SCRIPT}\"\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code, text = invoke("eval", str(suite), "--store", str(store), "--corpus", str(HOSTILE), "--out", str(out))
    assert code == 0, text
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "h-1" in report and "&lt;script&gt;alert(1)&lt;/script&gt;" in report  # shown, escaped
    assert SCRIPT not in report and "<script" not in report
    assert "\u202e" not in report and "\u202c" not in report and "\x1b" not in report
    assert "](javascript:" not in report
    assert_restrictive_csp((out / "report.html").read_text(encoding="utf-8"))


def test_chat_save_neutralizes_markup_and_non_http_links(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert invoke("ingest", str(HOSTILE), "--store", str(store))[0] == 0
    saved = tmp_path / "chat.md"
    question = "ماذا نشر موقع الوكالة مع الشيفرة ورابط اقرأ المزيد عن دير الزور؟"
    code, text = invoke("chat", "--store", str(store), stdin=f"{question}\n/save {saved}\n/quit\n")
    assert code == 0, text
    markdown = saved.read_text(encoding="utf-8")
    assert "دير الزور" in markdown and "اقرأ المزيد" in markdown  # the quote with the link is in the file
    assert SCRIPT not in markdown and "<script" not in markdown
    assert "](javascript:" not in markdown
    assert "\x1b" not in markdown and "\x07" not in markdown


def test_http_link_and_markdown_text_helpers() -> None:
    assert http_link("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert http_link("HTTP://example.org") == "HTTP://example.org"
    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:x", "data:text/html,x", "file:///etc/passwd",
                "//evil.example", "/relative", "http:/no-host", "vbscript:x", "https://ex\x1bample.org", None, ""):
        assert http_link(bad) is None, bad
    text = markdown_text(f"[a](javascript:alert(1)) [b](https://ok.example) [c](#src-1) {SCRIPT} \u202e <javascript:x>")
    assert "](javascript:" not in text and "[b](https://ok.example)" in text and "[c](#src-1)" in text
    assert "<" not in text and "\u202e" not in text
