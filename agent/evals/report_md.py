"""``report.md``: the run summary as Markdown tables plus the failing items.

Suite and answer text is untrusted, as in ``report.html``: HTML markup is escaped, control and
bidi-override characters removed and links to anything but http(s) broken (``agent.safety``).
"""

from __future__ import annotations

from agent.evals.records import ItemRecord, RunRecord
from agent.evals.registry import present
from agent.render import safe
from agent.safety import markdown_text


def _cell(text: str) -> str:
    return " ".join(markdown_text(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    """A path in a code span (shown literally, so not escaped): no backtick can close it early."""
    return "`" + " ".join(safe(text).split()).replace("`", "'") + "`"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def title(run: RunRecord) -> str:
    r = run.run
    return f"Dalil eval: {run.suite.name} ({r.mode}, {r.retrieval} retrieval, k={r.k}{', judged' if r.judge else ''})"


def render_markdown(run: RunRecord) -> str:
    """The whole Markdown report."""
    k = run.run.k
    metrics = present(run.overall)
    lines = [f"# {_cell(title(run))}", ""]
    lines += [
        f"- suite: {_code(run.suite.path)} (sha256 `{run.suite.sha256[:12]}`), {run.overall.n} of {run.suite.items} items",
        f"- dalil {run.dalil_version}, started {run.started}, took {run.duration_s:.1f} s, seed {run.seed}",
        f"- filters: limit={run.run.limit}, only={_cell(','.join(run.run.only)) or '-'}, kind={_cell(run.run.kind or '-')}",
        "",
        "## Overall and by language",
        "",
    ]
    langs = list(run.by_lang)
    header = ["metric", f"all (n={run.overall.n})"] + [f"{lang} (n={run.by_lang[lang].n})" for lang in langs]
    rows = [[m.title(k), m.format(run.overall.metrics.get(m.name))]
            + [m.format(run.by_lang[lang].metrics.get(m.name)) for lang in langs] for m in metrics]
    lines += _table(header, rows)
    lines += ["## By kind", ""]
    kinds = list(run.by_kind)
    header = ["metric"] + [f"{kind} (n={run.by_kind[kind].n})" for kind in kinds]
    rows = [[m.title(k)] + [m.format(run.by_kind[kind].metrics.get(m.name)) for kind in kinds] for m in metrics
            if m.group != "cost"]
    lines += _table(header, rows)
    if run.by_tag:
        lines += ["## By tag", "", "An item counts under each of its suite tags.", ""]
        tags = list(run.by_tag)
        header = ["metric"] + [f"{tag} (n={run.by_tag[tag].n})" for tag in tags]
        rows = [[m.title(k)] + [m.format(run.by_tag[tag].metrics.get(m.name)) for tag in tags] for m in metrics
                if m.group not in ("cost", "retrieval")]
        lines += _table(header, rows)
    failing = [i for i in run.items if i.failures]
    lines += [f"## Failing items ({len(failing)} of {len(run.items)})", ""]
    for item in failing:
        lines += _item(item)
    return "\n".join(lines).rstrip() + "\n"


def _item(item: ItemRecord) -> list[str]:
    answer = item.answer.text if item.answer else f"(no answer: {item.error})"
    return [
        f"### {_cell(item.id)} ({_cell(item.lang)}, {_cell(item.kind)})",
        "",
        f"- question: {_cell(item.question)}",
        f"- expected: {_cell(item.reference)}",
        f"- answer: {_cell(answer)}",
        f"- failed: {_cell('; '.join(item.failures))}",
        "",
    ]

