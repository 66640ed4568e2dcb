"""Chunking: exact offsets, token budget, the duplicated lead of seed 001, overlap, stable ids (agent.ingest.chunking)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from llama_index.core.schema import Document

from agent.ingest.chunking import ArabicSentenceChunker, token_counter, unique_paragraphs
from agent.ingest.readers import read_paths

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_FILES = sorted(p.name for p in SEEDS.glob("*.txt"))
F001 = "001_a9aefecacaf48a1a.txt"


def _seed_docs() -> dict[str, Document]:
    result = read_paths([SEEDS])
    assert not result.errors
    return {d.metadata["file"]: d for d in result.documents}


@pytest.fixture(scope="module")
def seed_docs() -> dict[str, Document]:
    return _seed_docs()


def _doc(text: str, name: str = "synthetic.txt") -> Document:
    return Document(id_="doc-" + name, text=text, metadata={"doc_id": "doc-" + name, "file": name, "published": "2016-10-01"})


# --- offsets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEED_FILES)
@pytest.mark.parametrize(("size", "overlap"), [(200, 40), (48, 12)])
def test_chunk_text_is_exact_slice_of_document(seed_docs: dict[str, Document], name: str, size: int, overlap: int) -> None:
    doc = seed_docs[name]
    chunks = ArabicSentenceChunker(chunk_tokens=size, overlap_tokens=overlap).chunk_document(doc)
    assert chunks
    for node in chunks:
        start, end = node.start_char_idx, node.end_char_idx
        assert 0 <= start < end <= len(doc.text)
        assert node.text == doc.text[start:end]
        assert node.metadata["start_char"] == start
        assert node.metadata["end_char"] == end
        assert node.text == node.text.strip()
        assert node.metadata["doc_id"] == doc.metadata["doc_id"]
        assert node.metadata["published"] == doc.metadata["published"]
        assert node.ref_doc_id == doc.doc_id
    assert [n.metadata["ordinal"] for n in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize("name", SEED_FILES)
def test_chunks_cover_every_unique_paragraph(seed_docs: dict[str, Document], name: str) -> None:
    """No text is lost: every word of every kept paragraph is inside some chunk."""
    doc = seed_docs[name]
    chunks = ArabicSentenceChunker(chunk_tokens=48, overlap_tokens=12).chunk_document(doc)
    covered = [False] * len(doc.text)
    for node in chunks:
        for i in range(node.start_char_idx, node.end_char_idx):
            covered[i] = True
    for para in unique_paragraphs(doc.text):
        missing = [doc.text[i] for i in range(para.start, para.end) if not covered[i] and not doc.text[i].isspace()]
        assert not missing, (name, doc.text[para.start:para.end][:60])


# --- token budget ----------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "overlap"), [(200, 40), (64, 16), (40, 15), (20, 5)])
def test_chunks_never_exceed_chunk_tokens(seed_docs: dict[str, Document], size: int, overlap: int) -> None:
    count = token_counter("o200k_base")
    chunker = ArabicSentenceChunker(chunk_tokens=size, overlap_tokens=overlap)
    too_big = [
        (name, count(node.text), node.text)
        for name, doc in seed_docs.items()
        for node in chunker.chunk_document(doc)
        if count(node.text) > size
    ]
    assert not too_big, too_big[:3]


def test_token_counter_counts_tokens() -> None:
    count = token_counter("o200k_base")
    assert count("") == 0
    assert count("حلب") >= 1
    assert count("حلب حلب حلب حلب") > count("حلب")


# --- the duplicated lead of seed 001 ---------------------------------------------------------


def test_duplicated_lead_of_seed_001_is_indexed_once(seed_docs: dict[str, Document]) -> None:
    doc = seed_docs[F001]
    lines = doc.text.split("\n")
    first_line_end = len(lines[0])
    # the premise: line 1 = all of line 2 + the first words of line 3 (a scraping artifact)
    assert lines[0].startswith(lines[1]) and lines[0] != lines[1]
    assert lines[2].startswith(lines[0][len(lines[1]):].strip())

    chunks = ArabicSentenceChunker().chunk_document(doc)
    # The lead sentence ends with "." in lines 1 and 2; a later paragraph repeats the phrase
    # followed by "،" (a different sentence), which is legitimately indexed on its own.
    lead = "ناقشا في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية."
    assert doc.text.count(lead) == 2
    holding = [n for n in chunks if lead in n.text]
    assert len(holding) == 1
    assert holding[0].start_char_idx > first_line_end
    # nothing of the truncated first line is indexed
    assert all(n.start_char_idx > first_line_end for n in chunks)
    # and the sentence the truncated copy cut off ("ويأتي الاتصال بعد يوم ...") is indexed once, whole
    tail = "ويأتي الاتصال بعد يوم واحد"
    assert sum(tail in n.text for n in chunks) == 1
    assert sum("ويأتي الاتصال بعد يوم" in n.text for n in chunks) == 1


def test_unique_paragraphs_drops_repeats_and_truncated_copies() -> None:
    p1 = "قالت الوزارة إن الوزيرين ناقشا الوضع في حلب."
    p2 = "وأضافت أن المحادثة جرت يوم السبت."
    p3 = "فقرة أخرى مختلفة تماما عن سابقتيها."
    text = "\n".join([p1 + " وأضافت أن", p1, p2, p3, p1, "قالت الوزارة"])
    kept = [s.of(text) for s in unique_paragraphs(text)]
    # the truncated copy (first line) and the exact repeat (fifth line) are gone; the short last
    # line is a prefix of earlier paragraphs only, and only later ones count, so it stays.
    assert kept == [p1, p2, p3, "قالت الوزارة"]


def test_unique_paragraphs_keeps_distinct_paragraphs(seed_docs: dict[str, Document]) -> None:
    for name, doc in seed_docs.items():
        lines = [line for line in doc.text.split("\n") if line.strip()]
        kept = unique_paragraphs(doc.text)
        expected = len(lines) - (1 if name == F001 else 0)
        assert len(kept) == expected, name


# --- long paragraphs: split with overlap -----------------------------------------------------


def _long_paragraph() -> str:
    sentences = [
        f"وقال المتحدث رقم {i} إن المحادثات بين الوزيرين في جنيف ستستمر الأسبوع المقبل."
        for i in range(1, 21)
    ]
    return " ".join(sentences)


def test_long_paragraph_is_split_with_overlap() -> None:
    count = token_counter("o200k_base")
    text = "عنوان قصير.\n" + _long_paragraph() + "\nفقرة أخيرة."
    size, overlap = 80, 30
    doc = _doc(text)
    chunks = ArabicSentenceChunker(chunk_tokens=size, overlap_tokens=overlap).chunk_document(doc)
    para = {n.metadata["paragraph"] for n in chunks}
    assert para == {0, 1, 2}
    long_chunks = [n for n in chunks if n.metadata["paragraph"] == 1]
    assert count(_long_paragraph()) > size  # premise: the paragraph does not fit
    assert len(long_chunks) >= 3
    for a, b in itertools.pairwise(long_chunks):
        assert a.start_char_idx < b.start_char_idx < a.end_char_idx < b.end_char_idx  # overlap and progress
        shared = text[b.start_char_idx:a.end_char_idx]
        assert shared.strip().endswith(".")  # whole sentences are shared
        assert count(shared) <= overlap
    # the chunks of the paragraph cover it from its first to its last character
    start = text.index(_long_paragraph())
    assert long_chunks[0].start_char_idx == start
    assert long_chunks[-1].end_char_idx == start + len(_long_paragraph())
    for node in chunks:
        assert count(node.text) <= size
        assert node.text == text[node.start_char_idx:node.end_char_idx]


def test_zero_overlap_means_disjoint_chunks() -> None:
    text = _long_paragraph()
    chunks = ArabicSentenceChunker(chunk_tokens=80, overlap_tokens=0).chunk_document(_doc(text))
    assert len(chunks) >= 3
    for a, b in itertools.pairwise(chunks):
        assert a.end_char_idx <= b.start_char_idx


def test_over_long_sentence_is_split_on_commas() -> None:
    clauses = [f"وأضاف المسؤول الرقم {i} أن الوضع في حلب صعب جدا" for i in range(12)]
    text = "، ".join(clauses) + "."
    count = token_counter("o200k_base")
    size = 40
    assert count(text) > size
    chunks = ArabicSentenceChunker(chunk_tokens=size, overlap_tokens=10).chunk_document(_doc(text))
    assert len(chunks) > 1
    for node in chunks:
        assert node.text == text[node.start_char_idx:node.end_char_idx]
        assert count(node.text) <= size


# --- ids -------------------------------------------------------------------------------------


def test_chunk_ids_are_stable_across_runs() -> None:
    first = {name: [n.node_id for n in ArabicSentenceChunker().chunk_document(d)] for name, d in _seed_docs().items()}
    second = {name: [n.node_id for n in ArabicSentenceChunker().chunk_document(d)] for name, d in _seed_docs().items()}
    assert first == second
    all_ids = [i for ids in first.values() for i in ids]
    assert len(all_ids) == len(set(all_ids))  # unique across the whole corpus


def test_chunk_ids_depend_on_position_not_on_chunker_instance(seed_docs: dict[str, Document]) -> None:
    doc = seed_docs["002_e83c710a14adfa23.txt"]
    a = ArabicSentenceChunker(chunk_tokens=200, overlap_tokens=40).chunk_document(doc)
    b = ArabicSentenceChunker(chunk_tokens=48, overlap_tokens=12).chunk_document(doc)
    spans_a = {(n.start_char_idx, n.end_char_idx): n.node_id for n in a}
    spans_b = {(n.start_char_idx, n.end_char_idx): n.node_id for n in b}
    assert set(spans_a) != set(spans_b)
    for span in set(spans_a) & set(spans_b):  # the same span of the same document has the same id
        assert spans_a[span] == spans_b[span]


def test_node_parser_interface_matches_chunk_document(seed_docs: dict[str, Document]) -> None:
    chunker = ArabicSentenceChunker()
    docs = list(seed_docs.values())
    via_parser = chunker.get_nodes_from_documents(docs)
    direct = [n for d in docs for n in chunker.chunk_document(d)]
    assert [n.node_id for n in via_parser] == [n.node_id for n in direct]
