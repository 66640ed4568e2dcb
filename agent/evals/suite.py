"""Eval suites: the YAML format, its validation and the verbatim check of every gold quote.

A suite is ``{name, description, items: [...]}``; each item has an id, a question, its
language and kind, a reference answer, key facts (alternatives), gold sources (file +
verbatim quote) and whether it is answerable. ``load_suite`` validates every item with
pydantic, checks each quote against the corpus folder and reports one line per bad item.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import DalilError

Kind = Literal["factoid", "number", "multi_hop", "timeline", "disagreement", "initiator", "which_call", "unanswerable"]
Lang = Literal["ar", "en"]
SlotType = Literal["initiator", "date", "number", "speaker", "participant", "event", "place"]
Tag = Literal["paraphrase", "weekday", "relative_date", "near_miss", "issue", "list", "order", "compare", "multi_part"]
KINDS: tuple[str, ...] = get_args(Kind)
LANGS: tuple[str, ...] = get_args(Lang)
SLOT_TYPES: tuple[str, ...] = get_args(SlotType)
TAGS: tuple[str, ...] = get_args(Tag)
CALL_TAG = re.compile(r"^call:\d{4}-\d{2}-\d{2}$")  # the dated call an item is about, e.g. call:2016-10-05


class SuiteError(DalilError):
    """A suite that cannot be used; ``problems`` has one line per bad item."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


class Source(BaseModel):
    """A gold passage: a verbatim quote from one corpus file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1, description="file name inside the corpus folder")
    quote: str = Field(min_length=1, description="verbatim substring of that file")


class Slot(BaseModel):
    """The one fact a structured question asks for (who initiated, when, how many, who said ...).

    ``value`` is the canonical answer; ``accept`` other forms that count as the same value
    (e.g. the Arabic phrases an extractive answer quotes); ``reject`` forms that, in the
    derived English lead, mean a wrong value (e.g. the day the ministry reported the call
    instead of the day it took place). All are compared after ``textnorm.norm``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: SlotType
    value: str = Field(min_length=1)
    accept: list[str] = Field(default_factory=list)
    reject: list[str] = Field(default_factory=list)

    @field_validator("accept", "reject")
    @classmethod
    def _no_blank_forms(cls, value: list[str]) -> list[str]:
        if not all(v.strip() for v in value):
            raise ValueError("forms must be non-empty")
        return value

    def forms(self) -> list[str]:
        return [self.value, *self.accept]


class Item(BaseModel):
    """One question with its reference answer, key facts and gold sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    lang: Lang
    kind: Kind
    answer: str = Field(min_length=1, description="reference answer")
    keys: list[list[str]] = Field(default_factory=list, description="facts; each a list of alternatives, any one is enough")
    sources: list[Source] = Field(default_factory=list)
    answerable: bool = True
    slot: Slot | None = Field(default=None, description="the fact a structured question asks for (answerable items)")
    tags: list[str] = Field(default_factory=list, description=f"any of {', '.join(TAGS)} and call:YYYY-MM-DD")

    @field_validator("tags")
    @classmethod
    def _known_tags(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in TAGS and not CALL_TAG.match(t)]
        if unknown:
            raise ValueError(f"unknown tag {unknown[0]!r} (use {', '.join(TAGS)} or call:YYYY-MM-DD)")
        return value

    @field_validator("keys", mode="before")
    @classmethod
    def _single_alternative(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [[v] if isinstance(v, str) else v for v in value]
        return value

    @field_validator("keys")
    @classmethod
    def _no_empty_alternatives(cls, value: list[list[str]]) -> list[list[str]]:
        for i, alternatives in enumerate(value):
            if not alternatives or not all(a.strip() for a in alternatives):
                raise ValueError(f"key {i} needs at least one non-empty alternative")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        if self.kind == "unanswerable" and self.answerable:
            raise ValueError("kind unanswerable needs answerable: false")
        if self.answerable and not self.sources:
            raise ValueError("an answerable item needs at least one source")
        if self.slot is not None and not self.answerable:
            raise ValueError("an unanswerable item has no slot to fill")
        return self


@dataclass(frozen=True)
class Suite:
    """A validated suite whose quotes were found verbatim in ``corpus``."""

    path: Path
    sha256: str
    name: str
    description: str | None
    items: list[Item]
    corpus: Path
    texts: dict[str, str] = field(repr=False)  # file name -> article text

    def text_of(self, file: str) -> str:
        return self.texts[Path(file).name]


def default_corpus(suite_path: Path) -> Path:
    """``seeds/`` next to the suite's folder (``evals/dev.yaml`` → ``seeds/``)."""
    return suite_path.resolve().parent.parent / "seeds"


def read_article(path: Path) -> str:
    """Article text as ingest sees it (UTF-8, BOM dropped, newlines unified)."""
    return path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")


def load_suite(path: Path, corpus: Path | None = None) -> Suite:
    """Read, validate and quote-check a suite; raises ``SuiteError`` listing every bad item."""
    raw = _read_yaml(path)
    items, problems = parse_items(raw["items"], path)
    corpus = corpus or default_corpus(path)
    if not corpus.is_dir():
        raise SuiteError([f"{path}: corpus folder not found: {corpus} (use --corpus)"])
    labels: dict[str, str] = {}
    for index, entry in enumerate(raw["items"], start=1):
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            labels.setdefault(entry["id"], _label(index, entry))
    texts, quote_problems = check_quotes(items, corpus, labels)
    problems += [f"{path}: {p}" for p in quote_problems]
    if problems:
        raise SuiteError(problems)
    name = raw["name"] if isinstance(raw.get("name"), str) else path.stem
    description = raw.get("description") if isinstance(raw.get("description"), str) else None
    return Suite(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), name=name,
                 description=description, items=items, corpus=corpus, texts=texts)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError([f"suite not found: {path}"]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SuiteError([f"{path}: not valid YAML: {' '.join(str(exc).split())}"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list) or not data["items"]:
        raise SuiteError([f"{path}: a suite is a mapping with a non-empty `items` list"])
    return data


def parse_items(raw_items: list[Any], path: Path) -> tuple[list[Item], list[str]]:
    """Validated items and one problem line per invalid or duplicate item."""
    items: list[Item] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_items, start=1):
        label = _label(index, raw)
        try:
            item = Item.model_validate(raw)
        except ValidationError as exc:
            problems.append(f"{path}: {label}: {_describe(exc)}")
            continue
        if item.id in seen:
            problems.append(f"{path}: {label}: duplicate id")
            continue
        seen.add(item.id)
        items.append(item)
    return items, problems


def _label(index: int, raw: Any) -> str:
    item_id = raw.get("id") if isinstance(raw, dict) else None
    return f"item #{index} ({item_id})" if item_id else f"item #{index}"


def _describe(exc: ValidationError) -> str:
    """All of an item's validation errors on one line, each naming its field."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"field {where}: {msg}" if where else msg)
    return "; ".join(parts)


def check_quotes(items: list[Item], corpus: Path, labels: dict[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """Texts of the files the items cite, and one problem per item whose quote is not verbatim there."""
    labels = labels or {}
    texts: dict[str, str] = {}
    problems: list[str] = []
    for item in items:
        bad: list[str] = []
        for i, source in enumerate(item.sources):
            name = Path(source.file).name
            if name not in texts:
                file = corpus / source.file
                if not file.is_file():
                    bad.append(f"sources[{i}].file {source.file} not found in {corpus}")
                    continue
                texts[name] = read_article(file)
            if source.quote not in texts[name]:
                bad.append(f"sources[{i}].quote not found verbatim in {source.file}")
        if bad:
            problems.append(f"{labels.get(item.id, f'item {item.id}')}: " + "; ".join(bad))
    return texts, problems


def select(items: list[Item], only: list[str] | None = None, kind: str | None = None, limit: int | None = None) -> list[Item]:
    """Items picked by ``--only`` ids, ``--kind`` and ``--limit`` (in suite order)."""
    if kind is not None and kind not in KINDS:
        raise DalilError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if only:
        unknown = sorted(set(only) - {i.id for i in items})
        if unknown:
            raise DalilError(f"--only: no item with id {', '.join(unknown)} in the suite")
        items = [i for i in items if i.id in set(only)]
    if kind is not None:
        items = [i for i in items if i.kind == kind]
    if limit is not None:
        items = items[:limit]
    if not items:
        raise DalilError("no items left after --only/--kind/--limit")
    return items
