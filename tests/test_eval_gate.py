"""The eval gate: both suites run offline on the seeded store and must meet the floors in evals/gates.yaml.

The floors live in one place (evals/gates.yaml); they are passed to `dalil eval --fail-under`
exactly as CI would. evals/heldout.yaml is never tuned on; it is gated so a change that
only helps the tuning split shows up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from agent.evals.registry import METRICS

ROOT = Path(__file__).resolve().parents[1]
GATES = yaml.safe_load((ROOT / "evals" / "gates.yaml").read_text(encoding="utf-8"))
REQUIRED = {"answer_hit@ar", "answer_hit@en", "abstention_recall", "false_abstention_rate"}


def _floors(suite: str) -> list[str]:
    return [f"{name}={value}" for name, value in GATES["suites"][suite]["fail_under"].items()]


def test_gates_file_names_the_required_floors_for_both_splits() -> None:
    assert set(GATES["suites"]) == {"dev", "heldout"}
    for suite, gate in GATES["suites"].items():
        assert (ROOT / gate["file"]).is_file(), suite
        assert set(gate["fail_under"]) >= REQUIRED, suite
        for spec, value in gate["fail_under"].items():
            assert spec.partition("@")[0] in METRICS and 0 < float(value) < 1, (suite, spec)


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["dev", "heldout"])
def test_suite_meets_its_floors(suite: str, seeded_store: Path, tmp_path: Path) -> None:
    gate = GATES["suites"][suite]
    out = tmp_path / suite
    args = ["eval", str(ROOT / gate["file"]), "--store", str(seeded_store), "--out", str(out),
            "--mode", GATES["mode"], "--retrieval", GATES["retrieval"], "-k", str(GATES["k"])]
    for spec in _floors(suite):
        args += ["--fail-under", spec]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr + result.stdout
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(data["by_lang"]) == {"ar", "en"}
    for lang in ("ar", "en"):
        for name in ("answer_hit", "first_citation_precision", "slot_accuracy", "abstention_recall"):
            assert data["by_lang"][lang]["metrics"][name] is not None, (lang, name)

    # the gate can fail: the same run against a floor just above what it achieved
    achieved = data["by_lang"]["en"]["metrics"]["answer_hit"]
    above = CliRunner().invoke(app, ["eval", "compare", str(out), str(out), "--fail-under", f"answer_hit@en={achieved + 0.01}"])
    assert above.exit_code == 1 and "answer_hit@en" in above.stderr
    far = data["overall"]["metrics"]["false_abstention_rate"]
    if far > 0:  # a ceiling below the achieved false abstention rate fails too
        below = CliRunner().invoke(app, ["eval", "compare", str(out), str(out), "--fail-under", f"false_abstention_rate={far - 0.01}"])
        assert below.exit_code == 1 and "false_abstention_rate" in below.stderr
