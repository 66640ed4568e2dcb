"""Untrusted strings made safe to show: on a terminal, in a link, in Markdown, with secrets masked.

- :func:`display`: file names and other user-controlled strings for a terminal line: control
  characters (ESC, newlines, BEL…) and bidi overrides (U+202E…) shown escaped (``\\x1b``,
  ``\\u202e``), never interpreted.
- :func:`mask_url`, :func:`mask_urls_in`: a URL (or every URL in a message) with its userinfo
  and secret-looking query parameters (key, api-key, token, secret, password, sig…) masked.
- :func:`http_link`: a URL fit for an ``href``: http(s) only, else None.
- :func:`markdown_text`: text for a Markdown file: no control or bidi-override characters,
  HTML markup escaped, and links to anything but http(s) turned into plain text.
- ``CSP_META``: the Content-Security-Policy every HTML page carries (inline styles, nothing else).

Imports only the standard library, so ``agent.config`` can use it.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote, urlsplit

MASK = "****"
# Every HTML page Dalil writes is inline CSS and SVG only: nothing may load, run, submit or rebase.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_ONLY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # keeps \t \n and LRM/RLM/ALM
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)@")
_PARAM = re.compile(r"(^|[?&;#])([^=&;#?]*)=([^&;#]*)")
_SECRET_NAME = re.compile(r"key|token|secret|passw|pwd|sig|auth|credential|session|cookie", re.IGNORECASE)
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>]+""")
_MD_LINK = re.compile(r"\]\(\s*<?\s*([^)\s>]*)")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def display(text: object) -> str:
    """A user-controlled string (file name, path, value) for one terminal line: control and
    bidi-override characters escaped (``\\x1b[2J`` shows as text and clears nothing)."""
    return _CONTROL.sub(_escape_char, "" if text is None else str(text))


def mask_url(url: str | None) -> str | None:
    """``url`` with its userinfo (``user:password@``) and secret-looking query or fragment
    parameters masked: ``http://admin:pw@h/v1?api-key=sk`` → ``http://****@h/v1?api-key=****``."""
    if not url:
        return url
    masked = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", url)
    if "@" in masked and "://" not in masked.split("@", 1)[0]:  # host:port with credentials but no scheme
        head, tail = masked.rsplit("@", 1)
        if "/" not in head:
            masked = f"{MASK}@{tail}"
    cut = min((i for i in (masked.find("?"), masked.find("#")) if i >= 0), default=len(masked))
    base, rest = masked[:cut], masked[cut:]

    def param(match: re.Match[str]) -> str:
        name = unquote(match.group(2))
        if _SECRET_NAME.search(name):
            return f"{match.group(1)}{match.group(2)}={MASK}"
        return match.group()

    return base + _PARAM.sub(param, rest)


def mask_urls_in(text: str) -> str:
    """Every URL in a message masked with :func:`mask_url` (for exception texts that quote one)."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group()) or "", text)


def http_link(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host (fit for an ``href``), else None
    (``javascript:``, ``data:``, ``file:``, relative or malformed URLs)."""
    if not url:
        return None
    url = url.strip()
    if _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _md_link(match: re.Match[str]) -> str:
    target = match.group(1)
    if not target or http_link(target) or target.startswith("#"):
        return match.group()
    return "]\\(" + match.group()[2:]  # an escaped parenthesis: "[x](javascript:…)" stays plain text


def markdown_text(text: object) -> str:
    """Untrusted text for a Markdown file: control and bidi-override characters removed, HTML
    markup escaped (``<script>`` shows as text), and links whose target is not http(s) or a
    ``#`` anchor broken into plain text."""
    clean = _CONTROL_ONLY.sub("", "" if text is None else str(text))
    clean = html.escape(clean, quote=False)
    return _MD_LINK.sub(_md_link, clean)
