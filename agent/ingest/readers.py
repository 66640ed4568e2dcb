"""Readers: files and folders of articles → llama-index ``Document`` objects.

Takes paths to ``.txt``/``.md`` (optional YAML front matter), ``.json`` (an object or a
list) and ``.jsonl`` files, plus a ``manifest.yaml`` beside them; returns one
``Document`` per article (original text kept exactly) and one ``ReadError`` per problem,
so one bad file never stops a batch: files are opened without blocking and read only when
they are regular files (a FIFO, device or socket is skipped), at most ``max_bytes`` of them;
JSON and YAML nested too deeply to parse, lone surrogates (``"\\ud800"``, replaced by U+FFFD)
and a JSON ``id`` used twice in one file are reported, each on its own.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from llama_index.core.schema import Document
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from agent.index.nodes import META_KEYS
from agent.text import arabic

SUPPORTED = {".txt", ".md", ".json", ".jsonl"}
MANIFEST_NAME = "manifest.yaml"
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
DEFAULT_MAX_BYTES = 100_000_000  # ingest.max_file_mb's default
_READ_BLOCK = 1 << 20


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

    def __post_init__(self) -> None:  # a file name that is not UTF-8 must still print and serialize
        object.__setattr__(self, "path", path_text(self.path))

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ReadResult:
    documents: list[Document] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)


class UnreadableFile(Exception):
    """A file that cannot be turned into text; the message is the user-facing reason."""


def clean(text: str) -> str:
    """``text`` with lone surrogates (a JSON ``"\\ud800"`` escape) replaced by U+FFFD: such a string
    cannot be encoded, hashed or stored."""
    return _SURROGATE.sub("\ufffd", text)


def path_text(path: str) -> str:
    """A path as valid text: bytes of a non-UTF-8 file name (kept by Python as surrogates) as ``\\xff``."""
    try:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return clean(path)


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "named pipe"), (stat.S_ISCHR, "character device"),
          (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))


def _not_regular(mode: int) -> UnreadableFile:
    kind = next((name for test, name in _KINDS if test(mode)), "special file")
    return UnreadableFile(f"not a regular file ({kind}); skipped")


def _too_big(size: str, max_bytes: int) -> UnreadableFile:
    return UnreadableFile(f"{size} bytes, over the {max_bytes / 1e6:g} MB limit (ingest.max_file_mb); skipped")


def read_capped(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), never more than ``max_bytes``.

    Raises ``UnreadableFile`` for a FIFO, device, socket or folder (never opened for reading in a
    way that could block) and for a file over the cap; ``OSError`` when it cannot be opened."""
    if not stat.S_ISREG(os.stat(path).st_mode):  # a socket cannot even be opened
        raise _not_regular(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)  # what was opened, in case the path changed since
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(info.st_mode)
        if info.st_size > max_bytes:
            raise _too_big(f"{info.st_size:,}", max_bytes)
        blocks: list[bytes] = []
        left = max_bytes + 1  # a file growing while read, or a /proc file reporting size 0
        while left > 0 and (block := os.read(fd, min(left, _READ_BLOCK))):
            blocks.append(block)
            left -= len(block)
    finally:
        os.close(fd)
    if left <= 0:
        raise _too_big(f"more than {max_bytes:,}", max_bytes)
    return b"".join(blocks)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise UnreadableFile("nested too deeply to read") from None


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise UnreadableFile("nested too deeply to read") from None


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
    """A ``Document`` whose metadata carries everything chunks need to cite it (lone surrogates replaced)."""
    text = clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    meta = meta.model_copy(update={k: clean(v) for k, v in meta.model_dump().items() if isinstance(v, str)})
    source, file = path_text(source), path_text(file)
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
        elif path.exists():  # a regular file, or a FIFO, device or socket: read_file reports those
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

    def unreadable(exc: OSError) -> None:
        errors.append(ReadError(str(exc.filename or folder), f"cannot read folder: {exc.strerror or exc}; skipped"))

    for root, dirs, files in os.walk(folder, followlinks=True, onerror=unreadable):
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


def load_manifest(folder: Path, cache: dict[Path, dict[str, ArticleMeta]], errors: list[ReadError],
                  max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, ArticleMeta]:
    """Entries of ``folder/manifest.yaml`` by file name (read once per folder)."""
    if folder in cache:
        return cache[folder]
    entries: dict[str, ArticleMeta] = {}
    path = folder / MANIFEST_NAME
    if os.path.lexists(path):
        manifest = Manifest(articles=[])
        unread = "; the articles beside it are read without it"
        try:
            data = _parse_yaml(read_capped(path, max_bytes).decode("utf-8"))
            manifest = Manifest.model_validate(data or {"articles": []})
        except UnreadableFile as exc:
            errors.append(ReadError(str(path), f"cannot read manifest: {str(exc).removesuffix('; skipped')}{unread}"))
        except OSError as exc:
            errors.append(ReadError(str(path), f"cannot read manifest: {exc.strerror or exc}{unread}"))
        except (yaml.YAMLError, ValidationError, UnicodeDecodeError, ValueError) as exc:
            errors.append(ReadError(str(path), f"invalid manifest: {_short(exc)}"))
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
    data = _parse_yaml(match.group(1)) or {}
    if not isinstance(data, dict):
        raise UnreadableFile("front matter is not a YAML mapping")
    return data, text[match.end():]


def read_file(path: Path, manifest: dict[str, ArticleMeta], max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
    """Documents in one file; errors for the file or, in JSONL, for single lines."""
    result = ReadResult()
    try:
        text, encoding = decode_bytes(read_capped(path, max_bytes))
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
    key = record.get("id") or where
    if not isinstance(key, (str, int)) or isinstance(key, bool):
        raise UnreadableFile(f"{where}: 'id' must be a string or a number")
    return make_document(text, f"{path.resolve()}#{key}", path.name, encoding, meta)


def _read_records(records: Iterable[tuple[str, Any]], path: Path, encoding: str, result: ReadResult) -> None:
    """The documents of ``(where, record)`` pairs from one file, each failure reported on its own.

    Two records with the same ``id`` would be the same article (``file#id``): the later one is kept,
    as a later version replaces an earlier one (an appended correction), and the earlier one is
    reported, so the counts say what was stored."""
    kept: dict[str, tuple[str, Document]] = {}  # source -> (where, document), in file order
    for where, record in records:
        try:
            doc = _record_document(record, path, encoding, where)
        except UnreadableFile as exc:
            result.errors.append(ReadError(str(path), str(exc)))
            continue
        source = doc.metadata["source"]
        if source in kept:
            earlier, _ = kept.pop(source)
            key = source.rsplit("#", 1)[1]
            result.errors.append(ReadError(str(path), f"{earlier}: id {key!r} is used again on {where}, which replaces this record"))
        kept[source] = (where, doc)
    result.documents.extend(doc for _, doc in kept.values())


def _read_json(text: str, path: Path, encoding: str, result: ReadResult) -> None:
    data = _parse_json(text)
    records = data if isinstance(data, list) else [data]
    _read_records(((f"item {i}", record) for i, record in enumerate(records)), path, encoding, result)


def _read_jsonl(text: str, path: Path, encoding: str, result: ReadResult) -> None:
    _read_records(_jsonl_records(text, path, result), path, encoding, result)


def _jsonl_records(text: str, path: Path, result: ReadResult) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", _parse_json(line)
        except json.JSONDecodeError as exc:
            result.errors.append(ReadError(str(path), f"line {number}: invalid JSON ({exc.msg})"))
        except UnreadableFile as exc:
            result.errors.append(ReadError(str(path), f"line {number}: {exc}"))


def iter_files(files: Iterable[Path], errors: list[ReadError],
               max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[tuple[Path, list[Document]]]:
    """Each file's documents in turn (manifest applied), appending what fails to ``errors``.

    One file at a time, so ingesting a large archive never holds all of it in memory; none
    larger than ``max_bytes`` is read."""
    manifests: dict[Path, dict[str, ArticleMeta]] = {}
    for path in files:
        manifest = load_manifest(path.parent, manifests, errors, max_bytes)
        one = read_file(path, manifest, max_bytes)
        errors.extend(one.errors)
        yield path, one.documents


def read_paths(paths: Iterable[Path], max_bytes: int = DEFAULT_MAX_BYTES) -> ReadResult:
    """Every document under ``paths`` with the manifest beside each file applied."""
    files, errors = discover(paths)
    result = ReadResult(errors=errors)
    for _, documents in iter_files(files, result.errors, max_bytes):
        result.documents.extend(documents)
    return result
