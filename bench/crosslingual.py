"""Cross-lingual retrieval benchmark: what bridges English questions to the Arabic seed articles?

Scores hybrid retrieval (hit@k, MRR@k, recall@k) on the answerable items of evals/dev.yaml in
four configurations:

1. ``none``            no bridging: an empty lexicon, the question only;
2. ``lexicon``         the bundled lexicon's English→Arabic bridges, the question only;
3. ``rewrite+lexicon`` LLM rewriting over real HTTP: ``Dalil.rewrites(question)`` asks a scripted
                       OpenAI-compatible server (tests/scripted_openai.py) whose replies are the
                       rewrites in evals/dev_rewrites.yaml, then ``Dalil.retrieve(question, k,
                       rewrites=...)`` fuses question + rewrites by reciprocal rank;
3b. ``rewrite``        the same rewrites with the empty lexicon;
4, 4b (diagnostic)     the Arabic rewrite alone as the query (``Dalil.retrieve(rewrites[0], k)``),
                       with and without the lexicon: what the translation retrieves before it is
                       fused with the untranslated question and the English rewrite. These reuse
                       the rewrites fetched in 3 and 3b (no further requests).

English items run in every configuration, Arabic items (for reference) in 1 and 2. Each lexicon
gets its own store, ingested with that lexicon, because the stored BM25 terms and local vectors
are built with the ingest-time analyzer. A passage is a hit for a gold source when it comes from
the same file and its normalized text contains the normalized quote or its character span
covers at least half of the quote's span (agent.evals.gold). Nothing in Dalil is patched: the
rewrite requests really go over HTTP, and the script checks the server got exactly one per
English question.

    python bench/crosslingual.py [--k 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agent.config import find_config_file, load_settings
from agent.evals.gold import GoldSpan, gold_spans, matched
from agent.evals.metrics import hit_at_k, recall_at_k, reciprocal_rank
from agent.evals.suite import Item, Suite, load_suite
from agent.pipeline import Dalil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.scripted_openai import Reply, ScriptedOpenAI, message_text  # noqa: E402

SEEDS = ROOT / "seeds"
SUITE = ROOT / "evals" / "dev.yaml"
REWRITES = ROOT / "evals" / "dev_rewrites.yaml"
MODEL = "scripted-model"
EMPTY_LEXICON = "entities: []\nterms: {}\nsubstrings: []\n"


@dataclass(frozen=True)
class Config:
    name: str
    label: str
    lexicon: bool
    rewrite: bool
    arabic_only: bool = False  # diagnostic: the Arabic rewrite is the query, nothing is fused with it


CONFIGS = (
    Config("none", "1  no bridging", lexicon=False, rewrite=False),
    Config("lexicon", "2  lexicon bridging", lexicon=True, rewrite=False),
    Config("rewrite+lexicon", "3  LLM rewrite + lexicon", lexicon=True, rewrite=True),
    Config("rewrite", "3b LLM rewrite, no lexicon", lexicon=False, rewrite=True),
    Config("ar-rewrite-only+lexicon", "4  diag: Arabic rewrite alone + lexicon", lexicon=True, rewrite=False, arabic_only=True),
    Config("ar-rewrite-only", "4b diag: Arabic rewrite alone, no lexicon", lexicon=False, rewrite=False, arabic_only=True),
)


@dataclass
class ItemResult:
    item: Item
    rank: int | None  # rank of the first passage matching a gold source
    hit: float
    rr: float
    recall: float
    files: list[str]
    rewrites: list[str] | None


def load_rewrites(items: list[Item]) -> dict[str, dict[str, str]]:
    """evals/dev_rewrites.yaml, checked to cover every English item with an ar and an en query."""
    data = yaml.safe_load(REWRITES.read_text(encoding="utf-8")) or {}
    missing = [i.id for i in items if not isinstance(data.get(i.id), dict) or not {"ar", "en"} <= set(data[i.id])]
    if missing:
        raise SystemExit(f"{REWRITES}: no ar/en rewrite for {', '.join(missing)}")
    return {i.id: {"ar": str(data[i.id]["ar"]), "en": str(data[i.id]["en"])} for i in items}


def score(dalil: Dalil, suite: Suite, item: Item, k: int, rewrites: list[str] | None, span_errors: list[str],
          query: str | None = None) -> ItemResult:
    """Retrieve the top ``k`` passages (hybrid) for one item and match them against its gold sources."""
    if rewrites:  # as `dalil ask` does in LLM mode: only the queries the index can match
        main, *extra = dalil.searchable_queries([item.question, *rewrites])
        nodes = dalil.retrieve(main, k, mode="hybrid", rewrites=extra)
    else:
        nodes = dalil.retrieve(query or item.question, k, mode="hybrid")
    golds: list[GoldSpan] = gold_spans(item, suite)
    ranking: list[list[int]] = []
    files = []
    for hit in nodes[:k]:
        meta = hit.node.metadata
        file, text = str(meta["file"]), hit.node.get_content()
        start, end = int(meta["start_char"]), int(meta["end_char"])
        if file in suite.texts and suite.texts[file][start:end] != text:
            span_errors.append(f"{item.id}: {file}[{start}:{end}] is not the passage text")
        ranking.append(matched(golds, file, text, start, end))
        files.append(f"{file}[{start}:{end}]")
    rank = next((r for r, g in enumerate(ranking, start=1) if g), None)
    return ItemResult(
        item=item, rank=rank, hit=hit_at_k(ranking, k), rr=reciprocal_rank(ranking, k),
        recall=recall_at_k(ranking, len(golds), k) if golds else 0.0, files=files, rewrites=rewrites,
    )


def check(condition: bool, message: str) -> None:
    """Fail the benchmark (also under ``python -O``, which strips asserts)."""
    if not condition:
        raise SystemExit(f"crosslingual: {message}")


def run_rewrites(dalil: Dalil, server: ScriptedOpenAI, items: list[Item], scripted: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """``Dalil.rewrites`` for every item, over HTTP; checks one request per question and the parsed reply."""
    before = len(server.chat_requests)
    server.enqueue(*(Reply(match=i.question, content=json.dumps(scripted[i.id], ensure_ascii=False)) for i in items))
    out = {i.id: dalil.rewrites(i.question) for i in items}
    requests = server.chat_requests[before:]
    check(len(requests) == len(items), f"expected {len(items)} rewrite requests, the server got {len(requests)}")
    check(not server.pending, f"{len(server.pending)} scripted rewrite replies were never requested")
    for item, body in zip(items, requests, strict=True):
        check(item.question in message_text(body), f"{item.id}: the rewrite request does not carry the question")
        check(body.get("model") == MODEL, f"{item.id}: request for model {body.get('model')!r}")
        expected = [q for q in (scripted[item.id]["ar"], scripted[item.id]["en"]) if q.strip() != item.question.strip()]
        check(out[item.id] == expected, f"{item.id}: Dalil.rewrites returned {out[item.id]!r}")
    return out


def summarize(results: list[ItemResult]) -> dict[str, float | int]:
    n = len(results)
    return {
        "n": n,
        "hit_at_k": sum(r.hit for r in results) / n if n else 0.0,
        "mrr": sum(r.rr for r in results) / n if n else 0.0,
        "recall_at_k": sum(r.recall for r in results) / n if n else 0.0,
    }


def isolate_environment() -> list[str]:
    """Drop DALIL_* and OPENAI_* variables (in this process only) so the shell cannot change the setup."""
    dropped = sorted(k for k in os.environ if k.startswith(("DALIL_", "OPENAI_")))
    for key in dropped:
        del os.environ[key]
    return dropped


def benchmark(k: int, log: Callable[[str], None]) -> dict[str, Any]:
    started = time.perf_counter()
    suite = load_suite(SUITE, SEEDS)
    english = [i for i in suite.items if i.lang == "en"]
    arabic = [i for i in suite.items if i.lang == "ar" and i.answerable]
    scripted = load_rewrites(english)
    timings: dict[str, float] = {}
    results: dict[tuple[str, str], list[ItemResult]] = {}
    span_errors: list[str] = []
    requests_per_config: dict[str, int] = {}

    with tempfile.TemporaryDirectory(prefix="dalil-bench-", ignore_cleanup_errors=True) as tmp, ScriptedOpenAI(model=MODEL) as server:
        empty = Path(tmp) / "empty_lexicon.yaml"
        empty.write_text(EMPTY_LEXICON, encoding="utf-8")
        llm = {"base_url": server.base_url, "model": MODEL, "max_retries": 0, "timeout": 30.0, "rewrite_queries": True}

        def settings(lexicon: bool, with_llm: bool) -> Any:
            overrides: dict[str, Any] = {"store": {"path": Path(tmp) / ("store-lexicon" if lexicon else "store-none")}}
            if not lexicon:
                overrides["lexicon"] = empty
            if with_llm:
                overrides["llm"] = llm
            return load_settings(None, overrides)

        t = time.perf_counter()
        for lexicon in (False, True):
            report = Dalil(settings(lexicon, with_llm=False)).ingest([SEEDS])
            if report.errors or len(report.added) != 5:
                raise SystemExit(f"ingest failed: {report.as_dict()}")
        timings["ingest"] = time.perf_counter() - t
        log(f"ingested {SEEDS} twice (empty and bundled lexicon) in {timings['ingest']:.1f}s")

        fetched: dict[bool, dict[str, list[str]]] = {}  # lexicon? -> item id -> rewrites got over HTTP
        for config in CONFIGS:
            t = time.perf_counter()
            dalil = Dalil(settings(config.lexicon, with_llm=config.rewrite))
            if config.rewrite:
                before = len(server.chat_requests)
                rewrites = fetched[config.lexicon] = run_rewrites(dalil, server, english, scripted)
                requests_per_config[config.name] = len(server.chat_requests) - before
                results[config.name, "en"] = [score(dalil, suite, i, k, rewrites[i.id], span_errors) for i in english]
            elif config.arabic_only:
                rewrites = fetched[config.lexicon]
                results[config.name, "en"] = [
                    score(dalil, suite, i, k, None, span_errors, query=rewrites[i.id][0]) for i in english
                ]
            else:
                for lang, items in (("en", english), ("ar", arabic)):
                    results[config.name, lang] = [score(dalil, suite, i, k, None, span_errors) for i in items]
            timings[config.name] = time.perf_counter() - t
            log(f"config {config.label.strip()}: {timings[config.name]:.1f}s")
        total_requests = len(server.chat_requests)

    timings["total"] = time.perf_counter() - started
    rows = []
    base = {lang: summarize([r for r in results["none", lang] if r.item.answerable]) for lang in ("en", "ar")}
    for config in CONFIGS:
        for lang in ("en", "ar"):
            if (config.name, lang) not in results:
                continue
            answerable = [r for r in results[config.name, lang] if r.item.answerable]
            summary = summarize(answerable)
            rows.append({
                "config": config.name, "label": config.label, "lang": lang, **summary,
                "delta_hit_at_k": summary["hit_at_k"] - base[lang]["hit_at_k"], "delta_mrr": summary["mrr"] - base[lang]["mrr"],
            })
    items: dict[str, dict[str, Any]] = {}
    for (config_name, _), item_results in results.items():
        for r in item_results:
            entry = items.setdefault(r.item.id, {"lang": r.item.lang, "kind": r.item.kind, "answerable": r.item.answerable, "configs": {}})
            entry["configs"][config_name] = {"rank": r.rank, "rr": r.rr, "recall_at_k": r.recall, "top": r.files,
                                             **({"rewrites": r.rewrites} if r.rewrites is not None else {})}
    return {
        "k": k, "mode": "hybrid", "suite": str(SUITE.relative_to(ROOT)), "rewrites": str(REWRITES.relative_to(ROOT)),
        "config_file": str(find_config_file(None) or "") or None,
        "server": {"model": MODEL, "chat_requests": total_requests, "rewrite_requests": requests_per_config,
                   "english_questions": len(english)},
        "span_errors": span_errors, "seconds": {name: round(s, 2) for name, s in timings.items()},
        "results": rows, "items": items,
    }


def print_tables(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 140)
    k = doc["k"]
    table = Table(title=f"Cross-lingual retrieval on {doc['suite']} (hybrid, k={k}, answerable items)")
    for name in ("configuration", "lang", "n", f"hit@{k}", f"MRR@{k}", f"recall@{k}", "Δhit vs 1", "ΔMRR vs 1"):
        table.add_column(name, justify="left" if name in ("configuration", "lang") else "right")
    last_lang = None
    for lang in ("en", "ar"):
        for row in (r for r in doc["results"] if r["lang"] == lang):
            if last_lang is not None and lang != last_lang:
                table.add_section()
            last_lang = lang
            table.add_row(row["label"], lang, str(row["n"]), f"{row['hit_at_k']:.3f}", f"{row['mrr']:.3f}", f"{row['recall_at_k']:.3f}",
                          f"{row['delta_hit_at_k']:+.3f}", f"{row['delta_mrr']:+.3f}")
    console.print(table)

    names = [c.name for c in CONFIGS]
    per_item = Table(title=f"English items: rank of the first gold passage (- = not in top {k})")
    per_item.add_column("id")
    per_item.add_column("kind")
    for config in CONFIGS:
        per_item.add_column(config.label.split()[0], justify="right")
    for item_id, entry in doc["items"].items():
        if entry["lang"] != "en" or not entry["answerable"]:
            continue
        ranks = [entry["configs"][n]["rank"] for n in names]
        per_item.add_row(item_id, entry["kind"], *("-" if r is None else str(r) for r in ranks))
    console.print(per_item)
    server = doc["server"]
    console.print(
        f"rewrite requests over HTTP: {server['rewrite_requests']} for {server['english_questions']} English questions "
        f"(total chat requests {server['chat_requests']})"
    )
    seconds = doc["seconds"]
    console.print("time: " + ", ".join(f"{name} {s:.1f}s" for name, s in seconds.items()))
    if doc["config_file"]:
        console.print(f"[yellow]note: settings include the config file {doc['config_file']}[/yellow]")
    if doc["span_errors"]:
        console.print(f"[red]{len(doc['span_errors'])} passage(s) whose span does not match the seed text[/red]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=5, help="passages retrieved per question (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    args = parser.parse_args(argv)
    if args.k < 1:
        parser.error("--k must be at least 1")
    dropped = isolate_environment()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if dropped:
        log(f"ignoring environment variables: {', '.join(dropped)}")
    doc = benchmark(args.k, log)
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print_tables(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
