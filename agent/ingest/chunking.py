"""Node parser: ``Document`` → ``TextNode`` chunks with exact offsets into the original text.

Chunks follow paragraphs (one per line in news text); a paragraph longer than the
token budget is packed sentence by sentence (``. ؟ ! ؛`` and newlines, then ``،`` for
over-long sentences) with a sentence overlap. A paragraph that repeats, or is a
truncated copy of, another paragraph of the same article is indexed once.

Written by hand rather than with llama-index's ``SentenceSplitter`` because that one
does not split on ``؟``/``؛`` and does not keep exact character offsets, which every
citation here depends on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from llama_index.core.node_parser import NodeParser
from llama_index.core.schema import BaseNode, Document, TextNode
from pydantic import Field

from agent import runtime
from agent.index.nodes import chunk_node
from agent.text import arabic


@cache
def token_counter(encoding: str):
    runtime.use_bundled_tiktoken_cache()  # done by runtime.setup() at every entry point; here for a caller without one
    import tiktoken

    enc = tiktoken.get_encoding(encoding)

    def count(text: str) -> int:
        if len(text) <= _COUNT_SLICE:
            return len(enc.encode(text, disallowed_special=()))
        # a long text (a 50 MB word) in slices, up to a ceiling: whole, its token list took GBs
        total = 0
        for i in range(0, len(text), _COUNT_SLICE):
            total += len(enc.encode(text[i:i + _COUNT_SLICE], disallowed_special=()))
            if total > _COUNT_CEILING:
                break
        return total

    return count


_COUNT_SLICE = 65_536  # characters encoded at once; shorter texts (every normal chunk) are counted exactly
_COUNT_CEILING = 1_000_000  # tokens: far over any chunk or context budget, so counting stops there


def chunk_id(doc_id: str, start: int, end: int) -> str:
    return hashlib.sha1(f"{doc_id}:{start}:{end}".encode()).hexdigest()[:20]


_PREFIX_WORDS = 8


def unique_paragraphs(text: str) -> list[arabic.Span]:
    """Paragraph spans, minus repeats and truncated copies (a lead scraped twice, seed 001).

    Of identical paragraphs the first stays. A paragraph whose words are a strict prefix
    of the text running from a later paragraph on (a truncated copy of it) is dropped.
    Later paragraphs are found by their first words, so this stays linear on long files.
    """
    spans = arabic.paragraph_spans(text)
    norms: list[str] = []
    heads: list[tuple[str, ...]] = []  # first words only: whole word lists of a 50 MB file cost too much memory
    starts: dict[tuple[str, ...], list[int]] = {}
    for j, span in enumerate(spans):
        w = arabic.words(span.of(text))
        norms.append(" ".join(w))
        heads.append(tuple(w[:_PREFIX_WORDS]))
        for size in range(1, len(heads[j]) + 1):
            starts.setdefault(heads[j][:size], []).append(j)
    seen: set[str] = set()
    keep: list[arabic.Span] = []
    for i, (span, norm) in enumerate(zip(spans, norms, strict=True)):
        if not norm or norm in seen:
            continue
        seen.add(norm)
        later = (j for j in starts.get(heads[i], []) if j > i and norms[j] != norm)
        if not any(" ".join(norms[j:j + 4]).startswith(norm) for j in later):
            keep.append(span)
    return keep


class ArabicSentenceChunker(NodeParser):
    """Paragraph- and sentence-aware chunker sized in tiktoken tokens."""

    chunk_tokens: int = Field(default=200)
    overlap_tokens: int = Field(default=40)
    encoding: str = Field(default="o200k_base")

    @classmethod
    def class_name(cls) -> str:
        return "DalilArabicSentenceChunker"

    def _parse_nodes(self, nodes: Sequence[BaseNode], show_progress: bool = False, **kwargs: Any) -> list[BaseNode]:
        out: list[BaseNode] = []
        for node in nodes:
            if isinstance(node, Document):
                out.extend(self.chunk_document(node))
        return out

    def chunk_document(self, doc: Document) -> list[TextNode]:
        return list(self.iter_chunks(doc))

    def iter_chunks(self, doc: Document) -> Iterator[TextNode]:
        """Chunks one at a time, so a very large article never sits in memory as nodes all at once."""
        text = doc.text
        count = token_counter(self.encoding)
        ordinal = 0
        for para_index, para in enumerate(unique_paragraphs(text)):
            sentences = self._sentences(text, para, count)
            for first, last in self._pack(sentences, text, count):
                start, end = sentences[first].start, sentences[last].end
                yield chunk_node(chunk_id(doc.doc_id, start, end), text[start:end], doc.metadata, para_index, start, end, ordinal)
                ordinal += 1

    def _sentences(self, text: str, para: arabic.Span, count: Any) -> list[arabic.Span]:
        out: list[arabic.Span] = []
        for sentence in arabic.sentence_spans(text, para.start, para.end):
            if count(sentence.of(text)) <= self.chunk_tokens:
                out.append(sentence)
            else:
                out.extend(self._clauses(text, sentence, count))
        return out

    def _clauses(self, text: str, sentence: arabic.Span, count: Any) -> list[arabic.Span]:
        pieces: list[arabic.Span] = []
        for clause in arabic.clause_spans(text, sentence):
            if count(clause.of(text)) <= self.chunk_tokens:
                pieces.append(clause)
                continue
            pieces.extend(self._word_pieces(text, clause, count))
        return pieces

    def _word_pieces(self, text: str, clause: arabic.Span, count: Any) -> list[arabic.Span]:
        """A clause still over budget, cut greedily on word boundaries (a single huge word stays whole)."""
        words = list(arabic._WORD.finditer(text, clause.start, clause.end))
        pieces: list[arabic.Span] = []
        i, start = 0, clause.start
        while i < len(words):
            j = i
            while j + 1 < len(words) and count(text[start:words[j + 1].end()]) <= self.chunk_tokens:
                j += 1
            end = clause.end if j == len(words) - 1 else words[j].end()
            if j == len(words) - 1 and j > i and count(text[start:end]) > self.chunk_tokens:
                j -= 1  # the clause's closing punctuation tipped it over: last word goes to the next piece
                end = words[j].end()
            pieces.append(arabic.Span(start, end))
            i = j + 1
            if i < len(words):
                start = words[i].start()
        return pieces

    def _pack(self, sentences: list[arabic.Span], text: str, count: Any) -> list[tuple[int, int]]:
        """Group consecutive sentences into chunks within the budget; overlap whole sentences."""
        groups: list[tuple[int, int]] = []
        first = 0
        while first < len(sentences):
            last = first
            while last + 1 < len(sentences) and count(text[sentences[first].start:sentences[last + 1].end]) <= self.chunk_tokens:
                last += 1
            groups.append((first, last))
            if last + 1 >= len(sentences):
                break
            nxt = last + 1
            while nxt - 1 > first and count(text[sentences[nxt - 1].start:sentences[last].end]) <= self.overlap_tokens:
                nxt -= 1
            first = nxt
        return groups
