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

With a Chroma server (``store.url``) there is no folder to lock: machines share the server, and
Chroma is not safe for concurrent writers nor has a compare-and-swap. ``ServerLease`` serializes
writers there: creating a collection whose name exists fails atomically on the server, so the
lease is the collection ``<collection>__writer`` (metadata: owner, expiry), kept by a heartbeat,
given back by deleting it, and broken by another writer once its expiry has passed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from agent.errors import DalilError

POLL_SECONDS = 0.05  # how often a waiter tries the lease again
WATCH_SECONDS = 0.2  # how often a reader holding the lease looks for waiters
SERVER_LEASE_SECONDS = 60.0  # a server lease not renewed for this long may be broken (generous: clocks differ between machines)
SERVER_POLL_SECONDS = 0.25  # how often a writer waiting for the server lease tries again


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


class ServerLease:
    """One writer at a time on a Chroma server's corpus (see the module docstring)."""

    def __init__(self, client: Any, collection: str, seconds: float = SERVER_LEASE_SECONDS) -> None:
        self._client = client
        self.name = f"{collection}__writer"
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.seconds = seconds
        self.lost: str | None = None  # why the lease is no longer ours (the heartbeat found it broken)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lease; True when this process holds it (a heartbeat then keeps it)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._client.create_collection(self.name, metadata=self._metadata(), embedding_function=None)
            except Exception as exc:
                if not _exists(exc):
                    raise
                self._break_if_expired()
                if time.monotonic() >= deadline:
                    return False
                time.sleep(SERVER_POLL_SECONDS)
                continue
            self._thread = threading.Thread(target=self._heartbeat, name="dalil-server-lease", daemon=True)
            self._thread.start()
            return True

    def holder(self) -> dict[str, Any] | None:
        """The lease's metadata (``owner``, ``expires``), or None when nobody holds it."""
        try:
            return dict(self._client.get_collection(self.name, embedding_function=None).metadata or {})
        except Exception as exc:
            if "does not exist" in str(exc):
                return None
            raise

    def check(self) -> None:
        """Refuse to write unless the lease is still this process's (asked of the server, not only the heartbeat)."""
        holder = self.holder()
        if self.lost is None and (holder is None or holder.get("owner") != self.owner):
            self.lost = f"taken over by {holder.get('owner') if holder else 'nobody'}"
        if self.lost is not None:
            raise DalilError(f"this ingest lost the Chroma server's writer lease ({self.lost}): another writer may be "
                             "writing; run `dalil ingest` again (what was written is kept)")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with suppress(Exception):  # the server may be gone: the lease then expires by itself
            holder = self.holder()
            if holder is not None and holder.get("owner") == self.owner:
                self._client.delete_collection(self.name)

    def close(self) -> None:
        """Close the client (after ``release``)."""
        with suppress(Exception):
            self._client.close()

    def _metadata(self) -> dict[str, Any]:
        return {"owner": self.owner, "expires": time.time() + self.seconds}

    def _heartbeat(self) -> None:
        renewed = time.time()
        while not self._stop.wait(self.seconds / 6):
            try:
                holder = self.holder()
                if holder is None or holder.get("owner") != self.owner:
                    self.lost = f"taken over by {holder.get('owner') if holder else 'nobody'}"
                    return
                self._client.get_collection(self.name, embedding_function=None).modify(metadata=self._metadata())
                renewed = time.time()
            except Exception:
                if time.time() - renewed > self.seconds:
                    self.lost = f"not renewed for {self.seconds:g}s: the server did not answer"
                    return

    def _break_if_expired(self) -> None:
        """Delete a lease whose expiry has passed. Breakers of the same lease race through a marker
        collection named after its owner (created atomically: one wins), and the winner deletes the
        lease only if it still has that owner, so a lease taken meanwhile is never broken."""
        held = self.holder()
        if held is None or float(held.get("expires", 0)) > time.time():
            return
        marker = f"{self.name}_break_{hashlib.sha1(str(held.get('owner')).encode()).hexdigest()[:12]}"
        try:
            self._client.create_collection(marker, embedding_function=None)
        except Exception as exc:
            if _exists(exc):
                return
            raise
        try:
            again = self.holder()
            if again is not None and again.get("owner") == held.get("owner"):
                self._client.delete_collection(self.name)
        finally:
            with suppress(Exception):
                self._client.delete_collection(marker)


def _exists(exc: Exception) -> bool:
    return "already exists" in str(exc)


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
