"""Dalil's performance benchmarks: one command, one table (or one JSON document).

    .venv/bin/python bench/run.py [--quick] [--sizes ...] [--only NAME[,NAME]] [--work DIR] [--json]

Every row gives Dalil's figure, a baseline measured in the same run, their ratio, the target and
PASS/FAIL (``info`` rows have no target). Each measurement whose import cost or memory matters
runs in its own process (peak RSS from ``wait4``, so it is that process's own). Corpora come from
``bench/corpus.py`` (seeded), stores from ``dalil ingest``; both are reused within a run (the
ingest benchmark's store at N articles is the search benchmark's store at N). Children never see
the caller's ``DALIL_*`` / ``OPENAI_*`` variables; ``DALIL_CONFIG`` points at an empty file so no
``dalil.toml`` applies either.

Benchmarks (``--only``): ingest, search, ask, http, llm, agent, coldstart, memory, update, catchup, wire.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from corpus import write_corpus, write_wire_corpus  # noqa: E402
from workers import AGENT_SCRIPT, LLM_ANSWER, LLM_REWRITE, arabic_questions, dev_questions, queries, summary  # noqa: E402

NAMES = ("ingest", "search", "ask", "http", "llm", "agent", "coldstart", "memory", "update", "catchup", "wire")
DEFAULT_SIZES = {"ingest": [1000, 10000], "search": [10000, 100000], "wire": [3000]}
QUICK_SIZES = {"ingest": [200, 1000], "search": [1000, 2000], "wire": [1000]}
WIRE_SHARE = 0.3  # share of wire copies in the wire benchmark's corpus
WIRE_QUERIES = 50
SEED = 7
RUNS = 5  # subprocess repetitions for cold-start and ask wall times (median)
LLM_N = 20
AGENT_N = 20
HTTP_N = 40  # questions per language (the first of evals/dev.yaml), timed once each
HTTP_WARMUP = 5  # per language: the questions after those, not timed
K = 10
PACKAGES = ("chromadb", "llama-index-core", "llama-index-vector-stores-chroma", "bm25s", "numpy", "openai", "tiktoken", "dalil")

NOTES = {
    "ingest": "baseline: bench/baseline_ingest.py, plain llama-index VectorStoreIndex.from_documents, SentenceSplitter(200, 40), "
              "the same HashingEmbedding(dim=1024), into a persistent Chroma collection (cosine); both in their own process, "
              "rates from each one's own timer (read + chunk + embed + write; importing chromadb and loading the tokenizer excluded on "
              "both sides: the baseline does both before its clock starts, Dalil reports its time for them as load_seconds).",
    "search": f"floor: in the same process, per query a bare Chroma collection.query (vector precomputed by Dalil's embedder, "
              f"n_results={K}) plus a bare bm25s retrieve of the same query terms on Dalil's own index (k={K}); timed interleaved "
              "with dalil.search(q, k=10, mode='hybrid') (which itself takes 20 candidates per list before fusion). "
              "Cold rows: a fresh `dalil search` process vs a bare process that "
              "opens the same Chroma collection and bm25s index and runs one query; the served row is the same `dalil search` "
              "process while a `dalil serve` process holds the store open (started before, not timed; same output checked).",
    "ask": "extractive, on a store of seeds/. End to end: `dalil ask Q` process (median of 5) vs the bare floor process "
           "(import chromadb + bm25s, open, one query), once on its own and once while `dalil serve` holds the store open "
           "(the output must be identical to the one-process answer). In process: Dalil.ask over the Arabic questions of evals/dev.yaml vs the "
           "in-process floor (Chroma query + bm25s retrieve, k=top_k).",
    "http": f"`python -m agent serve --http --port 0` on the store of seeds/ (its own process, started before, not timed; "
            f"rate limit off) vs Dalil opened in the benchmark process, with the same settings, on a copy of that store (embedded "
            f"Chroma is one process's at a time: on one store the two would hand its lease back and forth). Questions: the "
            f"first {HTTP_N} Arabic and first {HTTP_N} English of evals/dev.yaml, --repeat rounds (after {HTTP_WARMUP} others per "
            "language on both sides), the in-process call and its HTTP twin back to back (order alternating). In process: "
            "Dalil.ask(q, mode='extractive') and Dalil.search(q). HTTP: POST /v1/ask {question, mode: extractive} (not streamed) "
            "and POST /v1/search {query} on one keep-alive http.client connection, timed to the parsed JSON. Overhead = median "
            "over questions of (HTTP − in process) for the same question; PASS also needs every HTTP reply equal to the "
            "in-process model_dump(mode='json') (a step's own `seconds` aside).",
    "llm": "Dalil.ask(mode='llm') in process against tests/scripted_openai.py (a separate process, instant replies): overhead = "
           "wall time minus time inside HTTP (a timing wrapper on the openai client's transport). Baseline: the bare openai SDK "
           "replaying the same request bodies, its own wall minus HTTP time.",
    "agent": "Dalil.ask(mode='llm', llm.tools='on') in process against tests/scripted_openai.py (a separate process, instant "
             "replies) scripted as a model that calls search, then events, then answers (3 requests, 2 tool steps per ask; the "
             "answer must verify). Overhead per step = (wall time minus time inside HTTP) / tool steps: it includes running the "
             "tools (retrieval, the event index) and verifying the answer; the tools' own share is in the details. Baseline: the "
             "bare openai SDK replaying the same request bodies, its own wall minus HTTP time, per step.",
    "update": "one new article ingested into a copy of the largest search store (`dalil ingest DIR --json`: its bm25_seconds, "
              "its seconds, and its wall time as a process). Baseline for the BM25 row: the index built from scratch over the same "
              "registry with the same builder (bench/workers.py bm25-build), which is what every ingest run did before the index "
              "was kept up to date incrementally.",
    "catchup": "a real `chroma run --path TMP --port FREE` (its own process, started before, not timed); the bench corpus at "
               "10,000 articles (else the largest search size) ingested into store A with DALIL_STORE_URL set (`dalil ingest --json`: "
               "its seconds, server-side: chunks, documents and the ingest log go to the Chroma server); then a fresh empty store B "
               "with the same URL: `dalil search Q --store B -k 10 --json`, whose first process applies the whole ingest log to B's "
               "registry and builds its BM25 index before searching. Catch-up = that process's wall minus the median of 3 more "
               "processes on B once it is up to date (nothing to apply); baseline: A's own `dalil search` process. PASS needs B's "
               "hits equal to A's. Memory per client: peak RSS of B's searches, and B's folder on disk.",
    "coldstart": "`dalil --help` (median of 5 processes) vs `python -c pass` (the interpreter alone).",
    "wire": f"a corpus of which {WIRE_SHARE:.0%} are wire copies (bench/corpus.py --wire: another outlet's version of a base article, "
            "a day or two later, a new lead sentence, 3 words changed), ingested by `dalil ingest --json` into fresh stores, "
            "alternately with wire.enabled=false (DALIL_WIRE_ENABLED=false, the baseline: no signatures, no stories) and with "
            "the default wire.enabled=true, twice each; rate = articles / (seconds - load_seconds), best of the two. The gated "
            "row compares the best wire run with itself less the time it spent finding copies (its wire_seconds): on a shared "
            "machine the load of other processes moves separate runs by more than the wire work costs. Top-5: "
            f"for {WIRE_QUERIES} base articles that have copies, `Dalil.search` of 12 words of the longest of their sentences "
            "(past the first), k=5, hybrid; a list fails when two of its passages come from two articles of one family (the "
            "generator's ground truth) and share 70% of their normalized words. Baseline: the same queries on the store "
            "ingested with wire.enabled=false, searched with it off.",
    "memory": "peak RSS of the process: `dalil ingest` vs the llama-index baseline at the largest ingest size; `dalil search` "
              "vs the bare floor process at the largest search size.",
}


# ----------------------------------------------------------------------------- processes


@dataclass
class Child:
    cmd: list[str]
    rc: int
    out: str
    err: str
    wall: float  # seconds, from spawn to exit
    rss_mb: float  # peak resident set size of this process alone

    def check(self, what: str) -> Child:
        if self.rc != 0:
            tail = "\n".join(self.err.strip().splitlines()[-15:])
            raise RuntimeError(f"{what} failed (exit {self.rc}): {' '.join(self.cmd[:4])} …\n{tail}")
        return self

    def json(self) -> Any:
        return json.loads(self.out)


def run_child(cmd: list[str], env: dict[str, str], timeout: float | None = None) -> Child:
    """Run ``cmd``, wait with ``wait4`` for its own rusage (peak RSS), output via temp files (no pipe stalls)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=ROOT)
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            if timer:
                timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(cmd, proc.returncode, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                     wall, usage.ru_maxrss / 1024)


def median_runs(cmd: list[str], env: dict[str, str], runs: int, what: str) -> tuple[dict[str, Any], str]:
    """Wall time of ``runs`` processes (median, each, peak RSS) and the first one's output."""
    children = [run_child(cmd, env, timeout=120).check(what) for _ in range(runs)]
    walls = [c.wall for c in children]
    return {"median_s": statistics.median(walls), "runs_s": walls, "rss_mb": max(c.rss_mb for c in children)}, children[0].out


# ----------------------------------------------------------------------------- the run


@dataclass
class Row:
    bench: str
    name: str
    scale: str
    dalil: float | None
    baseline: float | None
    unit: str
    target: str = "info"
    passed: bool | None = None
    higher_is_better: bool = False
    error: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.dalil is None or not self.baseline:
            return None
        return self.dalil / self.baseline

    def as_dict(self) -> dict[str, Any]:
        result = "ERROR" if self.error else "info" if self.passed is None else ("PASS" if self.passed else "FAIL")
        return {"bench": self.bench, "name": self.name, "scale": self.scale, "dalil": self.dalil, "baseline": self.baseline,
                "unit": self.unit, "ratio": self.ratio, "target": self.target, "result": result}


@dataclass
class Run:
    work: Path
    sizes: dict[str, list[int]]
    selected: list[str]
    repeat: int
    log: Callable[[str], None]
    env: dict[str, str] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    _ingests: dict[int, dict[str, Any]] = field(default_factory=dict)
    _searches: dict[int, dict[str, Any]] = field(default_factory=dict)
    _seeds: Path | None = None
    _ask: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        for sub in ("corpora", "stores", "probes", "run"):
            (self.work / sub).mkdir(parents=True, exist_ok=True)
        empty = self.work / "empty-config.toml"
        empty.write_text("", encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("DALIL_", "OPENAI_"))}
        self.env["DALIL_CONFIG"] = str(empty)
        self.env["PYTHONUNBUFFERED"] = "1"
        self.env["XDG_RUNTIME_DIR"] = str(self.work / "run")  # `dalil serve` sockets: this run's servers only
        (self.work / "run").chmod(0o700)

    @property
    def python(self) -> str:
        return sys.executable

    @property
    def dalil_cmd(self) -> str:
        beside = Path(sys.executable).parent / "dalil"
        found = str(beside) if beside.is_file() else shutil.which("dalil")
        if not found:
            raise RuntimeError("no `dalil` command next to this Python or on PATH: pip install -e . in the venv")
        return found

    def add(self, row: Row) -> None:
        self.rows.append(row)

    # corpora and stores ------------------------------------------------------

    def corpus(self, n: int) -> Path:
        folder = self.work / "corpora" / f"articles-{n}-seed{SEED}"
        marker = folder / ".complete"
        if not marker.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            t = time.perf_counter()
            write_corpus(n, folder, seed=SEED)
            marker.write_text(json.dumps({"articles": n, "seed": SEED}), encoding="utf-8")
            self.log(f"corpus: {n} articles written in {time.perf_counter() - t:.1f}s")
        return folder

    def dalil_ingest(self, corpus: Path, store: Path, expected: int) -> dict[str, Any]:
        shutil.rmtree(store, ignore_errors=True)
        child = run_child([self.dalil_cmd, "ingest", str(corpus), "--store", str(store), "--json"], self.env).check("dalil ingest")
        report = child.json()
        if report["added"] != expected or report["errors"]:
            raise RuntimeError(f"dalil ingest of {corpus} added {report['added']} of {expected} ({len(report['errors'])} errors)")
        # the rate's clock: the baseline imports chromadb and loads its tokenizer before its clock starts,
        # so Dalil's own time for the same (``load_seconds``, reported by the ingest) is left out too
        result = {"articles": report["added"], "chunks": report["chunks"], "seconds": report["seconds"] - report["load_seconds"],
                  "total_seconds": report["seconds"], "load_seconds": report["load_seconds"], "wall_s": child.wall,
                  "rss_mb": child.rss_mb}
        (store / ".bench.json").write_text(json.dumps(result), encoding="utf-8")
        return result

    def ingest(self, n: int) -> dict[str, Any]:
        """Dalil and the llama-index baseline, each ingesting the n-article corpus into a fresh store."""
        if n not in self._ingests:
            corpus = self.corpus(n)
            self.log(f"ingest {n}: dalil …")
            dalil = self.dalil_ingest(corpus, self.store_path(n), n)
            self.log(f"ingest {n}: dalil {dalil['seconds']:.1f}s ({n / dalil['seconds']:.0f} art/s); llama-index baseline …")
            base_store = self.work / "stores" / f"llamaindex-{n}"
            shutil.rmtree(base_store, ignore_errors=True)
            child = run_child([self.python, str(BENCH / "baseline_ingest.py"), str(corpus), str(base_store)], self.env)
            shutil.rmtree(base_store, ignore_errors=True)
            base = child.check("baseline ingest").json()
            if base["articles"] != n:
                raise RuntimeError(f"baseline ingest read {base['articles']} of {n} articles")
            base.update(wall_s=child.wall, rss_mb=child.rss_mb)
            self.log(f"ingest {n}: baseline {base['seconds']:.1f}s ({n / base['seconds']:.0f} art/s); with Dalil's tokenizer …")
            child = run_child([self.python, str(BENCH / "baseline_ingest.py"), str(corpus), str(base_store), "--same-tokenizer"], self.env)
            shutil.rmtree(base_store, ignore_errors=True)
            same = child.check("baseline ingest --same-tokenizer").json()
            same.update(wall_s=child.wall, rss_mb=child.rss_mb)
            self.log(f"ingest {n}: baseline with o200k_base {same['seconds']:.1f}s ({n / same['seconds']:.0f} art/s)")
            self._ingests[n] = {"dalil": dalil, "baseline": base, "baseline_same_tokenizer": same}
        return self._ingests[n]

    def store_path(self, n: int) -> Path:
        return self.work / "stores" / f"dalil-{n}"

    def store(self, n: int) -> tuple[Path, dict[str, Any]]:
        """A Dalil store of the n-article corpus: this run's ingest store, one a previous run left in --work, or a new one."""
        path = self.store_path(n)
        if n in self._ingests:
            return path, {"from": "ingest benchmark"}
        marker = path / ".bench.json"
        if marker.is_file():
            info = json.loads(marker.read_text(encoding="utf-8"))
            if info.get("articles") == n:
                self.log(f"store {n}: reusing {path}")
                return path, {"from": f"reused from {path}", **info}
        self.log(f"store {n}: ingesting with dalil (not timed as a benchmark) …")
        info = self.dalil_ingest(self.corpus(n), path, n)
        self.log(f"store {n}: {info['chunks']} chunks in {info['seconds']:.1f}s")
        return path, {"from": "ingested for search", **info}

    def seeds_store(self) -> Path:
        if self._seeds is None:
            path = self.work / "stores" / "seeds"
            shutil.rmtree(path, ignore_errors=True)
            run_child([self.dalil_cmd, "ingest", str(ROOT / "seeds"), "--store", str(path), "--json"], self.env).check("dalil ingest seeds")
            self._seeds = path
        return self._seeds

    # measurements shared by several benchmarks ------------------------------

    def search(self, n: int) -> dict[str, Any]:
        if n not in self._searches:
            store, origin = self.store(n)
            probe = self.work / "probes" / f"search-{n}.json"
            self.log(f"search {n}: timing {len(queries())} queries × {self.repeat} …")
            worker = run_child([self.python, str(BENCH / "workers.py"), "search", "--store", str(store), "--k", str(K),
                                "--repeat", str(self.repeat), "--probe", str(probe)], self.env).check("search worker")
            timings = worker.json()
            query = json.loads(probe.read_text(encoding="utf-8"))["query"]
            search_cmd = [self.dalil_cmd, "search", query, "--store", str(store), "-k", str(K), "--json"]
            cli = run_child(search_cmd, self.env).check("dalil search")
            floor = run_child([self.python, str(BENCH / "workers.py"), "floor", "--probe", str(probe)], self.env).check("floor process")
            with self.serving(store) as server:
                served, output = median_runs(search_cmd, self.env, RUNS, "dalil search with dalil serve")
            served.update(server_start_s=server["ready_s"], same_output=output == cli.out)
            self._searches[n] = {
                "store": origin, "in_process": timings, "worker_rss_mb": worker.rss_mb,
                "dalil_search_process": {"wall_s": cli.wall, "rss_mb": cli.rss_mb, "hits": len(cli.json()["hits"])},
                "dalil_search_served": served,
                "floor_process": {"wall_s": floor.wall, "rss_mb": floor.rss_mb, **floor.json()},
            }
            self.log(f"search {n}: p95 dalil {timings['dalil_ms']['p95']:.1f} ms, floor {timings['floor_ms']['p95']:.1f} ms")
        return self._searches[n]

    def ask(self) -> dict[str, Any]:
        if self._ask is None:
            store = self.seeds_store()
            probe = self.work / "probes" / "ask.json"
            self.log("ask: in process …")
            worker = run_child([self.python, str(BENCH / "workers.py"), "ask", "--store", str(store), "--probe", str(probe)],
                               self.env).check("ask worker")
            question = arabic_questions()[0]
            self.log(f"ask: `dalil ask` and the floor process, {RUNS} runs each …")
            ask_cmd = [self.dalil_cmd, "ask", question, "--store", str(store)]
            cli, answer = median_runs(ask_cmd, self.env, RUNS, "dalil ask")
            floor, _ = median_runs([self.python, str(BENCH / "workers.py"), "floor", "--probe", str(probe)], self.env, RUNS, "floor process")
            self.log(f"ask: `dalil ask` with `dalil serve` running, {RUNS} runs …")
            with self.serving(store) as server:
                served, served_answer = median_runs(ask_cmd, self.env, RUNS, "dalil ask with dalil serve")
            served.update(server_start_s=server["ready_s"], same_output=served_answer == answer)
            self._ask = {"question": question, "in_process": worker.json(), "dalil_ask_process": cli, "floor_process": floor,
                         "dalil_ask_served": served}
        return self._ask

    @contextmanager
    def serving(self, store: Path) -> Iterator[dict[str, float]]:
        """A `dalil serve` process for ``store`` while the block runs; yields how long it took to be ready."""
        started = time.perf_counter()
        proc = subprocess.Popen([self.dalil_cmd, "serve", "--store", str(store)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self.env, cwd=ROOT, text=True)
        try:
            line = proc.stderr.readline() if proc.stderr else ""
            if not line.startswith("dalil serve: pid"):
                raise RuntimeError(f"dalil serve did not start: {line.strip()}")
            yield {"ready_s": time.perf_counter() - started}
        finally:
            proc.terminate()
            proc.wait(timeout=60)


# ----------------------------------------------------------------------------- benchmarks


def bench_ingest(run: Run) -> None:
    sizes = run.sizes["ingest"]
    for n in sizes:
        r = run.ingest(n)
        d, b = r["dalil"], r["baseline"]
        scale = f"{n:,} articles"
        run.add(Row("ingest", "ingest articles/s", scale, n / d["seconds"], n / b["seconds"], "art/s", "≥ 2× baseline",
                    n / d["seconds"] >= 2 * n / b["seconds"], higher_is_better=True))
        run.add(Row("ingest", f"ingest chunks/s (Dalil {d['chunks']:,}, baseline {b['chunks']:,} chunks)", scale,
                    d["chunks"] / d["seconds"], b["chunks"] / b["seconds"], "chunk/s", higher_is_better=True))
        same = r["baseline_same_tokenizer"]  # the splitter counting o200k_base tokens too: chunks of Dalil's size
        run.add(Row("ingest", f"ingest articles/s, baseline splitting with o200k_base ({same['chunks']:,} chunks)", scale,
                    n / d["seconds"], n / same["seconds"], "art/s", higher_is_better=True))
        run.details.setdefault("ingest", {})[str(n)] = r
    # the 10k-in-5-minutes target: measured at 10,000, else projected from the largest size's rate
    n = 10000 if 10000 in sizes else max(sizes)
    r = run.ingest(n)
    projected = 10000 / n
    label = "ingest time, 10,000 articles" + ("" if n == 10000 else f" (projected from {n:,})")
    dalil_s, base_s = r["dalil"]["total_seconds"] * projected, r["baseline"]["seconds"] * projected  # loading included
    run.add(Row("ingest", label, "10,000 articles", dalil_s, base_s, "s", "< 300 s", dalil_s < 300))


def bench_search(run: Run) -> None:
    for n in run.sizes["search"]:
        r = run.search(n)
        t = r["in_process"]
        scale = f"{n:,} articles, {t['chunks']:,} chunks"
        run.add(Row("search", f"search hybrid k={K} p50", scale, t["dalil_ms"]["p50"], t["floor_ms"]["p50"], "ms"))
        p95, floor95 = t["dalil_ms"]["p95"], t["floor_ms"]["p95"]
        run.add(Row("search", f"search hybrid k={K} p95", scale, p95, floor95, "ms", "≤ 1.5× floor and < 100 ms",
                    p95 <= 1.5 * floor95 and p95 < 100))
        run.add(Row("search", "open store + first query (in process)", scale, t["open_first_query_s"] * 1000,
                    r["floor_process"]["open_first_query_s"] * 1000, "ms"))
        run.add(Row("search", "`dalil search` process, wall", scale, r["dalil_search_process"]["wall_s"], r["floor_process"]["wall_s"], "s"))
        served = r["dalil_search_served"]
        same = "" if served["same_output"] else "; OUTPUT DIFFERS from the one-process search"
        run.add(Row("search", f"`dalil search` process, wall, `dalil serve` running (median of 5{same})", scale, served["median_s"],
                    r["floor_process"]["wall_s"], "s"))
        run.details.setdefault("search", {})[str(n)] = r


def bench_ask(run: Run) -> None:
    r = run.ask()
    _ask_cli_row(run, "ask")
    t = r["in_process"]
    run.add(Row("ask", "Dalil.ask extractive, in process, p50", "seeds (5 articles)", t["dalil_ms"]["p50"], t["floor_ms"]["p50"], "ms"))
    run.add(Row("ask", "Dalil.ask extractive, in process, p95", "seeds (5 articles)", t["dalil_ms"]["p95"], t["floor_ms"]["p95"], "ms"))
    run.details["ask"] = r


def _ask_cli_row(run: Run, bench: str) -> None:
    r = run.ask()
    dalil_s, floor_s = r["dalil_ask_process"]["median_s"], r["floor_process"]["median_s"]
    run.add(Row(bench, "`dalil ask` extractive, end to end, one process (median of 5)", "seeds (5 articles)", dalil_s, floor_s, "s",
                "< 1 s", dalil_s < 1))
    served = r["dalil_ask_served"]
    same = "" if served["same_output"] else "; OUTPUT DIFFERS from the one-process answer"
    run.add(Row(bench, f"`dalil ask` extractive, end to end, `dalil serve` running (median of 5{same})", "seeds (5 articles)",
                served["median_s"], floor_s, "s", "< 1 s", served["median_s"] < 1 and served["same_output"]))


class HttpServer:
    """`python -m agent serve --http --port 0 --store S` as a child process: its URL (from its stderr line), a keep-alive
    connection to it, and SIGTERM at the end."""

    def __init__(self, run: Run, store: Path, env: dict[str, str]) -> None:
        self.log_path = run.work / "probes" / "http-server.log"
        self.started = time.perf_counter()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([run.python, "-m", "agent", "serve", "--http", "--port", "0", "--store", str(store)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, env=env, cwd=ROOT)
        self.url = ""
        self.conn: Any = None

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start(self, timeout: float = 120) -> dict[str, Any]:
        """Wait for the 'listening on URL' line, then for GET /ready = 200; the seconds each took and /ready's JSON."""
        import http.client
        from urllib.parse import urlsplit

        deadline = time.perf_counter() + timeout
        while not self.url:
            found = re.search(r"listening on (http://\S+?)(?: |$)", self.log_text(), re.M)
            if found:
                self.url = found.group(1)
            elif self.proc.poll() is not None or time.perf_counter() > deadline:
                tail = "\n".join(self.log_text().strip().splitlines()[-15:])
                raise RuntimeError(f"dalil serve --http did not start (exit {self.proc.poll()}): {tail}")
            else:
                time.sleep(0.05)
        listening_s = time.perf_counter() - self.started
        parts = urlsplit(self.url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while True:
            status, body = self.request("GET", "/ready")
            if status == 200:
                return {"url": self.url, "listening_s": listening_s, "ready_s": time.perf_counter() - self.started, "ready": body}
            if time.perf_counter() > deadline:
                raise RuntimeError(f"/ready still {status} after {timeout:.0f} s: {body}")
            time.sleep(0.1)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """One request on the kept-alive connection; the status and the parsed JSON reply."""
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, path, body=data, headers=headers)
        reply = self.conn.getresponse()
        raw = reply.read()
        return reply.status, json.loads(raw)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        status, reply = self.request("POST", path, body)
        if status != 200:
            raise RuntimeError(f"POST {path} {body}: HTTP {status}: {reply}")
        return reply

    def stop(self) -> dict[str, Any]:
        if self.conn is not None:
            self.conn.close()
        self.proc.terminate()
        t = time.perf_counter()
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        return {"exit": rc, "stop_s": time.perf_counter() - t, "stopped_line": "dalil serve --http: stopped" in self.log_text()}


def _untimed(doc: dict[str, Any]) -> dict[str, Any]:
    """An answer's JSON without its one timing: each step's ``seconds``."""
    if not doc.get("steps"):
        return doc
    return {**doc, "steps": [{**step, "seconds": None} for step in doc["steps"]]}


def _differs(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The top-level fields where two JSON documents differ."""
    return sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))


def bench_http(run: Run) -> None:
    from agent.config import load_settings
    from agent.pipeline import Dalil

    store = run.seeds_store()
    # the in-process Dalil opens a copy: embedded Chroma is one process's at a time (agent/index/locks.py), so two processes
    # on one store hand its lease back and forth, and each handover reopens Chroma (100-300 ms a query, measured)
    here_store = run.work / "stores" / "seeds-in-process"
    shutil.rmtree(here_store, ignore_errors=True)
    shutil.copytree(store, here_store)
    env = {**run.env, "DALIL_SERVE_RATE_LIMIT": "0"}  # 4 requests a question: past the default 120 a minute
    saved = dict(os.environ)
    try:  # the in-process Dalil gets the server's settings: the same environment, the same (empty) config file
        os.environ.clear()
        os.environ.update(env)
        settings = load_settings(None, {"store": {"path": here_store}})
    finally:
        os.environ.clear()
        os.environ.update(saved)
    langs = {lang: dev_questions(lang) for lang in ("ar", "en")}
    items = [(lang, q) for lang, qs in langs.items() for q in qs[:HTTP_N]]
    warmup = [q for qs in langs.values() for q in qs[HTTP_N:HTTP_N + HTTP_WARMUP]]
    run.log("http: starting `python -m agent serve --http --port 0` …")
    server = HttpServer(run, store, env)
    try:
        started = server.start()
        run.log(f"http: {started['url']} ready in {started['ready_s']:.1f}s; {len(items)} questions, in process and over HTTP …")
        dalil = Dalil(settings)

        def ask_here(q: str) -> Any:
            return dalil.ask(q, mode="extractive").model_dump(mode="json")

        def ask_http(q: str) -> Any:
            return server.post("/v1/ask", {"question": q, "mode": "extractive"})

        def search_here(q: str) -> Any:
            return dalil.search(q).model_dump(mode="json")

        def search_http(q: str) -> Any:
            return server.post("/v1/search", {"query": q})

        for q in warmup:
            for fn in (ask_here, ask_http, search_here, search_http):
                fn(q)
        times: dict[str, dict[str, list[float]]] = {op: {"here": [], "http": []} for op in ("ask", "search")}
        mismatches: dict[str, list[dict[str, Any]]] = {"ask": [], "search": []}
        calls = {"ask": (ask_here, ask_http), "search": (search_here, search_http)}
        for i, (lang, q) in enumerate(items * run.repeat):
            for op, (here, there) in calls.items():
                order = [("here", here), ("http", there)] if (i + i // len(items)) % 2 == 0 else [("http", there), ("here", here)]
                out: dict[str, Any] = {}
                for side, fn in order:
                    t = time.perf_counter()
                    out[side] = fn(q)
                    times[op][side].append((time.perf_counter() - t) * 1000)
                here_doc, http_doc = _untimed(out["here"]), _untimed(out["http"])
                if here_doc != http_doc:
                    mismatches[op].append({"lang": lang, "question": q, "fields": _differs(here_doc, http_doc)})
        dalil.store.close()
    finally:
        stopped = server.stop()
        shutil.rmtree(here_store, ignore_errors=True)
    n_ar, n_en = (sum(1 for lang, _ in items if lang == x) for x in ("ar", "en"))
    scale = f"seeds, {len(items)} questions ({n_ar} ar, {n_en} en) × {run.repeat}"
    details: dict[str, Any] = {"server": {**started, **stopped}, "questions": len(items), "rounds": run.repeat,
                               "warmup_questions": len(warmup)}
    for op, label in (("ask", "Dalil.ask extractive"), ("search", "Dalil.search")):
        here, there = times[op]["here"], times[op]["http"]
        over = [h - i for h, i in zip(there, here, strict=True)]
        overhead = statistics.median(over)
        by_lang = {lang: statistics.median(o for o, (x, _) in zip(over, items * run.repeat, strict=True) if x == lang)
                   for lang in ("ar", "en")}
        bad = len(mismatches[op])
        for q in ("p50", "p95"):
            run.add(Row("http", f"{label} {q}: over HTTP vs in process", scale, summary(there)[q], summary(here)[q], "ms"))
        same = f"; {bad} of {len(over)} REPLIES DIFFER from in process" if bad else ""
        run.add(Row("http", f"{label}: HTTP overhead p50 (HTTP − in process, same question){same}", scale, overhead, None, "ms",
                    "< 20 ms", overhead < 20 and not bad))
        details[op] = {"in_process_ms": summary(here), "http_ms": summary(there), "overhead_ms": summary(over),
                       "overhead_p50_by_lang_ms": by_lang, "mismatches": bad, "mismatched": mismatches[op][:5]}
        run.log(f"http: {op} p50 in process {summary(here)['p50']:.1f} ms, HTTP {summary(there)['p50']:.1f} ms, overhead p50 "
                f"{overhead:.1f} ms, {bad} mismatches")
    run.details["http"] = details


@contextmanager
def scripted_openai(run: Run, script: Path) -> Iterator[dict[str, str]]:
    """tests/scripted_openai.py serving ``script`` in its own process; yields the DALIL_LLM_* environment for it."""
    server = subprocess.Popen([run.python, str(ROOT / "tests" / "scripted_openai.py"), "--port", "0", "--script", str(script)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=run.env, cwd=ROOT)
    try:
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(server.stdout.readline() if server.stdout else ""), daemon=True)
        reader.start()
        reader.join(30)
        if not ready or not ready[0].startswith("READY "):
            raise RuntimeError("the scripted OpenAI server did not start")
        base_url = ready[0].split()[1]
        yield {**run.env, "DALIL_LLM_BASE_URL": base_url, "DALIL_LLM_MODEL": "scripted", "DALIL_LLM_API_KEY": "x",
               "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def bench_llm(run: Run) -> None:
    store = run.seeds_store()
    script = run.work / "probes" / "scripted-openai.json"
    rewrites = [{"match": "search queries", "content": LLM_REWRITE}] * (8 * (LLM_N + 5))
    script.write_text(json.dumps({"replies": rewrites, "default": {"content": LLM_ANSWER}, "model": "scripted"}, ensure_ascii=False),
                      encoding="utf-8")
    with scripted_openai(run, script) as env:
        run.log(f"llm: {LLM_N} asks per mode against {env['DALIL_LLM_BASE_URL']} …")
        env["DALIL_LLM_TOOLS"] = "off"  # the one pass: rewrite, retrieve, answer
        r = run_child([run.python, str(BENCH / "workers.py"), "llm", "--store", str(store), "--n", str(LLM_N)], env).check("llm worker").json()
    for mode, label in (("stream", "streamed, as `dalil ask`"), ("complete", "not streamed, as `dalil ask --json`")):
        m = r[mode]
        for q in ("p50", "p95"):
            dalil_ms = m["overhead_ms"][q]
            run.add(Row("llm", f"LLM-call overhead {q}, {label}", f"seeds, n={LLM_N}", dalil_ms, m["sdk_overhead_ms"][q], "ms",
                        "< 50 ms", dalil_ms < 50))
    run.details["llm"] = r


def bench_agent(run: Run) -> None:
    store = run.seeds_store()
    script = run.work / "probes" / "scripted-agent.json"
    replies = AGENT_SCRIPT * 2 * (AGENT_N + 5)  # each ask, then its replay by the bare SDK
    script.write_text(json.dumps({"replies": replies, "model": "scripted"}, ensure_ascii=False), encoding="utf-8")
    with scripted_openai(run, script) as env:
        run.log(f"agent: {AGENT_N} asks against {env['DALIL_LLM_BASE_URL']} …")
        env["DALIL_LLM_TOOLS"] = "on"
        r = run_child([run.python, str(BENCH / "workers.py"), "agent", "--store", str(store), "--n", str(AGENT_N)], env).check(
            "agent worker").json()
    for q in ("p50", "p95"):
        per_step = r["overhead_per_step_ms"][q]
        run.add(Row("agent", f"agent-loop overhead per tool step {q} (tools and verification included)",
                    f"seeds, n={AGENT_N}, {r['steps_per_ask']} steps", per_step, r["sdk_overhead_per_step_ms"][q], "ms", "< 50 ms",
                    per_step < 50))
    run.details["agent"] = r


IMPORT_LINE = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\|( *)(\S+)")


def import_top(stderr: str, count: int = 5, by: str = "cumulative_ms") -> list[dict[str, Any]]:
    """From ``-X importtime`` output: the ``count`` top-level imports with the largest cumulative time
    (``by="cumulative_ms"``), or the ``count`` modules at any depth with the largest own time (``by="self_ms"``)."""
    top = []
    for line in stderr.splitlines():
        m = IMPORT_LINE.match(line)
        if m and (by == "self_ms" or len(m.group(3)) <= 1):
            top.append({"module": m.group(4), "cumulative_ms": int(m.group(2)) / 1000, "self_ms": int(m.group(1)) / 1000})
    return sorted(top, key=lambda x: -x[by])[:count]


def bench_coldstart(run: Run) -> None:
    run.log(f"coldstart: `dalil --help` and `python -c pass`, {RUNS} runs each …")
    helps, pythons = [], []
    for _ in range(RUNS):  # interleaved, so a busy moment hits both
        helps.append(run_child([run.dalil_cmd, "--help"], run.env, timeout=60).check("dalil --help"))
        pythons.append(run_child([run.python, "-c", "pass"], run.env, timeout=60).check("python -c pass"))
    help_s, python_s = statistics.median(c.wall for c in helps), statistics.median(c.wall for c in pythons)
    run.add(Row("coldstart", "`dalil --help` (median of 5)", "-", help_s, python_s, "s", "< 0.3 s", help_s < 0.3))
    trace = run_child([run.python, "-X", "importtime", run.dalil_cmd, "--help"], run.env, timeout=60).check("importtime")
    top = import_top(trace.err)
    if "ask" not in run.selected:
        _ask_cli_row(run, "coldstart")
    run.details["coldstart"] = {
        "dalil_help_s": [c.wall for c in helps], "python_pass_s": [c.wall for c in pythons],
        "importtime_top5": top, "importtime_self_top5": import_top(trace.err, by="self_ms"),
        "imported_modules": sum(1 for line in trace.err.splitlines() if IMPORT_LINE.match(line)),
        **({"dalil_ask": run.ask()["dalil_ask_process"]} if run._ask else {}),
    }


UPDATE_ARTICLE = "خبر عاجل: زلزال بقوة خمس درجات يضرب مدينة قونية التركية دون أنباء عن ضحايا.\n"


def bench_update(run: Run) -> None:
    n = max(run.sizes["search"])
    store, _ = run.store(n)
    copy = run.work / "stores" / f"update-{n}"
    shutil.rmtree(copy, ignore_errors=True)
    run.log(f"update: copying the {n:,}-article store …")
    shutil.copytree(store, copy)
    article = run.work / "probes" / "update"
    article.mkdir(parents=True, exist_ok=True)
    (article / "quake.txt").write_text(UPDATE_ARTICLE, encoding="utf-8")
    try:
        run.log("update: `dalil ingest` of one article, then a BM25 build from scratch …")
        child = run_child([run.dalil_cmd, "ingest", str(article), "--store", str(copy), "--json"], run.env).check("dalil ingest (update)")
        report = child.json()
        if report["added"] != 1:
            raise RuntimeError(f"the update ingest added {report['added']} articles, not 1")
        full = run_child([run.python, str(BENCH / "workers.py"), "bm25-build", "--store", str(copy)], run.env).check("bm25-build").json()
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    scale = f"{n:,} articles, {full['chunks']:,} chunks"
    run.add(Row("update", "add one article: BM25 index brought up to date, inside the ingest", scale, report["bm25_seconds"],
                full["seconds"], "s"))
    run.add(Row("update", "add one article: `dalil ingest` seconds (Chroma write and BM25 update included)", scale, report["seconds"],
                None, "s"))
    run.add(Row("update", "add one article: `dalil ingest` process, wall", scale, child.wall, None, "s"))
    run.details["update"] = {"articles": n, "ingest": report, "ingest_wall_s": child.wall, "ingest_rss_mb": child.rss_mb,
                             "bm25_full_build": full}


def bench_wire(run: Run) -> None:
    n = max(run.sizes["wire"])
    corpus = run.work / "corpora" / f"wire-{n}-seed{SEED}"
    marker = corpus / ".complete"
    if not marker.is_file():
        shutil.rmtree(corpus, ignore_errors=True)
        write_wire_corpus(n, corpus, SEED, WIRE_SHARE)
        marker.write_text(json.dumps({"articles": n, "seed": SEED, "wire": WIRE_SHARE}), encoding="utf-8")
    stories = corpus.parent / f"{corpus.name}.stories.json"
    rates: dict[str, list[float]] = {"off": [], "on": []}
    reports: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for attempt in range(2):
        for wire in ("off", "on"):  # alternating: load from other processes on the machine hits both alike
            store = run.work / "stores" / f"wire-{n}-{wire}"
            shutil.rmtree(store, ignore_errors=True)
            env = {**run.env, "DALIL_WIRE_ENABLED": "true" if wire == "on" else "false"}
            run.log(f"wire: ingest {n:,} articles with wire.enabled {wire} ({attempt + 1}/2) …")
            child = run_child([run.dalil_cmd, "ingest", str(corpus), "--store", str(store), "--json"], env).check("dalil ingest (wire)")
            report = child.json()
            if report["added"] != n:
                raise RuntimeError(f"the wire ingest added {report['added']} of {n} articles")
            rates[wire].append(n / (report["seconds"] - report["load_seconds"]))
            reports[wire].append({k: report[k] for k in ("seconds", "load_seconds", "bm25_seconds", "wire_seconds", "chunks")}
                                 | {"wall_s": child.wall})
    top: dict[str, dict[str, Any]] = {}
    for wire in ("off", "on"):
        store = run.work / "stores" / f"wire-{n}-{wire}"
        run.log(f"wire: top-5 of {WIRE_QUERIES} queries, wire {wire} …")
        top[wire] = run_child([run.python, str(BENCH / "workers.py"), "wire-top5", "--store", str(store), "--corpus", str(corpus),
                               "--stories", str(stories), "--wire", wire, "--n", str(WIRE_QUERIES), "--k", "5"], run.env).check("wire-top5").json()
    on, off = max(rates["on"]), max(rates["off"])
    best = max(reports["on"], key=lambda r: n / (r["seconds"] - r["load_seconds"]))
    without = n / (best["seconds"] - best["load_seconds"] - best["wire_seconds"])  # the same run, its wire work taken out
    scale = f"{n:,} articles, {WIRE_SHARE:.0%} wire copies"
    run.add(Row("wire", "ingest articles/s with wire copies found (baseline: the same run less its wire_seconds)", scale, on, without,
                "art/s", "≥ 0.8× baseline", on >= 0.8 * without, higher_is_better=True))
    run.add(Row("wire", "ingest articles/s with wire copies found (baseline: another run, wire.enabled=false)", scale, on, off, "art/s",
                higher_is_better=True))
    run.add(Row("wire", f"top-5 lists holding two copies of one story, of {top['on']['queries']} (baseline: wire.enabled=false)", scale,
                top["on"]["lists_with_copies"], top["off"]["lists_with_copies"], "lists", "0", top["on"]["lists_with_copies"] == 0))
    run.details["wire"] = {"articles": n, "share": WIRE_SHARE, "rates": rates, "ingests": reports, "top5": top}


def bench_memory(run: Run) -> None:
    ni = max(run.sizes["ingest"])
    r = run.ingest(ni)
    run.add(Row("memory", "peak RSS, ingest", f"{ni:,} articles", r["dalil"]["rss_mb"], r["baseline"]["rss_mb"], "MB"))
    ns = max(run.sizes["search"])
    s = run.search(ns)
    run.add(Row("memory", "peak RSS, `dalil search` process", f"{ns:,} articles", s["dalil_search_process"]["rss_mb"],
                s["floor_process"]["rss_mb"], "MB"))
    built = s["store"]
    if built.get("from") == "ingested for search":  # the store was built by this run: its ingest is measured too
        run.add(Row("memory", "peak RSS, `dalil ingest` building the store (no baseline run at this size)", f"{ns:,} articles",
                    built["rss_mb"], None, "MB"))
        run.add(Row("memory", "time, `dalil ingest` building the store (articles/s in details)", f"{ns:,} articles",
                    built["total_seconds"], None, "s"))
    run.details["memory"] = {"ingest": {"articles": ni, "dalil_mb": r["dalil"]["rss_mb"], "baseline_mb": r["baseline"]["rss_mb"]},
                             "search": {"articles": ns, "dalil_mb": s["dalil_search_process"]["rss_mb"],
                                        "floor_mb": s["floor_process"]["rss_mb"], "search_worker_mb": s["worker_rss_mb"]}}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def chroma_server(run: Run, data: Path) -> Iterator[str]:
    """`chroma run --path DATA --port FREE` (the chromadb package's command, next to this Python) until the block ends; its URL."""
    import urllib.request

    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.is_file():
        raise RuntimeError(f"no `chroma` command at {chroma}: the chromadb package provides it")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = run.work / "probes" / "chroma-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=run.env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not start (exit {proc.poll()}); see {log_path}") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def bench_catchup(run: Run) -> None:
    sizes = run.sizes["search"]
    n = 10000 if 10000 in sizes else max(sizes)
    corpus = run.corpus(n)
    base = run.work / "stores" / f"catchup-{n}"
    shutil.rmtree(base, ignore_errors=True)
    data, store_a, store_b = base / "chroma-data", base / "A", base / "B"
    query = queries()[0]
    try:
        with chroma_server(run, data) as url:
            env = {**run.env, "DALIL_STORE_URL": url, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
            run.log(f"catchup: chroma run at {url}; `dalil ingest` of {n:,} articles into store A …")
            child = run_child([run.dalil_cmd, "ingest", str(corpus), "--store", str(store_a), "--json"], env).check("dalil ingest (server)")
            report = child.json()
            if report["added"] != n or report["errors"]:
                raise RuntimeError(f"the server ingest added {report['added']} of {n} ({len(report['errors'])} errors)")
            run.log(f"catchup: ingested in {report['seconds']:.1f}s ({n / report['seconds']:.0f} art/s); A's search, then B's catch-up …")
            search = [run.dalil_cmd, "search", query, "-k", str(K), "--json", "--store"]
            a = run_child([*search, str(store_a)], env, timeout=600).check("dalil search (A)")
            first = run_child([*search, str(store_b)], env, timeout=1800).check("dalil search (B, catching up)")
            b_mb = _folder_mb(store_b)
            warm = [run_child([*search, str(store_b)], env, timeout=600).check("dalil search (B, up to date)") for _ in range(3)]
            data_mb = _folder_mb(data)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    same = first.json() == a.json() and all(w.json() == a.json() for w in warm)
    warm_s = statistics.median(w.wall for w in warm)
    catchup_s = first.wall - warm_s
    scale = f"{n:,} articles, {report['chunks']:,} chunks"
    run.add(Row("catchup", "ingest into a Chroma server (store.url): `dalil ingest` seconds", scale, report["seconds"], None, "s"))
    run.add(Row("catchup", "ingest into a Chroma server: articles/s", scale, n / report["seconds"], None, "art/s", higher_is_better=True))
    run.add(Row("catchup", "fresh store B: first `dalil search` process (catch-up + BM25 build + search), wall", scale, first.wall,
                a.wall, "s"))
    differs = "" if same else "; B's HITS DIFFER from A's"
    run.add(Row("catchup", f"fresh store B: catch-up time (first process − median of 3 up-to-date ones){differs}", scale, catchup_s,
                None, "s", "B's hits = A's", same))
    run.add(Row("catchup", "fresh store B: catch-up articles/s", scale, n / catchup_s if catchup_s > 0 else None, None, "art/s",
                higher_is_better=True))
    run.add(Row("catchup", "client cache: store B on disk (registry + BM25 index)", scale, b_mb, None, "MB"))
    run.add(Row("catchup", "client cache: peak RSS of `dalil search` on B, catching up / up to date", scale, first.rss_mb,
                max(w.rss_mb for w in warm), "MB"))
    run.log(f"catchup: B caught up in {catchup_s:.1f}s ({first.wall:.1f}s process, {warm_s:.2f}s up to date); same hits: {same}")
    report.pop("encodings", None)  # one entry per article
    run.details["catchup"] = {"articles": n, "query": query, "ingest": report, "ingest_wall_s": child.wall, "ingest_rss_mb": child.rss_mb,
                              "search_a": {"wall_s": a.wall, "rss_mb": a.rss_mb},
                              "search_b_first": {"wall_s": first.wall, "rss_mb": first.rss_mb},
                              "search_b_up_to_date": {"wall_s": [w.wall for w in warm], "rss_mb": [w.rss_mb for w in warm]},
                              "catchup_s": catchup_s, "same_hits": same, "store_b_mb": b_mb, "chroma_data_mb": data_mb}


BENCHMARKS: dict[str, Callable[[Run], None]] = {
    "ingest": bench_ingest, "search": bench_search, "ask": bench_ask, "http": bench_http, "llm": bench_llm, "agent": bench_agent,
    "coldstart": bench_coldstart, "memory": bench_memory,
    "update": bench_update, "catchup": bench_catchup, "wire": bench_wire,
}


# ----------------------------------------------------------------------------- machine and output


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        ram_gb = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration, ValueError):
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    git = {}
    try:
        git["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "agent"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        git["agent_modified"] = bool(dirty.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": ram_gb, "os": platform.platform(), "python": platform.python_version(), "packages": versions, "git": git,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"


def print_table(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 180)
    m = doc["machine"]
    pk = m["packages"]
    console.print(
        f"[bold]Dalil benchmarks[/bold] {doc['mode']}: {m['cpu']}, {m['cores_usable']}/{m['cores']} cores, {m['ram_gb']} GB RAM, "
        f"Python {m['python']}, chromadb {pk['chromadb']}, llama-index-core {pk['llama-index-core']}, bm25s {pk['bm25s']}; "
        f"git {m['git'].get('commit', '?')}{' (agent/ modified)' if m['git'].get('agent_modified') else ''}; "
        f"load {m['loadavg_start']} → {m['loadavg_end']}",
        highlight=False,
    )
    table = Table(show_lines=False)
    for name, justify in (("benchmark", "left"), ("scale", "left"), ("Dalil", "right"), ("baseline", "right"), ("ratio", "right"),
                          ("target", "left"), ("result", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    last = None
    for row in doc["rows"]:
        if last is not None and row["bench"] != last:
            table.add_section()
        last = row["bench"]
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        style = {"PASS": "green", "FAIL": "red", "ERROR": "bold red"}.get(row["result"], "dim")
        table.add_row(row["name"], row["scale"], fmt(row["dalil"], row["unit"]), fmt(row["baseline"], row["unit"]), ratio, row["target"],
                      f"[{style}]{row['result']}[/{style}]")
    console.print(table)
    for name in doc["benchmarks"]:
        if name in NOTES:
            console.print(f"[dim]{name}: {NOTES[name]}[/dim]", highlight=False)
    top = (doc["details"].get("coldstart") or {}).get("importtime_top5")
    if top:
        console.print("[dim]`dalil --help` top imports (cumulative): "
                      + ", ".join(f"{t['module']} {t['cumulative_ms']:.0f} ms" for t in top) + "[/dim]", highlight=False)
    for name, error in doc["errors"].items():
        console.print(f"[bold red]{name} failed:[/bold red] {error.splitlines()[0]}", highlight=False)
    console.print(f"total {doc['seconds']:.0f} s; work dir {doc['work'] or '(temporary, removed)'}", highlight=False)


def markdown(doc: dict[str, Any]) -> str:
    """The run as Markdown (bench/RESULTS.md is this, for a full run)."""
    m, pk = doc["machine"], doc["machine"]["packages"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores_usable']}/{m['cores']} cores, {m['ram_gb']} GB RAM; Python {m['python']}, chromadb "
        f"{pk['chromadb']}, llama-index-core {pk['llama-index-core']}, bm25s {pk['bm25s']}; git {m['git'].get('commit', '?')}"
        f"{' (agent/ modified)' if m['git'].get('agent_modified') else ''}; load average {m['loadavg_start']} → {m['loadavg_end']}; "
        f"{doc['mode']} run, {doc['seconds']:.0f} s.",
        "",
        "| benchmark | scale | Dalil | baseline | ratio | target | result |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in doc["rows"]:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        cells = [row["name"], row["scale"], fmt(row["dalil"], row["unit"]), fmt(row["baseline"], row["unit"]), ratio, row["target"],
                 f"**{row['result']}**" if row["result"] in ("PASS", "FAIL", "ERROR") else row["result"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += [f"- {name}: {doc['notes'][name]}" for name in doc["benchmarks"] if name in doc.get("notes", {})]
    return "\n".join(lines) + "\n"


def parse_count(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = 1000 if text.endswith("k") else 1
    value = int(float(text[:-1] if factor > 1 else text) * factor)
    if value < 1:
        raise ValueError(text)
    return value


def parse_sizes(values: list[str], quick: bool) -> dict[str, list[int]]:
    sizes = {k: list(v) for k, v in (QUICK_SIZES if quick else DEFAULT_SIZES).items()}
    given: dict[str, list[int]] = {}
    for value in values:
        kinds, _, numbers = value.rpartition("=")
        for kind in [kinds] if kinds else ["ingest", "search"]:
            if kind not in sizes:
                raise ValueError(f"unknown size kind {kind!r}: use ingest=…, search=… or wire=…")
            given.setdefault(kind, []).extend(parse_count(n) for n in numbers.split(",") if n.strip())
    sizes.update({k: sorted(set(v)) for k, v in given.items()})
    return sizes


def parse_only(values: list[str]) -> list[str]:
    chosen = [n.strip() for v in values for n in v.split(",") if n.strip()] or list(NAMES)
    unknown = [n for n in chosen if n not in NAMES]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}: choose from {', '.join(NAMES)}")
    return [n for n in NAMES if n in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="benchmarks: " + ", ".join(NAMES))
    parser.add_argument("--quick", action="store_true",
                        help="small scales for development and smoke tests: ingest 200 and 1,000, search 1,000 and 2,000 articles")
    parser.add_argument("--sizes", nargs="+", default=[], metavar="[ingest=|search=]N[,N]",
                        help="scales in articles, e.g. --sizes ingest=1000,10k search=100k (a bare list sets both; "
                             "default ingest=1000,10000 search=10000,100000)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME[,NAME]", help="run only these benchmarks")
    parser.add_argument("--work", type=Path, help="folder for corpora and stores (kept; a later run reuses them). Default: a temp dir")
    parser.add_argument("--repeat", type=int, default=2, help="search, http: timed rounds over the query list (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--markdown", action="store_true", help="print the results as Markdown (as in bench/RESULTS.md)")
    parser.add_argument("--render", type=Path, metavar="JSON", help="run nothing: show a saved --json output (as a table or --markdown)")
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text(encoding="utf-8"))
        if args.markdown:
            print(markdown(saved), end="")
        else:
            print_table(saved)
        return 0
    try:
        sizes = parse_sizes(args.sizes, args.quick)
        selected = parse_only(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    dropped = sorted(k for k in os.environ if k.startswith(("DALIL_", "OPENAI_")))
    if dropped:
        log(f"not passed to the benchmarked processes: {', '.join(dropped)}")
    temp = args.work is None
    work = Path(tempfile.mkdtemp(prefix="dalil-bench-")) if temp else args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    info = machine()
    run = Run(work=work, sizes=sizes, selected=selected, repeat=args.repeat, log=log)
    errors: dict[str, str] = {}
    try:
        for name in selected:
            t = time.perf_counter()
            try:
                BENCHMARKS[name](run)
            except Exception as exc:  # one failing benchmark must not lose the others' figures
                errors[name] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
                run.add(Row(name, f"{name}: {type(exc).__name__}", "-", None, None, "", "-", error=str(exc)))
                log(f"{name}: FAILED: {exc}")
            log(f"{name}: done in {time.perf_counter() - t:.1f}s")
    finally:
        if temp:
            shutil.rmtree(work, ignore_errors=True)
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    rows = [r.as_dict() for r in run.rows]
    doc = {
        "mode": "quick" if args.quick else "full", "machine": info, "sizes": sizes, "benchmarks": selected, "repeat": args.repeat,
        "queries": len(queries()), "k": K, "work": None if temp else str(work), "rows": rows, "notes": {n: NOTES[n] for n in selected},
        "details": run.details, "errors": errors, "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    elif args.markdown:
        print(markdown(doc), end="")
    else:
        print_table(doc)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
