"""Web ingest speed: an RSS feed of N article pages served locally → ``Dalil.ingest_web``, against ingesting the
same articles as a JSONL file (the work the web path adds: fetching, decoding and trafilatura's extraction).

    python bench/web_ingest.py [--pages 200] [--latency-ms 50] [--concurrency 1,4]

The pages come from bench/corpus.py (seed 7) as HTML (title, og:site_name, article:published_time, one <p> per
paragraph, a menu and a footer around them); the server (127.0.0.1, a ThreadingHTTPServer in this process) waits
``--latency-ms`` before each answer, standing in for a remote site. Each row is a fresh store; the feed is taken
once. Prints one table: seconds in all, pages a second, and the part spent in the ordinary ingest.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.corpus import articles  # noqa: E402


def page(article: dict[str, str]) -> bytes:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>\n" for p in article["text"].split("\n\n"))
    return f"""<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{html.escape(article['title'])}</title>
<meta property="og:site_name" content="{html.escape(article['outlet'])}">
<meta property="article:published_time" content="{article['published']}T08:00:00+00:00"></head>
<body><nav><a href="/">الرئيسية</a> | <a href="/world">العالم</a></nav><article><h1>{html.escape(article['title'])}</h1>
{paragraphs}</article><footer>جميع الحقوق محفوظة</footer></body></html>""".encode()


def serve(pages: list[bytes], latency: float) -> tuple[ThreadingHTTPServer, str]:
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency)
            if self.path == "/feed.xml":
                items = "".join(f"<item><title>{i}</title><link>{state['url']}/a/{i}.html</link></item>" for i in range(len(pages)))
                body, kind = f'<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title>{items}</channel></rss>'.encode(), \
                    "application/rss+xml"
            else:
                body, kind = pages[int(self.path.rsplit("/", 1)[1].split(".")[0])], "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["url"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, state["url"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", default="1,4")
    args = parser.parse_args()

    from agent.config import load_settings
    from agent.pipeline import Dalil

    records = list(articles(args.pages, 7))
    httpd, url = serve([page(a) for a in records], args.latency_ms / 1000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dalil-web-bench-") as tmp:
        jsonl = Path(tmp) / "articles.jsonl"
        jsonl.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in records), encoding="utf-8")
        warm = Path(tmp) / "warm.jsonl"  # imports and the lexicon loaded once, before any row is timed
        warm.write_text(json.dumps(records[0], ensure_ascii=False) + "\n", encoding="utf-8")
        Dalil(load_settings(None, {"store": {"path": Path(tmp) / "warm"}})).ingest([warm])
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            settings = load_settings(None, {"store": {"path": Path(tmp) / f"web-{concurrency}"},
                                            "fetch": {"allow_hosts": ["127.0.0.1"], "concurrency": concurrency}})
            started = time.perf_counter()
            web = Dalil(settings).ingest_web([], [f"{url}/feed.xml"])
            rows.append((f"feed, fetch.concurrency={concurrency}", time.perf_counter() - started, len(web.ingest.added), web.ingest.seconds))
            assert not web.failed, web.failed[:3]
        started = time.perf_counter()
        report = Dalil(load_settings(None, {"store": {"path": Path(tmp) / "files"}})).ingest([jsonl])
        rows.append(("JSONL file (baseline)", time.perf_counter() - started, len(report.added), report.seconds))
    httpd.shutdown()
    print(f"{args.pages} pages, {args.latency_ms:g} ms server latency")
    print(f"{'run':<28} {'seconds':>8} {'pages/s':>8} {'added':>6} {'of which ingest s':>18}")
    for name, seconds, added, ingest_seconds in rows:
        print(f"{name:<28} {seconds:>8.2f} {added / seconds:>8.1f} {added:>6} {ingest_seconds:>18.2f}")


if __name__ == "__main__":
    main()
