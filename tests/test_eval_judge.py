"""`dalil eval --judge` (and `--mode llm`) against the scripted OpenAI-compatible server over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.evals.judge import CORRECT_LINE, FAITH_LINE, correctness, faithfulness, parse_verdicts
from tests.scripted_openai import Reply, ScriptedOpenAI

DEV = Path(__file__).resolve().parents[1] / "evals" / "dev.yaml"
KEY = "sk-judge-secret-0007"
CLAIMS = "SUPPORTED | first claim\nUNSUPPORTED | second claim\nSUPPORTED | third claim"  # 2/3 supported
GRADES = "CORRECT | a\nINCORRECT | b\nMISSING | c"  # TP 1, FP 1, FN 1 → 1 / (1 + 2/2) = 0.5


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as srv:
        monkeypatch.setenv("DALIL_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("DALIL_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("DALIL_LLM_API_KEY", KEY)
        monkeypatch.setenv("DALIL_LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("DALIL_LLM_TIMEOUT", "5")
        monkeypatch.setenv("DALIL_LLM_REWRITE_QUERIES", "false")
        yield srv


def judge_replies(server: ScriptedOpenAI, n: int) -> None:
    for _ in range(n):
        server.enqueue(Reply(CLAIMS, match="task: faithfulness"), Reply(GRADES, match="task: correctness"))


def prompts(server: ScriptedOpenAI) -> list[str]:
    return ["\n".join(m["content"] for m in body["messages"]) for body in server.chat_requests]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_parsers() -> None:
    claims = parse_verdicts("Here you go:\n- SUPPORTED | a\n2. **UNSUPPORTED**: b\nnoise\n", FAITH_LINE)
    assert [(v.label, v.claim) for v in claims] == [("SUPPORTED", "a"), ("UNSUPPORTED", "b")]
    assert faithfulness(claims) == 0.5 and faithfulness([]) is None
    grades = parse_verdicts(GRADES, CORRECT_LINE)
    assert [v.label for v in grades] == ["CORRECT", "INCORRECT", "MISSING"]
    assert correctness(grades) == 0.5


def test_judge_scores_extractive_answers(server: ScriptedOpenAI, seeded_store: Path, tmp_path: Path) -> None:
    judge_replies(server, 6)
    code, stdout, stderr = invoke("eval", str(DEV), "--judge", "--store", str(seeded_store), "--out", str(tmp_path / "r"),
                                  "--only", "ar-015", "--only", "ar-018", "--only", "ar-022", "--only", "en-001")
    assert code == 0, stderr
    data = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    assert data["run"]["judge"] is True and data["run"]["mode"] == "extractive"
    answered = [i for i in data["items"] if i["answer"] and not i["answer"]["abstained"]]
    assert any(i["answerable"] for i in answered), "precondition: the extractive mode answers one of these"
    for item in data["items"]:
        if item in answered:
            assert item["answer"]["mode"] == "extractive"
            assert item["judge"]["faithfulness"] == pytest.approx(2 / 3)
            assert item["judge"]["claims"][1] == {"claim": "second claim", "label": "UNSUPPORTED"}
            assert item["judge"]["correctness"] == (0.5 if item["answerable"] else None)
            assert item["metrics"]["faithfulness"] == pytest.approx(2 / 3)
            assert any(f.startswith("faithfulness (judge)") for f in item["failures"])
        else:
            assert item["judge"] is None  # abstentions are not judged
    assert data["overall"]["metrics"]["faithfulness"] == pytest.approx(2 / 3, abs=1e-6)
    assert "faithfulness (judge)" in stdout
    # only judge calls went out (the answers stayed extractive), with the configured model and key
    texts = prompts(server)
    faith = sum("task: faithfulness" in t for t in texts)
    assert faith == len(answered) and len(texts) == faith + sum(i["answerable"] for i in answered)
    assert all(b["model"] == "scripted-model" and b["temperature"] == 0 for b in server.chat_requests)
    first = next(i for i in answered)
    assert any(first["question"] in t and first["answer"]["citations"][0]["quote"] in t for t in texts)
    auth = {r["headers"].get("authorization") for r in server.requests}
    assert auth == {f"Bearer {KEY}"}
    assert KEY not in (tmp_path / "r" / "results.json").read_text(encoding="utf-8")


def test_llm_mode_records_tokens_and_is_judged(server: ScriptedOpenAI, seeded_store: Path, tmp_path: Path) -> None:
    server.enqueue(Reply("ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1].",
                         match="NOT_IN_CORPUS", prompt_tokens=321, completion_tokens=17))
    judge_replies(server, 1)
    code, _, stderr = invoke("eval", str(DEV), "--mode", "llm", "--judge", "--store", str(seeded_store),
                             "--only", "ar-001", "--out", str(tmp_path / "r"))
    assert code == 0, stderr
    data = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))
    item = data["items"][0]
    assert item["answer"]["mode"] == "llm" and not item["answer"]["abstained"]
    assert (item["prompt_tokens"], item["completion_tokens"]) == (321, 17)
    assert data["overall"]["metrics"]["prompt_tokens"] == 321 and data["overall"]["metrics"]["completion_tokens"] == 17
    assert item["metrics"]["key_recall"] == 1.0
    assert item["judge"]["faithfulness"] == pytest.approx(2 / 3) and item["judge"]["correctness"] == 0.5


def test_judge_failures(server: ScriptedOpenAI, seeded_store: Path, tmp_path: Path) -> None:
    server.enqueue(Reply("overloaded", status=503))  # the first judge call fails; the item's second call is skipped
    code, _, stderr = invoke("eval", str(DEV), "--judge", "--store", str(seeded_store), "--only", "ar-018",
                             "--out", str(tmp_path / "r"))
    assert code == 0, stderr  # a failing judge call is recorded on the item, the run goes on
    item = json.loads((tmp_path / "r" / "results.json").read_text(encoding="utf-8"))["items"][0]
    assert item["judge"]["error"].startswith("judge request failed") and item["judge"]["faithfulness"] is None
    assert any(f.startswith("judge:") for f in item["failures"])

    server.enqueue(Reply("bad key", status=401))
    code, _, stderr = invoke("eval", str(DEV), "--judge", "--store", str(seeded_store), "--only", "ar-018",
                             "--out", str(tmp_path / "r2"))
    assert code == 1 and stderr.count("\n") == 1 and "judge endpoint refused the request" in stderr
    assert KEY not in stderr
