"""Running a suite: every item through ``Dalil.retrieve`` and ``Dalil.ask``, then scored.

Takes an open ``Dalil`` (its settings already carry ``--retrieval`` and ``--store``), the
loaded suite and the selected items; returns a ``RunRecord`` with per-item records,
overall / per-language / per-kind summaries and the configuration. Nothing is random.
"""

from __future__ import annotations

import datetime as dt
import inspect
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import agent
from agent.errors import DalilError
from agent.evals import gold, registry
from agent.evals.records import (
    AnswerRecord,
    CitedQuote,
    ItemRecord,
    Passage,
    RunOptions,
    RunRecord,
    SentenceRecord,
    SuiteInfo,
)
from agent.evals.suite import KINDS, LANGS, Item, Suite

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore

    from agent.evals.judge import Judge
    from agent.pipeline import Dalil
    from agent.retrieval.retrieve import RetrievalMode
    from agent.schema import Answer, AnswerMode

ProgressFn = Callable[[int, int, str], None]
SEED = 0


def run_suite(dalil: Dalil, suite: Suite, items: list[Item], options: RunOptions,
              judge: Judge | None = None, progress: ProgressFn | None = None) -> RunRecord:
    """Run and score ``items``; ``progress(done, total, item_id)`` after each one."""
    if options.mode == "llm":
        _require_llm_mode(dalil)
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    dalil.retrieve(items[0].question, options.k, None, _retrieval(options))  # warm-up: load the store and models once
    records = []
    for done, item in enumerate(items, start=1):
        record = run_item(dalil, suite, item, options)
        if judge is not None:
            record.judge = judge.judge(record)
        record.metrics = registry.score_item(record, options.k)
        record.failures = registry.failures(record, options.k)
        records.append(record)
        if progress:
            progress(done, len(items), item.id)
    return RunRecord(
        suite=SuiteInfo(path=str(suite.path), sha256=suite.sha256, name=suite.name, items=len(suite.items), corpus=str(suite.corpus)),
        dalil_version=agent.__version__, seed=SEED, started=started.isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - clock, 3), run=options, config=dalil.settings.public_dict(),
        metrics={name: metric.info(options.k) for name, metric in registry.METRICS.items()},
        overall=registry.summarize(records),
        by_lang=registry.breakdown(records, lambda r: r.lang, LANGS),
        by_kind=registry.breakdown(records, lambda r: r.kind, KINDS),
        by_tag=registry.breakdown_multi(records, lambda r: r.tags),
        items=records,
    )


def run_item(dalil: Dalil, suite: Suite, item: Item, options: RunOptions) -> ItemRecord:
    """Retrieve and answer one item the way users do; answer errors are recorded, not raised."""
    golds = gold.gold_spans(item, suite)
    record = ItemRecord(id=item.id, question=item.question, lang=item.lang, kind=item.kind, answerable=item.answerable,
                        reference=item.answer, keys=item.keys, sources=item.sources, slot=item.slot, tags=item.tags,
                        reference_sentences=gold.reference_sentences(item, suite))
    clock = time.perf_counter()
    hits = dalil.retrieve(item.question, options.k, None, _retrieval(options))
    record.retrieval_latency_s = round(time.perf_counter() - clock, 4)
    record.retrieved = [passage(rank, hit, golds) for rank, hit in enumerate(hits, start=1)]
    clock = time.perf_counter()
    try:
        answer = ask(dalil, item, options)
    except DalilError as exc:
        record.error = str(exc)
        return record
    finally:
        record.latency_s = round(time.perf_counter() - clock, 4)
    record.answer = answer_record(answer, golds)
    if answer.usage is not None:
        record.prompt_tokens, record.completion_tokens = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return record


def ask(dalil: Dalil, item: Item, options: RunOptions) -> Answer:
    """``Dalil.ask`` as the CLI calls it, in the requested mode (an older ``ask`` without modes is extractive)."""
    if _has_modes(dalil):
        return dalil.ask(item.question, None, options.k, mode=cast("AnswerMode", options.mode))
    return dalil.ask(item.question, None, options.k)


def _retrieval(options: RunOptions) -> RetrievalMode:
    # RunOptions keeps plain strings (it is read back from results.json); the CLI checked them against the modes
    return cast("RetrievalMode", options.retrieval)


def _has_modes(dalil: Dalil) -> bool:
    return "mode" in inspect.signature(dalil.ask).parameters


def _require_llm_mode(dalil: Dalil) -> None:
    if not _has_modes(dalil):
        raise DalilError("--mode llm: this version of Dalil has no LLM answer mode")
    if not dalil.settings.llm.configured:
        raise DalilError("--mode llm needs an LLM endpoint: set llm.model and llm.base_url (or an API key)")


def passage(rank: int, hit: NodeWithScore, golds: list[gold.GoldSpan]) -> Passage:
    meta = hit.node.metadata
    text = hit.node.get_content()
    start, end = int(meta["start_char"]), int(meta["end_char"])
    return Passage(rank=rank, chunk_id=hit.node.node_id, file=meta["file"], start=start, end=end,
                   score=round(float(hit.score or 0.0), 6), text=text, gold=gold.matched(golds, meta["file"], text, start, end))


def answer_record(answer: Answer, golds: list[gold.GoldSpan]) -> AnswerRecord:
    citations = [
        CitedQuote(n=c.n, file=c.file, start=c.start, end=c.end, quote=c.quote,
                   gold=gold.matched(golds, c.file, c.quote, c.start, c.end))
        for c in answer.citations
    ]
    return AnswerRecord(
        text=answer.answer, mode=answer.mode, abstained=answer.abstained, lang=answer.lang, citations=citations,
        sentences=[SentenceRecord(text=s.text, citations=s.citations) for s in answer.sentences],
        degraded=answer.degraded, warnings=answer.warnings,
        # read defensively: an older Answer has no lead / about / frame
        lead=getattr(answer, "lead", None), about=getattr(answer, "about", None), frame=_frame(answer),
    )


def _frame(answer: Answer) -> dict[str, Any] | None:
    frame = getattr(answer, "frame", None)
    if frame is None or isinstance(frame, dict):
        return frame
    dump = getattr(frame, "model_dump", None)
    return dump(mode="json") if callable(dump) else None
