"""Web pages: an article page's bytes → its main text and metadata.

Takes the bytes of an HTML page (``Fetched``), decodes them (the header's charset, else the page's ``<meta>``
charset, else what ``readers.decode_bytes`` recognizes: UTF-8, UTF-16, Windows-1256 Arabic) and extracts the
article with trafilatura: text, title, publication date, site name (the outlet), language. Returns a
``WebArticle``; ``date_source`` says where the date came from (``page``: the page's metadata; ``text``: a full
date written in the article, such as "موسكو في 7 أكتوبر 2016"; ``feed``: the feed item's; ``none``: no date
anywhere, and none is made up).
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal, cast

from agent.ingest.fetch import Fetched, FetchError, host_of
from agent.ingest.readers import UnreadableFile, decode_bytes

DateSource = Literal["page", "text", "feed", "none"]
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_LANG_ATTR = re.compile(r"""^\s*([A-Za-z]{2,3})\b""")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "")  # "": a server that does not say
MIN_CHARS = 80  # shorter extracted text is a navigation page or an error page, not an article


@dataclass
class WebArticle:
    url: str
    text: str
    title: str | None
    published: dt.date | None
    date_source: DateSource
    outlet: str
    language: str | None
    encoding: str


def decode_page(page: Fetched) -> tuple[str, str]:
    """The page's text and the encoding it was read with."""
    data = page.data
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # a byte order mark outranks any label
        return _decoded(data)
    for declared in (page.charset, _meta_charset(data)):
        if declared:
            try:
                return data.decode(codecs.lookup(declared).name), declared
            except (LookupError, UnicodeDecodeError):
                continue  # a wrong or unknown label: look further
    return _decoded(data)


def _decoded(data: bytes) -> tuple[str, str]:
    """Bytes no label describes: what ``decode_bytes`` recognizes (UTF-8, UTF-16, mostly-Arabic Windows-1256), else
    charset_normalizer's guess (a page's markup can outweigh its Arabic text in ``decode_bytes``' test)."""
    try:
        return decode_bytes(data)
    except UnreadableFile as exc:
        reason = str(exc)
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None:
        raise FetchError(f"cannot decode the page: {reason}")
    return data.decode(best.encoding, errors="replace"), best.encoding


def extract_article(page: Fetched, feed_date: dt.date | None = None, feed_title: str | None = None) -> WebArticle:
    """The article in ``page``; ``FetchError`` when it is not an HTML page or holds no article text."""
    import trafilatura

    if page.content_type not in _HTML_TYPES:
        feed = "xml" in page.content_type or "rss" in page.content_type or "atom" in page.content_type
        raise FetchError(f"not an HTML page ({page.content_type})" + ("; for a feed, use --feed URL" if feed else ""))
    html, encoding = decode_page(page)
    # extensive_search off: htmldate would otherwise take a bare year in the text for 1 January of it
    doc = trafilatura.bare_extraction(html, url=page.url, with_metadata=True, include_comments=False,
                                      date_extraction_params={"extensive_search": False, "original_date": True})
    found: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict() if doc is not None else {}
    text = (found.get("text") or "").strip()
    if len(text) < MIN_CHARS:
        raise FetchError("no article text found on the page")
    published, source = _page_date(found.get("date")), "page"
    if published is None:
        published, source = _date_in_text(text), "text"
    if published is None:
        published, source = feed_date, "feed"
    lang = _LANG_ATTR.match(_root_lang(html))
    return WebArticle(
        url=page.url, text=text, title=found.get("title") or feed_title, published=published,
        date_source=cast(DateSource, source if published else "none"), outlet=_outlet(found.get("sitename"), page.url),
        language=lang.group(1).lower() if lang else None, encoding=encoding,
    )


def _root_lang(html: str) -> str:
    """The page's ``lang`` attribute on its root element ("ar", "ar-SA"), or ""; read with lxml, not by pattern."""
    import lxml.html

    try:
        return str(lxml.html.document_fromstring(html[:200_000]).get("lang") or "")
    except (ValueError, lxml.etree.ParserError):
        return ""


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def _page_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _date_in_text(text: str) -> dt.date | None:
    """The first full date (day, month and year) written in the article's opening, such as a dateline.

    Only a date with its year: a weekday or "yesterday" needs the publication day this is looking for."""
    from agent.text.dates import resolve_dates

    for found in resolve_dates(text[:1500], dt.date.today()):
        if found.rule == "day_month_year" and found.date is not None:
            return found.date
    return None


def _outlet(sitename: str | None, url: str) -> str:
    """The site's name (og:site_name and the like); else its host, never a URL's ``host:port`` trailing a guess."""
    name = (sitename or "").strip()
    if name and ":" not in name and "." not in name:
        return name
    host = host_of(url)
    return host.removeprefix("www.") or name
