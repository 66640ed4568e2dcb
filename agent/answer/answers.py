"""Answer parts shared by every answerer: citations of verbatim quotes, and abstentions.

A ``Citation`` is built here from a retrieved passage, with the relative dates of its quote
resolved against the publication date (by ``agent.events.corpus.citation``, which builds the
citations of any span of a stored article, the event extraction's too); an abstention is an
``Answer`` that says the articles do not answer, in the question's language, and offers the
nearest passages. The offline answerer, the LLM answerer and the verifier all build them here,
so their JSON is the same.
"""

from __future__ import annotations

from llama_index.core.schema import NodeWithScore

from agent.events.corpus import citation
from agent.schema import Answer, AnswerMode, Citation

ABSTAIN_AR = "لا تجيب المقالات المخزنة عن هذا السؤال."
ABSTAIN_EN = "The stored articles do not answer this question."
NEAREST = 3  # passages offered with an abstention


def citation_for(n: int, passage: NodeWithScore, start: int, end: int, quote: str) -> Citation:
    """Citation ``[n]`` of ``quote`` (article offsets ``start``..``end``) inside a retrieved passage."""
    meta = passage.node.metadata
    return citation(n, quote, start, end, chunk_id=passage.node.node_id, doc_id=meta["doc_id"], file=meta["file"],
                    published=meta.get("published") or None, outlet=meta.get("outlet") or None)


def passage_citation(n: int, passage: NodeWithScore) -> Citation:
    """Citation ``[n]`` of a whole retrieved passage."""
    meta = passage.node.metadata
    return citation_for(n, passage, int(meta["start_char"]), int(meta["end_char"]), passage.node.get_content())


def abstention(question: str, lang: str, passages: list[NodeWithScore], mode: AnswerMode,
               warnings: list[str] | None = None) -> Answer:
    """The answer that says the stored articles do not answer ``question``, with the nearest passages."""
    return Answer(
        question=question, mode=mode, answer=ABSTAIN_AR if lang == "ar" else ABSTAIN_EN, abstained=True,
        citations=[], nearest=[passage_citation(i, p) for i, p in enumerate(passages[:NEAREST], start=1)], lang=lang,
        warnings=list(warnings or []),
    )
