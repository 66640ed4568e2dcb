"""Measurement processes for bench/run.py: each subcommand runs in a fresh process and prints one JSON document.

    python bench/workers.py search --store S [--k 10] [--repeat 2] [--probe FILE]
    python bench/workers.py ask    --store S [--probe FILE]
    python bench/workers.py floor  --probe FILE
    python bench/workers.py llm    --store S [--n 20] [--warmup 3]
    python bench/workers.py agent  --store S [--n 20] [--warmup 3]
    python bench/workers.py bm25-build --store S

``search`` opens ``Dalil`` on a store and times ``dalil.search(q, k, mode="hybrid")`` over the
fixed query list, interleaved with the floor: a bare Chroma ``collection.query`` with the query
vector precomputed by the same embedder, plus a bare bm25s ``retrieve`` of the same query terms
(as token ids of the same index). ``ask`` does the same for ``Dalil.ask`` (extractive) on the
seeds. ``floor`` is the baseline *process*: it only opens the Chroma collection and loads the
bm25s index, then runs one query written by ``search``/``ask`` (``--probe``). ``llm`` times
``Dalil.ask(mode="llm")`` against the scripted OpenAI-compatible server given by the DALIL_LLM_*
environment, and the time spent inside HTTP requests (a timing wrapper around the openai client's
HTTP transport), then replays the same requests with the bare openai SDK as its baseline; ``agent`` does
the same for the agent loop (the server scripted to call tools), per tool step.
``bm25-build`` times a BM25 index built from scratch over a store's registry: what an ingest
did before the index was kept up to date incrementally. Nothing in Dalil is patched. Heavy imports
happen inside the subcommands, after the clock starts.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

_T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "evals" / "dev.yaml"
TOPICS = ["وقف إطلاق النار", "المساعدات الإنسانية", "محادثة هاتفية", "المفاوضات", "الهدنة", "مجلس الأمن"]
WARMUP = ["الجزيرة نت مجلس الأمن", "سبوتنيك المعارضة المسلحة", "روسيا اليوم الحل السياسي", "عنب بلدي القصف", "النهار اللاجئين"]
LLM_QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"
LLM_REWRITE = '{"ar": "اتصال هاتفي لافروف كيري حلب", "en": "Lavrov Kerry call Aleppo"}'
LLM_ANSWER = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1]."
# the agent benchmark's model: search, then events, then an answer citing passage [4] of the search
AGENT_SCRIPT = [
    {"tool_calls": [{"id": "s", "type": "function", "function": {"name": "search", "arguments": '{"query": "اتصال هاتفي لافروف كيري حلب"}'}}]},
    {"tool_calls": [{"id": "e", "type": "function", "function": {"name": "events", "arguments": '{"type": "call"}'}}]},
    {"content": "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [4]."},
]


def dev_questions(lang: str) -> list[str]:
    """The questions of evals/dev.yaml in ``lang`` ("ar" or "en"), in file order."""
    import yaml

    data = yaml.safe_load(SUITE.read_text(encoding="utf-8"))
    return [item["question"] for item in data["items"] if item.get("lang") == lang]


def arabic_questions() -> list[str]:
    return dev_questions("ar")


def queries() -> list[str]:
    """The fixed search queries: the Arabic questions of evals/dev.yaml, then entity + topic phrases (~56)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from corpus import SWAPS

    names = list(dict.fromkeys(name for _, replacements in SWAPS for name in replacements))
    phrases = [f"{name} {TOPICS[i % len(TOPICS)]}" for i, name in enumerate(names)]
    return arabic_questions() + phrases


def pct(values: list[float], q: float) -> float:
    """Percentile with linear interpolation (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "mean": statistics.fmean(values) if values else float("nan"),
            "min": min(values, default=float("nan")), "max": max(values, default=float("nan"))}


def open_dalil(store: Path) -> Any:
    from agent.config import load_settings
    from agent.pipeline import Dalil

    return Dalil(load_settings(None, {"store": {"path": store}}))


class Floor:
    """The bare Chroma + bm25s calls over Dalil's own collection and BM25 index."""

    def __init__(self, dalil: Any, k: int) -> None:
        self.collection = dalil.store.collection
        self.model = dalil.store.bm25().model  # bm25s.BM25, indexed on token ids with a str -> id vocab
        self.dalil = dalil
        self.k = k

    def prepare(self, query: str) -> tuple[list[float], list[int]]:
        """Outside the timing: the query vector (same embedder) and the query terms as the index's token ids."""
        vector = self.dalil.embedder.get_query_embedding(query)
        vocab = self.model.vocab_dict
        return vector, [vocab[t] for t in self.dalil.analyzer.query_terms(query) if t in vocab]

    def run(self, vector: list[float], ids: list[int]) -> tuple[float, float]:
        """Seconds for the Chroma query and for the bm25s retrieve."""
        t = time.perf_counter()
        self.collection.query(query_embeddings=[vector], n_results=self.k)
        t1 = time.perf_counter()
        if ids:
            self.model.retrieve([ids], k=min(self.k, len(self.dalil.store.bm25())), show_progress=False, n_threads=0)
        return t1 - t, time.perf_counter() - t1


def write_probe(path: Path | None, dalil: Any, floor: Floor, query: str) -> None:
    if path is None:
        return
    vector, ids = floor.prepare(query)
    store = dalil.store
    path.write_text(json.dumps({
        "query": query, "vector": vector, "term_ids": ids, "k": floor.k, "chroma": str(store.root / "chroma"),
        "collection": store.collection_name, "bm25": str(store.bm25().folder),
    }, ensure_ascii=False), encoding="utf-8")


def timed_loop(fn: Any, floor: Floor, items: list[str], repeat: int) -> dict[str, Any]:
    """``fn(q)`` and the floor for every item, interleaved (order alternating) so load changes hit both alike."""
    prepared = {q: floor.prepare(q) for q in items}
    dalil_s: list[float] = []
    chroma_s: list[float] = []
    bm25_s: list[float] = []
    empty = 0
    for r in range(repeat):
        for i, q in enumerate(items):
            dalil_first = (i + r) % 2 == 0
            if not dalil_first:
                c, b = floor.run(*prepared[q])
            t = time.perf_counter()
            out = fn(q)
            dalil_s.append(time.perf_counter() - t)
            if dalil_first:
                c, b = floor.run(*prepared[q])
            chroma_s.append(c)
            bm25_s.append(b)
            empty += not out
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    return {
        "dalil_ms": summary(ms(dalil_s)), "floor_ms": summary(ms([c + b for c, b in zip(chroma_s, bm25_s, strict=True)])),
        "chroma_ms": summary(ms(chroma_s)), "bm25s_ms": summary(ms(bm25_s)), "empty_results": empty,
        "queries": len(items), "repeat": repeat, "no_bm25_terms": sum(1 for q in items if not prepared[q][1]),
    }


def cmd_search(args: argparse.Namespace) -> dict[str, Any]:
    t = time.perf_counter()
    from agent.config import load_settings  # noqa: F401  (import cost measured here)
    from agent.pipeline import Dalil  # noqa: F401

    import_s = time.perf_counter() - t
    items = queries()
    t = time.perf_counter()
    dalil = open_dalil(args.store)
    first = dalil.search(items[0], k=args.k, mode="hybrid")
    cold_s = time.perf_counter() - t
    floor = Floor(dalil, args.k)
    for q in WARMUP:
        dalil.search(q, k=args.k, mode="hybrid")
        floor.run(*floor.prepare(q))
    result = timed_loop(lambda q: dalil.search(q, k=args.k, mode="hybrid").hits, floor, items, args.repeat)
    write_probe(args.probe, dalil, floor, items[0])
    docs, chunks = dalil.store.registry.counts()
    return {"documents": docs, "chunks": chunks, "k": args.k, "import_s": import_s, "open_first_query_s": cold_s,
            "first_hits": len(first.hits), "candidates_per_list": max(dalil.settings.retrieval.candidates, args.k), **result}


def cmd_ask(args: argparse.Namespace) -> dict[str, Any]:
    t = time.perf_counter()
    from agent.pipeline import Dalil  # noqa: F401

    import_s = time.perf_counter() - t
    items = arabic_questions()
    t = time.perf_counter()
    dalil = open_dalil(args.store)
    first = dalil.ask(items[0], mode="extractive")
    cold_s = time.perf_counter() - t
    floor = Floor(dalil, dalil.settings.retrieval.top_k)
    result = timed_loop(lambda q: dalil.ask(q, mode="extractive").answer, floor, items, args.repeat)
    write_probe(args.probe, dalil, floor, items[0])
    return {"import_s": import_s, "open_first_ask_s": cold_s, "first_abstained": first.abstained, **result}


def cmd_floor(args: argparse.Namespace) -> dict[str, Any]:
    """The bare process: import chromadb + bm25s, open the collection and the index, run one query."""
    probe = json.loads(args.probe.read_text(encoding="utf-8"))
    t = time.perf_counter()
    import bm25s
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    import_s = time.perf_counter() - t
    t = time.perf_counter()
    client = chromadb.PersistentClient(path=probe["chroma"], settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection(probe["collection"])
    model = bm25s.BM25.load(probe["bm25"])
    collection.query(query_embeddings=[probe["vector"]], n_results=probe["k"])
    if probe["term_ids"]:
        model.retrieve([probe["term_ids"]], k=probe["k"], show_progress=False, n_threads=0)
    return {"import_s": import_s, "open_first_query_s": time.perf_counter() - t, "process_s": time.perf_counter() - _T0}


class _TimedStream:
    """Wraps a response byte stream, adding the time spent waiting for each chunk to the transport's clock."""

    def __init__(self, inner: Any, clock: TimingTransport) -> None:
        self._inner = inner
        self._clock = clock

    def __iter__(self) -> Any:
        iterator = iter(self._inner)
        while True:
            t = time.perf_counter()
            try:
                chunk = next(iterator)
            except StopIteration:
                self._clock.seconds += time.perf_counter() - t
                return
            self._clock.seconds += time.perf_counter() - t
            yield chunk

    def close(self) -> None:
        t = time.perf_counter()
        self._inner.close()
        self._clock.seconds += time.perf_counter() - t


class TimingTransport:
    """An HTTP transport wrapper (httpx-style): time inside ``handle_request`` and reading the body counts as endpoint time."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.seconds = 0.0
        self.requests: list[dict[str, Any]] = []

    def handle_request(self, request: Any) -> Any:
        try:
            self.requests.append(json.loads(request.content or b"null"))
        except ValueError:
            self.requests.append({})
        t = time.perf_counter()
        try:
            response = self._inner.handle_request(request)
        finally:
            self.seconds += time.perf_counter() - t
        stream_base = sys.modules[type(response).__module__.split(".")[0]].SyncByteStream
        timed = _TimedStream(response.stream, self)
        response.stream = type("TimedByteStream", (stream_base,), {"__iter__": lambda s: iter(timed), "close": lambda s: timed.close()})()
        return response

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def wrap_transport(http_client: Any) -> TimingTransport:
    """Put a TimingTransport under an httpx(-compatible) client, for every mount too."""
    timer = TimingTransport(http_client._transport)
    http_client._transport = timer
    for pattern, transport in list(getattr(http_client, "_mounts", {}).items()):
        if transport is not None:
            http_client._mounts[pattern] = timer if transport is timer._inner else TimingTransport(transport)
    return timer


def cmd_llm(args: argparse.Namespace) -> dict[str, Any]:
    import openai

    from agent.config import load_settings
    from agent.pipeline import Dalil

    settings = load_settings(None, {"store": {"path": args.store}})
    if not settings.llm.configured:
        raise SystemExit("llm worker: DALIL_LLM_* is not set")
    dalil = Dalil(settings)
    timer = wrap_transport(dalil.chat._client._client)  # the openai SDK's HTTP client inside Dalil's ChatClient
    sdk = openai.OpenAI(base_url=settings.llm.base_url, api_key="x", timeout=settings.llm.timeout, max_retries=settings.llm.max_retries)
    sdk_timer = wrap_transport(sdk._client)
    out: dict[str, Any] = {"question": LLM_QUESTION, "n": args.n, "warmup": args.warmup}
    for mode, on_text in (("stream", lambda text: None), ("complete", None)):
        walls, https, sdk_walls, sdk_https, counts = [], [], [], [], []
        bodies: list[dict[str, Any]] = []
        for i in range(args.warmup + args.n):
            timer.seconds, timer.requests = 0.0, []
            t = time.perf_counter()
            answer = dalil.ask(LLM_QUESTION, mode="llm", on_text=on_text)
            wall = time.perf_counter() - t
            if answer.mode != "llm" or answer.abstained or answer.degraded:
                raise SystemExit(f"llm worker: unexpected answer {answer.mode} abstained={answer.abstained} degraded={answer.degraded}")
            bodies = timer.requests
            # baseline: the bare openai SDK sends the very same request bodies
            sdk_timer.seconds = 0.0
            t = time.perf_counter()
            for body in bodies:
                response = sdk.chat.completions.create(**body)
                if body.get("stream"):
                    for _ in response:
                        pass
            sdk_wall = time.perf_counter() - t
            if i >= args.warmup:
                walls.append(wall)
                https.append(timer.seconds)
                counts.append(len(bodies))
                sdk_walls.append(sdk_wall)
                sdk_https.append(sdk_timer.seconds)
        ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
        out[mode] = {
            "wall_ms": summary(ms(walls)), "http_ms": summary(ms(https)),
            "overhead_ms": summary(ms([w - h for w, h in zip(walls, https, strict=True)])),
            "requests_per_ask": sorted(set(counts)),
            "sdk_wall_ms": summary(ms(sdk_walls)),
            "sdk_overhead_ms": summary(ms([w - h for w, h in zip(sdk_walls, sdk_https, strict=True)])),
        }
    return out


def cmd_agent(args: argparse.Namespace) -> dict[str, Any]:
    import openai

    from agent.config import load_settings
    from agent.pipeline import Dalil

    settings = load_settings(None, {"store": {"path": args.store}, "llm": {"tools": "on"}})
    if not settings.llm.configured:
        raise SystemExit("agent worker: DALIL_LLM_* is not set")
    dalil = Dalil(settings)
    timer = wrap_transport(dalil.chat._client._client)
    sdk = openai.OpenAI(base_url=settings.llm.base_url, api_key="x", timeout=settings.llm.timeout, max_retries=settings.llm.max_retries)
    sdk_timer = wrap_transport(sdk._client)
    per_step, tool_share, sdk_per_step, walls, https, counts = [], [], [], [], [], set()
    for i in range(args.warmup + args.n):
        timer.seconds, timer.requests = 0.0, []
        t = time.perf_counter()
        answer = dalil.ask(LLM_QUESTION, mode="llm")
        wall = time.perf_counter() - t
        steps = len(answer.steps)
        if answer.mode != "llm" or answer.degraded or not steps or not all(s.supported for s in answer.sentences):
            raise SystemExit(f"agent worker: unexpected answer {answer.mode} degraded={answer.degraded} steps={steps} {answer.warnings}")
        bodies = timer.requests
        sdk_timer.seconds = 0.0
        t = time.perf_counter()
        for body in bodies:
            sdk.chat.completions.create(**body)
        sdk_wall = time.perf_counter() - t
        if i >= args.warmup:
            walls.append(wall)
            https.append(timer.seconds)
            per_step.append((wall - timer.seconds) / steps)
            tool_share.append(sum(s.seconds for s in answer.steps) / steps)
            sdk_per_step.append((sdk_wall - sdk_timer.seconds) / steps)
            counts.add((len(bodies), steps))
    ms = lambda xs: [x * 1000 for x in xs]  # noqa: E731
    (requests, steps), = counts
    return {"question": LLM_QUESTION, "n": args.n, "warmup": args.warmup, "requests_per_ask": requests, "steps_per_ask": steps,
            "wall_ms": summary(ms(walls)), "http_ms": summary(ms(https)), "overhead_per_step_ms": summary(ms(per_step)),
            "tools_per_step_ms": summary(ms(tool_share)), "sdk_overhead_per_step_ms": summary(ms(sdk_per_step))}


def cmd_bm25_build(args: argparse.Namespace) -> dict[str, Any]:
    from agent.index.bm25 import BM25Index

    store = open_dalil(args.store).store
    t = time.perf_counter()
    index = BM25Index.build(store.registry.chunk_terms(), store.registry.document_hashes(), store.registry.generation())
    return {"seconds": time.perf_counter() - t, "chunks": len(index)}


def cmd_wire_top5(args: argparse.Namespace) -> dict[str, Any]:
    """Search for a sentence of each of ``n`` base articles that have wire copies; count the top-k lists holding two
    copies of one story (two articles of one family, by the corpus's ground truth, whose passages share 70% of their words)."""
    from agent.config import load_settings
    from agent.pipeline import Dalil
    from agent.text import arabic

    family = json.loads(args.stories.read_text(encoding="utf-8"))
    copied = sorted({base for doc, base in family.items() if doc != base})[:args.n]
    texts = {}
    for shard in sorted(args.corpus.glob("*.jsonl")):
        for line in shard.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["id"] in copied:
                texts[record["id"]] = record["text"]
    dalil = Dalil(load_settings(None, {"store": {"path": args.store}, "wire": {"enabled": args.wire == "on"}}))
    ids = {d.doc_id: d.source.rsplit("#", 1)[1] for d in dalil.store.registry.documents(with_text=False)}
    crowded, pairs, seconds = 0, 0, []
    for base in copied:
        sentence = max(re.split(r"(?<=[.؟!؛])\s+|\n+", texts[base])[1:] or [texts[base]], key=len)
        query = " ".join(sentence.split()[:12])
        t = time.perf_counter()
        hits = dalil.search(query, k=args.k).hits
        seconds.append(time.perf_counter() - t)
        found = 0
        for i, a in enumerate(hits):
            for b in hits[i + 1:]:
                x, y = set(arabic.words(a.text)), set(arabic.words(b.text))
                same_story = a.doc_id != b.doc_id and family[ids[a.doc_id]] == family[ids[b.doc_id]]
                if same_story and x and y and len(x & y) / min(len(x), len(y)) >= 0.7:
                    found += 1
        crowded += found > 0
        pairs += found
    return {"queries": len(copied), "k": args.k, "lists_with_copies": crowded, "copy_pairs": pairs, "search_ms": summary([s * 1000 for s in seconds])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("search")
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--probe", type=Path)
    p = sub.add_parser("ask")
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--probe", type=Path)
    p = sub.add_parser("floor")
    p.add_argument("--probe", type=Path, required=True)
    p = sub.add_parser("llm")
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p = sub.add_parser("agent")
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p = sub.add_parser("bm25-build")
    p.add_argument("--store", type=Path, required=True)
    p = sub.add_parser("wire-top5")
    p.add_argument("--store", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--stories", type=Path, required=True)
    p.add_argument("--wire", choices=["on", "off"], default="on")
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--k", type=int, default=5)
    args = parser.parse_args(argv)
    commands = {"search": cmd_search, "ask": cmd_ask, "floor": cmd_floor, "llm": cmd_llm, "agent": cmd_agent, "bm25-build": cmd_bm25_build,
                "wire-top5": cmd_wire_top5}
    result = commands[args.cmd](args)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
