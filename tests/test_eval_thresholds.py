"""`--fail-under` compares each metric the right way: a floor for higher-is-better metrics,
a ceiling for lower-is-better ones (dangling rate, false abstention rate, latency).

Before the fix, `--fail-under dangling_rate=0.1` failed a run whose dangling rate was 0.000.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.errors import DalilError
from agent.evals.compare import Threshold, check_thresholds, parse_thresholds
from agent.evals.report import load_run

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "evals" / "dev.yaml"


@pytest.fixture(scope="module")
def small_run(seeded_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("thresholds") / "run"
    args = ["eval", str(DEV), "--store", str(seeded_store), "--out", str(out)]
    for item in ("ar-001", "ar-006", "ar-021", "en-025", "en-034"):
        args += ["--only", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return out


def test_a_ceiling_on_dangling_rate_passes_a_run_without_dangling_markers(small_run: Path) -> None:
    assert load_run(small_run).overall.metrics["dangling_rate"] == 0.0
    result = CliRunner().invoke(app, ["eval", "compare", str(small_run), str(small_run), "--fail-under", "dangling_rate=0.1"])
    assert result.exit_code == 0, result.stderr


def test_lower_is_better_metrics_fail_above_and_pass_below(small_run: Path) -> None:
    run = load_run(small_run)
    run.overall.metrics["false_abstention_rate"] = 0.2
    run.overall.metrics["latency_p95"] = 3.0
    assert check_thresholds(run, [Threshold("false_abstention_rate", None, 0.25), Threshold("latency_p95", None, 5)]) == []
    reasons = check_thresholds(run, [Threshold("false_abstention_rate", None, 0.1), Threshold("latency_p95", None, 1)])
    assert len(reasons) == 2 and all("ceiling" in r for r in reasons)
    assert "false_abstention_rate 0.200 > --fail-under 0.1" in reasons[0]
    # higher-is-better: still a floor
    run.overall.metrics["answer_hit"] = 0.5
    assert check_thresholds(run, [Threshold("answer_hit", None, 0.4)]) == []
    assert check_thresholds(run, [Threshold("answer_hit", None, 0.6)]) == ["answer_hit 0.500 < --fail-under 0.6"]


def test_scoped_thresholds_read_the_language_and_kind_summaries(small_run: Path) -> None:
    run = load_run(small_run)
    run.by_lang["en"].metrics["answer_hit"] = 0.3
    run.by_lang["ar"].metrics["answer_hit"] = 0.9
    reasons = check_thresholds(run, parse_thresholds(["answer_hit@ar=0.8", "answer_hit@en=0.8"]))
    assert reasons == ["answer_hit@en 0.300 < --fail-under 0.8"]
    assert check_thresholds(run, parse_thresholds(["answer_hit@multi_hop=0.1"])) == [
        "answer_hit@multi_hop has no value (--fail-under 0.1)"]
    with pytest.raises(DalilError, match="SCOPE"):
        parse_thresholds(["answer_hit@fr=0.5"])
    with pytest.raises(DalilError, match="--fail-under wants METRIC=VALUE"):
        parse_thresholds(["speed=1"])


def test_eval_run_fails_under_its_floor_with_one_line(seeded_store: Path, tmp_path: Path, small_run: Path) -> None:
    args = ["eval", str(DEV), "--store", str(seeded_store), "--only", "en-025", "--out", str(tmp_path / "r")]
    ok = CliRunner().invoke(app, [*args, "--fail-under", "dangling_rate=0.1", "--fail-under", "false_abstention_rate=0.5"])
    assert ok.exit_code == 0, ok.stderr
    bad = CliRunner().invoke(app, [*args, "--fail-under", "answer_hit@en=1.01"])
    assert bad.exit_code == 1 and (tmp_path / "r" / "results.json").is_file()  # the report is written first
    assert bad.stderr.count("\n") == 1 and "answer_hit@en" in bad.stderr and "--fail-under 1.01" in bad.stderr
