"""Retrieval: a question → ranked ``NodeWithScore`` passages (dense, BM25 or hybrid).

Dense retrieval asks Chroma for the nearest chunk ids; BM25 ranks the analyzer's Arabic terms
with bm25s; both rebuild their passages from the registry. Hybrid fuses the two lists with
llama-index's ``QueryFusionRetriever`` (weighted reciprocal rank). Date and outlet filters
apply to both.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.retrievers import BaseRetriever, QueryFusionRetriever
from llama_index.core.retrievers.fusion_retriever import FUSION_MODES
from llama_index.core.schema import NodeWithScore, QueryBundle

from agent.errors import DalilError

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.llms import MockLLM

    from agent.index.store import Store
    from agent.text.lexicon import Analyzer

RetrievalMode = Literal["hybrid", "dense", "bm25"]


@dataclass(frozen=True)
class SearchFilters:
    """Optional limits on what may be retrieved."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    outlet: str | None = None

    def __bool__(self) -> bool:
        return bool(self.date_from or self.date_to or self.outlet)

    @classmethod
    def parse(cls, date_from: str | None, date_to: str | None, outlet: str | None) -> SearchFilters:
        """Filters from their text form (YYYY-MM-DD dates), as a client of ``dalil serve`` sends them."""
        try:
            start, end = (dt.date.fromisoformat(d) if d else None for d in (date_from, date_to))
        except ValueError:
            raise DalilError(f"dates must be YYYY-MM-DD, not {date_from!r} / {date_to!r}") from None
        if start and end and start > end:
            raise DalilError("--from is after --to")
        return cls(start, end, outlet or None)

    def to_chroma_where(self) -> dict[str, Any] | None:
        """The same limits as a Chroma ``where`` clause."""
        clauses: list[dict[str, Any]] = []
        if self.date_from:
            clauses.append({"published_ord": {"$gte": _ord(self.date_from)}})
        if self.date_to:
            clauses.append({"published_ord": {"$lte": _ord(self.date_to)}})
        if self.outlet:
            clauses.append({"outlet": {"$eq": self.outlet}})
        if len(clauses) > 1:
            return {"$and": clauses}
        return clauses[0] if clauses else None

    def allows(self, published_ord: int, outlet: str | None) -> bool:
        if self.date_from and published_ord < _ord(self.date_from):
            return False
        if self.date_to and (not published_ord or published_ord > _ord(self.date_to)):
            return False
        return not self.outlet or outlet == self.outlet


def _ord(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


class DenseRetriever(BaseRetriever):
    """Nearest chunks by embedding: Chroma returns ids and distances only; nodes come from the registry.

    Written instead of llama-index's ``VectorIndexRetriever`` because ``ChromaVectorStore.query``
    fetches and parses every candidate's stored node JSON, which cost more than the search itself.
    Scores are cosine similarities (1 − cosine distance).
    """

    def __init__(self, store: Store, embedder: BaseEmbedding, top_k: int, filters: SearchFilters | None = None) -> None:
        super().__init__()
        self._store = store
        self._embedder = embedder
        self._top_k = top_k
        self._where = (filters or SearchFilters()).to_chroma_where()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        vector = query_bundle.embedding or self._embedder.get_query_embedding(query_bundle.query_str)
        ids, distances = self._store.query_vectors(vector, self._top_k, self._where)
        nodes = self._store.registry.nodes(ids)
        return [NodeWithScore(node=nodes[cid], score=1.0 - float(d)) for cid, d in zip(ids, distances, strict=True) if cid in nodes]


class BM25Retriever(BaseRetriever):
    """BM25 over the store's Arabic-aware terms; nodes come back from Chroma by id."""

    def __init__(self, store: Store, analyzer: Analyzer, top_k: int, filters: SearchFilters | None = None) -> None:
        super().__init__()
        self._store = store
        self._analyzer = analyzer
        self._top_k = top_k
        self._filters = filters or SearchFilters()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        allowed = None
        if self._filters:
            allowed = {c.chunk_id for c in self._store.registry.chunks() if self._filters.allows(c.published_ord, c.outlet)}
        hits = self._store.bm25().search(self._analyzer.query_terms(query_bundle.query_str), self._top_k, allowed)
        if not hits:
            return []
        nodes = self._store.registry.nodes([cid for cid, _ in hits])
        return [NodeWithScore(node=nodes[cid], score=score) for cid, score in hits if cid in nodes]


def build_retriever(
    store: Store,
    analyzer: Analyzer,
    embedder: BaseEmbedding,
    top_k: int,
    candidates: int,
    mode: RetrievalMode,
    filters: SearchFilters | None,
    rewrites: list[str] | None,
    bm25_weight: float,
    rrf_k: int,
    fusion: str,
) -> BaseRetriever:
    """The retriever for ``mode``; hybrid (and any rewritten queries) fuse by reciprocal rank.

    No defaults here: every knob comes from ``RetrievalSettings``, the one place they live."""
    filters = filters or SearchFilters()
    fused = mode == "hybrid" or bool(rewrites)
    per_list = candidates if fused else top_k
    dense = DenseRetriever(store, embedder, per_list, filters)
    lexical = BM25Retriever(store, analyzer, per_list, filters)
    routes: dict[str, list[BaseRetriever]] = {"dense": [dense], "bm25": [lexical], "hybrid": [dense, lexical]}
    chosen = routes[mode]
    if not fused:
        return chosen[0]
    weights = [1.0 - bm25_weight, bm25_weight] if mode == "hybrid" else [1.0]
    return FusionRetriever(chosen, top_k, rewrites or [], weights, rrf_k, fusion)


class FusionRetriever(QueryFusionRetriever):
    """llama-index's reciprocal-rank fusion over retrievers × (question + given rewrites).

    The rewrites come from Dalil's own prompt, so query generation is replaced rather than
    letting llama-index call an LLM (MockLLM keeps it from resolving one).
    """

    def __init__(self, retrievers: list[BaseRetriever], top_k: int, rewrites: list[str],
                 weights: list[float] | None, rrf_k: int, fusion: str = "rrf") -> None:
        mode = FUSION_MODES({"rrf": "reciprocal_rerank"}.get(fusion, fusion))
        super().__init__(
            retrievers, llm=_mock_llm(), mode=mode, similarity_top_k=top_k,
            num_queries=1 + len(rewrites), use_async=False, retriever_weights=weights,
        )
        self._rewrites = list(rewrites)
        self._rrf_k = rrf_k

    def _get_queries(self, original_query: str) -> list[QueryBundle]:
        return [QueryBundle(q) for q in self._rewrites]

    def _reciprocal_rerank_fusion(self, results: dict[tuple[str, int], list[NodeWithScore]]) -> list[NodeWithScore]:
        """Weighted RRF: score = sum of weight_i / (k + rank). Overridden because llama-index's
        version ignores ``retriever_weights`` and fixes k at 60."""
        fused: dict[str, float] = {}
        nodes: dict[str, NodeWithScore] = {}
        for (_, index), hits in results.items():
            weight = self._retriever_weights[index]
            for rank, hit in enumerate(sorted(hits, key=lambda h: h.score or 0.0, reverse=True)):
                nodes.setdefault(hit.node.node_id, hit)
                fused[hit.node.node_id] = fused.get(hit.node.node_id, 0.0) + weight / (self._rrf_k + rank + 1)
        ranked = sorted(fused.items(), key=lambda item: item[1], reverse=True)
        return [NodeWithScore(node=nodes[node_id].node, score=score) for node_id, score in ranked]


@cache
def _mock_llm() -> MockLLM:
    """One placeholder LLM per process: building one costs more than a BM25 query."""
    from llama_index.core.llms import MockLLM

    return MockLLM()


def retrieve(retriever: BaseRetriever, query: str) -> list[NodeWithScore]:
    """Ranked passages for ``query``; an empty store gives an empty list."""
    if not query.strip():
        return []
    return retriever.retrieve(query)
