"""A local web server for the web-ingest tests and the README's feed example: serves tests/fixtures_web/.

Files are served as they are, with ``{{BASE}}`` in feeds replaced by the server's own URL. Besides them:
``/slow`` answers after ``slow_seconds`` (longer than the tests' fetch timeout), ``/big`` streams a body larger
than the tests' size limit with no Content-Length, ``/loop`` redirects to itself, ``/redirect`` redirects to
``/article-meta.html``, ``/to-private`` redirects to http://10.0.0.1/ and ``/to-metadata`` to the cloud metadata
address. ``/article-win1256.html`` is sent as ``text/html`` without a charset: its ``<meta>`` says Windows-1256.
``hits`` counts requests by path, ``hosts`` keeps the Host header each path was last asked with, ``slow_most`` the
most ``/slow`` requests answered at once.

    python tests/web_fixtures.py --port 8709     # or: python -m scripts.fixture_feeds
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures_web"
TYPES = {".html": "text/html", ".xml": "application/xml"}
REDIRECTS = {"/loop": "/loop", "/redirect": "/article-meta.html", "/to-private": "http://10.0.0.1/",
             "/to-metadata": "http://169.254.169.254/latest/meta-data/"}


class FixtureServer:
    """``with FixtureServer() as server: server.url``: a ThreadingHTTPServer on 127.0.0.1 in a thread."""

    def __init__(self, port: int = 0, slow_seconds: float = 3.0, big_bytes: int = 3_000_000) -> None:
        self.slow_seconds, self.big_bytes = slow_seconds, big_bytes
        self.hits: Counter[str] = Counter()
        self.hosts: dict[str, str] = {}  # path -> the Host header of its last request
        self.slow_now = self.slow_most = 0  # /slow requests being answered now, and the most at once
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FixtureServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            server.hits[path] += 1
            server.hosts[path] = self.headers.get("Host", "")
            if path in REDIRECTS:
                self.send_response(302)
                self.send_header("Location", REDIRECTS[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/slow":
                with server._lock:
                    server.slow_now += 1
                    server.slow_most = max(server.slow_most, server.slow_now)
                time.sleep(server.slow_seconds)
                with server._lock:
                    server.slow_now -= 1
                self._send(b"<html><body><p>late</p></body></html>", "text/html")
            elif path == "/big":
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Connection", "close")
                self.end_headers()
                block = ("<p>" + "حلب " * 1000 + "</p>\n").encode("utf-8")
                sent = 0
                try:
                    while sent < server.big_bytes:
                        self.wfile.write(block)
                        sent += len(block)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading at its limit
                self.close_connection = True
            else:
                file = (FIXTURES / path.lstrip("/")).resolve()
                if file.parent != FIXTURES or not file.is_file():
                    self._send(b"not found", "text/plain", 404)
                    return
                data = file.read_bytes()
                if file.suffix == ".xml":
                    data = data.replace(b"{{BASE}}", server.url.encode())
                charset = "" if file.name == "article-win1256.html" else "; charset=utf-8"
                self._send(data, TYPES.get(file.suffix, "application/octet-stream") + charset)

        def _send(self, data: bytes, content_type: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (the /slow endpoint)
                self.wfile.write(data)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve tests/fixtures_web/ (Arabic article pages, RSS and Atom feeds) on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8709, help="TCP port (0: any free port)")
    args = parser.parse_args()
    with FixtureServer(args.port) as server:
        print(f"serving {FIXTURES.name}/ at {server.url} (feeds: {server.url}/feed.xml, {server.url}/atom.xml); Ctrl-C stops it",
              flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
