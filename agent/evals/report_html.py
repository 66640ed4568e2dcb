"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, fonts or links;
a Content-Security-Policy allows nothing else).

Rendered by ``agent.render_html`` from ``eval_report.html.j2`` (its charts: ``eval_charts.svg.j2``, fed
with the coordinates of :mod:`agent.evals.charts`). Every piece of article, question and answer text is
escaped by the template; Arabic text sits in ``dir="rtl" lang="ar"`` blocks.
"""

from __future__ import annotations

import json

from agent.evals import charts
from agent.evals.records import RunRecord, Summary
from agent.evals.registry import Metric, present
from agent.evals.report_md import title
from agent.render_html import render_html as render_template


def render_html(run: RunRecord) -> str:
    """The whole HTML report."""
    k = run.run.k
    metrics = present(run.overall)
    tables: dict[str, tuple[list[Metric], dict[str, Summary]]] = {
        "overall": (metrics, {f"all (n={run.overall.n})": run.overall} | {f"{lang} (n={s.n})": s for lang, s in run.by_lang.items()}),
        "by_kind": ([m for m in metrics if m.group != "cost"], {f"{kind} (n={s.n})": s for kind, s in run.by_kind.items()}),
    }
    if run.by_tag:
        tables["by_tag"] = ([m for m in metrics if m.group not in ("cost", "retrieval")], {f"{tag} (n={s.n})": s for tag, s in run.by_tag.items()})
    return render_template(
        "eval_report.html.j2",
        run=run,
        k=k,
        title=title(run),
        headline=[m for m in metrics if m.headline],
        tables=tables,
        latency=charts.histogram([i.latency_s for i in run.items], "Seconds per answer (Dalil.ask)", width=620),
        kind_chart=_kind_chart(run, k),
        failing=[i for i in run.items if i.failures],
        item_columns=[m for m in metrics if m.item is not None and m.main],
        config=json.dumps({"run": run.run.model_dump(), "settings": run.config}, ensure_ascii=False, indent=2),
    )


def _kind_chart(run: RunRecord, k: int) -> charts.Chart:
    main = [m for m in present(run.overall) if m.main]
    kinds = list(run.by_kind)
    series = [(m.title(k), [_share(m, run.by_kind[kind].metrics.get(m.name)) for kind in kinds]) for m in main]
    return charts.bar_chart(kinds, series, "Main metrics by kind of question")


def _share(metric: Metric, value: float | None) -> float | None:
    if value is None:
        return None
    share = value / metric.scale
    return share if metric.higher_is_better else 1.0 - share
