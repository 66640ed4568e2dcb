"""BM25 index over chunk search terms, with bm25s (persisted beside the store).

Takes ``(chunk_id, doc_id, terms)`` rows already normalized, unified and Snowball-stemmed by
the analyzer; returns ranked ``(chunk_id, score)`` pairs. Used directly rather than through
llama-index-retrievers-bm25: its ``BM25Retriever`` tokenizes with ``bm25s.tokenize`` and takes only a
PyStemmer stemmer and a stopword language, so the Arabic normalization and variant unification
cannot be plugged in.

Kept up to date incrementally: beside the bm25s index lies the corpus it was built from, as
token ids (``TermCorpus``). An ingest re-reads only the chunks of documents that are new or
changed, drops those of documents replaced or gone, and recomputes the BM25 weights from the
token ids in one vectorized pass (every weight depends on corpus-wide statistics, so appending
rows alone would leave the old ones wrong). At 500,000 chunks that is seconds, where reading
and re-tokenizing every chunk and ``bm25s.BM25.index`` took 41 s (bench/run.py, 100,000 articles).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np

from agent.text import arabic

ChunkRow = tuple[str, str, list[str]]  # chunk id, document id, terms
CURRENT = "current.json"  # names the subfolder holding the index in force
EMPTY_TERM = "\u0000"  # bm25s needs a token per document


class FlatBM25(bm25s.BM25):
    """``bm25s.BM25`` whose index is built from flat token-id arrays with numpy.

    bm25s builds its score matrix in Python loops over every document (``build_index_from_ids``,
    which its docs invite subclasses to override); this computes the same Lucene BM25 weights
    (bm25s's default method, k1 and b) and the same CSC layout in a few array operations, and
    leaves scoring, saving and loading to bm25s. A test checks both give the same matrix.
    """

    def index_flat(self, tokens: np.ndarray, lengths: np.ndarray, vocab: dict[str, int]) -> None:
        if self.method != "lucene":
            raise ValueError("FlatBM25 computes the lucene variant only")
        n_docs, n_vocab = len(lengths), len(vocab)
        docs = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        keys = tokens.astype(np.int64) * n_docs + docs  # column-major: token, then document (CSC order)
        keys.sort()
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        unique = keys[starts]
        tf = np.diff(np.append(starts, len(keys))).astype(self.dtype)
        cols, rows = np.divmod(unique, n_docs)
        df = np.bincount(cols, minlength=n_vocab)
        # as bm25s: idf in float64, stored as float32; the tf component in float64; the product stored as float32
        idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5)).astype(self.dtype)
        idf[df == 0] = 0
        avg_len = lengths.mean()
        tfc = tf / (self.k1 * ((1 - self.b) + self.b * lengths[rows] / avg_len) + tf)
        data = (idf[cols].astype(np.float64) * tfc).astype(self.dtype)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        self.scores = {"data": data, "indices": rows.astype(self.int_dtype), "indptr": indptr, "num_docs": n_docs}
        self.vocab_dict = dict(vocab)
        self.unique_token_ids_set = set(self.vocab_dict.values())
        self.nonoccurrence_array = None


@dataclass
class TermCorpus:
    """Every chunk's terms as token ids, with the chunk's document and the document's content hash."""

    chunk_ids: list[str]
    chunk_docs: np.ndarray  # per chunk: index into doc_ids
    doc_ids: list[str]
    doc_hashes: list[str]
    tokens: np.ndarray  # all chunks' token ids, concatenated (int32)
    lengths: np.ndarray  # per chunk: number of tokens (int64)
    vocab: dict[str, int]

    @classmethod
    def empty(cls) -> TermCorpus:
        return cls([], np.zeros(0, np.int32), [], [], np.zeros(0, np.int32), np.zeros(0, np.int64), {})

    def plus(self, rows: Iterable[ChunkRow], hashes: Mapping[str, str]) -> TermCorpus:
        """This corpus with ``rows`` appended (new documents take their hash from ``hashes``)."""
        vocab = dict(self.vocab)
        doc_ids, doc_hashes = list(self.doc_ids), list(self.doc_hashes)
        doc_index = {d: i for i, d in enumerate(doc_ids)}
        chunk_ids: list[str] = []
        # C arrays, not lists: half a million chunks' tokens as Python ints took about a gigabyte
        chunk_docs, tokens, lengths = array("i"), array("i"), array("q")
        for chunk_id, doc_id, terms in rows:
            if doc_id not in doc_index:
                doc_index[doc_id] = len(doc_ids)
                doc_ids.append(doc_id)
                doc_hashes.append(hashes.get(doc_id, ""))
            ids = [vocab.setdefault(t, len(vocab)) for t in terms or [EMPTY_TERM]]
            chunk_ids.append(chunk_id)
            chunk_docs.append(doc_index[doc_id])
            tokens.extend(ids)
            lengths.append(len(ids))
        return TermCorpus(
            self.chunk_ids + chunk_ids, np.concatenate((self.chunk_docs, np.frombuffer(chunk_docs, np.int32))), doc_ids, doc_hashes,
            np.concatenate((self.tokens, np.frombuffer(tokens, np.int32))), np.concatenate((self.lengths, np.frombuffer(lengths, np.int64))),
            vocab,
        )

    def without_documents(self, gone: set[str]) -> TermCorpus:
        """This corpus less every chunk of the documents in ``gone`` (their vocabulary stays, unused)."""
        if not gone:
            return self
        dead = np.fromiter((d in gone for d in self.doc_ids), dtype=bool, count=len(self.doc_ids))
        keep_chunks = ~dead[self.chunk_docs]
        keep_tokens = np.repeat(keep_chunks, self.lengths)
        kept_docs = np.flatnonzero(~dead)
        renumber = np.full(len(self.doc_ids), -1, np.int32)
        renumber[kept_docs] = np.arange(len(kept_docs), dtype=np.int32)
        return TermCorpus(
            [c for c, keep in zip(self.chunk_ids, keep_chunks.tolist(), strict=True) if keep], renumber[self.chunk_docs[keep_chunks]],
            [self.doc_ids[i] for i in kept_docs], [self.doc_hashes[i] for i in kept_docs],
            self.tokens[keep_tokens], self.lengths[keep_chunks], self.vocab,
        )

    def save(self, folder: Path) -> None:
        with open(folder / "corpus.npz", "wb") as handle:
            np.savez(handle, chunk_docs=self.chunk_docs, tokens=self.tokens, lengths=self.lengths)
        meta = {"doc_ids": self.doc_ids, "doc_hashes": self.doc_hashes, "vocab": list(self.vocab)}
        (folder / "corpus.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, chunk_ids: list[str]) -> TermCorpus | None:
        try:
            meta = json.loads((folder / "corpus.json").read_text(encoding="utf-8"))
            with np.load(folder / "corpus.npz") as arrays:
                chunk_docs, tokens, lengths = arrays["chunk_docs"], arrays["tokens"], arrays["lengths"]
        except Exception:  # a missing or damaged corpus only means a full rebuild
            return None
        if len(chunk_docs) != len(chunk_ids) or int(lengths.sum()) != len(tokens):
            return None
        vocab = {t: i for i, t in enumerate(meta["vocab"])}
        return cls(chunk_ids, chunk_docs, meta["doc_ids"], meta["doc_hashes"], tokens, lengths, vocab)


class BM25Index:
    def __init__(self, ids: list[str], model: bm25s.BM25 | None, generation: int, corpus: TermCorpus | None = None,
                 folder: Path | None = None, analyzer: str | None = None) -> None:
        self.ids = ids
        self.model = model
        self.generation = generation
        self.analyzer = analyzer  # the registry's analyzer key when its terms were read (an update keeps it)
        self._corpus = corpus
        self.folder = folder  # the version folder it was loaded from or saved to (its corpus is read from there)

    @cached_property
    def _position(self) -> dict[str, int]:  # only filtered searches need it
        return {cid: i for i, cid in enumerate(self.ids)}

    @classmethod
    def build(cls, rows: Iterable[ChunkRow], doc_hashes: Mapping[str, str], generation: int,
              analyzer: str | None = None) -> BM25Index:
        """Index every chunk from scratch."""
        return cls.from_corpus(TermCorpus.empty().plus(rows, doc_hashes), generation, analyzer)

    @classmethod
    def from_corpus(cls, corpus: TermCorpus, generation: int, analyzer: str | None = None) -> BM25Index:
        model = None
        if corpus.chunk_ids:
            model = FlatBM25()
            model.index_flat(corpus.tokens, corpus.lengths, corpus.vocab)
        return cls(corpus.chunk_ids, model, generation, corpus, analyzer=analyzer)

    def updated(self, doc_hashes: Mapping[str, str], rows_of: Callable[[list[str]], Iterable[ChunkRow]],
                generation: int) -> BM25Index | None:
        """The index of a store whose documents are now ``doc_hashes``: chunks of changed or removed
        documents dropped, those of new or changed ones (``rows_of(doc_ids)``) added. None when the
        corpus this index was built from is not available (an index saved by an older Dalil)."""
        corpus = self.corpus()
        if corpus is None:
            return None
        known = dict(zip(corpus.doc_ids, corpus.doc_hashes, strict=True))
        gone = {d for d, h in known.items() if doc_hashes.get(d) != h}
        fresh = sorted(d for d, h in doc_hashes.items() if known.get(d) != h)
        return BM25Index.from_corpus(corpus.without_documents(gone).plus(rows_of(fresh), doc_hashes), generation, self.analyzer)

    def corpus(self) -> TermCorpus | None:
        if self._corpus is None and self.folder is not None:
            self._corpus = TermCorpus.load(self.folder, self.ids)
        return self._corpus

    def save(self, folder: Path) -> None:
        """Write the index into a new subfolder, then point ``current.json`` at it (an atomic replace).

        A reader never sees half-written files or files of two generations mixed, whatever it races
        with; a crash mid-save leaves the previous version in force. The version just replaced is
        kept (a reader may be loading it); older ones and files of the old flat layout are removed."""
        folder.mkdir(parents=True, exist_ok=True)
        version = folder / f"g{self.generation}-{uuid.uuid4().hex[:8]}"
        version.mkdir()
        if self.model is not None:
            self.model.save(str(version))
        corpus = self.corpus()
        if corpus is not None:
            corpus.save(version)
        (version / "ids.json").write_text(json.dumps({"generation": self.generation, "analyzer": self.analyzer, "ids": self.ids}), encoding="utf-8")
        previous = _current_version(folder)
        tmp = folder / f"current.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"version": version.name, "generation": self.generation}), encoding="utf-8")
        tmp.replace(folder / CURRENT)
        self.folder = version
        for entry in folder.iterdir():
            if entry.name not in (CURRENT, version.name, previous):
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: Path) -> BM25Index | None:
        """The saved index, or None when there is none or it cannot be read (it is then rebuilt)."""
        name = _current_version(folder)
        if name is None:
            return None
        version = folder / name
        try:
            data = json.loads((version / "ids.json").read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(version)) if data["ids"] else None
            return cls(data["ids"], model, int(data["generation"]), folder=version, analyzer=data.get("analyzer"))
        except Exception:  # whatever is wrong with the files, a rebuild from the registry fixes it
            return None

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

    @cached_property
    def skeletons(self) -> frozenset[str]:
        """The terms as skeletons (``agent.text.arabic.skeleton``), 3 letters or more: what lets a question's
        "الانتهاكات" find the articles' "انتهكت" when asking whether the corpus speaks of it at all."""
        if self.model is None:
            return frozenset()
        return frozenset(k for k in (arabic.skeleton(t) for t in self.model.vocab_dict) if len(k) >= 3)

    def knows(self, term: str) -> bool:
        """Whether some chunk has ``term`` (an updated index keeps the terms of removed chunks, unused)."""
        return self.document_frequency(term) > 0

    def document_frequency(self, term: str) -> int:
        """Number of chunks containing ``term`` (0 when unknown): the length of its column."""
        if self.model is None or term not in self.model.vocab_dict:
            return 0
        token, indptr = self.model.vocab_dict[term], self.model.scores["indptr"]
        return int(indptr[token + 1] - indptr[token]) if token + 1 < len(indptr) else 0

    def __len__(self) -> int:
        return len(self.ids)


def _current_version(folder: Path) -> str | None:
    try:
        name = json.loads((folder / CURRENT).read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) and "/" not in name and name not in (".", "..") else None
