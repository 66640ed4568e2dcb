"""Feeds: RSS/Atom bytes → items; a feeds file → feed URLs; which items a store has already taken.

Takes a feed's bytes (fetched by ``agent.ingest.fetch``: feedparser is never handed a URL, so it never fetches
anything itself) and returns its ``FeedItem``s (link resolved against the feed's URL, id, title, date).
``read_feed_list`` reads a feeds file (one URL a line, ``#`` comments). ``SeenItems`` remembers, per feed, the
items that landed in the store (``<store>/web/seen.json``), so a second run skips them; an item that failed is not
remembered and is tried again next run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from agent.errors import DalilError
from agent.ingest.fetch import FetchError, is_url


@dataclass(frozen=True)
class FeedItem:
    key: str  # the item's id (guid), else its link: what "seen" remembers
    link: str
    title: str | None
    published: dt.date | None


def parse_feed(data: bytes, feed_url: str) -> list[FeedItem]:
    """The items of an RSS or Atom document; ``FetchError`` when ``data`` is not a feed."""
    import feedparser

    # the feed's URL as its base: relative links resolve against it; feedparser reads only these bytes
    parsed = feedparser.parse(data, response_headers={"content-location": feed_url, "content-type": "application/xml"})
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise FetchError("not an RSS or Atom feed" + (f" ({str(reason).splitlines()[0]})" if reason else ""))
    items: list[FeedItem] = []
    for entry in parsed.entries:
        link = _link(entry, feed_url)
        if not link:
            continue  # an item without a link has no page to fetch
        key = str(entry.get("id") or link)
        items.append(FeedItem(key, link, entry.get("title") or None, _date(entry)))
    return items


def _link(entry: Any, feed_url: str) -> str | None:
    link = entry.get("link")
    if not link:
        link = next((x.get("href") for x in entry.get("links", []) if x.get("href")), None)
    return urljoin(feed_url, str(link).strip()).split("#", 1)[0] if link else None


def _date(entry: Any) -> dt.date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return dt.date(value.tm_year, value.tm_mon, value.tm_mday)
            except ValueError:
                continue
    return None


def read_feed_list(path: Path) -> list[str]:
    """The feed URLs of a feeds file: one a line; blank lines and ``#`` comments are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DalilError(f"feeds file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DalilError(f"cannot read feeds file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    urls = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.split(" #", 1)[0].strip()  # a comment after the URL
        if not is_url(line):
            raise DalilError(f"{path}, line {number}: not an http(s) URL: {line}")
        urls.append(line)
    if not urls:
        raise DalilError(f"feeds file {path} lists no feed URL")
    return list(dict.fromkeys(urls))


class SeenItems:
    """Per feed URL, the keys of the items already in the store, kept in one JSON file (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self._seen: dict[str, dict[str, str]] = {str(k): dict(v) for k, v in data.get("feeds", {}).items()}
        except FileNotFoundError:
            self._seen = {}
        except (OSError, ValueError, AttributeError, TypeError) as exc:
            raise DalilError(f"cannot read {path} (the feed items already taken): {exc}; delete it to take every item "
                             "again (articles already in the store stay unchanged)") from None

    def __contains__(self, feed_item: tuple[str, str]) -> bool:
        feed, key = feed_item
        return key in self._seen.get(feed, {})

    def add(self, feed: str, key: str, link: str) -> None:
        with self._lock:
            self._seen.setdefault(feed, {})[key] = link

    def save(self) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"feeds": self._seen}, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(self.path)
