"""`dalil eval` end to end through the real CLI on the seeded store (offline, extractive)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import agent
from agent.cli import app

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "evals" / "dev.yaml"


def run_eval(runner: CliRunner, store: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["eval", *args, "--store", str(store)])
    return result.exit_code, result.stdout, result.stderr


def results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_eval_suite_writes_the_three_reports(runner: CliRunner, seeded_store: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_LLM_API_KEY", "sk-very-secret")
    code, stdout, stderr = run_eval(runner, seeded_store, str(DEV), "--limit", "6", "--out", str(tmp_path / "run"))
    assert code == 0, stderr
    assert "hit@5" in stdout and "results.json" in stdout
    data = results(tmp_path / "run")
    assert [i["id"] for i in data["items"]] == ["ar-001", "ar-002", "ar-003", "ar-004", "ar-005", "ar-006"]
    assert data["suite"]["sha256"] == hashlib.sha256(DEV.read_bytes()).hexdigest()
    assert data["suite"]["items"] == len(yaml.safe_load(DEV.read_text(encoding="utf-8"))["items"]) and data["overall"]["n"] == 6
    assert data["dalil_version"] == agent.__version__ and data["seed"] == 0
    assert data["run"] == {"mode": "extractive", "retrieval": "hybrid", "k": 5, "judge": False, "limit": 6, "only": [], "kind": None}
    assert data["config"]["llm"]["api_key"] == "****"
    assert "sk-very-secret" not in (tmp_path / "run" / "results.json").read_text(encoding="utf-8")
    assert set(data["by_lang"]) == {"ar"} and set(data["by_kind"]) == {"factoid", "number"}
    for name in ("hit_at_k", "recall_at_k", "mrr", "ndcg_at_k", "key_recall", "citation_coverage", "latency_p50", "prompt_tokens",
                 "answer_hit", "first_citation_precision", "slot_accuracy"):
        assert name in data["overall"]["metrics"], name
    item = data["items"][0]
    assert len(item["retrieved"]) == 5 and item["answer"]["mode"] == "extractive"
    assert set(item["metrics"]) >= {"hit_at_k", "mrr", "key_recall", "token_f1", "chrf", "abstention_correct"}
    assert (tmp_path / "run" / "report.md").read_text(encoding="utf-8").startswith("# Dalil eval: dev (extractive")
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in html and "<svg" in html


@pytest.mark.slow
def test_explicit_run_command_filters_and_retrieval_mode(runner: CliRunner, seeded_store: Path, tmp_path: Path) -> None:
    code, _, stderr = run_eval(runner, seeded_store, "run", str(DEV), "--only", "en-002", "--only", "ar-007",
                               "--retrieval", "bm25", "-k", "3", "--out", str(tmp_path / "a"))
    assert code == 0, stderr
    data = results(tmp_path / "a")
    assert [i["id"] for i in data["items"]] == ["ar-007", "en-002"]
    assert data["run"]["retrieval"] == "bm25" and data["config"]["retrieval"]["mode"] == "bm25"
    assert data["run"]["k"] == 3 and all(len(i["retrieved"]) <= 3 for i in data["items"])
    assert data["metrics"]["hit_at_k"]["label"] == "hit@3"
    code, _, stderr = run_eval(runner, seeded_store, str(DEV), "--kind", "unanswerable", "--out", str(tmp_path / "b"))
    assert code == 0, stderr
    data = results(tmp_path / "b")
    expected = sum(1 for i in yaml.safe_load(DEV.read_text(encoding="utf-8"))["items"] if i["kind"] == "unanswerable")
    assert {i["kind"] for i in data["items"]} == {"unanswerable"} and len(data["items"]) == expected
    assert data["overall"]["metrics"]["hit_at_k"] is None  # no gold sources to find
    assert data["overall"]["metrics"]["abstention_recall"] is not None


def _outcome(data: dict) -> list[tuple]:
    """What must not change between two runs (latency may)."""
    return [(i["id"], i["metrics"], i["answer"], i["retrieved"]) for i in data["items"]]


@pytest.mark.slow
def test_default_out_folder_and_reproducible(runner: CliRunner, seeded_store: Path, tmp_path: Path) -> None:
    only = ["--only", "ar-015", "--only", "en-021", "--only", "en-006"]
    code, _, stderr = run_eval(runner, seeded_store, str(DEV), *only)
    assert code == 0, stderr
    runs = list(Path("out").glob("eval-dev-*"))
    assert len(runs) == 1, "expected one out/eval-dev-<timestamp> folder"
    code, _, stderr = run_eval(runner, seeded_store, str(DEV), *only, "--out", str(tmp_path / "again"))
    assert code == 0, stderr
    assert _outcome(results(runs[0])) == _outcome(results(tmp_path / "again"))


def test_compare_gates_on_drops_and_thresholds(runner: CliRunner, seeded_store: Path, tmp_path: Path) -> None:
    code, _, stderr = run_eval(runner, seeded_store, str(DEV), "--limit", "4", "--out", str(tmp_path / "a"))
    assert code == 0, stderr
    data = results(tmp_path / "a")
    # B: the same run, with a worse overall key recall and a worse MRR for its first item
    worse = json.loads(json.dumps(data))
    worse["overall"]["metrics"]["key_recall"] = (data["overall"]["metrics"]["key_recall"] or 0) - 0.2
    worse["items"][0]["metrics"]["mrr"] = data["items"][0]["metrics"]["mrr"] - 0.5
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "results.json").write_text(json.dumps(worse), encoding="utf-8")

    same = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "a" / "results.json"), "--max-drop", "0"])
    assert same.exit_code == 0, same.stderr
    assert "Per-item regressions: 0" in same.stdout

    shown = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert shown.exit_code == 0  # no gate asked for
    assert shown.stdout.index("Per-item regressions: 1") < shown.stdout.index("key_recall")
    assert "ar-001" in shown.stdout

    gated = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--max-drop", "0.05"])
    assert gated.exit_code == 1
    lines = gated.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dalil: regression: key_recall") and "--max-drop 0.05" in lines[0]

    loose = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--max-drop", "0.25"])
    assert loose.exit_code == 0

    under = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "a"), "--fail-under", "hit_at_k=1.01"])
    assert under.exit_code == 1 and "hit_at_k" in under.stderr and "--fail-under 1.01" in under.stderr

    bad = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "a"), "--fail-under", "speed=1"])
    assert bad.exit_code == 1 and "--fail-under wants METRIC=VALUE" in bad.stderr

    missing = runner.invoke(app, ["eval", "compare", str(tmp_path / "nope"), str(tmp_path / "a")])
    assert missing.exit_code == 1 and "no eval results at" in missing.stderr


def test_user_errors_are_one_line(runner: CliRunner, seeded_store: Path, tmp_path: Path, seeds_dir: Path) -> None:
    code, _, stderr = run_eval(runner, seeded_store, str(DEV), "--judge", "--limit", "1")
    assert code == 1 and stderr.count("\n") == 1 and "--judge needs an LLM endpoint" in stderr
    code, _, stderr = run_eval(runner, seeded_store, str(DEV), "--mode", "llm", "--limit", "1")
    assert code == 1 and stderr.count("\n") == 1 and "llm" in stderr
    code, _, stderr = run_eval(runner, seeded_store, str(DEV), "--kind", "trivia")
    assert code == 1 and "--kind must be one of" in stderr
    code, _, stderr = run_eval(runner, seeded_store, str(tmp_path / "missing.yaml"))
    assert code == 1 and "suite not found" in stderr
    bad = tmp_path / "evals" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text(yaml.safe_dump({"items": [
        {"id": "a", "question": "q", "lang": "de", "kind": "factoid", "answer": "x", "sources": [{"file": "f", "quote": "q"}]},
        {"id": "b", "question": "q", "lang": "ar", "kind": "factoid", "answer": "x",
         "sources": [{"file": "001_a9aefecacaf48a1a.txt", "quote": "no such words"}]},
    ]}), encoding="utf-8")
    code, _, stderr = run_eval(runner, seeded_store, str(bad), "--corpus", str(seeds_dir))
    lines = stderr.strip().splitlines()
    assert code == 1 and len(lines) == 2
    assert "item #1 (a): field lang" in lines[0] and "item #2 (b): sources[0].quote not found verbatim" in lines[1]


def test_html_escapes_suite_and_article_text(runner: CliRunner, seeded_store: Path, tmp_path: Path, seeds_dir: Path) -> None:
    suite = tmp_path / "evals" / "xss.yaml"
    suite.parent.mkdir()
    suite.write_text(yaml.safe_dump({"items": [{
        "id": "x<1>", "question": "<script>alert(1)</script> من هي زاخاروفا؟", "lang": "ar", "kind": "factoid",
        "answer": "<b>ماريا</b> & زاخاروفا", "keys": [["<i>"]],
        "sources": [{"file": "001_a9aefecacaf48a1a.txt", "quote": "ماريا زاخاروفا"}],
    }]}, allow_unicode=True), encoding="utf-8")
    code, _, stderr = run_eval(runner, seeded_store, str(suite), "--corpus", str(seeds_dir), "--out", str(tmp_path / "r"))
    assert code == 0, stderr
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;ماريا&lt;/b&gt; &amp; زاخاروفا" in html
    assert "x&lt;1&gt;" in html


def test_eval_help_lists_both_forms(runner: CliRunner) -> None:
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    assert "compare" in result.stdout and "SUITE" in result.stdout
