"""A watched folder (``dalil ingest --watch DIR``): what it holds, then each new or changed article file as it appears.

Takes folders, an ``ingest`` function (paths → ``IngestReport``: ``Dalil.ingest``), a stop event and a callback;
calls ``ingest`` on the folders once, then on every settled burst of new or changed article files (a changed
``manifest.yaml``: its folder), found by watchfiles, until the stop event is set, and hands each ``Batch`` to the
callback. A bad file is an error in its batch's report while the rest land (``Dalil.ingest`` goes on past it); a
batch that fails whole (the store's write lock held too long) is tried again with the next one. The batch under
way when the stop event is set is finished first. Deleted files are left in the store (``dalil articles rm``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import DalilError
from agent.ingest.readers import MANIFEST_NAME, SUPPORTED

if TYPE_CHECKING:
    from watchfiles import Change

    from agent.ingest.run import IngestReport

TICK_MS = 1000  # how often the watcher wakes without changes: the first pass starts then, a failed batch is retried
# a burst of changes ends after this long without one (watchfiles' ``step``, 50 ms by default, would catch a file
# copied in pieces half-written more often); ``debounce_ms`` caps how long a burst may go on
QUIET_MS = 400


@dataclass
class Batch:
    """One call of ``ingest``: its number (1: the first pass over the folders), the paths and the outcome."""

    number: int
    paths: list[Path]
    report: IngestReport | None
    error: str | None = None

    @property
    def initial(self) -> bool:
        return self.number == 1


def article_change(change: Change, path: str) -> bool:
    """A change worth ingesting: an article file or a manifest added or modified (not an editor's swap file)."""
    from watchfiles import Change

    name = Path(path)
    wanted = name.suffix.lower() in SUPPORTED or name.name == MANIFEST_NAME
    return wanted and change != Change.deleted and _default_filter()(change, path)


@cache
def _default_filter() -> Callable[[Change, str], bool]:
    """watchfiles' own filter (editors' swap and backup files, VCS folders)."""
    from watchfiles import DefaultFilter

    return DefaultFilter()


def check_folders(folders: Sequence[Path]) -> None:
    """Every path to watch must be a folder (one line naming the first that is not)."""
    for folder in folders:
        if not folder.is_dir():
            raise DalilError(f"--watch takes folders: {folder} is not one")


def watch_folders(folders: Sequence[Path], ingest: Callable[[list[Path]], IngestReport], on_batch: Callable[[Batch], None],
                  stop: threading.Event, debounce_ms: int = 1600, force_polling: bool | None = None) -> int:
    """Ingest ``folders`` and then their changes until ``stop`` is set; returns the number of batches.

    ``force_polling``: None follows watchfiles (its ``WATCHFILES_FORCE_POLLING`` environment variable, else the
    operating system's notifications)."""
    import watchfiles

    check_folders(folders)
    pending: dict[Path, None] = {}
    number = 0
    # the watcher starts before the first pass, so a file written during it is not missed; its first tick starts the pass
    for changes in watchfiles.watch(*folders, watch_filter=article_change, debounce=max(debounce_ms, QUIET_MS), step=QUIET_MS,
                                    stop_event=stop,
                                    force_polling=force_polling, rust_timeout=TICK_MS, yield_on_timeout=True,
                                    raise_interrupt=False):
        if number == 0:
            todo = list(folders)
        else:
            for _, name in sorted(changes):
                path = Path(name)
                pending[path.parent if path.name == MANIFEST_NAME else path] = None
            if not pending:
                continue
            todo = list(pending)
        pending.clear()
        number += 1
        try:
            report = ingest(todo)
        except DalilError as exc:
            pending.update(dict.fromkeys(todo))  # tried again with the next batch
            on_batch(Batch(number, todo, None, str(exc)))
        else:
            on_batch(Batch(number, todo, report))
        if stop.is_set():
            break
    return number
