"""A store's search terms follow the analyzer: chunks analyzed by another lexicon are analyzed again at ingest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from agent.config import load_settings
from agent.ingest import run
from agent.pipeline import Dalil
from agent.text.lexicon import BUNDLED, analyzer_key
from tests.conftest import SEEDS, chroma_of


def open_dalil(store: Path, lexicon: Path | None = None) -> Dalil:
    overrides: dict[str, object] = {"store": {"path": store}}
    if lexicon is not None:
        overrides["lexicon"] = lexicon
    return Dalil(load_settings(None, overrides))


def registry_rows(store: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(next(store.glob("dalil-*.sqlite")))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def terms_of(store: Path) -> dict[str, str]:
    return dict(registry_rows(store, "SELECT chunk_id, terms FROM chunks"))


def bm25_hits(dalil: Dalil, word: str) -> list[str]:
    """Chunks the store's BM25 index finds for ``word`` as this Dalil's analyzer spells it."""
    return [chunk_id for chunk_id, _ in dalil.store.bm25().search(dalil.analyzer.terms(word), 5)]


def vectors_of(dalil: Dalil) -> dict[str, list[float]]:
    got = chroma_of(dalil.store).get(include=["embeddings"])
    return {i: [round(float(x), 6) for x in v] for i, v in zip(got["ids"], got["embeddings"], strict=True)}


@pytest.fixture
def renamed_aleppo(tmp_path: Path) -> Path:
    """The bundled lexicon with Aleppo's Arabic name folded into another spelling: every chunk that names
    Aleppo gets other terms (and, with the local embedder, another vector)."""
    data = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))
    data["entities"].append({"en": "Shahba", "ar": "شهباء", "kind": "place", "variants": ["حلب"]})
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_new_store_records_its_analyzer_and_a_second_ingest_analyzes_nothing_again(store: Path) -> None:
    assert registry_rows(store, "SELECT value FROM meta WHERE key = 'analyzer'") == [(analyzer_key(None),)]
    generation = registry_rows(store, "SELECT value FROM meta WHERE key = 'generation'")
    report = open_dalil(store).ingest([SEEDS])
    assert report.reanalyzed == 0 and len(report.unchanged) == 5
    assert registry_rows(store, "SELECT value FROM meta WHERE key = 'generation'") == generation


def test_another_lexicon_analyzes_every_chunk_again_as_a_fresh_ingest_would(store: Path, renamed_aleppo: Path,
                                                                              tmp_path: Path) -> None:
    before = terms_of(store)
    dalil = open_dalil(store, renamed_aleppo)
    assert not bm25_hits(dalil, "شهباء"), "the old terms already know the new spelling"
    report = dalil.ingest([SEEDS])  # nothing new to write: only the analysis is redone
    assert report.reanalyzed == len(before) and len(report.unchanged) == 5
    fresh = open_dalil(tmp_path / "fresh", renamed_aleppo)
    fresh.ingest([SEEDS])
    after = terms_of(store)
    assert after == terms_of(tmp_path / "fresh") and after != before
    assert vectors_of(dalil) == vectors_of(fresh)
    # the BM25 index is rebuilt from the new terms, in this process and in a new one
    hits = bm25_hits(dalil, "شهباء")
    assert hits and all("حلب" in node.text for node in dalil.store.registry.nodes(hits).values())
    assert bm25_hits(open_dalil(store, renamed_aleppo), "شهباء") == hits
    # and back: the bundled lexicon's terms return
    assert open_dalil(store).ingest([SEEDS]).reanalyzed == len(before)
    assert terms_of(store) == before


def test_a_store_made_before_the_key_was_recorded_is_analyzed_once(store: Path) -> None:
    db = sqlite3.connect(next(store.glob("dalil-*.sqlite")))
    db.execute("DELETE FROM meta WHERE key = 'analyzer'")
    db.execute("UPDATE chunks SET terms = 'stale'")
    db.commit()
    db.close()
    report = open_dalil(store).ingest([SEEDS])
    assert report.reanalyzed > 0
    assert "stale" not in terms_of(store).values()
    assert open_dalil(store).ingest([SEEDS]).reanalyzed == 0


def test_a_failure_midway_keeps_the_old_key_and_the_next_ingest_finishes(store: Path, renamed_aleppo: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "BATCH", 10)
    calls = 0
    real_write = type(open_dalil(store).store.registry).write_terms

    def fail_on_the_third(self: object, rows: list[tuple[str, list[str]]]) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("the disk went away")
        real_write(self, rows)  # type: ignore[arg-type]

    monkeypatch.setattr("agent.index.store.Registry.write_terms", fail_on_the_third)
    with pytest.raises(RuntimeError):
        open_dalil(store, renamed_aleppo).ingest([SEEDS])
    assert registry_rows(store, "SELECT value FROM meta WHERE key = 'analyzer'") == [(analyzer_key(None),)]
    monkeypatch.setattr("agent.index.store.Registry.write_terms", real_write)
    dalil = open_dalil(store, renamed_aleppo)
    assert dalil.ingest([SEEDS]).reanalyzed == len(terms_of(store))
    assert registry_rows(store, "SELECT value FROM meta WHERE key = 'analyzer'") == [(analyzer_key(renamed_aleppo),)]
    assert bm25_hits(dalil, "شهباء")
