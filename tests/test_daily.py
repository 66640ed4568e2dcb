"""`dalil daily`: feeds → store → the day's briefing, as cron runs it: log lines, exit codes, safe to run again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.web_fixtures import FixtureServer

ENV = {"DALIL_FETCH_ALLOW_HOSTS": "127.0.0.1", "DALIL_FETCH_TIMEOUT_S": "0.5", "DALIL_FETCH_MAX_MB": "1"}


@pytest.fixture(scope="module")
def server() -> Iterator[FixtureServer]:
    with FixtureServer(slow_seconds=3.0) as running:
        yield running


def _feeds(tmp_path: Path, server: FixtureServer, *paths: str) -> Path:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("# the day's feeds\n" + "".join(f"{server.url}{p}\n" for p in paths), encoding="utf-8")
    return feeds


def _daily(tmp_path: Path, feeds: Path, day: str = "2016-10-06", *extra: str) -> object:
    return CliRunner().invoke(app, ["daily", "--feeds", str(feeds), "--date", day, "--out", str(tmp_path / "out"),
                                    "--store", str(tmp_path / "store"), *extra], env=ENV)


def test_a_clean_day_exits_0_and_a_second_run_adds_nothing_and_writes_the_same_brief(server: FixtureServer, tmp_path: Path) -> None:
    feeds = _feeds(tmp_path, server, "/atom.xml")
    first = _daily(tmp_path, feeds)
    assert first.exit_code == 0, first.output  # type: ignore[attr-defined]
    log = first.stderr.splitlines()  # type: ignore[attr-defined]
    assert log[0] == f"dalil daily: feed {server.url}/atom.xml: 2 items, 2 new (2 added)"
    assert log[1] == "dalil daily: ingest: 2 added, 0 updated, 0 unchanged, 0 duplicates, 0 failed"
    assert log[2].startswith("dalil daily: brief: wrote ") and log[2].endswith("brief-2016-10-06.html")
    md = (tmp_path / "out" / "brief-2016-10-06.md").read_text(encoding="utf-8")
    assert "# Daily briefing — 2016-10-06" in md and "سيرغي لافروف ونظيره الأمريكي جون كيري" in md
    html = (tmp_path / "out" / "brief-2016-10-06.html").read_bytes()

    second = _daily(tmp_path, feeds)
    assert second.exit_code == 0, second.output  # type: ignore[attr-defined]
    assert f"feed {server.url}/atom.xml: 2 items, 0 new" in second.stderr  # type: ignore[attr-defined]
    assert "ingest: 0 added" in second.stderr  # type: ignore[attr-defined]
    assert (tmp_path / "out" / "brief-2016-10-06.md").read_text(encoding="utf-8") == md
    assert (tmp_path / "out" / "brief-2016-10-06.html").read_bytes() == html


def test_failed_items_and_feeds_exit_3_with_one_line_each_and_the_rest_lands(server: FixtureServer, tmp_path: Path) -> None:
    feeds = _feeds(tmp_path, server, "/feed.xml", "/bad-items.xml", "/broken.xml")
    result = _daily(tmp_path, feeds, "2016-10-06", "--json")
    assert result.exit_code == 3, result.output  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert f"dalil daily: feed {server.url}/broken.xml: failed: not an RSS or Atom feed" in stderr
    for url in ("http://10.0.0.1/admin", "http://169.254.169.254/latest/meta-data/", f"{server.url}/slow", f"{server.url}/big",
                f"{server.url}/loop", f"{server.url}/missing.html"):
        assert sum(line.startswith(f"dalil daily: failed: {url}: ") for line in stderr.splitlines()) == 1, url
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["added"] == 4 and data["date"] == "2016-10-06" and data["brief"][0].endswith("brief-2016-10-06.md")
    assert (tmp_path / "out" / "brief-2016-10-06.md").is_file()


def test_nothing_published_that_day_exits_4_and_nothing_done_exits_1(server: FixtureServer, tmp_path: Path) -> None:
    feeds = _feeds(tmp_path, server, "/atom.xml")
    quiet = _daily(tmp_path, feeds, "2016-10-20")
    assert quiet.exit_code == 4 and "nothing was published on 2016-10-20" in quiet.stderr  # type: ignore[attr-defined]
    assert not list(tmp_path.glob("out/brief-*"))

    other = tmp_path / "other"
    other.mkdir()
    fresh = _daily(other, _feeds(other, server, "/broken.xml"))  # no store yet, and its only feed fails
    assert fresh.exit_code == 1, fresh.output  # type: ignore[attr-defined]
    lines = fresh.stderr.splitlines()  # type: ignore[attr-defined]
    assert lines[0] == f"dalil daily: feed {server.url}/broken.xml: failed: not an RSS or Atom feed"
    assert lines[-1].startswith("dalil: error: ") and "empty" in lines[-1]


def test_a_bad_feeds_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("ftp://example.com/feed\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["daily", "--feeds", str(feeds), "--store", str(tmp_path / "store")])
    assert result.exit_code == 1 and result.stderr.strip().count("\n") == 0
    assert "line 1: not an http(s) URL" in result.stderr
