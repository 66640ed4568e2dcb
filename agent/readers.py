"""Readers: files and folders of articles → llama-index ``Document`` objects.

Takes paths to ``.txt``/``.md`` (optional YAML front matter), ``.json`` (an object or a
list) and ``.jsonl`` files, plus a ``manifest.yaml`` beside them; returns one
``Document`` per article (original text kept exactly) and one ``ReadError`` per problem,
so one bad file never stops a batch.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from llama_index.core.schema import Document
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from agent import arabic

SUPPORTED = {".txt", ".md", ".json", ".jsonl"}
MANIFEST_NAME = "manifest.yaml"
META_KEYS = ("doc_id", "source", "file", "published", "outlet", "title", "url", "language", "encoding", "content_hash")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)


class ArticleMeta(BaseModel):
    """Metadata of one article, from a manifest entry, front matter or a JSON record."""

    model_config = ConfigDict(extra="ignore")

    published: dt.date | None = None
    outlet: str | None = None
    title: str | None = None
    url: str | None = None
    language: str | None = None

    @field_validator("published", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str) and "T" in value:
            return value.split("T", 1)[0]
        return value


class ManifestEntry(ArticleMeta):
    file: str


class Manifest(BaseModel):
    articles: list[ManifestEntry]


@dataclass(frozen=True)
class ReadError:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ReadResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)


class UnreadableFile(Exception):
    """A file that cannot be turned into text; the message is the user-facing reason."""


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode article bytes; returns ``(text, encoding)`` or raises ``UnreadableFile``.

    UTF-8 (with or without BOM), UTF-16 (BOM, or NUL-interleaved Arabic/ASCII) and
    Windows-1256, in that order; anything else with NUL bytes is binary.
    """
    if not data.strip():
        raise UnreadableFile("empty file")
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", "utf-8-sig")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", "utf-16")
    if b"\x00" in data:
        guess = _utf16_without_bom(data)
        if guess:
            return guess
        raise UnreadableFile("binary file (contains NUL bytes), not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if _mostly_utf8(data):  # e.g. a truncated last character: not Windows-1256 mojibake
            raise UnreadableFile(f"invalid UTF-8 at byte {exc.start} (the rest of the file is UTF-8)") from None
    text = data.decode("cp1256", errors="strict") if _cp1256_ok(data) else None
    if text is not None and arabic.is_arabic(text):
        return text, "windows-1256"
    raise UnreadableFile("not valid UTF-8, UTF-16 or Windows-1256 text")


def _strict(data: bytes, codec: str, label: str) -> tuple[str, str]:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"invalid {label} at byte {exc.start}") from None
    if not text.strip():
        raise UnreadableFile("empty file")
    return text, label


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    if len(data) % 2:
        return None
    # The high byte of each UTF-16 unit (NUL for ASCII, 0x06 for Arabic) varies far less
    # than the low byte, so the byte position with fewer distinct values is the high one.
    even, odd = len(set(data[0::2])), len(set(data[1::2]))
    for codec in (("utf-16-le", "utf-16-be") if odd <= even else ("utf-16-be", "utf-16-le")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        printable = sum(c.isprintable() or c.isspace() for c in text)
        if text.strip() and printable / len(text) > 0.97:
            return text, codec
    return None


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few bad bytes, as opposed to another encoding (which fails UTF-8 on most
    non-ASCII characters: Windows-1256 Arabic decodes to almost nothing but U+FFFD)."""
    text = data[:1_000_000].decode("utf-8", errors="replace")
    non_ascii = sum(1 for c in text if ord(c) > 127)
    return non_ascii > 0 and text.count("\ufffd") / non_ascii < 0.05


def _cp1256_ok(data: bytes) -> bool:
    try:
        text = data.decode("cp1256")
    except UnicodeDecodeError:
        return False
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t")
    return controls == 0


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_id_for(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def make_document(text: str, source: str, file: str, encoding: str, meta: ArticleMeta) -> Document:
    """A ``Document`` whose metadata carries everything chunks need to cite it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    metadata = {
        "doc_id": doc_id_for(source),
        "source": source,
        "file": file,
        "published": meta.published.isoformat() if meta.published else None,
        "outlet": meta.outlet,
        "title": meta.title,
        "url": meta.url,
        "language": meta.language or ("ar" if arabic.is_arabic(text) else "en"),
        "encoding": encoding,
        "content_hash": content_hash(text),
    }
    return Document(
        id_=metadata["doc_id"], text=text, metadata=metadata,
        excluded_embed_metadata_keys=list(META_KEYS), excluded_llm_metadata_keys=list(META_KEYS),
    )


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[ReadError]]:
    """Article files under ``paths`` (files or folders, recursively), sorted, plus errors."""
    found: list[Path] = []
    errors: list[ReadError] = []
    for path in paths:
        if path.is_dir():
            found.extend(_walk(path, errors))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED:
                found.append(path)
            elif path.name != MANIFEST_NAME:
                errors.append(ReadError(str(path), f"unsupported file type {path.suffix or '(none)'}; use .txt, .md, .json or .jsonl"))
        elif path.is_symlink():
            errors.append(ReadError(str(path), "broken or looping symlink"))
        else:
            errors.append(ReadError(str(path), "no such file or folder"))
    return sorted(dict.fromkeys(found)), errors


def _walk(folder: Path, errors: list[ReadError]) -> Iterator[Path]:
    seen: set[str] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:  # a symlink loop brings us back to a folder already read
            errors.append(ReadError(root, "symlink loop, folder skipped"))
            dirs[:] = []
            continue
        seen.add(real)
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.suffix.lower() in SUPPORTED:
                yield path


def load_manifest(folder: Path, cache: dict[Path, dict[str, ArticleMeta]], errors: list[ReadError]) -> dict[str, ArticleMeta]:
    """Entries of ``folder/manifest.yaml`` by file name (read once per folder)."""
    if folder in cache:
        return cache[folder]
    entries: dict[str, ArticleMeta] = {}
    path = folder / MANIFEST_NAME
    if path.is_file():
        try:
            manifest = Manifest.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {"articles": []})
        except (yaml.YAMLError, ValidationError, UnicodeDecodeError, ValueError) as exc:
            errors.append(ReadError(str(path), f"invalid manifest: {_short(exc)}"))
            manifest = Manifest(articles=[])
        for entry in manifest.articles:
            if not (folder / entry.file).is_file():
                errors.append(ReadError(str(path), f"manifest names unknown file {entry.file}"))
            entries[entry.file] = ArticleMeta(**entry.model_dump(exclude={"file"}))
    cache[folder] = entries
    return entries


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    return str(exc).splitlines()[0]


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    data = yaml.safe_load(match.group(1)) or {}
    if not isinstance(data, dict):
        raise UnreadableFile("front matter is not a YAML mapping")
    return data, text[match.end():]


def read_file(path: Path, manifest: dict[str, ArticleMeta]) -> ReadResult:
    """Documents in one file; errors for the file or, in JSONL, for single lines."""
    result = ReadResult()
    try:
        text, encoding = decode_bytes(path.read_bytes())
    except UnreadableFile as exc:
        result.errors.append(ReadError(str(path), str(exc)))
        return result
    except OSError as exc:
        result.errors.append(ReadError(str(path), f"cannot read: {exc.strerror or exc}"))
        return result
    source = str(path.resolve())
    suffix = path.suffix.lower()
    try:
        if suffix == ".jsonl":
            _read_jsonl(text, path, encoding, result)
        elif suffix == ".json":
            _read_json(text, path, encoding, result)
        else:
            front, body = split_front_matter(text)
            meta = _merge_meta(manifest.get(path.name), front)
            if not body.strip():
                raise UnreadableFile("no article text after the front matter")
            result.documents.append(make_document(body, source, path.name, encoding, meta))
    except (UnreadableFile, ValidationError, yaml.YAMLError, ValueError) as exc:  # yaml raises ValueError for impossible dates
        result.errors.append(ReadError(str(path), _short(exc)))
    return result


def _merge_meta(base: ArticleMeta | None, extra: dict[str, Any]) -> ArticleMeta:
    data = base.model_dump() if base else {}
    data.update({k: v for k, v in _aliases(extra).items() if v is not None})
    return ArticleMeta.model_validate(data)


def _aliases(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for alias, key in (("date", "published"), ("source", "outlet"), ("lang", "language")):
        if alias in out and key not in out:
            out[key] = out[alias]
    return out


def _record_document(record: Any, path: Path, encoding: str, where: str) -> Document:
    if not isinstance(record, dict):
        raise UnreadableFile(f"{where}: expected a JSON object with a 'text' field")
    text = record.get("text") or record.get("content") or record.get("body")
    if not isinstance(text, str) or not text.strip():
        raise UnreadableFile(f"{where}: no 'text' (or 'content'/'body') string")
    try:
        meta = _merge_meta(None, record)
    except ValidationError as exc:
        raise UnreadableFile(f"{where}: {_short(exc)}") from None
    key = str(record.get("id") or where)
    return make_document(text, f"{path.resolve()}#{key}", path.name, encoding, meta)


def _read_json(text: str, path: Path, encoding: str, result: ReadResult) -> None:
    data = json.loads(text)
    records = data if isinstance(data, list) else [data]
    for i, record in enumerate(records):
        try:
            result.documents.append(_record_document(record, path, encoding, f"item {i}"))
        except UnreadableFile as exc:
            result.errors.append(ReadError(str(path), str(exc)))


def _read_jsonl(text: str, path: Path, encoding: str, result: ReadResult) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            result.documents.append(_record_document(record, path, encoding, f"line {number}"))
        except json.JSONDecodeError as exc:
            result.errors.append(ReadError(str(path), f"line {number}: invalid JSON ({exc.msg})"))
        except UnreadableFile as exc:
            result.errors.append(ReadError(str(path), str(exc)))


def iter_files(files: Iterable[Path], errors: list[ReadError]) -> Iterator[tuple[Path, list[Document]]]:
    """Each file's documents in turn (manifest applied), appending what fails to ``errors``.

    One file at a time, so ingesting a large archive never holds all of it in memory."""
    manifests: dict[Path, dict[str, ArticleMeta]] = {}
    for path in files:
        manifest = load_manifest(path.parent, manifests, errors)
        one = read_file(path, manifest)
        errors.extend(one.errors)
        yield path, one.documents


def read_paths(paths: Iterable[Path]) -> ReadResult:
    """Every document under ``paths`` with the manifest beside each file applied."""
    files, errors = discover(paths)
    result = ReadResult(errors=errors)
    for _, documents in iter_files(files, result.errors):
        result.documents.extend(documents)
    return result
