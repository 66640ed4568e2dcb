"""Embedders behind llama-index's ``BaseEmbedding``: an offline default and an endpoint.

Takes texts; returns vectors. ``make_embedder(settings)`` picks:
- ``local``: hashed features of normalized Arabic/English text (stems + character
  3–5-grams, so ``الهدنة``/``هدنة``/``والهدنة`` share most features). No model, no download,
  deterministic across runs and machines.
- ``openai``: any OpenAI-compatible ``/embeddings`` endpoint, through the ``openai`` SDK.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from agent import arabic
from agent.config import EmbeddingSettings
from agent.errors import DalilError
from agent.lexicon import Analyzer, load_analyzer

_STEM_WEIGHT = 1.0
_NGRAM_WEIGHT = 0.35


class HashingEmbedding(BaseEmbedding):
    """Feature hashing of stems and character n-grams into a fixed, L2-normalized vector.

    Written by hand because no packaged embedder is both download-free and aware of
    Arabic morphology; hashing needs no vocabulary, so vectors never go stale.
    """

    dim: int = 1024
    _analyzer: Analyzer = PrivateAttr()

    def __init__(self, dim: int = 1024, analyzer: Analyzer | None = None, **kwargs: Any) -> None:
        super().__init__(dim=dim, model_name=f"dalil-hashing-{dim}", embed_batch_size=256, **kwargs)
        self._analyzer = analyzer or load_analyzer()

    @classmethod
    def class_name(cls) -> str:
        return "DalilHashingEmbedding"

    def _features(self, text: str) -> dict[str, float]:
        features: dict[str, float] = {}
        stop = arabic.stopwords()
        for word in arabic.words(text):
            if word in stop:
                continue
            word = self._analyzer.canonical(word)
            stem = arabic.stem(word)
            features["s:" + stem] = features.get("s:" + stem, 0.0) + _STEM_WEIGHT
            for gram in arabic.iter_char_ngrams(stem if len(stem) >= 3 else word):
                features["g:" + gram] = features.get("g:" + gram, 0.0) + _NGRAM_WEIGHT
        return features

    def embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for feature, count in self._features(text).items():
            h = zlib.crc32(feature.encode("utf-8"))
            sign = 1.0 if (h >> 31) & 1 else -1.0
            vector[h % self.dim] += sign * math.log1p(count)
        norm = math.sqrt(sum(v * v for v in vector))
        return [v / norm for v in vector] if norm else vector

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.embed(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.embed(self._analyzer.expanded_query(query))

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [self.embed(t) for t in texts]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


class EndpointEmbedding(BaseEmbedding):
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint."""

    _client: Any = PrivateAttr()

    def __init__(self, settings: EmbeddingSettings, **kwargs: Any) -> None:
        import openai

        if not settings.model:
            raise DalilError("embeddings.provider is 'openai' but embeddings.model is not set (DALIL_EMBEDDINGS_MODEL)")
        super().__init__(model_name=settings.model, embed_batch_size=settings.batch_size, **kwargs)
        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        self._client = openai.OpenAI(base_url=settings.base_url, api_key=key, max_retries=3, timeout=60)

    @classmethod
    def class_name(cls) -> str:
        return "DalilEndpointEmbedding"

    def _embed(self, texts: list[str]) -> list[list[float]]:
        import openai

        try:
            response = self._client.embeddings.create(model=self.model_name, input=texts)
        except openai.OpenAIError as exc:
            raise DalilError(f"embeddings endpoint failed: {type(exc).__name__}: {str(exc)[:200]}") from None
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def make_embedder(settings: EmbeddingSettings, analyzer: Analyzer | None = None) -> BaseEmbedding:
    """The configured embedder."""
    if settings.provider == "openai":
        return EndpointEmbedding(settings)
    return HashingEmbedding(dim=settings.dim, analyzer=analyzer)
