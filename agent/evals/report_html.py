"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, fonts or links;
a Content-Security-Policy allows nothing else).

Every piece of article, question and answer text goes through ``html.escape``; Arabic
text sits in ``dir="rtl"`` blocks.
"""

from __future__ import annotations

import html
import json

from agent.evals import charts
from agent.evals.records import ItemRecord, RunRecord, Summary
from agent.evals.registry import Metric, present
from agent.evals.report_md import title
from agent.safety import CSP_META
from agent.text import arabic

CSS = """
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font-family:"DejaVu Sans",Arial,sans-serif;color:#222;background:#f6f7f9;font-size:14px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 10px;border-bottom:2px solid #dde;padding-bottom:4px}
h3{font-size:15px;margin:0 0 8px}.meta{color:#555;margin:2px 0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px 14px;min-width:150px}
.card .v{font-size:24px;font-weight:bold;color:#2f6db5}.card .l{color:#555;font-size:12px}.card .s{color:#777;font-size:11px}
table{border-collapse:collapse;background:#fff;margin:6px 0 14px;font-size:13px}
th,td{border:1px solid #dde;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#eef1f6}td.name,th.name{text-align:left}tr.group td{background:#f3f4f8;font-weight:bold;text-align:left}
svg{background:#fff;border:1px solid #dde;border-radius:8px;margin:6px 0;max-width:100%;height:auto}
.item{background:#fff;border:1px solid #e3c4c4;border-left:5px solid #c23b4e;border-radius:6px;padding:10px 14px;margin:10px 0}
.tag{display:inline-block;background:#eef1f6;border-radius:10px;padding:0 8px;margin-left:6px;font-size:11px;font-weight:normal;color:#445}
.fail{display:inline-block;background:#fbe9eb;color:#8a1f2d;border-radius:4px;padding:1px 6px;margin:0 6px 4px 0;font-size:12px}
dl{display:grid;grid-template-columns:90px 1fr;gap:4px 10px;margin:6px 0}dt{color:#666;font-size:12px;padding-top:2px}dd{margin:0}
.txt{white-space:pre-wrap;line-height:1.6}.txt[dir=rtl]{text-align:right;font-size:15px}
.hits{font-size:12px;color:#555}.ok{color:#2a7a46;font-weight:bold}.no{color:#999}
.pass{color:#2a7a46}.bad{color:#c23b4e;font-weight:bold}
.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}.row h2{margin-top:20px}
details pre{background:#fff;border:1px solid #dde;padding:10px;overflow:auto;font-size:12px}
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def text_block(text: str) -> str:
    """Escaped text in a block whose direction follows its script (Arabic → rtl)."""
    if arabic.is_arabic(text):
        return f'<div class="txt" dir="rtl" lang="ar">{esc(text)}</div>'
    return f'<div class="txt" dir="ltr">{esc(text)}</div>'


def render_html(run: RunRecord) -> str:
    """The whole HTML report."""
    k = run.run.k
    metrics = present(run.overall)
    body = [
        f"<header><h1>{esc(title(run))}</h1>",
        f'<p class="meta">suite <code>{esc(run.suite.path)}</code> · sha256 {esc(run.suite.sha256[:12])} · '
        f"{run.overall.n} of {run.suite.items} items · corpus <code>{esc(run.suite.corpus)}</code></p>",
        f'<p class="meta">dalil {esc(run.dalil_version)} · started {esc(run.started)} · {run.duration_s:.1f} s · seed {run.seed}</p>',
        "</header>",
        _cards(run, [m for m in metrics if m.headline], k),
        '<div class="row"><section><h2>Overall and by language</h2>',
        _summary_table(metrics, {f"all (n={run.overall.n})": run.overall} | {f"{lang} (n={s.n})": s for lang, s in run.by_lang.items()}, k),
        "</section><section><h2>Latency</h2>",
        charts.histogram([i.latency_s for i in run.items], "Seconds per answer (Dalil.ask)", width=620),
        "</section></div>",
        "<h2>By kind</h2>",
        _kind_chart(run, k),
        _failing(run),
        "<h2>By kind: every metric</h2>",
        _summary_table([m for m in metrics if m.group != "cost"], {f"{kind} (n={s.n})": s for kind, s in run.by_kind.items()}, k),
        *(["<h2>By tag</h2>", _summary_table([m for m in metrics if m.group not in ("cost", "retrieval")],
                                             {f"{tag} (n={s.n})": s for tag, s in run.by_tag.items()}, k)] if run.by_tag else []),
        '<h2 id="items">All items</h2>',
        _items_table(run, k),
        "<h2>Configuration</h2>",
        f"<details><summary>settings (secrets masked), run options</summary><pre>{esc(_config_json(run))}</pre></details>",
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{CSP_META}'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title(run))}</title>'
            f"<style>{CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


def _cards(run: RunRecord, metrics: list[Metric], k: int) -> str:
    cards = []
    for m in metrics:
        by_lang = " · ".join(f"{esc(lang)} {m.format(s.metrics.get(m.name))}" for lang, s in run.by_lang.items())
        cards.append(f'<div class="card"><div class="v">{m.format(run.overall.metrics.get(m.name))}</div>'
                     f'<div class="l">{esc(m.title(k))}</div><div class="s">{by_lang}</div></div>')
    return f'<section class="cards">{"".join(cards)}</section>'


def _summary_table(metrics: list[Metric], columns: dict[str, Summary], k: int) -> str:
    rows = [f'<tr><th class="name">metric</th>{"".join(f"<th>{esc(c)}</th>" for c in columns)}</tr>']
    group = None
    for m in metrics:
        if m.group != group:
            group = m.group
            rows.append(f'<tr class="group"><td colspan="{len(columns) + 1}">{esc(group)}</td></tr>')
        cells = "".join(f"<td>{m.format(s.metrics.get(m.name))}</td>" for s in columns.values())
        rows.append(f'<tr><td class="name" title="{esc(m.description)}">{esc(m.title(k))}</td>{cells}</tr>')
    return f"<table>{''.join(rows)}</table>"


def _kind_chart(run: RunRecord, k: int) -> str:
    main = [m for m in present(run.overall) if m.main]
    kinds = list(run.by_kind)
    series = [(m.title(k), [_share(m, run.by_kind[kind].metrics.get(m.name)) for kind in kinds]) for m in main]
    return charts.bar_chart(kinds, series, "Main metrics by kind of question")


def _share(metric: Metric, value: float | None) -> float | None:
    if value is None:
        return None
    share = value / metric.scale
    return share if metric.higher_is_better else 1.0 - share


def _failing(run: RunRecord) -> str:
    failing = [i for i in run.items if i.failures]
    parts = [f'<h2 id="failing">Failing items ({len(failing)} of {len(run.items)})</h2>']
    parts += [_item_card(item) for item in failing]
    if not failing:
        parts.append('<p class="pass">Every item passed every check.</p>')
    return "\n".join(parts)


def _item_card(item: ItemRecord) -> str:
    answer = item.answer.text if item.answer else f"(no answer: {item.error})"
    fails = "".join(f'<span class="fail">{esc(f)}</span>' for f in item.failures)
    hits = " ".join(
        f'<span class="{"ok" if p.gold else "no"}">#{p.rank} {esc(p.file)}{" ✓" if p.gold else ""}</span>' for p in item.retrieved
    )
    return (
        f'<article class="item"><h3>{esc(item.id)}<span class="tag">{esc(item.lang)}</span><span class="tag">{esc(item.kind)}</span>'
        f'{"" if item.answerable or item.kind == "unanswerable" else "<span class=tag>unanswerable</span>"}</h3><div>{fails}</div>'
        f"<dl><dt>question</dt><dd>{text_block(item.question)}</dd>"
        f"<dt>expected</dt><dd>{text_block(item.reference)}</dd>"
        f"<dt>answer</dt><dd>{text_block(answer)}</dd>"
        f'<dt>retrieved</dt><dd class="hits">{hits or "–"}</dd></dl></article>'
    )


def _items_table(run: RunRecord, k: int) -> str:
    columns = [m for m in present(run.overall) if m.item is not None and m.main]
    head = "".join(f"<th>{esc(m.title(k))}</th>" for m in columns)
    rows = [f'<tr><th class="name">id</th><th>lang</th><th>kind</th>{head}<th>abstained</th><th>s</th><th>checks</th></tr>']
    for item in run.items:
        cells = "".join(f"<td>{m.format(item.metrics.get(m.name))}</td>" for m in columns)
        abstained = "–" if item.answer is None else ("yes" if item.answer.abstained else "no")
        status = f'<span class="bad">{len(item.failures)} failed</span>' if item.failures else '<span class="pass">pass</span>'
        rows.append(f'<tr><td class="name">{esc(item.id)}</td><td>{esc(item.lang)}</td><td>{esc(item.kind)}</td>{cells}'
                    f"<td>{abstained}</td><td>{item.latency_s:.3f}</td><td>{status}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _config_json(run: RunRecord) -> str:
    return json.dumps({"run": run.run.model_dump(), "settings": run.config}, ensure_ascii=False, indent=2)


