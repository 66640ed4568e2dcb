"""The layout is the pipeline: each stage imports only the stages below it, and no modules import each other.

Every module under ``agent/`` is parsed with ``ast`` (nothing is imported). An edge is any
``import agent…`` / ``from agent… import …``, at module level or inside a function (the lazy
imports that keep ``dalil --help`` fast still count). Imports under ``if TYPE_CHECKING:`` are left
out: they never run, so they cannot make a cycle, and annotations may name a type from any stage.

A module's stage is its package (``agent/index/store.py`` → ``index``) or, at the top, its own name
(``agent/config.py`` → ``config``); a sub-app's ``cli.py`` (``agent/chat/cli.py``) belongs to the
command layer, with ``agent.cli_common`` below it and ``agent.cli`` above it.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[1] / "agent"

# lowest first; a stage may import its own and any earlier stage
STAGES: list[set[str]] = [
    {"agent", "errors", "safety", "runtime"},  # the package root, the domain error, untrusted strings made safe (config uses
    # it), the process-wide setup every entry point calls (stdlib only, so the store and the chunker can use its helpers)
    {"config", "schema"},  # settings; the JSON contracts
    {"endpoint"},  # the one OpenAI client factory and error mapping: embeddings (index) and chat (answer) both use it
    {"text"},  # Arabic normalization, dates, the lexicon
    {"index"},  # the store: registry, Chroma, BM25, embeddings, the chunk node shape
    {"events"},  # event extraction: articles → reports, dated events, the event index (ingest fills it)
    {"ingest"},  # files → documents → chunks written to the index
    {"retrieval"},  # question frame, passages, the events a question is about
    {"answer"},  # cited, verified answers
    {"render", "render_html"},  # terminal and JSON output of typed results, HTML pages from templates (sequence, chat and evals use them)
    {"sequence"},  # timeline, summaries, briefings (LLM extraction too)
    {"chat", "evals"},
    {"pipeline"},  # ``Dalil``: settings → store, retriever, answerers
    {"serve", "doctor", "articles"},  # ``articles``: only its commands' package (the work is in ``pipeline``)
    {"cli_common"},  # what every command shares
    {"subcommands"},  # agent.chat.cli, agent.evals.cli, agent.sequence.cli
    {"cli"},
    {"__main__"},
]

# Edges allowed to point up a stage, each with the reason it cannot be fixed yet. None now: the event
# extraction, once in ``agent.sequence`` and read by ingest and the answerers below it, is its own
# stage (``agent.events``) under ``ingest``. An edge added here must come off once it is gone
# (``test_the_known_debt_is_still_there``).
KNOWN_UPWARD: set[tuple[str, str]] = set()

LEVEL = {name: i for i, stage in enumerate(STAGES) for name in stage}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(AGENT.rglob("*.py")):
        parts = list(path.relative_to(AGENT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "agent"
    if len(parts) == 3 and parts[2] == "cli":
        return "subcommands"
    return parts[1]


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the nodes under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    return skipped


def _targets(node: ast.AST, module: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module or ""
        # ``from agent.text import arabic`` imports the module agent.text.arabic; ``from agent.text.arabic import x`` the module itself
        return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    return []


def _edges() -> set[tuple[str, str]]:
    edges = set()
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            for target in _targets(node, module):
                while target and target not in MODULES and "." in target:  # ``import agent.x.y as z`` → the deepest module
                    target = target.rsplit(".", 1)[0]
                if target in MODULES and target != module:
                    edges.add((module, target))
    return edges


EDGES = _edges()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_is_read():
    """A parser that silently finds nothing would pass every check below."""
    assert len(MODULES) > 60
    assert ("agent.pipeline", "agent.retrieval.retrieve") in EDGES  # module level
    assert ("agent.pipeline", "agent.answer.extractive") in EDGES  # inside a method
    assert ("agent.answer.agent_loop", "agent.pipeline") not in EDGES  # under TYPE_CHECKING


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_has_a_stage(module):
    assert stage(module) in LEVEL, f"{module}: add its stage {stage(module)!r} to STAGES in {Path(__file__).name}"


def test_no_stage_imports_a_higher_one():
    upward = sorted(f"{a} ({stage(a)}) imports {b} ({stage(b)})" for a, b in EDGES - KNOWN_UPWARD
                    if LEVEL.get(stage(a), -1) < LEVEL.get(stage(b), -1))
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_known_debt_is_still_there():
    """An edge of KNOWN_UPWARD that went away comes off the list, so it cannot come back unnoticed."""
    assert not KNOWN_UPWARD - EDGES, sorted(KNOWN_UPWARD - EDGES)


def test_no_cycle_between_stages():
    graph: dict[str, set[str]] = {}
    for a, b in EDGES - KNOWN_UPWARD:
        if stage(a) != stage(b):
            graph.setdefault(stage(a), set()).add(stage(b))
            graph.setdefault(stage(b), set())
    assert not _cycles(graph)


def test_no_cycle_between_modules():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b in EDGES:
        graph[a].add(b)
    assert not _cycles(graph)
