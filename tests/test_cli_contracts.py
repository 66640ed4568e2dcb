"""CLI contracts: `search --json`, `ask --json`, abstention, terminal output, `config` masking and precedence."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from agent.cli import app
from agent.config import load_settings
from agent.pipeline import Dalil

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
HIT_KEYS = {"rank", "score", "chunk_id", "doc_id", "file", "published", "outlet", "text", "also_carried_by"}
CITATION_KEYS = {"n", "chunk_id", "file", "published", "outlet", "quote"}
ANSWERABLE = [
    "ماذا قالت ماريا زاخاروفا؟",
    "من هو المتحدث باسم الكرملين؟",
    "ماذا قال ستيفن أوبراين عن المدنيين في شرق حلب؟",
    "متى انتهت الهدنة في سوريا؟",
]
UNANSWERABLE = [
    "ما هو سعر النفط في أسواق لندن؟",
    "What was the score of the football match?",
    "من فاز بكأس العالم لكرة القدم؟",
]


def _manifest() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((SEEDS / "manifest.yaml").read_text(encoding="utf-8"))
    return {a["file"]: a for a in data["articles"]}


def _seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def _invoke(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(app, list(args))


def _json(result: Any) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.output)
    return json.loads(result.stdout)


# --- search --json ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 6])
def test_search_json_contract(runner: CliRunner, seeded_store: Path, k: int) -> None:
    data = _json(_invoke(runner, "search", "لافروف وكيري", "--json", "-k", str(k), "--store", str(seeded_store)))
    assert {"query", "hits"} <= set(data)
    assert data["query"] == "لافروف وكيري"
    hits = data["hits"]
    assert len(hits) == k  # the seeds have far more than k passages about Lavrov and Kerry
    manifest = _manifest()
    for i, hit in enumerate(hits, start=1):
        assert set(hit) == HIT_KEYS
        assert hit["rank"] == i
        assert isinstance(hit["score"], float)
        assert isinstance(hit["chunk_id"], str) and hit["chunk_id"]
        assert isinstance(hit["doc_id"], str) and hit["doc_id"]
        assert hit["file"] in manifest
        assert hit["published"] == manifest[hit["file"]]["published"].isoformat()
        assert hit["outlet"] == manifest[hit["file"]]["outlet"]
        assert hit["text"] and hit["text"] in _seed_text(hit["file"])
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_search_json_fewer_hits_than_k(runner: CliRunner, seeded_store: Path) -> None:
    data = _json(_invoke(runner, "search", "زاخاروفا", "--json", "-k", "5", "--mode", "bm25", "--store", str(seeded_store)))
    assert len(data["hits"]) == 1
    assert "ماريا زاخاروفا" in data["hits"][0]["text"]


def test_search_json_no_hits(runner: CliRunner, seeded_store: Path) -> None:
    data = _json(_invoke(runner, "search", "بورصة طوكيو", "--json", "--mode", "bm25", "--store", str(seeded_store)))
    assert data["hits"] == []


def test_search_terminal_output(runner: CliRunner, seeded_store: Path) -> None:
    result = _invoke(runner, "search", "زاخاروفا", "-k", "2", "--store", str(seeded_store))
    assert result.exit_code == 0, result.output
    assert "ماريا زاخاروفا" in result.stdout
    assert "001_a9aefecacaf48a1a.txt" in result.stdout
    assert not result.stdout.lstrip().startswith("{")


def test_search_k_out_of_range_is_a_usage_error(runner: CliRunner, seeded_store: Path) -> None:
    result = _invoke(runner, "search", "حلب", "-k", "0", "--store", str(seeded_store))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- ask --json ------------------------------------------------------------------------------


def _check_answer(data: dict[str, Any], question: str) -> None:
    assert {"question", "mode", "answer", "abstained", "citations"} <= set(data)
    assert data["question"] == question
    assert data["mode"] == "extractive"
    assert isinstance(data["abstained"], bool)
    assert isinstance(data["answer"], str) and data["answer"].strip()


@pytest.mark.parametrize("question", ANSWERABLE)
def test_ask_json_answerable(runner: CliRunner, seeded_store: Path, question: str) -> None:
    data = _json(_invoke(runner, "ask", question, "--json", "--store", str(seeded_store)))
    _check_answer(data, question)
    assert data["abstained"] is False
    citations = data["citations"]
    assert len(citations) >= 1
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1))
    manifest = _manifest()
    registry = {c.chunk_id: c for c in Dalil(load_settings(None, {"store": {"path": seeded_store}})).store.registry.chunks()}
    for c in citations:
        assert set(c) >= CITATION_KEYS
        text = _seed_text(c["file"])
        assert c["quote"] and c["quote"] in text  # verbatim
        assert text[c["start"]:c["end"]] == c["quote"]  # and at the stated offsets
        assert c["published"] == manifest[c["file"]]["published"].isoformat()
        assert c["outlet"] == manifest[c["file"]]["outlet"]
        chunk = registry[c["chunk_id"]]
        assert chunk.start_char <= c["start"] < c["end"] <= chunk.end_char  # the quote lies in the cited chunk
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["answer"])}
    assert markers, data["answer"]
    assert markers == {c["n"] for c in citations}
    # the answer is made of the quotes, each followed by its marker
    for c in citations:
        assert f"{c['quote']} [{c['n']}]" in data["answer"]


def test_ask_json_cites_the_right_article(runner: CliRunner, seeded_store: Path) -> None:
    data = _json(_invoke(runner, "ask", "من هو المتحدث باسم الكرملين؟", "--json", "--store", str(seeded_store)))
    assert any(c["file"] == "003_6fb0efb9cf778144.txt" and "ديمتري بيسكوف" in c["quote"] for c in data["citations"])


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_ask_json_abstains(runner: CliRunner, seeded_store: Path, question: str) -> None:
    data = _json(_invoke(runner, "ask", question, "--json", "--store", str(seeded_store)))
    _check_answer(data, question)
    assert data["abstained"] is True
    assert data["citations"] == []
    assert not re.search(r"\[\d+\]", data["answer"])


def test_ask_terminal_output_names_extractive_mode(runner: CliRunner, seeded_store: Path) -> None:
    result = _invoke(runner, "ask", "ماذا قالت ماريا زاخاروفا؟", "--store", str(seeded_store))
    assert result.exit_code == 0, result.output
    assert "extractive" in result.stdout
    assert "ماريا زاخاروفا" in result.stdout
    assert "[1]" in result.stdout


def test_ask_terminal_abstention(runner: CliRunner, seeded_store: Path) -> None:
    result = _invoke(runner, "ask", "ما هو سعر النفط في أسواق لندن؟", "--store", str(seeded_store))
    assert result.exit_code == 0, result.output
    assert "extractive" in result.stdout
    assert "لا تجيب المقالات" in result.stdout


def test_ask_empty_question_is_an_error(runner: CliRunner, seeded_store: Path) -> None:
    result = _invoke(runner, "ask", "   ", "--store", str(seeded_store))
    assert result.exit_code == 1
    assert result.stderr.startswith("dalil: error:")
    assert "Traceback" not in result.output


def test_ask_on_empty_store_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    result = _invoke(runner, "ask", "ماذا قالت زاخاروفا؟", "--store", str(tmp_path / "nothing"))
    assert result.exit_code == 1
    assert "empty" in result.stderr and "dalil ingest" in result.stderr
    assert "Traceback" not in result.output


# --- config: masking -------------------------------------------------------------------------


def test_config_masks_secrets(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_LLM_API_KEY", "sk-secret-123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-456")
    text = _invoke(runner, "config")
    assert text.exit_code == 0, text.output
    assert "sk-secret-123" not in text.output and "sk-openai-456" not in text.output
    assert "****" in text.stdout
    data = _json(_invoke(runner, "config", "--json"))
    assert "sk-secret-123" not in json.dumps(data) and "sk-openai-456" not in json.dumps(data)
    assert data["llm"]["api_key"] == "****"
    assert data["embeddings"]["api_key"] == "****"  # filled from OPENAI_API_KEY, masked too


def test_config_without_secrets_shows_none(runner: CliRunner) -> None:
    data = _json(_invoke(runner, "config", "--json"))
    assert data["llm"]["api_key"] is None
    assert "****" not in json.dumps(data)


def test_config_secret_from_toml_is_masked(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "dalil.toml").write_text('[llm]\napi_key = "sk-from-file-789"\n', encoding="utf-8")
    result = _invoke(runner, "config")
    assert result.exit_code == 0, result.output
    assert "sk-from-file-789" not in result.output
    assert "****" in result.stdout
    assert "dalil.toml" in result.stdout  # names the config file in force


# --- config: precedence ----------------------------------------------------------------------


def _write_toml(tmp_path: Path) -> Path:
    path = tmp_path / "dalil.toml"
    path.write_text('[store]\npath = "store-from-file"\n[retrieval]\ntop_k = 7\ncandidates = 30\n', encoding="utf-8")
    return path


def test_precedence_file_then_env_then_flag(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_toml(tmp_path)
    data = _json(_invoke(runner, "config", "--json"))
    assert data["retrieval"]["top_k"] == 7 and data["retrieval"]["candidates"] == 30
    assert data["store"]["path"] == "store-from-file"

    monkeypatch.setenv("DALIL_RETRIEVAL_TOP_K", "9")
    data = _json(_invoke(runner, "config", "--json"))
    assert data["retrieval"]["top_k"] == 9  # env beats the file
    assert data["retrieval"]["candidates"] == 30  # the rest of the file still applies
    assert data["store"]["path"] == "store-from-file"

    data = _json(_invoke(runner, "config", "--json", "--store", "store-from-flag"))
    assert data["store"]["path"] == "store-from-flag"  # flag beats the file
    assert data["retrieval"]["top_k"] == 9


def test_explicit_config_flag_and_env(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("[retrieval]\ntop_k = 11\n", encoding="utf-8")
    _write_toml(tmp_path)  # ./dalil.toml is ignored when a file is named
    assert _json(_invoke(runner, "config", "--json", "--config", str(other)))["retrieval"]["top_k"] == 11
    monkeypatch.setenv("DALIL_CONFIG", str(other))
    assert _json(_invoke(runner, "config", "--json"))["retrieval"]["top_k"] == 11


def test_dalil_store_env_selects_the_store(runner: CliRunner, tmp_path: Path, seeded_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_toml(tmp_path)
    monkeypatch.setenv("DALIL_STORE", str(seeded_store))
    data = _json(_invoke(runner, "config", "--json"))
    assert data["store"]["path"] == str(seeded_store)  # env beats the file
    data = _json(_invoke(runner, "config", "--json", "--store", "store-from-flag"))
    assert data["store"]["path"] == "store-from-flag"  # flag beats the env

    hits = _json(_invoke(runner, "search", "زاخاروفا", "--json", "-k", "1"))["hits"]
    assert hits and "ماريا زاخاروفا" in hits[0]["text"]
    answer = _json(_invoke(runner, "ask", "ماذا قالت ماريا زاخاروفا؟", "--json"))
    assert answer["abstained"] is False


def test_without_store_setting_the_default_store_is_used(runner: CliRunner, tmp_path: Path) -> None:
    data = _json(_invoke(runner, "config", "--json"))
    assert data["store"]["path"] == "store"
    result = _invoke(runner, "search", "حلب")
    assert result.exit_code == 1
    assert "empty" in result.stderr


# --- config: invalid settings ----------------------------------------------------------------


def _assert_one_line_error(result: Any, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dalil: error:")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("value", ["abc", "0", "100000"])
def test_invalid_env_setting(runner: CliRunner, seeded_store: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DALIL_RETRIEVAL_TOP_K", value)
    _assert_one_line_error(_invoke(runner, "search", "حلب", "--store", str(seeded_store)), "retrieval.top_k")
    _assert_one_line_error(_invoke(runner, "config"), "retrieval.top_k")


def test_invalid_mode_in_env(runner: CliRunner, seeded_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_RETRIEVAL_MODE", "magic")
    _assert_one_line_error(_invoke(runner, "search", "حلب", "--store", str(seeded_store)), "retrieval.mode")


def test_invalid_toml_values(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "dalil.toml").write_text("[chunking]\nchunk_tokens = 50\noverlap_tokens = 60\n", encoding="utf-8")
    _assert_one_line_error(_invoke(runner, "config"), "overlap_tokens")


def test_broken_and_missing_config_files(runner: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[retrieval\ntop_k = ", encoding="utf-8")
    _assert_one_line_error(_invoke(runner, "config", "--config", str(broken)), "not valid TOML", "broken.toml")
    _assert_one_line_error(_invoke(runner, "config", "--config", str(tmp_path / "missing.toml")), "not found", "missing.toml")


def test_unknown_top_level_setting_is_rejected(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "dalil.toml").write_text('[sotre]\npath = "typo"\n', encoding="utf-8")
    _assert_one_line_error(_invoke(runner, "config"), "sotre")
