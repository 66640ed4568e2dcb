"""What a run records (the schema of ``results.json``), as pydantic models.

The runner fills these, the registry scores them, reports and ``compare`` read them back.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.evals.suite import Slot, Source

SCHEMA_VERSION = 1


class Passage(BaseModel):
    """A retrieved chunk and the gold sources it matches."""

    rank: int
    chunk_id: str
    file: str
    start: int
    end: int
    score: float
    text: str
    gold: list[int] = Field(default_factory=list, description="indices into the item's sources")


class CitedQuote(BaseModel):
    """A citation of the answer and the gold sources its quote matches."""

    n: int
    file: str
    start: int
    end: int
    quote: str
    gold: list[int] = Field(default_factory=list)


class SentenceRecord(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list)


class AnswerRecord(BaseModel):
    """The answer Dalil gave, reduced to what scoring and reports need."""

    text: str
    mode: str
    abstained: bool
    lang: str
    citations: list[CitedQuote] = Field(default_factory=list)
    sentences: list[SentenceRecord] = Field(default_factory=list)
    degraded: bool = False
    warnings: list[str] = Field(default_factory=list)
    lead: str | None = Field(default=None, description="Answer.lead: the derived English statement, when the answer has one")
    about: str | None = Field(default=None, description="Answer.about: the event the answer says it is about")
    frame: dict[str, Any] | None = Field(default=None, description="Answer.frame: how the question was understood")


class Verdict(BaseModel):
    claim: str
    label: str


class JudgeRecord(BaseModel):
    """LLM-judged claims of one answer."""

    faithfulness: float | None = None
    correctness: float | None = None
    claims: list[Verdict] = Field(default_factory=list, description="SUPPORTED/UNSUPPORTED against the cited passages")
    correctness_claims: list[Verdict] = Field(default_factory=list, description="CORRECT/INCORRECT/MISSING against the reference")
    error: str | None = None


class ItemRecord(BaseModel):
    """Everything about one suite item in one run."""

    id: str
    question: str
    lang: str
    kind: str
    answerable: bool
    reference: str
    keys: list[list[str]] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    slot: Slot | None = None
    tags: list[str] = Field(default_factory=list)
    reference_sentences: list[str] = Field(default_factory=list,
                                           description="the gold quotes and the article sentences they overlap (answer_hit)")
    retrieved: list[Passage] = Field(default_factory=list)
    answer: AnswerRecord | None = None
    error: str | None = None
    latency_s: float = 0.0
    retrieval_latency_s: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    judge: JudgeRecord | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict)
    failures: list[str] = Field(default_factory=list)


class Summary(BaseModel):
    n: int
    metrics: dict[str, float | None]


class MetricInfo(BaseModel):
    label: str
    group: str
    higher_is_better: bool
    scale: float
    description: str


class SuiteInfo(BaseModel):
    path: str
    sha256: str
    name: str
    items: int = Field(description="items in the suite file")
    corpus: str


class RunOptions(BaseModel):
    mode: str
    retrieval: str
    k: int
    judge: bool
    limit: int | None = None
    only: list[str] = Field(default_factory=list)
    kind: str | None = None


class RunRecord(BaseModel):
    """A whole run: ``results.json``."""

    schema_version: int = SCHEMA_VERSION
    suite: SuiteInfo
    dalil_version: str
    seed: int
    started: str
    duration_s: float
    run: RunOptions
    config: dict[str, Any]
    metrics: dict[str, MetricInfo]
    overall: Summary
    by_lang: dict[str, Summary]
    by_kind: dict[str, Summary]
    by_tag: dict[str, Summary] = Field(default_factory=dict, description="per suite tag (an item counts in each of its tags)")
    items: list[ItemRecord]
