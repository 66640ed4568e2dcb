"""Who may open the embedded Chroma store: one process at a time.

Takes a store folder; gives ``VectorLease``, an exclusive lease on that folder's Chroma files.

Every process that opens an embedded Chroma client writes to its files, readers included
(measured with chromadb 1.5.9: one ``dalil search`` rewrote ``chroma.sqlite3``,
``data_level0.bin`` and ``length.bin``), and Chroma is not safe for several processes on
one path: a search running beside an ingest segfaulted and left the index damaged for
good. So the lease is exclusive for readers and writers alike, held from the moment a
client opens until it is closed, and the kernel drops it when a process dies (``flock``),
a ``kill -9`` included.

Readers do not keep it from others: while a process waits for the lease it holds a
shared lock on ``chroma.wait``, and a reader holding the lease hands it over (closes its
client) as soon as it is idle and sees someone waiting. The ingest never hands it over
during its run. Written by hand because ``filelock`` has no shared locks and no way to
ask whether anyone is waiting.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.05  # how often a waiter tries the lease again
WATCH_SECONDS = 0.2  # how often a reader holding the lease looks for waiters


class VectorLease:
    """An exclusive, process-wide lease on one store's Chroma files."""

    def __init__(self, root: Path) -> None:
        self._lease_path = root / "chroma.lock"
        self._wait_path = root / "chroma.wait"
        self._writer_path = root / "ingest.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lease; True when this process holds it."""
        if self._fd is not None:
            return True
        fd = _open(self._lease_path)
        waiting = _open(self._wait_path)
        deadline = time.monotonic() + timeout
        try:
            fcntl.flock(waiting, fcntl.LOCK_SH)  # "someone is waiting", for the holder's watcher
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._fd = fd
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        return False
                    time.sleep(POLL_SECONDS)
        finally:
            os.close(waiting)  # closing drops the shared lock

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the lock
            self._fd = None

    def others_waiting(self) -> bool:
        """Whether another process is waiting for the lease (holds ``chroma.wait`` shared)."""
        return _busy(self._wait_path, fcntl.LOCK_EX)

    def writer_running(self) -> bool:
        """Whether a ``dalil ingest`` holds the store's write lock (it keeps the lease for its whole run)."""
        return _busy(self._writer_path, fcntl.LOCK_SH)


class LeaseWatcher:
    """A daemon thread that calls ``hand_over`` whenever another process waits for the lease."""

    def __init__(self, lease: VectorLease, hand_over: Callable[[], None]) -> None:
        self._lease, self._hand_over = lease, hand_over
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dalil-lease-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(WATCH_SECONDS):
            if self._lease.held and self._lease.others_waiting():
                self._hand_over()


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _busy(path: Path, mode: int) -> bool:
    """Whether a lock of ``mode`` on ``path`` would have to wait (tried, and undone at once)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
