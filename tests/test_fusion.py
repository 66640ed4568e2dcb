"""Weighted reciprocal-rank fusion (llama-index's own ignores retriever weights)."""

from __future__ import annotations

import pytest
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from agent.retrieval.retrieve import FusionRetriever


class Fixed(BaseRetriever):
    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=TextNode(id_=i, text=i), score=1.0 / (r + 1)) for r, i in enumerate(self.ids)]


def test_weights_and_k_decide_the_fused_order() -> None:
    dense, bm25 = Fixed(["d1", "both"]), Fixed(["b1", "both"])
    fused = FusionRetriever([dense, bm25], top_k=3, rewrites=[], weights=[0.25, 0.75], rrf_k=20).retrieve("q")
    scores = {n.node.node_id: n.score for n in fused}
    assert [n.node.node_id for n in fused] == ["both", "b1", "d1"]
    assert scores["b1"] == pytest.approx(0.75 / 21)
    assert scores["d1"] == pytest.approx(0.25 / 21)
    assert scores["both"] == pytest.approx(0.25 / 22 + 0.75 / 22)


def test_rewrites_add_ranked_lists_without_calling_an_llm() -> None:
    fused = FusionRetriever([Fixed(["a", "b"])], top_k=2, rewrites=["second query"], weights=[1.0], rrf_k=60).retrieve("q")
    assert [n.node.node_id for n in fused] == ["a", "b"]
    assert fused[0].score == pytest.approx(2 / 61)
