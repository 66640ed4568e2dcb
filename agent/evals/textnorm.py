"""Text normalization for scoring: one form for answers, references, keys and quotes.

Scoring compares meaning, not spelling: ``agent.text.arabic.normalize`` (no diacritics or
tatweel, unified alef/hamza/ya, ASCII digits, lowercase) plus collapsed whitespace.
Citation markers such as ``[1]``, ``[1, 2]`` or ``[١]`` are removed before an answer is scored.
"""

from __future__ import annotations

import re

from agent.text import arabic

MARKER = re.compile(r"\[\s*([0-9٠-٩۰-۹]+(?:\s*[,،]\s*[0-9٠-٩۰-۹]+)*)\s*\]")  # as agent.answer.citations reads them
_SPACE = re.compile(r"\s+")
_BEFORE_PUNCT = re.compile(r"\s+([.!?؟،؛,])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def norm(text: str) -> str:
    """Scoring form of ``text``: Arabic-aware normalization and collapsed whitespace."""
    return _SPACE.sub(" ", arabic.normalize(text)).strip()


def strip_markers(text: str) -> str:
    """``text`` without citation markers like ``[1]`` or ``[2, 3]``."""
    return _BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", MARKER.sub(" ", text))).strip()


def marker_numbers(text: str) -> list[int]:
    """Citation numbers referenced by markers in ``text``, in order of appearance (repeats kept)."""
    return [int(arabic.normalize(n)) for group in MARKER.findall(text) for n in re.split(r"\s*[,،]\s*", group)]


def tokens(text: str) -> list[str]:
    """Normalized word tokens (punctuation dropped)."""
    return arabic.words(text)


def number_tokens(text: str) -> list[str]:
    """Digit tokens of ``text`` after Arabic-Indic → ASCII normalization (``12.8``, ``2,031``, ``2016``)."""
    return _NUMBER.findall(arabic.normalize(text))
