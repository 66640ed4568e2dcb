"""``dalil eval compare A B``: metric deltas between two runs and the regression gate.

"Worse" follows each metric's direction (a higher false-abstention rate is worse) and
is measured on the metric's scale (``--max-drop 0.05`` = 5 points of a share, 5 chrF).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from agent.errors import DalilError
from agent.evals.records import RunRecord
from agent.evals.registry import METRICS, Metric
from agent.evals.suite import CALL_TAG, KINDS, LANGS, TAGS

EPSILON = 1e-9


@dataclass(frozen=True)
class Delta:
    metric: Metric
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before

    @property
    def worsening(self) -> float:
        """How much worse B is than A, as a share of the metric's scale (negative = better)."""
        change = self.change
        if change is None:
            return 0.0
        return (-change if self.metric.higher_is_better else change) / self.metric.scale


@dataclass(frozen=True)
class Regression:
    item_id: str
    delta: Delta


@dataclass(frozen=True)
class Comparison:
    deltas: list[Delta]
    regressions: list[Regression]  # per item, worst first
    notes: list[str]


def compare_runs(a: RunRecord, b: RunRecord) -> Comparison:
    """Overall deltas for every registry metric and per-item regressions of item metrics."""
    deltas = [Delta(m, a.overall.metrics.get(name), b.overall.metrics.get(name)) for name, m in METRICS.items()]
    deltas = [d for d in deltas if d.before is not None or d.after is not None]
    before = {i.id: i for i in a.items}
    regressions = []
    for item in b.items:
        old = before.get(item.id)
        if old is None:
            continue
        for name, metric in METRICS.items():
            if metric.item is None:
                continue
            delta = Delta(metric, old.metrics.get(name), item.metrics.get(name))
            if delta.worsening > EPSILON:
                regressions.append(Regression(item.id, delta))
    regressions.sort(key=lambda r: (-r.delta.worsening, r.item_id, r.delta.metric.name))
    return Comparison(deltas, regressions, _notes(a, b))


def _notes(a: RunRecord, b: RunRecord) -> list[str]:
    notes = []
    if a.suite.sha256 != b.suite.sha256:
        notes.append(f"the suites differ ({a.suite.path} vs {b.suite.path})")
    ids_a, ids_b = {i.id for i in a.items}, {i.id for i in b.items}
    if ids_a != ids_b:
        notes.append(f"item sets differ: {len(ids_a - ids_b)} only in A, {len(ids_b - ids_a)} only in B; overall figures cover different items")
    if a.run.k != b.run.k:
        notes.append(f"k differs ({a.run.k} vs {b.run.k})")
    return notes


@dataclass(frozen=True)
class Threshold:
    """``--fail-under METRIC[@SCOPE]=VALUE``: a floor, or a ceiling for a lower-is-better metric.

    SCOPE is a language (``ar``, ``en``), a kind or a suite tag; without it the overall value is checked.
    """

    metric: str
    scope: str | None
    value: float

    @property
    def label(self) -> str:
        return f"{self.metric}@{self.scope}" if self.scope else self.metric


def _known_scope(scope: str) -> bool:
    return scope in LANGS or scope in KINDS or scope in TAGS or bool(CALL_TAG.match(scope))


def parse_thresholds(specs: list[str]) -> list[Threshold]:
    """``["answer_hit@en=0.6", "dangling_rate=0"]`` → thresholds; unknown names, scopes and bad numbers are errors."""
    thresholds = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        name, _, scope = key.strip().partition("@")
        name, scope = name.strip(), scope.strip()
        if not sep or name not in METRICS:
            raise DalilError(f"--fail-under wants METRIC=VALUE or METRIC@SCOPE=VALUE with METRIC one of: {', '.join(METRICS)} (got {spec!r})")
        if scope and not _known_scope(scope):
            raise DalilError(f"--fail-under {spec!r}: SCOPE must be a language ({', '.join(LANGS)}), a kind or a suite tag, "
                             f"not {scope!r}")
        try:
            threshold = float(value)
        except ValueError:
            raise DalilError(f"--fail-under {spec!r}: {value!r} is not a number") from None
        thresholds.append(Threshold(name, scope or None, threshold))
    return thresholds


def scoped_value(run: RunRecord, name: str, scope: str | None) -> float | None:
    """``run``'s value of metric ``name`` overall, or for one language, kind or tag."""
    if scope is None:
        return run.overall.metrics.get(name)
    summary = run.by_lang.get(scope) or run.by_kind.get(scope) or run.by_tag.get(scope)
    return summary.metrics.get(name) if summary is not None else None


def check_thresholds(run: RunRecord, thresholds: list[Threshold]) -> list[str]:
    """Reasons ``run`` misses its thresholds: a higher-is-better metric below its floor, a
    lower-is-better one (dangling rate, false abstention rate, latency, tokens) above it."""
    reasons = []
    for t in thresholds:
        metric, value = METRICS[t.metric], scoped_value(run, t.metric, t.scope)
        if value is None:
            reasons.append(f"{t.label} has no value (--fail-under {t.value:g})")
        elif metric.higher_is_better and value < t.value - EPSILON:
            reasons.append(f"{t.label} {metric.format(value)} < --fail-under {t.value:g}")
        elif not metric.higher_is_better and value > t.value + EPSILON:
            reasons.append(f"{t.label} {metric.format(value)} > --fail-under {t.value:g} (lower is better: the value is a ceiling)")
    return reasons


def gate(comparison: Comparison, max_drop: float | None, thresholds: list[Threshold], b: RunRecord) -> list[str]:
    """Reasons to fail: gated metrics worse by more than ``max_drop``, or B missing a threshold."""
    reasons = []
    if max_drop is not None:
        for d in comparison.deltas:
            if d.metric.gated and d.worsening > max_drop + EPSILON:
                reasons.append(f"{d.metric.name} {d.metric.format(d.before)} → {d.metric.format(d.after)} "
                               f"(worse by {d.worsening:.3f} > --max-drop {max_drop:g})")
    return reasons + check_thresholds(b, thresholds)


def print_comparison(console: Console, comparison: Comparison, a_label: str, b_label: str, limit: int = 30) -> None:
    """Per-item regressions first, then the overall delta table."""
    for note in comparison.notes:
        console.print(f"note: {note}", markup=False)
    regressions = comparison.regressions
    console.print(f"Per-item regressions: {len(regressions)}", markup=False)
    if regressions:
        table = Table("item", "metric", "A", "B", "change")
        for r in regressions[:limit]:
            d = r.delta
            table.add_row(r.item_id, d.metric.name, d.metric.format(d.before), d.metric.format(d.after), _signed(d.change))
        console.print(table)
        if len(regressions) > limit:
            console.print(f"... and {len(regressions) - limit} more", markup=False)
    table = Table("metric", f"A: {a_label}", f"B: {b_label}", "change", "")
    for d in comparison.deltas:
        verdict = "worse" if d.worsening > EPSILON else ("better" if d.worsening < -EPSILON else "")
        table.add_row(d.metric.name, d.metric.format(d.before), d.metric.format(d.after), _signed(d.change), verdict)
    console.print(table)


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"
