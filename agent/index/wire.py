"""Wire copies: one agency text carried by several outlets (a new lead, a few words changed), found at ingest.

Takes a document's text and the registry of stored ones; returns its ``StoryMark``: a MinHash signature
(datasketch, 128 permutations) of its 5-word shingles, normalized for matching (``agent.text.arabic``:
diacritics, alef/hamza/ya forms, digits; ta marbuta read as ha), and the story it joins: that of the
most similar stored (or earlier in the run) document whose estimated Jaccard similarity reaches
``wire.threshold``, else a new story named after its own content hash (a text that matches copies
filed under several stories joins them into one). Candidates come from LSH band
keys kept in the registry beside the signatures. ``copies`` tells whether two passages say the same.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Set
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from agent.index.records import StoryMark
from agent.text import arabic

if TYPE_CHECKING:
    from agent.index.store import Registry

NUM_PERM = 128
SHINGLE = 5  # words per shingle: a changed word touches 5 shingles of several hundred
MIN_SHINGLES = 10  # shorter texts (a headline, a one-line brief) are never matched: too little to tell a copy
# LSH banding: 32 bands of 4 rows make two texts with a Jaccard similarity of 0.5 candidates with probability
# 0.87, of 0.6 with 0.99; each candidate is then checked against ``wire.threshold`` (0.5 at least).
# Written here rather than with datasketch's ``MinHashLSH`` because the bands live in the registry, committed
# with each document (crash-safe, and published to a Chroma server's other machines with it): an in-memory
# MinHashLSH would be rebuilt from every stored signature at each ingest (measured: 0.8 s per 10,000 articles).
BANDS, ROWS = 32, 4
PASSAGE_SHINGLE = 3  # passages are short: 3-word shingles
COPY_OVERLAP = 0.5  # share of the shorter passage's shingles found in the other: the same passage


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """The ``size``-word shingles of ``text``'s normalized words (a shorter text: its words as one shingle)."""
    words = [w.replace("ة", "ه") for w in arabic.words(text)]
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


@cache
def _permutations() -> object:
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, seed=1).permutations  # drawn once: the same for every signature


def _shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of the text's distinct ``SHINGLE``-word shingles: each word hashed once (CRC-32), the shingles
    combined from them with numpy, so no shingle string is built (that took half of the signature's time)."""
    words = [w.replace("ة", "ه") for w in arabic.words(text)]
    if len(words) < SHINGLE:
        return np.zeros(0, dtype=np.uint64)
    codes = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
    combined = np.zeros(len(words) - SHINGLE + 1, dtype=np.uint64)
    for offset in range(SHINGLE):  # a polynomial hash of the shingle's word codes, kept to 32 bits
        combined = (combined * np.uint64(1_000_003) + codes[offset:offset + len(combined)]) & np.uint64(0xFFFFFFFF)
    return np.unique(combined)


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature of ``text`` (``NUM_PERM`` uint32 values), or None when it is too short to match."""
    from datasketch import MinHash

    hashes = _shingle_hashes(text)
    if len(hashes) < MIN_SHINGLES:
        return None
    # the shingles come hashed already: datasketch's hashfunc hook takes them as they are
    minhash = MinHash(num_perm=NUM_PERM, permutations=_permutations(), scheme="affine32", hashfunc=int)
    minhash.update_batch(hashes.tolist())
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def band_keys(signature: bytes) -> list[bytes]:
    """The LSH keys of a signature: one per band (its number, then its rows' values)."""
    size = ROWS * 4  # bytes per band
    if len(signature) < BANDS * size:  # a text too short to match: filed under no band
        return []
    return [bytes([band]) + signature[band * size:(band + 1) * size] for band in range(BANDS)]


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures (datasketch's ``MinHash.jaccard``: the share of equal values)."""
    x, y = np.frombuffer(a, dtype=np.uint32), np.frombuffer(b, dtype=np.uint32)
    return float(np.count_nonzero(x == y)) / len(x) if len(x) == len(y) and len(x) else 0.0


class WireMatcher:
    """Marks documents with their story, one ingest run at a time (documents of the run not yet committed
    are matched too, so the first copy of a story may come in the same batch as the others)."""

    def __init__(self, registry: Registry, threshold: float) -> None:
        self.registry, self.threshold = registry, threshold
        self._bands: dict[bytes, list[str]] = {}  # this run's documents, by band key
        self._marks: dict[str, StoryMark] = {}  # this run's documents
        self._joined: dict[str, str] = {}  # story → the story this run joined it into (stored rows follow at their commit)
        self.seconds = 0.0  # spent marking, for the ingest report

    def mark(self, doc_id: str, text: str, content_hash: str) -> StoryMark:
        """The story of a document about to be written (a story of its own, with no signature, when it is too
        short to match anything)."""
        started = time.perf_counter()
        try:
            return self._mark(doc_id, text, content_hash)
        finally:
            self.seconds += time.perf_counter() - started

    def _mark(self, doc_id: str, text: str, content_hash: str) -> StoryMark:
        own = f"s-{content_hash[:20]}"
        values = signature(text)
        if values is None:
            self._marks[doc_id] = StoryMark(own, b"")
            return self._marks[doc_id]
        sig = values.tobytes()
        keys = band_keys(sig)
        candidates = set(self.registry.story_candidates(keys)) | {d for k in keys for d in self._bands.get(k, ())}
        candidates.discard(doc_id)  # its own earlier version
        known = {d: self._marks[d] for d in candidates if d in self._marks}
        known.update(self.registry.story_marks([d for d in sorted(candidates) if d not in self._marks]))
        matched = sorted(((similarity(sig, m.signature), self._joined.get(m.story_id, m.story_id)) for m in known.values()),
                         reverse=True)
        stories = list(dict.fromkeys(story for score, story in matched if score >= self.threshold))
        # the best match's story; it takes in the others this text also copies (a copy of a copy, first told apart)
        mark = StoryMark(stories[0], sig, tuple(stories[1:])) if stories else StoryMark(own, sig)
        if mark.merges:
            self._joined.update({merged: mark.story_id for merged in mark.merges})
            self._joined.update({k: mark.story_id for k, v in self._joined.items() if v in mark.merges})
            for other, earlier in self._marks.items():
                if earlier.story_id in mark.merges:
                    self._marks[other] = StoryMark(mark.story_id, earlier.signature)
        self._marks[doc_id] = mark
        for key in keys:
            self._bands.setdefault(key, []).append(doc_id)
        return mark


def backfill(registry: Registry, matcher: WireMatcher, batch: int = 256) -> int:
    """Mark the stored documents that have no story yet (ingested with ``wire.enabled`` off, or by a Dalil
    without wire copies), in the order they were ingested; how many were marked."""
    todo = registry.without_story()
    done = 0
    for start in range(0, len(todo), batch):
        found = []
        for doc_id in todo[start:start + batch]:
            record = registry.document(doc_id)
            if record is None:
                continue
            found.append((doc_id, record.content_hash, matcher.mark(doc_id, record.text, record.content_hash)))
        done += registry.write_stories(found)
    return done


def copies(a: Set[str], b: Set[str]) -> bool:
    """Whether two passages' shingle sets (``shingles(text, PASSAGE_SHINGLE)``) are the same passage, give or take
    a few words (one may be a part of the other: copies are cut into chunks at different places)."""
    if not a or not b:
        return a == b
    return len(a & b) / min(len(a), len(b)) >= COPY_OVERLAP
