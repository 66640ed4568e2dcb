"""Wire copies in a ranked list: one passage per story and content.

Takes ranked ``NodeWithScore`` passages and a lookup of their documents' wire stories (``agent.index.wire``);
returns them without the later copies: a passage is dropped when a higher-ranked passage of another document
of its story says the same (give or take a few words). Passages of one article, and what only one copy says
(a new lead), are kept. A llama-index node postprocessor, applied once to every retrieval mode's list.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import NodeWithScore, QueryBundle
from pydantic import PrivateAttr

from agent.index.wire import PASSAGE_SHINGLE, copies, shingles

StoriesFn = Callable[[list[str]], dict[str, str]]  # doc_ids → their story ids (those that have one)
PASSAGES_CACHED = 4096  # the same passages come back question after question in a long-lived process


@lru_cache(maxsize=PASSAGES_CACHED)
def _passage_shingles(text: str) -> frozenset[str]:
    return frozenset(shingles(text, PASSAGE_SHINGLE))


class CollapseCopies(BaseNodePostprocessor):
    """Drops passages that repeat, from another outlet's copy of the same story, a passage ranked above them."""

    _stories: StoriesFn = PrivateAttr()

    def __init__(self, stories: StoriesFn) -> None:
        super().__init__()
        self._stories = stories

    @classmethod
    def class_name(cls) -> str:
        return "CollapseCopies"

    def _postprocess_nodes(self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None) -> list[NodeWithScore]:
        story_of = self._stories(list(dict.fromkeys(str(n.node.metadata.get("doc_id")) for n in nodes)))
        kept: list[NodeWithScore] = []
        seen: dict[str, list[tuple[str, frozenset[str]]]] = {}  # story → (doc_id, shingles) of its passages kept
        for hit in nodes:
            doc_id = str(hit.node.metadata.get("doc_id"))
            story = story_of.get(doc_id)
            if story is None:
                kept.append(hit)
                continue
            found = _passage_shingles(hit.node.get_content())
            if any(other != doc_id and copies(found, earlier) for other, earlier in seen.get(story, [])):
                continue
            seen.setdefault(story, []).append((doc_id, found))
            kept.append(hit)
        return kept
