"""`dalil eval`: run a suite (``dalil eval SUITE``) or compare two runs (``dalil eval compare A B``).

``eval_app`` is a typer group whose class routes anything that is not a sub-command name
to ``run``, so ``dalil eval evals/dev.yaml`` and ``dalil eval run evals/dev.yaml`` are the
same. Commands only parse, call ``agent.evals`` and print; errors are one line, exit 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    # typer 0.29 ships its own copy of click: TyperGroup's methods take typer._click's Context, not click's
    from typer._click import Context

MODES = ("extractive", "llm")
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
DEFAULT_K = 5
FAIL_UNDER_HELP = ("METRIC[@SCOPE]=VALUE: fail when {run} METRIC (overall, or for SCOPE: a language, kind or tag) is below VALUE, "
                   "or above it for a lower-is-better metric (dangling_rate, false_abstention_rate, latency); repeatable.")


class SuiteOrCommand(TyperGroup):
    """A group that treats a first argument which is not a command name as ``run``'s SUITE."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return ["SUITE [OPTIONS] | run SUITE [OPTIONS] | compare A B [OPTIONS]"]


eval_app = typer.Typer(
    cls=SuiteOrCommand, no_args_is_help=True, rich_markup_mode=None,
    help="Run an eval suite (`dalil eval SUITE [OPTIONS]`, short for `dalil eval run SUITE`) "
         "or compare two runs (`dalil eval compare A B`). See docs/EVALS.md.",
)


@contextmanager
def _errors() -> Iterator[None]:
    """Like ``agent.cli_common.user_errors``, but a bad suite prints one line per bad item."""
    from agent.cli_common import EXIT_ERROR, err, user_errors
    from agent.evals.suite import SuiteError

    with user_errors():
        try:
            yield
        except SuiteError as exc:
            for problem in exc.problems:
                err().print(f"dalil: error: {problem}", markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_ERROR) from None


@eval_app.command("run")
def run(
    suite: Annotated[Path, typer.Argument(metavar="SUITE", help="Suite YAML file (see docs/EVALS.md).", show_default=False)],
    mode: Annotated[str, typer.Option("--mode", metavar="[extractive|llm]", help="Answer mode.")] = "extractive",
    retrieval: Annotated[Optional[str], typer.Option("--retrieval", metavar="[hybrid|dense|bm25]", help="Retrieval mode (default: settings, hybrid).",
                                                     show_default=False)] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", metavar="DIR", help="Report folder (default: out/eval-<suite>-<timestamp>).",
                                                    show_default=False)] = None,
    judge: Annotated[bool, typer.Option("--judge", help="Also score faithfulness and correctness with the LLM endpoint.")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Run only the first N selected items.", show_default=False)] = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", metavar="ID", help="Run only this item id (repeatable).", show_default=False)] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", metavar="KIND", help="Run only items of this kind.", show_default=False)] = None,
    corpus: Annotated[Optional[Path], typer.Option("--corpus", help="Folder of the articles the quotes come from "
                                                   "(default: seeds/ beside the suite's folder).", show_default=False)] = None,
    store: Annotated[Optional[Path], typer.Option("--store", envvar="DALIL_STORE", help="Store folder (default: ./store).",
                                                  show_default=False)] = None,
    config: Annotated[Optional[Path], typer.Option("--config", envvar="DALIL_CONFIG", help="TOML config file.", show_default=False)] = None,
    top_k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=200, help="Passages retrieved per question.")] = DEFAULT_K,
    fail_under: Annotated[Optional[list[str]], typer.Option("--fail-under", metavar="METRIC[@SCOPE]=VALUE",
                                                            help=FAIL_UNDER_HELP.format(run="the run's"), show_default=False)] = None,
) -> None:
    """Run SUITE through Dalil (retrieve + ask per item), score it and write results.json, report.md, report.html."""
    from agent.cli_common import EXIT_ERROR, err, open_dalil
    from agent.errors import DalilError
    from agent.evals.compare import check_thresholds, parse_thresholds
    from agent.evals.records import RunOptions
    from agent.evals.report import default_out_dir, write_reports
    from agent.evals.runner import run_suite
    from agent.evals.suite import load_suite, select

    with _errors():
        if mode not in MODES:
            raise DalilError(f"--mode must be extractive or llm, not {mode!r}")
        if retrieval not in (None, *RETRIEVAL_MODES):
            raise DalilError(f"--retrieval must be hybrid, dense or bm25, not {retrieval!r}")
        thresholds = parse_thresholds(fail_under or [])
        loaded = load_suite(suite, corpus)
        items = select(loaded.items, only, kind, limit)
        dalil = open_dalil(store, config, retrieval__mode=retrieval)
        judge_ = _make_judge(dalil.settings) if judge else None
        options = RunOptions(mode=mode, retrieval=dalil.settings.retrieval.mode, k=top_k, judge=judge,
                             limit=limit, only=only or [], kind=kind)
        with _progress(len(items)) as advance:
            record = run_suite(dalil, loaded, items, options, judge_, advance)
        paths = write_reports(record, out_dir or default_out_dir(suite))
        _print_summary(record, paths)
        reasons = check_thresholds(record, thresholds)
    if reasons:
        err().print("dalil: below the floor: " + "; ".join(reasons), markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR)


def _make_judge(settings: Any) -> Any:
    from agent.evals.judge import Judge

    return Judge(settings.llm)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int, int, str], None]]:
    """A rich progress bar on stderr (when it is a terminal), removed when done."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from agent.cli_common import err

    console = err()
    with Progress(TextColumn("eval"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
                  console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task("", total=total)

        def advance(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=label)

        yield advance


def _print_summary(record: Any, paths: dict[str, Path]) -> None:
    from rich.table import Table

    from agent.cli_common import out
    from agent.evals.registry import present

    k = record.run.k
    langs = list(record.by_lang)
    table = Table("metric", f"all (n={record.overall.n})", *[f"{lang} (n={record.by_lang[lang].n})" for lang in langs],
                  title=f"{record.suite.name}: {record.run.mode}, {record.run.retrieval}, k={k}")
    for m in present(record.overall):
        table.add_row(m.title(k), m.format(record.overall.metrics.get(m.name)),
                      *[m.format(record.by_lang[lang].metrics.get(m.name)) for lang in langs])
    console = out()
    console.print(table)
    failing = sum(1 for i in record.items if i.failures)
    console.print(f"{failing} of {len(record.items)} items failed a check; took {record.duration_s:.1f} s", markup=False)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}", markup=False, soft_wrap=True)


@eval_app.command("compare")
def compare(
    a: Annotated[Path, typer.Argument(metavar="A", help="Baseline run: its folder or results.json.", show_default=False)],
    b: Annotated[Path, typer.Argument(metavar="B", help="New run: its folder or results.json.", show_default=False)],
    max_drop: Annotated[Optional[float], typer.Option("--max-drop", min=0.0, help="Fail when a quality metric gets worse "
                                                      "by more than this (absolute, on the metric's scale: 0.05 = 5 points).",
                                                      show_default=False)] = None,
    fail_under: Annotated[Optional[list[str]], typer.Option("--fail-under", metavar="METRIC[@SCOPE]=VALUE", help=FAIL_UNDER_HELP.format(run="B's"),
                                                            show_default=False)] = None,
) -> None:
    """Show metric deltas from run A to run B (per-item regressions first); exit 1 on a regression."""
    from agent.cli_common import EXIT_ERROR, err, out
    from agent.evals.compare import compare_runs, gate, parse_thresholds, print_comparison
    from agent.evals.report import load_run

    with _errors():
        thresholds = parse_thresholds(fail_under or [])
        run_b = load_run(b)
        comparison = compare_runs(load_run(a), run_b)
        print_comparison(out(), comparison, str(a), str(b))
        reasons = gate(comparison, max_drop, thresholds, run_b)
    if reasons:
        err().print("dalil: regression: " + "; ".join(reasons), markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_ERROR)
