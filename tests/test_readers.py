"""Readers: encodings, bad files, manifest metadata, front matter, JSON and JSONL (agent.ingest.readers)."""

from __future__ import annotations

import codecs
import json
import random
from pathlib import Path

import pytest

from agent.ingest.readers import ReadError, UnreadableFile, decode_bytes, read_paths

ARTICLE = (
    "قالت وزارة الخارجية الروسية إن لافروف وكيري ناقشا الوضع في مدينة حلب.\n"
    "وأضافت أن المحادثة أجريت يوم السبت، بحسب ما ذكرت رويترز.\n"
)

ENCODINGS = {
    # name: (bytes, reported encoding)
    "utf-8": (ARTICLE.encode("utf-8"), "utf-8"),
    "utf-8 with BOM": (codecs.BOM_UTF8 + ARTICLE.encode("utf-8"), "utf-8-sig"),
    "utf-16 LE with BOM": (codecs.BOM_UTF16_LE + ARTICLE.encode("utf-16-le"), "utf-16"),
    "utf-16 BE with BOM": (codecs.BOM_UTF16_BE + ARTICLE.encode("utf-16-be"), "utf-16"),
    "utf-16 LE without BOM": (ARTICLE.encode("utf-16-le"), "utf-16-le"),
    "utf-16 BE without BOM": (ARTICLE.encode("utf-16-be"), "utf-16-be"),
    "windows-1256": (ARTICLE.encode("cp1256"), "windows-1256"),
}


def _binary() -> bytes:
    rng = random.Random(1256)
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(512))


# --- decode_bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ENCODINGS))
def test_decode_bytes_every_supported_encoding(name: str) -> None:
    data, label = ENCODINGS[name]
    text, encoding = decode_bytes(data)
    assert text == ARTICLE
    assert encoding == label


def test_cp1256_bytes_are_not_valid_utf8() -> None:
    """Guard for the Windows-1256 case above: it really exercises the fallback."""
    with pytest.raises(UnicodeDecodeError):
        ARTICLE.encode("cp1256").decode("utf-8")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t \r\n", "empty"),
        (codecs.BOM_UTF8 + b"  \n", "empty"),
        (codecs.BOM_UTF16_LE + " \n ".encode("utf-16-le"), "empty"),
        (_binary(), "binary"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00", "binary"),
    ],
    ids=["empty", "whitespace", "bom-only", "utf16-whitespace", "png", "elf"],
)
def test_decode_bytes_rejects_empty_and_binary(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        decode_bytes(data)


@pytest.mark.parametrize(
    "data",
    [
        "café résumé naïve déjà vu".encode("latin-1"),  # Latin-1, not Arabic: not cp1256 Arabic either
        b"abc \xc3\x28 \x01\x02\x03 def",  # broken UTF-8 with control bytes
    ],
    ids=["latin-1", "broken-utf8-controls"],
)
def test_decode_bytes_rejects_text_in_no_supported_encoding(data: bytes) -> None:
    with pytest.raises(UnreadableFile, match="not valid UTF-8, UTF-16 or Windows-1256"):
        decode_bytes(data)


# --- read_paths: batches ---------------------------------------------------------------------


def _errors_by_name(errors: list[ReadError]) -> dict[str, str]:
    return {Path(e.path).name: e.reason for e in errors}


def test_read_paths_each_encoding_gives_same_document(tmp_path: Path) -> None:
    folder = tmp_path / "enc"
    folder.mkdir()
    for i, (data, _) in enumerate(ENCODINGS.values()):
        (folder / f"{i}.txt").write_bytes(data)
    result = read_paths([folder])
    assert not result.errors
    by_file = {d.metadata["file"]: d for d in result.documents}
    assert len(by_file) == len(ENCODINGS)
    for i, (_, label) in enumerate(ENCODINGS.values()):
        doc = by_file[f"{i}.txt"]
        assert doc.text == ARTICLE
        assert doc.metadata["encoding"] == label
        assert doc.metadata["language"] == "ar"
    # same text -> same content hash whatever the bytes on disk were
    assert len({d.metadata["content_hash"] for d in result.documents}) == 1


def test_crlf_line_endings_become_lf(tmp_path: Path) -> None:
    (tmp_path / "crlf.txt").write_bytes(ARTICLE.replace("\n", "\r\n").encode("utf-8"))
    (doc,) = read_paths([tmp_path / "crlf.txt"]).documents
    assert doc.text == ARTICLE


def test_bad_files_are_reported_and_batch_continues(tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "a_good.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "b_binary.txt").write_bytes(_binary())
    (folder / "c_empty.txt").write_bytes(b"")
    (folder / "d_blank.md").write_text("  \n\n  \n", encoding="utf-8")
    (folder / "e_latin1.txt").write_bytes("café résumé".encode("latin-1"))
    (folder / "f_good.txt").write_bytes(ARTICLE.encode("cp1256"))
    result = read_paths([folder])
    assert sorted(d.metadata["file"] for d in result.documents) == ["a_good.txt", "f_good.txt"]
    errors = _errors_by_name(result.errors)
    assert set(errors) == {"b_binary.txt", "c_empty.txt", "d_blank.md", "e_latin1.txt"}
    assert "binary" in errors["b_binary.txt"]
    assert "empty" in errors["c_empty.txt"]
    assert "empty" in errors["d_blank.md"]
    assert "not valid" in errors["e_latin1.txt"]
    assert all(str(folder) in e.path for e in result.errors)


def test_unsupported_extension_and_missing_path(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    good = tmp_path / "good.txt"
    good.write_text(ARTICLE, encoding="utf-8")
    result = read_paths([pdf, tmp_path / "missing.txt", good])
    assert [d.metadata["file"] for d in result.documents] == ["good.txt"]
    errors = _errors_by_name(result.errors)
    assert "unsupported file type .pdf" in errors["report.pdf"]
    assert "no such file" in errors["missing.txt"]


def test_unsupported_files_inside_a_folder_are_not_read(tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(_binary())
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    result = read_paths([tmp_path])
    assert [d.metadata["file"] for d in result.documents] == ["a.txt"]
    assert not result.errors


# --- metadata --------------------------------------------------------------------------------


def _manifest_entries(seeds: Path) -> dict[str, dict[str, object]]:
    import yaml

    data = yaml.safe_load((seeds / "manifest.yaml").read_text(encoding="utf-8"))
    return {a["file"]: a for a in data["articles"]}


def test_seed_manifest_metadata_applied(seeds_dir: Path) -> None:
    result = read_paths([seeds_dir])
    assert not result.errors
    entries = _manifest_entries(seeds_dir)
    docs = {d.metadata["file"]: d for d in result.documents}
    assert set(docs) == set(entries) and len(docs) == 5
    for name, entry in entries.items():
        meta = docs[name].metadata
        assert meta["published"] == entry["published"].isoformat()
        assert meta["outlet"] == entry["outlet"]
        assert meta["language"] == "ar"
        assert docs[name].text == (seeds_dir / name).read_text(encoding="utf-8")
    assert docs["004_2399a9a2b0d5824e.txt"].metadata["outlet"] == "سيريانيوز"
    assert docs["002_e83c710a14adfa23.txt"].metadata["published"] == "2016-09-28"


def test_manifest_applies_to_a_single_file_argument(seeds_dir: Path) -> None:
    (doc,) = read_paths([seeds_dir / "003_6fb0efb9cf778144.txt"]).documents
    assert doc.metadata["published"] == "2016-10-30"
    assert doc.metadata["outlet"] == "وكالات"


def test_markdown_front_matter(tmp_path: Path) -> None:
    body = "# عنوان\n\nنص المقال عن لافروف وكيري.\n"
    (tmp_path / "a.md").write_text(
        "---\npublished: 2016-10-01\noutlet: رويترز\ntitle: اتصال هاتفي\nurl: https://example.org/a\n---\n" + body,
        encoding="utf-8",
    )
    (doc,) = read_paths([tmp_path / "a.md"]).documents
    assert doc.text == body  # front matter is not article text
    assert doc.metadata["published"] == "2016-10-01"
    assert doc.metadata["outlet"] == "رويترز"
    assert doc.metadata["title"] == "اتصال هاتفي"
    assert doc.metadata["url"] == "https://example.org/a"


def test_front_matter_overrides_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.yaml").write_text(
        "articles:\n  - file: a.md\n    published: 2016-01-01\n    outlet: من الملف\n", encoding="utf-8",
    )
    (tmp_path / "a.md").write_text("---\noutlet: من المقدمة\n---\nنص.\n", encoding="utf-8")
    (doc,) = read_paths([tmp_path]).documents
    assert doc.metadata["outlet"] == "من المقدمة"
    assert doc.metadata["published"] == "2016-01-01"


def test_json_object_and_list(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(
        json.dumps({"id": "x1", "text": "نص أول عن حلب", "date": "2016-09-01T10:00:00Z", "source": "وكالة"}, ensure_ascii=False),
        encoding="utf-8",
    )
    (tmp_path / "many.json").write_text(
        json.dumps([{"text": "نص ثان"}, {"content": "نص ثالث", "published": "2016-09-02", "outlet": "رويترز"}], ensure_ascii=False),
        encoding="utf-8",
    )
    result = read_paths([tmp_path])
    assert not result.errors
    docs = {d.text: d.metadata for d in result.documents}
    assert set(docs) == {"نص أول عن حلب", "نص ثان", "نص ثالث"}
    assert docs["نص أول عن حلب"]["published"] == "2016-09-01"
    assert docs["نص أول عن حلب"]["outlet"] == "وكالة"
    assert docs["نص ثالث"]["published"] == "2016-09-02"
    assert docs["نص ثالث"]["outlet"] == "رويترز"
    # records of one file are distinct documents
    assert len({m["doc_id"] for m in docs.values()}) == 3


def test_json_record_without_text_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"title": "no text"}, {"text": "نص"}]), encoding="utf-8")
    result = read_paths([tmp_path])
    assert [d.text for d in result.documents] == ["نص"]
    assert len(result.errors) == 1 and "item 0" in result.errors[0].reason


def test_invalid_json_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "b.txt").write_text(ARTICLE, encoding="utf-8")
    result = read_paths([tmp_path])
    assert [d.metadata["file"] for d in result.documents] == ["b.txt"]
    assert [Path(e.path).name for e in result.errors] == ["a.json"]


def test_jsonl_broken_line_reported_with_number(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "السطر الأول", "published": "2016-10-01"}, ensure_ascii=False),
        '{"text": "مكسور", ',
        "",
        json.dumps({"text": "السطر الرابع"}, ensure_ascii=False),
        json.dumps({"title": "بلا نص"}, ensure_ascii=False),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_paths([tmp_path / "feed.jsonl"])
    assert [d.text for d in result.documents] == ["السطر الأول", "السطر الرابع"]
    assert result.documents[0].metadata["published"] == "2016-10-01"
    reasons = sorted(e.reason for e in result.errors)
    assert len(reasons) == 2
    assert reasons[0].startswith("line 2") and "invalid JSON" in reasons[0]
    assert reasons[1].startswith("line 5")
    assert all(Path(e.path).name == "feed.jsonl" for e in result.errors)


@pytest.mark.parametrize("bad_date", ["last tuesday", "2016-13-45"])
def test_manifest_with_bad_date_names_the_manifest(tmp_path: Path, bad_date: str) -> None:
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "manifest.yaml").write_text(
        f"articles:\n  - file: a.txt\n    published: {bad_date}\n    outlet: رويترز\n", encoding="utf-8",
    )
    result = read_paths([tmp_path])
    # the article is still read; the manifest problem is reported against the manifest
    assert [d.metadata["file"] for d in result.documents] == ["a.txt"]
    assert [Path(e.path).name for e in result.errors] == ["manifest.yaml"]
    assert result.errors[0].reason


def test_manifest_naming_unknown_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "manifest.yaml").write_text("articles:\n  - file: ghost.txt\n    published: 2016-01-01\n", encoding="utf-8")
    result = read_paths([tmp_path])
    assert len(result.documents) == 1
    assert len(result.errors) == 1 and "ghost.txt" in result.errors[0].reason
    assert Path(result.errors[0].path).name == "manifest.yaml"


def test_front_matter_with_bad_date_is_a_file_error(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\npublished: 2016-02-30\n---\nنص.\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(ARTICLE, encoding="utf-8")
    result = read_paths([tmp_path])
    assert [d.metadata["file"] for d in result.documents] == ["b.txt"]
    assert [Path(e.path).name for e in result.errors] == ["a.md"]
