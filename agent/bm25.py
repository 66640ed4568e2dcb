"""BM25 index over chunk search terms, with bm25s (persisted beside the store).

Takes ``(chunk_id, terms)`` pairs already normalized, unified and Snowball-stemmed by
the analyzer; returns ranked ``(chunk_id, score)`` pairs. Used directly rather than
through llama-index-retrievers-bm25, which cannot take the Arabic analyzer (OFFLINE-FACTS).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np


class BM25Index:
    def __init__(self, ids: list[str], model: bm25s.BM25 | None, generation: int) -> None:
        self.ids = ids
        self.model = model
        self.generation = generation
        self._position = {cid: i for i, cid in enumerate(ids)}

    @classmethod
    def build(cls, chunk_terms: Iterable[tuple[str, list[str]]], generation: int) -> BM25Index:
        """Index chunks as token ids (a vocabulary built on the fly keeps memory low on big stores)."""
        ids: list[str] = []
        corpus: list[list[int]] = []
        vocab: dict[str, int] = {}
        for chunk_id, terms in chunk_terms:
            ids.append(chunk_id)
            corpus.append([vocab.setdefault(t, len(vocab)) for t in terms or ["\u0000"]])  # bm25s needs a token per document
        model = None
        if ids:
            model = bm25s.BM25()
            model.index((corpus, vocab), show_progress=False)
        return cls(ids, model, generation)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.model is not None:
            self.model.save(str(folder))
        tmp = folder / "ids.json.tmp"
        tmp.write_text(json.dumps({"generation": self.generation, "ids": self.ids}), encoding="utf-8")
        tmp.replace(folder / "ids.json")  # written last: a crash leaves the old generation, so it is rebuilt

    @classmethod
    def load(cls, folder: Path) -> BM25Index | None:
        meta = folder / "ids.json"
        if not meta.is_file():
            return None
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(folder)) if data["ids"] else None
        except (OSError, ValueError, KeyError):
            return None
        return cls(data["ids"], model, int(data["generation"]))

    def search(self, terms: list[str], k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Top ``k`` chunks with a positive score, optionally only among ``allowed`` ids."""
        if self.model is None or not terms:
            return []
        known = [t for t in terms if t in self.model.vocab_dict]
        if not known:
            return []
        scores = self.model.get_scores(known)
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=bool)
            for cid in allowed:
                if cid in self._position:
                    mask[self._position[cid]] = True
            scores = np.where(mask, scores, 0.0)
        if k < len(scores):  # a partial sort: at 500k chunks a full argsort is most of a query's time
            top = np.argpartition(-scores, k)[:k]
            order = top[np.lexsort((top, -scores[top]))]  # score, then index: the order a stable sort gives
        else:
            order = np.argsort(-scores, kind="stable")
        return [(self.ids[i], float(scores[i])) for i in order if scores[i] > 0]

    def knows(self, term: str) -> bool:
        return self.model is not None and term in self.model.vocab_dict

    def document_frequency(self, term: str) -> int:
        """Number of chunks containing ``term`` (0 when unknown)."""
        if self.model is None or term not in self.model.vocab_dict:
            return 0
        return int(np.count_nonzero(self.model.get_scores([term])))

    def __len__(self) -> int:
        return len(self.ids)
