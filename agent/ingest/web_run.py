"""Web ingest: page URLs and feed URLs → article files in the store's ``web/`` folder → the ordinary ingest.

Takes URLs, feed URLs, a ``FetchPolicy``, the folder to write to, the feed items already taken (``SeenItems``)
and the ingest function (``Dalil.ingest``); returns a ``WebReport``: one ``WebItem`` per page (added, updated,
unchanged, duplicate or failed, with its reason) and one ``FeedResult`` per feed, around the ``IngestReport``.
Each page becomes a ``.json`` article file (text, title, url, published, outlet, language) named by a hash of
its URL, then the files are ingested together, so chunking, event reports, deduplication by content, the
store's lock and crash safety are those of ``dalil ingest``. A page or feed that fails is one ``WebItem`` or
``FeedResult`` with its reason; the others go on.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.ingest.feeds import FeedItem, SeenItems, parse_feed
from agent.ingest.fetch import Fetcher, FetchError, FetchPolicy
from agent.ingest.run import IngestReport
from agent.ingest.web import WebArticle, extract_article
from agent.safety import mask_url, mask_urls_in

WEB_FOLDER = "web"  # inside the store folder
SEEN_FILE = "seen.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
LANDED = ("added", "updated", "unchanged", "repaired", "duplicate")


@dataclass
class WebItem:
    url: str
    feed: str | None = None
    status: str = "failed"  # added, updated, unchanged, repaired, duplicate or failed
    title: str | None = None
    published: str | None = None
    date_source: str | None = None  # page, text, feed or none (agent.ingest.web)
    outlet: str | None = None
    encoding: str | None = None  # what the page was decoded with
    reason: str | None = None  # failed: why; duplicate: the file with the same text

    def as_dict(self) -> dict[str, Any]:
        return {"url": mask_url(self.url), "feed": mask_url(self.feed), "status": self.status, "title": self.title, "published": self.published,
                "date_source": self.date_source, "outlet": self.outlet, "encoding": self.encoding,
                "reason": mask_urls_in(self.reason) if self.reason else None}


@dataclass
class FeedResult:
    url: str
    items: int = 0  # items in the feed
    new: int = 0  # not taken by an earlier run: fetched now
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"url": mask_url(self.url), "items": self.items, "new": self.new, "error": mask_urls_in(self.error) if self.error else None}


@dataclass
class WebReport:
    items: list[WebItem] = field(default_factory=list)
    feeds: list[FeedResult] = field(default_factory=list)
    ingest: IngestReport = field(default_factory=IngestReport)

    @property
    def failed(self) -> list[tuple[str, str]]:
        """(feed or page URL, reason) of everything that failed, feeds first."""
        return [(f.url, f.error) for f in self.feeds if f.error] + \
            [(i.url, i.reason or "failed") for i in self.items if i.status == "failed"]

    def as_dict(self) -> dict[str, Any]:
        """``dalil ingest --json``: the ingest report, with the pages and feeds under ``web``."""
        return {**self.ingest.as_dict(), "web": {"feeds": [f.as_dict() for f in self.feeds], "items": [i.as_dict() for i in self.items]}}


def ingest_web(urls: Iterable[str], feeds: Iterable[str], policy: FetchPolicy, folder: Path, seen: SeenItems,
               ingest: Callable[[list[Path]], IngestReport], paths: Iterable[Path] = ()) -> WebReport:
    """Fetch the pages of ``urls`` and the new items of ``feeds``, write them to ``folder`` and ingest them
    (with ``paths``, files given beside the URLs) in one run."""
    report = WebReport()
    with Fetcher(policy) as fetcher:
        todo: dict[str, _Job] = {url: _Job(WebItem(url)) for url in dict.fromkeys(urls)}
        for result, items in fetcher.map(lambda feed: _read_feed(fetcher, feed), list(dict.fromkeys(feeds))):
            report.feeds.append(result)
            for feed_item in items:
                if (result.url, feed_item.key) in seen:
                    continue
                result.new += 1
                job = todo.setdefault(feed_item.link, _Job(WebItem(feed_item.link, feed=result.url, title=feed_item.title), feed_item))
                job.keys.append((result.url, feed_item.key))
        report.items = [job.item for job in todo.values()]
        written: dict[str, list[WebItem]] = {}  # article file name -> the items whose page it is (a redirect can join two)
        for item, article in fetcher.map(lambda job: _fetch_page(fetcher, job), list(todo.values())):
            if article is not None:
                written.setdefault(_write_article(folder, article).name, []).append(item)
    report.ingest = ingest([*paths, *(folder / name for name in written)])
    _statuses(report.ingest, written)
    for job in todo.values():
        if job.item.status in LANDED:
            for feed, key in job.keys:
                seen.add(feed, key, job.item.url)
    seen.save()
    return report


@dataclass
class _Job:
    item: WebItem
    feed_item: FeedItem | None = None  # the first feed item that links to the page
    keys: list[tuple[str, str]] = field(default_factory=list)  # (feed, item key) of every feed item linking to it


def _read_feed(fetcher: Fetcher, url: str) -> tuple[FeedResult, list[FeedItem]]:
    result = FeedResult(url)
    try:
        fetched = fetcher.get(url)
        items = parse_feed(fetched.data, fetched.url)
    except FetchError as exc:
        result.error = str(exc)
        return result, []
    except Exception as exc:  # a parser's bug on one hostile feed must not stop the other feeds
        result.error = _unexpected(exc)
        return result, []
    result.items = len(items)
    return result, items


def _fetch_page(fetcher: Fetcher, job: _Job) -> tuple[WebItem, WebArticle | None]:
    item, feed_item = job.item, job.feed_item
    try:
        page = fetcher.get(item.url)
        article = extract_article(page, feed_item.published if feed_item else None, item.title)
    except FetchError as exc:
        item.reason = str(exc)
        return item, None
    except Exception as exc:  # an extractor's bug on one hostile page must not stop the other pages
        item.reason = _unexpected(exc)
        return item, None
    item.title, item.outlet, item.date_source, item.encoding = article.title, article.outlet, article.date_source, article.encoding
    item.published = article.published.isoformat() if article.published else None
    return item, article


def _unexpected(exc: Exception) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"unexpected error ({type(exc).__name__}{': ' + first if first else ''})"


def _write_article(folder: Path, article: WebArticle) -> Path:
    """The article as a ``.json`` article file named by its URL's hash, written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_file_stem(article.url)}.json"
    url = mask_url(article.url)  # credentials in a URL (user:password@, ?token=) are never stored
    record = {"id": url, "text": article.text, "title": article.title, "url": url,
              "published": article.published.isoformat() if article.published else None, "outlet": article.outlet,
              "language": article.language}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def _file_stem(url: str) -> str:
    """A readable, safe file name for a page: its host and last path segment (only ``[A-Za-z0-9._-]``), then a hash of
    the whole URL, so two URLs never share a file: ``example.com_aleppo-talks_3f2a9c0b1d4e.json``."""
    parts = urlsplit(url)
    segment = next((s for s in reversed(parts.path.split("/")) if s), "index")
    slug = "_".join(_UNSAFE.sub("-", part).strip("-.")[:48] or "x" for part in (parts.hostname or "host", segment.removesuffix(".html")))
    return f"{slug}_{hashlib.sha256(url.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def _statuses(report: IngestReport, written: dict[str, list[WebItem]]) -> None:
    """Each written page's fate in the ingest, found by its file's name in the report's labels."""
    def items(label: str) -> list[WebItem]:
        return written.get(label.split("#", 1)[0], [])

    for status, labels in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged),
                           ("repaired", report.repaired)):
        for label in labels:
            for item in items(label):
                item.status = status
    for label, same_as in report.duplicates:
        for item in items(label):
            item.status, item.reason = "duplicate", f"same text as {same_as}"
    unmatched = []
    for error in report.errors:  # an article file that failed is its page's error, reported once, with the page's URL
        pages = items(Path(error.path).name)
        for item in pages:
            item.status, item.reason = "failed", error.reason
        if not pages:
            unmatched.append(error)
    report.errors = unmatched
