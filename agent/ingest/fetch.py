"""Fetch: a URL → its bytes, over HTTP(S), with the limits a feed from anywhere needs.

Takes ``http(s)://`` URLs and a ``FetchPolicy`` (``fetch.*`` settings); returns ``Fetched`` (final URL, bytes,
content type) or raises ``FetchError`` whose message is the one-line reason. Every hop, the URL itself and each
redirect, is checked by the address guard: its host is resolved here and refused when an address is loopback,
private, link-local (the 169.254.169.254 cloud metadata address among them), unspecified, multicast or otherwise
not public, unless the host is in ``fetch.allow_hosts``; the connection then goes to the address that was checked
(the URL's host is sent as ``Host`` and as the TLS server name), so a second DNS answer cannot swap it.
Bodies are streamed and cut at ``fetch.max_mb``; each fetch gets ``fetch.timeout_s`` in all. ``Fetcher.map``
runs fetches on a small thread pool, at most ``PER_HOST`` at a time against one host.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

if TYPE_CHECKING:
    from agent.config import FetchSettings

PER_HOST = 2  # polite: never more than this many requests at once to one host, whatever fetch.concurrency is
T = TypeVar("T")
R = TypeVar("R")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchError(Exception):
    """A URL that could not be fetched; the message is the user-facing reason."""


@dataclass(frozen=True)
class FetchPolicy:
    timeout_s: float = 20.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    concurrency: int = 4
    user_agent: str = "Dalil/0.1 (news reader)"
    allow_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, fetch: FetchSettings) -> FetchPolicy:
        return cls(fetch.timeout_s, int(fetch.max_mb * 1_000_000), fetch.max_redirects, fetch.concurrency, fetch.user_agent,
                   frozenset(fetch.allow_hosts))


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    data: bytes
    content_type: str  # the media type, lower case, without parameters ("" when the server sent none)
    charset: str | None  # the Content-Type header's charset parameter


def is_url(text: str) -> bool:
    """Whether a command-line argument is a web address rather than a path."""
    return text.lower().startswith(("http://", "https://"))


def refused_reason(ip: IPAddress) -> str | None:
    """Why the guard refuses ``ip`` (None: a public address)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return refused_reason(ip.ipv4_mapped)
    checks = (
        (ip.is_unspecified, "an unspecified address"), (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address (cloud metadata lives there)"), (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"), (ip.is_reserved, "a reserved address"), (not ip.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` resolves to (an address literal is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host}: {getattr(exc, 'strerror', None) or exc}") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


def checked_address(url: str, allow_hosts: frozenset[str]) -> tuple[httpx.URL, IPAddress]:
    """``url`` parsed, and the address to connect to, or ``FetchError`` when the guard refuses it.

    Every address the host resolves to must pass (an attacker's DNS can answer with several)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise FetchError(f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs are fetched, not {parsed.scheme or 'a relative URL'}")
    host = parsed.host.lower()
    if not host:
        raise FetchError("the URL has no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = resolve(host, port)
    if not addresses:
        raise FetchError(f"cannot resolve host {host}")
    if host not in allow_hosts:
        for ip in addresses:
            reason = refused_reason(ip)
            if reason:
                shown = host if host == str(ip) else f"{host} ({ip})"
                raise FetchError(f"refused: {shown} is {reason}; list the host in fetch.allow_hosts to fetch it")
    return parsed, addresses[0]


class Fetcher:
    """An HTTP client bound to one ``FetchPolicy``; use as a context manager (it holds a connection pool)."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        # trust_env=False: no proxy from the environment, which would connect to hosts the guard never saw
        self.client = httpx.Client(timeout=httpx.Timeout(policy.timeout_s), follow_redirects=False, trust_env=False,
                                   headers={"User-Agent": policy.user_agent, "Accept-Encoding": "gzip, deflate"})
        self._hosts: dict[str, threading.Semaphore] = {}
        self._hosts_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def get(self, url: str) -> Fetched:
        """The body of ``url`` after at most ``max_redirects`` redirects, each hop checked by the guard."""
        current, seen = url, {url}
        for _ in range(self.policy.max_redirects + 1):
            parsed, ip = checked_address(current, self.policy.allow_hosts)
            deadline = time.monotonic() + self.policy.timeout_s
            with self._host_slot(parsed.host), self._stream(parsed, ip) as response:
                if response.is_redirect:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(f"HTTP {response.status_code} redirect without a Location")
                    current = urljoin(current, location)
                    if current in seen:
                        raise FetchError(f"redirect loop (back to {current})")
                    seen.add(current)
                    continue
                if response.status_code >= 400:
                    raise FetchError(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
                data = self._body(response, deadline)
            media, _, params = response.headers.get("content-type", "").partition(";")
            return Fetched(current, data, media.strip().lower(), _charset(params))
        raise FetchError(f"more than {self.policy.max_redirects} redirects (fetch.max_redirects)")

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn`` over ``items`` on ``concurrency`` threads, results in order (``fn`` must not raise)."""
        items = list(items)
        if len(items) <= 1 or self.policy.concurrency == 1:
            yield from map(fn, items)
            return
        with ThreadPoolExecutor(min(self.policy.concurrency, len(items)), thread_name_prefix="dalil-fetch") as pool:
            yield from pool.map(fn, items)

    @contextmanager
    def _stream(self, url: httpx.URL, ip: IPAddress) -> Iterator[httpx.Response]:
        """A streamed GET of ``url`` sent to ``ip``: the URL's host stays the Host header and the TLS server name."""
        host = url.host
        named = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets in Host
        default = 443 if url.scheme == "https" else 80
        headers = {"Host": named if url.port in (None, default) else f"{named}:{url.port}"}
        target = url.copy_with(host=str(ip))
        try:
            with self.client.stream("GET", target, headers=headers, extensions={"sni_hostname": host}) as response:
                yield response
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.policy.timeout_s:g} s (fetch.timeout_s)") from None
        except httpx.ConnectError as exc:
            raise FetchError(f"cannot connect: {_first_line(exc)}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{type(exc).__name__}: {_first_line(exc)}") from None

    def _body(self, response: httpx.Response, deadline: float) -> bytes:
        limit = self.policy.max_bytes
        too_big = f"larger than {limit / 1e6:g} MB (fetch.max_mb); not read"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(too_big)
        body = bytearray()
        for block in response.iter_bytes():  # decompressed: the cap also stops a compression bomb
            body += block
            if len(body) > limit:
                raise FetchError(too_big)
            if time.monotonic() > deadline:
                raise FetchError(f"timed out after {self.policy.timeout_s:g} s (fetch.timeout_s)")
        return bytes(body)

    @contextmanager
    def _host_slot(self, host: str) -> Iterator[None]:
        with self._hosts_lock:
            slot = self._hosts.setdefault(host, threading.Semaphore(PER_HOST))
        with slot:
            yield


def _charset(params: str) -> str | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'").lower()
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def host_of(url: str) -> str:
    """The host of ``url`` (lower case), or "" when it has none."""
    return (urlsplit(url).hostname or "").lower()
