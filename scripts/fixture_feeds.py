"""Serve tests/fixtures_web/ (Arabic article pages, an RSS and an Atom feed) on 127.0.0.1, to try
`dalil ingest --feed` and `dalil daily` without the internet.

    python -m scripts.fixture_feeds                # in the foreground; Ctrl-C stops it
    python -m scripts.fixture_feeds --detach       # in the background; stop it with: kill $(cat fixture-feeds.pid)

The feeds are at http://127.0.0.1:PORT/feed.xml and /atom.xml. Dalil refuses loopback addresses unless they are
listed in fetch.allow_hosts (``DALIL_FETCH_ALLOW_HOSTS=127.0.0.1``). The server itself is tests/web_fixtures.py.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIDFILE = Path("fixture-feeds.pid")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def detach(port: int) -> int:
    """Start the server in its own session, wait until it listens, write its pid to ``PIDFILE``."""
    if port == 0:
        print("fixture_feeds: --detach needs a fixed --port", file=sys.stderr)
        return 2
    child = subprocess.Popen([sys.executable, str(ROOT / "tests" / "web_fixtures.py"), "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while not _listening(port):
        if child.poll() is not None or time.monotonic() > deadline:
            print(f"fixture_feeds: the server did not start on port {port} (is the port taken?)", file=sys.stderr)
            child.kill()
            return 1
        time.sleep(0.05)
    PIDFILE.write_text(f"{child.pid}\n", encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    print(f"serving tests/fixtures_web/ at {url}: feeds {url}/feed.xml and {url}/atom.xml (stop it: kill $(cat {PIDFILE}))")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8709, help="TCP port (default 8709; 0: any free port, in the foreground)")
    parser.add_argument("--detach", action="store_true", help=f"run in the background and write its pid to {PIDFILE}")
    args = parser.parse_args()
    if args.detach:
        return detach(args.port)
    sys.path.insert(0, str(ROOT))
    from tests.web_fixtures import main as serve

    sys.argv = [sys.argv[0], "--port", str(args.port)]
    serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
