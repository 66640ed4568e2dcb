"""Ingest: first run, idempotent re-run, changed files, duplicates, CLI exit codes (agent.pipeline, agent.cli)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import load_settings
from agent.pipeline import Dalil
from agent.retrieval.retrieve import SearchFilters
from tests.conftest import chroma_of

F002 = "002_e83c710a14adfa23.txt"
F004 = "004_2399a9a2b0d5824e.txt"
ARTICLE = "قالت وزارة الخارجية الروسية إن لافروف وكيري ناقشا الوضع في مدينة حلب.\n"


def _dalil(store: Path) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": store}}))


def _chroma_ids(dalil: Dalil, doc_id: str | None = None) -> set[str]:
    where = {"doc_id": doc_id} if doc_id else None
    return set(chroma_of(dalil.store).get(where=where, include=[])["ids"])


def _registry_ids(dalil: Dalil, doc_id: str | None = None) -> set[str]:
    return {c.chunk_id for c in dalil.store.registry.chunks() if doc_id is None or c.doc_id == doc_id}


def _copy_seeds(seeds_dir: Path, dest: Path) -> Path:
    shutil.copytree(seeds_dir, dest)
    return dest


def test_first_ingest_then_rerun_changes_nothing(tmp_path: Path, seeds_dir: Path) -> None:
    store = tmp_path / "store"
    first = _dalil(store).ingest([seeds_dir])
    assert sorted(first.added) == sorted(p.name for p in seeds_dir.glob("*.txt"))
    assert len(first.added) == 5
    assert not first.updated and not first.unchanged and not first.duplicates and not first.errors
    assert first.chunks > 5

    dalil = _dalil(store)
    docs, chunks = dalil.store.registry.counts()
    assert docs == 5 and chunks == first.chunks
    assert dalil.store.vector_count() == first.chunks
    ids_before = _chroma_ids(dalil)
    assert ids_before == _registry_ids(dalil)
    generation = dalil.store.registry.generation()

    again = _dalil(store).ingest([seeds_dir])  # a second run, as a fresh process would do it
    assert (len(again.added), len(again.updated), len(again.unchanged)) == (0, 0, 5)
    assert again.chunks == 0 and not again.duplicates and not again.errors
    assert 0 < first.load_seconds < first.seconds  # the libraries' loading is reported as part of the run
    assert 0 < first.bm25_seconds < first.seconds and again.bm25_seconds > 0  # and the BM25 update, every run
    assert again.load_seconds == 0.0  # a run with nothing to write loads nothing

    after = _dalil(store)
    assert after.store.registry.counts() == (5, first.chunks)
    assert after.store.vector_count() == first.chunks
    assert _chroma_ids(after) == ids_before
    assert after.store.registry.generation() == generation  # nothing was rewritten


def test_changed_file_replaces_its_chunks(tmp_path: Path, seeds_dir: Path) -> None:
    folder = _copy_seeds(seeds_dir, tmp_path / "articles")
    store = tmp_path / "store"
    _dalil(store).ingest([folder])

    dalil = _dalil(store)
    doc = next(d for d in dalil.store.registry.documents() if d.file == F004)
    old_ids = _registry_ids(dalil, doc.doc_id)
    assert old_ids and old_ids == _chroma_ids(dalil, doc.doc_id)
    other_ids = _registry_ids(dalil) - old_ids

    # replace the paragraph about the 27 February ceasefire with new text
    path = folder / F004
    text = path.read_text(encoding="utf-8")
    old_para = next(line for line in text.split("\n") if "27 شباط" in line)
    new_para = "وأعلنت الأمم المتحدة أن قافلة إغاثة دخلت مدينة تدمر الأثرية بعد مفاوضات طويلة."
    path.write_text(text.replace(old_para, new_para), encoding="utf-8")

    report = _dalil(store).ingest([folder])
    assert report.updated == [F004]
    assert not report.added and len(report.unchanged) == 4 and not report.errors

    after = _dalil(store)
    new_ids = _registry_ids(after, doc.doc_id)
    # chunks before the edited paragraph keep their offsets and ids; the rest are replaced
    assert new_ids != old_ids
    gone = old_ids - new_ids
    assert gone
    assert not chroma_of(after.store).get(ids=sorted(gone), include=[])["ids"]
    assert _chroma_ids(after, doc.doc_id) == new_ids
    assert _registry_ids(after) - new_ids == other_ids  # other documents untouched
    assert after.store.vector_count() == len(_registry_ids(after))
    stored = [n.get_content() for n in after.store.registry.nodes(sorted(new_ids)).values()]
    assert stored and not any("27 شباط" in t for t in stored)
    # Chroma keeps vectors and filter metadata only: the text lives in the registry
    assert set(chroma_of(after.store).get(include=["documents"])["documents"]) <= {"", None}
    assert after.store.text_of(doc.doc_id) == path.read_text(encoding="utf-8")

    for mode in ("bm25", "dense", "hybrid"):
        hits = after.search("قافلة إغاثة تدمر", 3, mode=mode).hits
        assert hits and hits[0].file == F004 and new_para in hits[0].text, mode
    old_hits = after.search("27 شباط", 10, mode="bm25").hits
    assert not any("27 شباط" in h.text for h in old_hits)


def test_changed_manifest_metadata_updates_document(tmp_path: Path, seeds_dir: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(seeds_dir / F002, folder / F002)
    (folder / "manifest.yaml").write_text(f"articles:\n  - file: {F002}\n    published: 2016-09-28\n", encoding="utf-8")
    store = tmp_path / "store"
    assert _dalil(store).ingest([folder]).added == [F002]
    (folder / "manifest.yaml").write_text(
        f"articles:\n  - file: {F002}\n    published: 2016-09-28\n    outlet: العربي الجديد\n", encoding="utf-8",
    )
    report = _dalil(store).ingest([folder])
    assert report.updated == [F002]
    hits = _dalil(store).search("لافروف", 5, SearchFilters(outlet="العربي الجديد")).hits
    assert hits and all(h.outlet == "العربي الجديد" for h in hits)


def test_exact_duplicate_under_another_name_is_skipped(tmp_path: Path, seeds_dir: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(seeds_dir / F002, folder / F002)
    shutil.copy(seeds_dir / F002, folder / "zz_copy_of_002.txt")
    store = tmp_path / "store"
    report = _dalil(store).ingest([folder])
    assert report.added == [F002]
    assert report.duplicates == [("zz_copy_of_002.txt", F002)]
    dalil = _dalil(store)
    assert dalil.store.registry.counts()[0] == 1
    assert dalil.store.vector_count() == report.chunks

    # a later run with the copy in another folder is still recognised as a duplicate
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(seeds_dir / F002, other / "renamed.txt")
    later = _dalil(store).ingest([other])
    assert later.duplicates == [("renamed.txt", F002)]
    assert not later.added and later.chunks == 0
    assert _dalil(store).store.registry.counts()[0] == 1


def test_ingest_is_stable_across_stores(tmp_path: Path, seeded_store: Path, seeds_dir: Path) -> None:
    """Chunk ids do not depend on the run: a second store gets exactly the same ids."""
    _dalil(tmp_path / "second").ingest([seeds_dir])
    assert _registry_ids(_dalil(tmp_path / "second")) == _registry_ids(_dalil(seeded_store))


# --- CLI -------------------------------------------------------------------------------------


def _runner() -> CliRunner:
    return CliRunner()  # click >= 8.2 keeps stdout and stderr apart (result.stdout / result.stderr)


def test_cli_ingest_exit_0_when_all_files_ok(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "b.txt").write_bytes(("خبر آخر عن الهدنة في حلب.\n").encode("cp1256"))
    result = _runner().invoke(app, ["ingest", str(folder), "--store", str(tmp_path / "store"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["added"] == 2 and report["errors"] == []
    assert report["encodings"] == {"a.txt": "utf-8", "b.txt": "windows-1256"}
    assert "failed" not in result.stderr


def test_cli_ingest_exit_3_when_some_files_fail(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x02\x03\xff\xfe")
    (folder / "empty.md").write_bytes(b"")
    store = tmp_path / "store"
    result = _runner().invoke(app, ["ingest", str(folder), "--store", str(store)])
    assert result.exit_code == 3, result.output
    assert "broken.txt" in result.stderr and "binary" in result.stderr
    assert "empty.md" in result.stderr and "empty" in result.stderr
    assert "broken.txt" not in result.stdout
    assert "Traceback" not in result.output
    # the good file was ingested anyway
    assert _dalil(store).store.registry.counts()[0] == 1

    json_result = _runner().invoke(app, ["ingest", str(folder), "--store", str(store), "--json"])
    assert json_result.exit_code == 3
    report = json.loads(json_result.stdout)
    assert report["unchanged"] == 1
    assert sorted(Path(e["path"]).name for e in report["errors"]) == ["broken.txt", "empty.md"]


def test_cli_ingest_missing_path_fails_with_exit_3(tmp_path: Path) -> None:
    result = _runner().invoke(app, ["ingest", str(tmp_path / "nowhere"), "--store", str(tmp_path / "store")])
    assert result.exit_code == 3
    assert "nowhere" in result.stderr and "no such file" in result.stderr


def _store_contents(dalil: Dalil) -> tuple[dict[str, str], dict[str, list[float]], dict[str, str]]:
    """Registry terms by chunk, Chroma vectors by chunk, and chunk texts: everything an ingest writes."""
    terms = dict(dalil.store.registry._db.execute("SELECT chunk_id, terms FROM chunks").fetchall())
    got = chroma_of(dalil.store).get(include=["embeddings"])
    vectors = {i: list(v) for i, v in zip(got["ids"], got["embeddings"], strict=True)}
    texts = {i: n.get_content() for i, n in dalil.store.registry.nodes(list(terms)).items()}
    return terms, vectors, texts


@pytest.mark.slow
def test_worker_process_writes_the_same_store_as_one_process(tmp_path: Path, seeds_dir: Path) -> None:
    """Chunking and embedding in the worker process (chunking.worker) changes nothing that is stored,
    including the repeated lead of seed 001 dropped, the same source twice in one JSONL file (the
    later replaces the earlier) and a duplicate article."""
    from tests.test_reliability_crash import write_articles

    corpus = tmp_path / "corpus"
    names = write_articles(corpus, 70)
    shutil.copytree(seeds_dir, corpus / "seeds")
    shutil.copy(corpus / names[0], corpus / "copy_of_the_first.txt")
    (corpus / "punctuation_only.txt").write_text("… ؟ !", encoding="utf-8")  # an article that makes no chunk
    records = [{"id": "same", "text": "نص أول عن اتصال هاتفي بين الوزيرين."}, {"id": "same", "text": "نص ثان عن وقف إطلاق النار في حلب."}]
    (corpus / "feed.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")

    reports, contents = [], []
    for worker in (False, True):
        dalil = Dalil(load_settings(None, {"store": {"path": tmp_path / f"store-{worker}"}, "chunking": {"worker": worker}}))
        reports.append(dalil.ingest([corpus]))
        contents.append(_store_contents(dalil))
    one, two = reports
    assert (len(one.added), one.chunks, len(one.duplicates)) == (len(two.added), two.chunks, len(two.duplicates))
    assert len(one.duplicates) == 1 and [e.reason for e in one.errors] == ["line 1: id 'same' is used again on line 2, which replaces this record"]
    assert contents[0][0] == contents[1][0] and contents[0][2] == contents[1][2]
    assert contents[0][1].keys() == contents[1][1].keys()
    assert all(max(abs(a - b) for a, b in zip(v, contents[1][1][k], strict=True)) < 1e-6 for k, v in contents[0][1].items())
    assert any("وقف إطلاق النار" in t for t in contents[1][2].values())
    assert not any("نص أول" in t for t in contents[1][2].values()), "the earlier record of a repeated source was kept"
