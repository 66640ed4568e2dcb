"""JSON contracts of Dalil's outputs (``--json``), as pydantic models.

Other tools parse these; the README documents them and tests pin them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

if TYPE_CHECKING:  # the schema is imported by `dalil ask` before it knows whether it needs llama-index
    from llama_index.core.schema import NodeWithScore

AnswerMode = Literal["extractive", "llm"]


class Carrier(BaseModel):
    """Another outlet's copy of the same wire story (one agency text, a new lead or a few words changed)."""

    doc_id: str
    file: str
    outlet: str | None
    published: str | None


class SearchHit(BaseModel):
    rank: int
    score: float
    chunk_id: str
    doc_id: str
    file: str
    published: str | None
    outlet: str | None
    text: str
    also_carried_by: list[Carrier] = Field(default_factory=list, description="the other articles of its wire story")

    @classmethod
    def from_node(cls, rank: int, hit: NodeWithScore) -> SearchHit:
        meta = hit.node.metadata
        return cls(
            rank=rank, score=round(float(hit.score or 0.0), 6), chunk_id=hit.node.node_id, doc_id=meta["doc_id"],
            file=meta["file"], published=meta.get("published") or None, outlet=meta.get("outlet") or None,
            text=hit.node.get_content(),
        )


class SearchResult(BaseModel):
    query: str
    mode: str = Field(description="retrieval mode: hybrid, dense or bm25")
    hits: list[SearchHit]
    warnings: list[str] = Field(default_factory=list, description="what limited this search (e.g. BM25 alone while an ingest runs)")


class DateNote(BaseModel):
    """A relative date in a quote, resolved against the article's publication date."""

    phrase: str
    date: str | None
    explanation: str
    weekday_mismatch: bool = False


class Citation(BaseModel):
    n: int
    chunk_id: str
    doc_id: str
    file: str
    published: str | None
    outlet: str | None
    quote: str = Field(description="verbatim substring of the article's original text")
    start: int = Field(description="character offset of the quote in the article")
    end: int
    dates: list[DateNote] = Field(default_factory=list, description="relative dates in the quote, resolved")
    also_carried_by: list[Carrier] = Field(default_factory=list, description="the other articles of its wire story (the quote "
                                           "is from this article only)")


class AnswerSentence(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list)
    supported: bool = Field(description="every cited claim checked against its passages")
    support: float = Field(default=0.0, description="share of the sentence's terms found in its cited passages")
    problems: list[str] = Field(default_factory=list)


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Step(BaseModel):
    """One tool call made to answer a question (the offline planner's or an agent loop's)."""

    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    ids: list[str] = Field(default_factory=list, description="what it returned: chunk ids, event ids, citation numbers")
    summary: str = Field(default="", description="one line for the terminal: \"events: 7 calls\"")
    seconds: float = 0.0
    error: str | None = Field(default=None, description="why the call was refused, not run (bad arguments, unknown tool, repeat)")


class Answer(BaseModel):
    question: str
    mode: AnswerMode
    answer: str
    abstained: bool
    citations: list[Citation]
    sentences: list[AnswerSentence] = Field(default_factory=list)
    nearest: list[Citation] = Field(default_factory=list, description="closest passages offered when abstaining")
    lang: str = "ar"
    degraded: bool = Field(default=False, description="the model's output could not be fully verified or used")
    warnings: list[str] = Field(default_factory=list)
    usage: Usage | None = None
    about: str | None = Field(default=None, description="the event the answer is about, in the question's language")
    lead: str | None = Field(default=None, description="a short English sentence derived from the cited quotes' facts (English questions)")
    frame: dict[str, Any] | None = Field(default=None, description="how the question was understood (agent.retrieval.question.QuestionFrame)")
    steps: list[Step] = Field(default_factory=list, description="the tool calls that produced the answer, in order (empty: one retrieval)")


class StoredArticle(BaseModel):
    """One article of the store, as the server lists it (``GET /v1/articles``) and gives it (``GET /v1/articles/{doc_id}``)."""

    doc_id: str
    file: str
    published: str | None
    outlet: str | None
    title: str | None
    url: str | None
    language: str | None
    chunks: int = Field(description="passages it was cut into")
    ingested_at: str
    text: str | None = Field(default=None, description="the article's original text (only for one article by id)")
    events: int | None = Field(default=None, description="dated events it reports (the timeline's events)")
    opening: str | None = Field(default=None, description="the text's first words (in lists)")

    @classmethod
    def from_record(cls, record: Any, with_text: bool = False, events: int | None = None, opening: str | None = None) -> StoredArticle:
        """A registry ``DocumentRecord`` (``agent.index.store``) as the contract."""
        return cls(doc_id=record.doc_id, file=record.file, published=record.published, outlet=record.outlet, title=record.title,
                   url=record.url, language=record.language, chunks=record.n_chunks, ingested_at=record.ingested_at,
                   text=record.text if with_text else None, events=events, opening=opening)


class ArticleList(BaseModel):
    total: int = Field(description="articles matching, before offset and limit")
    articles: list[StoredArticle] = Field(description="by publication date, then file; without their text")


class ArticlePassage(BaseModel):
    """One chunk of an article: where it is in the original text, and that text."""

    chunk_id: str
    ordinal: int = Field(description="its place among the article's chunks, from 0")
    paragraph: int = Field(description="the paragraph it is in, from 0")
    start: int = Field(description="character offset in the article")
    end: int
    text: str


class ArticleEvent(BaseModel):
    """One event the article reports, with the date this article's words resolve to."""

    event: str = Field(description="the timeline event's id (`dalil timeline`)")
    type: str
    label: str = Field(description="the type in words")
    date: str = Field(description="the resolved date: a day, or a period")
    start: str = Field(description="first day (ISO)")
    end: str = Field(description="last day (ISO)")
    basis: str = Field(description="how the date was found (agent.events.models.EventDate.basis)")
    phrase: str | None = Field(default=None, description="the article's date phrase, verbatim")
    explanation: str
    participants: list[str] = Field(default_factory=list)
    evidence: str = Field(description="the sentence reporting it, verbatim")
    evidence_start: int = Field(description="character offset of the evidence in the article")


class ArticleDetail(StoredArticle):
    """One article with its text, its chunks and its events (``dalil articles show``, ``GET /v1/articles/{doc_id}``)."""

    passages: list[ArticlePassage] = Field(default_factory=list, description="its chunks, in order")
    reported: list[ArticleEvent] = Field(default_factory=list, description="the events it reports, by date")


class RemovedArticles(BaseModel):
    """What ``dalil articles rm`` (``DELETE /v1/articles/{doc_id}``) removed."""

    removed: list[str] = Field(description="the doc_ids removed")
    files: list[str] = Field(description="their files")
