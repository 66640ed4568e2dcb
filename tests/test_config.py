"""Settings: defaults < TOML file < DALIL_* environment < CLI overrides, errors, secrets, collection name (agent.config)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import Settings, find_config_file, load_settings
from agent.errors import DalilError


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- precedence ------------------------------------------------------------------------------


def test_defaults_without_file_or_env() -> None:
    s = load_settings()
    assert s.store.path == Path("store")
    assert s.retrieval.top_k == 5 and s.retrieval.mode == "hybrid"
    assert s.chunking.chunk_tokens == 200 and s.chunking.overlap_tokens == 40
    assert s.embeddings.provider == "local"
    assert s.llm.api_key is None and not s.llm.configured
    assert find_config_file() is None


def test_file_then_env_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _toml(tmp_path / "dalil.toml", '[store]\npath = "file-store"\n[retrieval]\ntop_k = 7\ncandidates = 30\n[chunking]\nchunk_tokens = 120\n')
    s = load_settings()
    assert (s.store.path, s.retrieval.top_k, s.retrieval.candidates, s.chunking.chunk_tokens) == (Path("file-store"), 7, 30, 120)

    monkeypatch.setenv("DALIL_RETRIEVAL_TOP_K", "9")
    s = load_settings()
    assert s.retrieval.top_k == 9  # env over file
    assert s.retrieval.candidates == 30  # same section, key only in the file: kept (deep merge)
    assert s.store.path == Path("file-store")

    s = load_settings(None, {"store": {"path": Path("cli-store")}, "retrieval": {"top_k": 3}})
    assert s.store.path == Path("cli-store")  # overrides over file
    assert s.retrieval.top_k == 3  # overrides over env
    assert s.retrieval.candidates == 30
    assert s.chunking.chunk_tokens == 120


def test_dalil_store_env_shortcut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _toml(tmp_path / "dalil.toml", '[store]\npath = "file-store"\n')
    monkeypatch.setenv("DALIL_STORE", str(tmp_path / "env-store"))
    assert load_settings().store.path == tmp_path / "env-store"
    assert load_settings(None, {"store": {"path": Path("cli-store")}}).store.path == Path("cli-store")


def test_nested_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DALIL_LLM_MODEL", "some-model")
    monkeypatch.setenv("DALIL_CHUNKING_OVERLAP_TOKENS", "10")
    monkeypatch.setenv("DALIL_RETRIEVAL_MIN_COVERAGE", "0.7")
    s = load_settings()
    assert s.llm.base_url == "http://127.0.0.1:9/v1" and s.llm.model == "some-model" and s.llm.configured
    assert s.chunking.overlap_tokens == 10
    assert s.retrieval.min_coverage == pytest.approx(0.7)


def test_config_file_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = _toml(tmp_path / "dalil.toml", "[retrieval]\ntop_k = 2\n")
    user = tmp_path / "home" / ".config" / "dalil" / "config.toml"
    user.parent.mkdir(parents=True)
    _toml(user, "[retrieval]\ntop_k = 4\n")
    named = _toml(tmp_path / "named.toml", "[retrieval]\ntop_k = 6\n")
    via_env = _toml(tmp_path / "env.toml", "[retrieval]\ntop_k = 8\n")

    assert load_settings().retrieval.top_k == 2  # ./dalil.toml first
    monkeypatch.setenv("DALIL_CONFIG", str(via_env))
    assert load_settings().retrieval.top_k == 8  # $DALIL_CONFIG beats ./dalil.toml
    assert load_settings(named).retrieval.top_k == 6  # an explicit file beats everything
    monkeypatch.delenv("DALIL_CONFIG")
    assert load_settings().retrieval.top_k == 2
    # without ./dalil.toml the user's file is used (the tuple is built from HOME at import time,
    # so point it at this test's home folder)
    import agent.config as config

    monkeypatch.setattr(config, "DEFAULT_CONFIG_PATHS", (Path("dalil.toml"), user))
    assert load_settings().retrieval.top_k == 2
    local.unlink()
    assert find_config_file() == user
    assert load_settings().retrieval.top_k == 4


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "value", "where"),
    [
        ("DALIL_RETRIEVAL_TOP_K", "abc", "retrieval.top_k"),
        ("DALIL_RETRIEVAL_TOP_K", "0", "retrieval.top_k"),
        ("DALIL_RETRIEVAL_MODE", "magic", "retrieval.mode"),
        ("DALIL_CHUNKING_CHUNK_TOKENS", "4", "chunking.chunk_tokens"),
        ("DALIL_EMBEDDINGS_PROVIDER", "cohere", "embeddings.provider"),
        ("DALIL_LLM_TEMPERATURE", "9", "llm.temperature"),
    ],
)
def test_invalid_env_values_raise_one_line_dalil_error(monkeypatch: pytest.MonkeyPatch, env: str, value: str, where: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(DalilError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"invalid setting {where}")
    assert "\n" not in message


def test_overlap_must_be_below_chunk_size(tmp_path: Path) -> None:
    with pytest.raises(DalilError, match="overlap_tokens must be smaller"):
        load_settings(_toml(tmp_path / "c.toml", "[chunking]\nchunk_tokens = 50\noverlap_tokens = 50\n"))


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DalilError, match="not valid TOML"):
        load_settings(_toml(tmp_path / "bad.toml", "[retrieval\ntop_k ="))
    with pytest.raises(DalilError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_missing_file_named_by_env_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(DalilError, match=r"nope\.toml"):
        load_settings()


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(DalilError, match="retreival"):
        load_settings(_toml(tmp_path / "c.toml", "[retreival]\ntop_k = 3\n"))


def test_settings_are_frozen() -> None:
    from pydantic import ValidationError

    s = load_settings()
    with pytest.raises(ValidationError):
        s.lexicon = Path("x.yaml")  # type: ignore[misc]


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DALIL_LLM_API_KEY", "sk-secret-123")
    s = load_settings()
    assert s.llm.api_key is not None and s.llm.api_key.get_secret_value() == "sk-secret-123"
    assert "sk-secret-123" not in repr(s) and "sk-secret-123" not in str(s.public_dict())
    assert s.public_dict()["llm"]["api_key"] == "****"
    assert s.public_dict()["embeddings"]["api_key"] is None


def test_openai_api_key_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-456")
    s = load_settings()
    assert s.llm.api_key.get_secret_value() == "sk-openai-456"  # type: ignore[union-attr]
    assert s.embeddings.api_key.get_secret_value() == "sk-openai-456"  # type: ignore[union-attr]
    monkeypatch.setenv("DALIL_LLM_API_KEY", "sk-own-789")
    s = load_settings()
    assert s.llm.api_key.get_secret_value() == "sk-own-789"  # type: ignore[union-attr]
    assert s.embeddings.api_key.get_secret_value() == "sk-openai-456"  # type: ignore[union-attr]
    assert "sk-own-789" not in str(s.public_dict()) and "sk-openai-456" not in str(s.public_dict())


def test_openai_api_key_is_a_settings_field_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """OPENAI_API_KEY is read by the settings' environment source, as a field (its name is the alias), not
    by a validator looking at os.environ; it is never dumped, shown or in the repr."""
    s = Settings(OPENAI_API_KEY="sk-field-321")  # no environment at all: the field alone fills both sections
    assert s.llm.api_key.get_secret_value() == "sk-field-321"  # type: ignore[union-attr]
    assert s.embeddings.api_key.get_secret_value() == "sk-field-321"  # type: ignore[union-attr]
    assert "openai_api_key" not in s.model_dump() and "OPENAI_API_KEY" not in s.model_dump(by_alias=True)
    assert "sk-field-321" not in repr(s) + str(s.public_dict())
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-654")
    assert Settings().openai_api_key.get_secret_value() == "sk-env-654"  # type: ignore[union-attr]
    assert load_settings(None, {"llm": {"api_key": "sk-flag"}}).llm.api_key.get_secret_value() == "sk-flag"  # type: ignore[union-attr]


def test_a_config_files_key_ranks_above_openai_api_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "dalil.toml"
    config.write_text('[llm]\napi_key = "sk-from-file"\n', encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-456")
    s = load_settings(config)
    assert s.llm.api_key.get_secret_value() == "sk-from-file"  # type: ignore[union-attr]
    assert s.embeddings.api_key.get_secret_value() == "sk-openai-456"  # type: ignore[union-attr]


# --- collection name -------------------------------------------------------------------------


def _name(**sections: dict[str, object]) -> str:
    return load_settings(None, sections).collection_name()


def test_collection_name_tracks_what_shapes_the_vectors() -> None:
    base = _name()
    assert base.startswith("dalil-") and base == Settings().collection_name()
    assert _name() == base  # deterministic
    assert _name(chunking={"chunk_tokens": 120}) != base
    assert _name(chunking={"chunk_tokens": 120}) == _name(chunking={"chunk_tokens": 120})
    assert _name(chunking={"overlap_tokens": 20}) != base
    assert _name(chunking={"encoding": "cl100k_base"}) != base
    assert _name(embeddings={"dim": 512}) != base
    assert _name(embeddings={"provider": "openai", "model": "text-embedding-3-small"}) != base
    assert _name(store={"collection": "news"}).startswith("news-")


def test_collection_name_ignores_settings_that_do_not_shape_vectors() -> None:
    base = _name()
    assert _name(retrieval={"top_k": 9, "mode": "bm25"}) == base
    assert _name(store={"path": Path("elsewhere")}) == base
    assert _name(llm={"model": "m", "temperature": 0.5}) == base


def test_changing_chunk_size_uses_a_separate_store_collection(tmp_path: Path) -> None:
    from agent.index.store import Store

    a = Store(load_settings(None, {"store": {"path": tmp_path}}), create=True)
    b = Store(load_settings(None, {"store": {"path": tmp_path}, "chunking": {"chunk_tokens": 100}}), create=True)
    assert a.collection_name != b.collection_name
    assert a.registry.path != b.registry.path and a.bm25_dir != b.bm25_dir
    a.registry.close()
    b.registry.close()
