"""The BM25 index: the vectorized builder against bm25s's own, and incremental updates against a full build."""

from __future__ import annotations

import random
from pathlib import Path

import bm25s
import numpy as np

from agent.config import load_settings
from agent.index.bm25 import EMPTY_TERM, BM25Index, FlatBM25, TermCorpus
from agent.pipeline import Dalil
from tests.conftest import chroma_of


def random_rows(seed: int, docs: int, prefix: str = "d") -> list[tuple[str, str, list[str]]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    rows = []
    for d in range(docs):
        for c in range(rng.randint(1, 4)):
            # a skewed vocabulary (some terms in most chunks, most in few), repeats, and now and then no term at all
            terms = [rng.choice(words[: rng.randint(3, 400)]) for _ in range(rng.choice([0, 1, 5, 20, 60]))]
            rows.append((f"{prefix}{d}-c{c}", f"{prefix}{d}", terms))
    return rows


def test_flat_builder_gives_bm25s_own_matrix() -> None:
    rows = random_rows(3, 600)
    corpus = TermCorpus.empty().plus(rows, {})
    flat = FlatBM25()
    flat.index_flat(corpus.tokens, corpus.lengths, corpus.vocab)
    reference = bm25s.BM25()
    reference.index(([[corpus.vocab[t] for t in terms or [EMPTY_TERM]] for _, _, terms in rows], corpus.vocab), show_progress=False)
    assert np.array_equal(flat.scores["indptr"], np.asarray(reference.scores["indptr"]))
    assert np.array_equal(flat.scores["indices"], reference.scores["indices"])
    assert np.array_equal(flat.scores["data"], reference.scores["data"])  # bit for bit
    assert flat.scores["num_docs"] == reference.scores["num_docs"] == len(rows)
    query = ["w0", "w7", "w150", "w399"]
    assert np.array_equal(flat.get_scores(query), reference.get_scores(query))


def test_an_update_equals_a_full_build_and_reads_only_what_changed() -> None:
    before = random_rows(1, 200)
    hashes = {doc: "v1" for _, doc, _ in before}
    index = BM25Index.build(before, hashes, generation=1)

    changed, removed = "d5", "d9"
    added = random_rows(2, 30, prefix="n")
    rewritten = [(f"{changed}-new{i}", changed, terms) for i, (_, _, terms) in enumerate(random_rows(4, 1, prefix="x"))]
    after = [r for r in before if r[1] not in (changed, removed)] + rewritten + added
    now = {doc: "v1" for _, doc, _ in after} | {changed: "v2"}
    asked: list[list[str]] = []

    def rows_of(doc_ids: list[str]) -> list[tuple[str, str, list[str]]]:
        asked.append(doc_ids)
        return [r for r in after if r[1] in doc_ids]

    updated = index.updated(now, rows_of, generation=2)
    full = BM25Index.build(after, now, generation=2)
    assert updated is not None
    assert asked == [sorted({changed} | {doc for _, doc, _ in added})]  # nothing else is read again
    assert sorted(updated.ids) == sorted(full.ids) and len(updated) == len(after)
    assert updated.generation == 2
    for query in (["w0"], ["w1", "w33"], ["w250", "w3", "w3"], ["w120"]):
        hits = updated.search(query, 10_000)
        assert hits and hits == full.search(query, 10_000)  # the very same scores, in the same order
        for term in query:
            assert updated.document_frequency(term) == full.document_frequency(term) > 0
    assert not any(cid.startswith(f"{removed}-") for cid in updated.ids)
    only_removed = {t for _, d, terms in before if d in (changed, removed) for t in terms} - {t for _, _, terms in after for t in terms}
    for term in only_removed | {"w0"}:  # the vocabulary keeps removed terms, unused: they are not "known"
        assert updated.knows(term) == full.knows(term)


def test_saved_index_updates_from_disk_and_an_old_one_without_its_corpus_is_rebuilt(tmp_path: Path) -> None:
    rows = random_rows(5, 50)
    hashes = {doc: "v1" for _, doc, _ in rows}
    BM25Index.build(rows, hashes, generation=3).save(tmp_path / "ix")
    loaded = BM25Index.load(tmp_path / "ix")
    assert loaded is not None and loaded.generation == 3 and loaded.ids == [r[0] for r in rows]
    more = random_rows(6, 3, prefix="m")
    updated = loaded.updated(hashes | {doc: "v1" for _, doc, _ in more}, lambda ids: [r for r in more if r[1] in ids], 4)
    assert updated is not None and len(updated) == len(rows) + len(more)
    updated.save(tmp_path / "ix")
    versions = sorted(p.name for p in (tmp_path / "ix").iterdir())
    assert len(versions) == 3 and "current.json" in versions  # the new version and the one it replaced
    assert BM25Index.load(tmp_path / "ix").generation == 4  # type: ignore[union-attr]

    current = BM25Index.load(tmp_path / "ix")
    assert current is not None and current.folder is not None
    (current.folder / "corpus.npz").write_bytes(b"PK\x03\x04 torn")  # a damaged corpus: updates fall back to a full build
    assert BM25Index.load(tmp_path / "ix").updated(hashes, lambda ids: [], 5) is None  # type: ignore[union-attr]
    (current.folder / "data.csc.index.npy").write_bytes(b"torn")  # a damaged index: it is not loaded at all
    assert BM25Index.load(tmp_path / "ix") is None
    (tmp_path / "ix" / "current.json").write_text('{"version": "../../etc"}', encoding="utf-8")
    assert BM25Index.load(tmp_path / "ix") is None


def test_store_keeps_bm25_in_step_with_ingests_and_deletes_vectors_by_id(store: Path, tmp_path: Path) -> None:
    settings = load_settings(None, {"store": {"path": store}})
    corpus = tmp_path / "more"
    corpus.mkdir()
    (corpus / "quake.txt").write_text("خبر عن زلزال في مدينة قونية التركية.\n", encoding="utf-8")
    Dalil(settings).ingest([corpus])
    (corpus / "quake.txt").write_text("خبر عن فيضان في مدينة أضنة التركية.\n", encoding="utf-8")
    Dalil(settings).ingest([corpus])  # the same file, changed: its old chunk must leave both indexes

    dalil = Dalil(settings)
    index = dalil.store.bm25()
    full = BM25Index.build(dalil.store.registry.chunk_terms(), dalil.store.registry.document_hashes(), index.generation)
    assert sorted(index.ids) == sorted(full.ids) == sorted(c.chunk_id for c in dalil.store.registry.chunks())
    terms = dalil.analyzer.query_terms("فيضان أضنة لافروف")
    assert index.search(terms, 20) == full.search(terms, 20)
    assert index.search(dalil.analyzer.query_terms("زلزال قونية"), 5) == []  # the old text is gone from BM25
    assert dalil.store.vector_count() == len(index)  # and its vector from Chroma


def test_vectors_a_crashed_run_left_are_removed_when_the_document_is_ingested_again(store: Path, tmp_path: Path) -> None:
    """A crash between the Chroma write and the registry commit leaves vectors no registry row knows.
    The `writing` journal names their document, so the next ingest of it removes them (by a metadata scan)."""
    settings = load_settings(None, {"store": {"path": store}})
    corpus = tmp_path / "more"
    corpus.mkdir()
    (corpus / "quake.txt").write_text("خبر عن زلزال في مدينة قونية التركية.\n", encoding="utf-8")
    from agent.ingest.readers import doc_id_for

    doc_id = doc_id_for(str((corpus / "quake.txt").resolve()))
    crashed = Dalil(settings)
    assert crashed.store.registry.start_writing([doc_id]) == []  # the run that will crash records its document
    vector = crashed.embedder.get_text_embedding("زلزال")
    chroma_of(crashed.store).add(ids=["left-by-the-crash"], embeddings=[vector], metadatas=[{"document_id": doc_id}])
    crashed.store.close()

    report = Dalil(settings).ingest([corpus])
    assert report.added == ["quake.txt"]
    after = Dalil(settings)
    assert chroma_of(after.store).get(ids=["left-by-the-crash"])["ids"] == []
    assert after.store.registry.start_writing([doc_id]) == []  # the journal was cleared by the commit
    assert after.store.vector_count() == after.store.registry.counts()[1]
