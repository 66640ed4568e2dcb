"""People, places and sides in article text, with one English name each.

Built from the lexicon (``agent/text/data/lexicon.yaml`` or the user's file): every entity's
Arabic name and spelling variants (سيرغي / سيرجي / سريجي لافروف) match as one entity, a
person's surname alone matches too when no other entity shares it, and ``kind`` / ``side``
say whether it is a person and which country or body it speaks for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.events.textmap import NormText
from agent.text import arabic
from agent.text.lexicon import Analyzer

_PREFIX = r"(?<!\w)(?:[وفبلك]|وب|ول|فب|فل)?"
_END = r"(?!\w)"

# Nationality words and capitals that name a side without naming a person (normalized;
# الأمريكي and الأميركي both match).
SIDE_WORDS: dict[str, str] = {
    r"(?:ال)?ام[ير]{1,2}ك(?:ي|ية|يه|يين|يون|يان|يتين)|امريكا|اميركا|(?:ال)?واشنطن|الولايات\s+المتحدة": "United States",
    r"(?:ال)?روس(?:ي|ية|يه|يين|يون|يان|يتان|يتين)|روسيا|موسكو|الكرملين": "Russia",
}
SIDE_ALIASES = {
    "United States": {"united states", "us", "usa", "u s", "american side", "us side", "washington", "americans", "american"},
    "Russia": {"russia", "russian side", "moscow", "russians", "russian", "kremlin"},
}
_SIDE_RE = [(re.compile(_PREFIX + f"(?:{p})" + _END), side) for p, side in SIDE_WORDS.items()]


@dataclass(frozen=True)
class Mention:
    """One entity or side named in the text (original offsets)."""

    start: int
    end: int
    name: str  # English name (an entity's ``en`` or a side)
    kind: str  # person, country, place, organization, side
    side: str | None


@dataclass(frozen=True)
class EntityInfo:
    en: str
    ar: str
    kind: str
    side: str | None
    pattern: re.Pattern[str]
    aliases: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return " ".join(arabic.normalize(self.en).replace(".", " ").replace("-", " ").split())


@dataclass
class EntityIndex:
    """Finds entities (and side words) in text; maps names to English and sides."""

    entities: list[EntityInfo]

    def mentions(self, nt: NormText, start: int = 0, end: int | None = None, sides: bool = True) -> list[Mention]:
        """Entity mentions in ``nt`` between original offsets, longest first where they overlap."""
        found: list[Mention] = []
        for info in self.entities:
            for _, s, e in nt.finditer(info.pattern, start, end):
                found.append(Mention(s, e, info.en, info.kind, info.side))
        if sides:
            for pattern, side in _SIDE_RE:
                for _, s, e in nt.finditer(pattern, start, end):
                    found.append(Mention(s, e, side, "side", side))
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        kept: list[Mention] = []
        for m in found:
            if kept and m.start < kept[-1].end:
                continue
            kept.append(m)
        return kept

    def matches(self, name: str, normalized_word: str) -> bool:
        """Whether ``normalized_word`` on its own is a spelling of entity ``name``."""
        info = next((i for i in self.entities if i.en == name), None)
        return bool(info and info.pattern.fullmatch(normalized_word))

    def side_of(self, name: str) -> str | None:
        for info in self.entities:
            if info.en == name:
                return info.side
        return name if name in SIDE_WORDS.values() else None

    def source_side(self, name: str | None) -> str | None:
        """The side a source or side name speaks for: a known entity's side (a country is its own side), else a side
        named in it ("Russian Foreign Ministry" → Russia, "الخارجية الأمريكية" → United States), else None."""
        if not name or not name.strip():
            return None
        known = self.english(name)
        if known:
            return self.side_of(known) or (known if self.kind_of(known) == "country" else None)
        words = " ".join(arabic.normalize(name).replace(".", " ").replace("-", " ").split()).split()
        for word in words:
            for side, aliases in SIDE_ALIASES.items():
                if word in aliases:
                    return side
        return None

    def kind_of(self, name: str) -> str | None:
        return next((info.kind for info in self.entities if info.en == name), None)

    def english(self, name: str) -> str | None:
        """The English name for a name given in Arabic or English (None when unknown)."""
        key = " ".join(arabic.normalize(name).replace(".", " ").replace("-", " ").split())
        key = key.removeprefix("the ")
        for info in self.entities:
            if key == info.key or key in info.aliases:
                return info.en
        for side, aliases in SIDE_ALIASES.items():
            if key in aliases:
                return side
        names = {m.name for m in self.mentions(NormText(name))}
        return names.pop() if len(names) == 1 else None


def _word_alternatives(ar: str, variants: list[str]) -> list[set[str]]:
    """Per word of the Arabic name: its normalized spelling and the variants for that position."""
    words = arabic.words(ar)
    slots = [{w} for w in words]
    for variant in variants:
        for i, v in enumerate(arabic.words(variant)[: len(words)]):
            slots[i].add(v)
    return slots


def _alt(words: set[str]) -> str:
    return "(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + ")"


def build_index(analyzer: Analyzer) -> EntityIndex:
    """An index over the analyzer's entities (their ``kind`` and ``side`` come from the lexicon model)."""
    slots = {e.en: _word_alternatives(e.ar, e.variants) for e in analyzer.entities}
    last_words: dict[str, int] = {}
    for s in slots.values():
        for w in s[-1]:
            last_words[w] = last_words.get(w, 0) + 1
    infos: list[EntityInfo] = []
    for entity in analyzer.entities:
        words = slots[entity.en]
        kind, side = entity.kind, entity.side
        full = r"\s+".join(_alt(w) for w in words)
        forms = [full]
        if kind == "person" and len(words) > 1 and all(last_words[w] == 1 for w in words[-1]):
            forms.append(_alt(words[-1]))  # the surname alone: "لافروف", "كيري"
        pattern = re.compile(_PREFIX + "(?:" + "|".join(forms) + ")" + _END)
        aliases = frozenset(" ".join(arabic.normalize(a).replace(".", " ").split()) for a in entity.en_variants if len(a) > 3)
        infos.append(EntityInfo(entity.en, entity.ar, kind, side or None, pattern, aliases))
    return EntityIndex(infos)
