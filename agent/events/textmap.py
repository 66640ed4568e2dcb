"""Normalized text that remembers where each character came from.

Rules match on ``arabic.normalize``d text (no diacritics, one alef, ى→ي, ASCII digits,
lowercase); every match is mapped back to offsets in the original, which is what gets
quoted and cited.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from agent.text import arabic


@dataclass(frozen=True)
class NormText:
    """``text`` plus its normalized form ``norm`` and, per normalized character, its original index."""

    text: str

    @cached_property
    def _built(self) -> tuple[str, list[int]]:
        chars: list[str] = []
        index: list[int] = []
        forms: dict[str, str] = {}  # each distinct character is normalized once
        for i, ch in enumerate(self.text):
            out = forms.get(ch)
            if out is None:
                out = forms[ch] = arabic.normalize(ch)
            for c in out:
                chars.append(c)
                index.append(i)
        return "".join(chars), index

    @property
    def norm(self) -> str:
        return self._built[0]

    def to_norm(self, original: int) -> int:
        """First normalized index at or after an original offset."""
        return bisect.bisect_left(self._built[1], original)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the normalized span ``[start, end)`` (trailing diacritics kept)."""
        index = self._built[1]
        if start >= len(index):
            return len(self.text), len(self.text)
        first = index[start]
        last = index[end - 1] + 1 if end > start else first
        while last < len(self.text) and arabic.normalize(self.text[last]) == "":
            last += 1
        return first, last

    def finditer(self, pattern: re.Pattern[str], start: int = 0, end: int | None = None) -> Iterator[tuple[re.Match[str], int, int]]:
        """Matches of ``pattern`` in the normalized text between original offsets, with original spans."""
        lo = self.to_norm(start)
        hi = self.to_norm(end) if end is not None else len(self.norm)
        for m in pattern.finditer(self.norm, lo, hi):
            s, e = self.to_original(m.start(), m.end())
            yield m, s, e
