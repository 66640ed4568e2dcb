"""Lexicon and analyzer: entity spellings and English→Arabic terms, applied to search terms.

Takes the lexicon YAML (bundled, or the user's file from settings) and text; returns
search terms where spelling variants collapse to one form (سيرجي/سريجي → سيرغي,
الأميركي → الأمريكي) and, for queries, *concepts*: groups of alternative terms, one
group per word of the question, with English words bridged to Arabic terms.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import DalilError
from agent.text import arabic

BUNDLED = Path(__file__).parent / "data" / "lexicon.yaml"
_PREFIXES = "وبلفك"
T = TypeVar("T")
TERMS_CACHED = 20_000  # texts whose terms an analyzer keeps (a few MB)

# nouns for a person by their office, in both languages: "the spokesman" asks for a name, "the name of the
# spokesman" is answered by one (agent.answer.extractive.names); one list for the question and the answer
ROLE_NOUNS = frozenset("official spokesman spokeswoman spokesperson minister officer general commander leader envoy diplomat "
                       "president chief head ambassador "
                       "متحدث ناطق مسؤول وزير قيادي زعيم قائد ضابط جنرال عسكري مبعوث رئيس سفير".split())


class Entity(BaseModel):
    """One person, place or body: its English name, Arabic spellings and English variants."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently dropped

    en: str
    ar: str
    kind: Literal["person", "country", "place", "organization", "other"] = "other"
    side: str | None = None  # the country or body a person speaks for
    roles: list[str] = Field(default_factory=list)  # titles that refer to the person: "الرئيس الروسي"
    variants: list[str] = Field(default_factory=list)
    en_variants: list[str] = Field(default_factory=list)


class LexiconFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entities: list[Entity] = Field(default_factory=list)
    substrings: list[tuple[str, str]] = Field(default_factory=list)
    terms: dict[str, list[str]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Concept:
    """One word of a query with the terms that count as matching it."""

    word: str
    alternatives: frozenset[str]


@dataclass
class Analyzer:
    """Turns text into search terms, consistently for documents and queries."""

    variants: dict[str, str] = field(default_factory=dict)
    substrings: list[tuple[str, str]] = field(default_factory=list)
    bridges: dict[str, list[str]] = field(default_factory=dict)
    entities: list[Entity] = field(default_factory=list)
    _terms: dict[str, list[str]] = field(default_factory=dict, repr=False, compare=False)
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    def memo(self, kind: str, text: str, compute: Callable[[], T]) -> T:
        """``compute()`` for ``text``, kept with this analyzer (whose lexicon decides the result): a question is
        understood several times over an answer (frame, planner, checks)."""
        key = (kind, text)
        if key not in self._memo:
            if len(self._memo) >= TERMS_CACHED:
                self._memo.clear()
            self._memo[key] = compute()
        return cast(T, self._memo[key])

    def canonical(self, word: str) -> str:
        for old, new in self.substrings:
            if old in word:
                word = word.replace(old, new)
        if word in self.variants:
            return self.variants[word]
        if len(word) > 3 and word[0] in _PREFIXES and word[1:] in self.variants:
            return word[0] + self.variants[word[1:]]
        return word

    def terms(self, text: str) -> list[str]:
        """Stemmed search terms of ``text`` with spelling variants unified and stopwords removed."""
        found = self._terms.get(text)
        if found is None:  # an answer asks again for the same passages and sentences; a long-lived process, across answers
            stop = arabic.stopwords()
            found = [arabic.stem(self.canonical(w)) for w in arabic.words(text) if w not in stop]
            if len(self._terms) >= TERMS_CACHED:
                self._terms.clear()
            self._terms[text] = found
        return list(found)

    def concepts(self, question: str) -> list[Concept]:
        """The question's content words, each with its own stem plus bridged Arabic stems."""
        stop = arabic.stopwords()
        tokens = arabic.words(_IDIOMS.sub(" ", arabic.normalize(question)))
        concepts: list[Concept] = []
        used: set[int] = set()
        for i in range(len(tokens)):
            for size in (3, 2):  # multiword English phrases first ("united nations")
                phrase = " ".join(tokens[i:i + size])
                if len(tokens[i:i + size]) == size and phrase in self.bridges and not used & set(range(i, i + size)):
                    concepts.append(Concept(phrase, frozenset(self._bridge_terms(phrase))))
                    used.update(range(i, i + size))
        for i, word in enumerate(tokens):
            if i in used or word in stop or word in _QUERY_ONLY_STOP or (len(word) > 2 and word[0] in "وف" and word[1:] in stop):
                continue
            word = _COLLOQUIAL_THIS.sub(r"\1", word)  # "هالزيارة" (this visit, colloquial) is "الزيارة"
            stem = arabic.stem(self.canonical(word))
            alternatives = {stem, *_inflections(word, stem)} | set(self._bridge_terms(self._bridged_form(word)))
            concepts.append(Concept(word, frozenset(alternatives)))
        return concepts

    def query_terms(self, question: str) -> list[str]:
        """Flat list of every alternative term of every concept (for BM25)."""
        return sorted({t for c in self.concepts(question) for t in c.alternatives})

    def forms(self, entity: Entity) -> list[str]:
        """How the articles may write an entity: its name and spellings and, for a place or a country, the Arabic
        of its English words ("Ukraine": أوكرانيا, and the articles' الأوكراني)."""
        forms = [entity.ar, *entity.variants]
        if entity.kind != "person":
            forms += [ar for word in [entity.en.lower(), *entity.en_variants] for ar in self.bridges.get(word, [])]
        return list(dict.fromkeys(f for f in forms if f))

    def expanded_query(self, question: str) -> str:
        """The question followed by the Arabic forms of its English words (for the dense retriever)."""
        extra = [ar for word in arabic.words(question) for ar in self.bridges.get(word, [])]
        return question if not extra else f"{question} {' '.join(dict.fromkeys(extra))}"

    def _bridged_form(self, word: str) -> str:
        """The form of a question word the lexicon bridges: the word, or the word without its article and
        clitics when only that is listed (the lexicon's "وعد" for the question's "الوعد", "بالوعد")."""
        if word in self.bridges or not arabic.is_arabic(word):
            return word
        bare = _CLITICS.sub("", word)
        # and without an object pronoun: "بتجميده" is the lexicon's "تجميد"
        for form in (bare, _PRONOUN_END.sub("", bare)):
            if len(form) >= 3 and form in self.bridges:
                return form
        return word

    def _bridge_terms(self, word: str) -> list[str]:
        """The stems of a word's Arabic forms, with the inflections an article may give them ("collapse" →
        انهيار, and the article's "وانهار")."""
        out = []
        for ar in self.bridges.get(word, []):
            for w in arabic.words(ar):
                stems = self.terms(w)
                out += stems + [t for s in stems for t in _inflections(w, s)]
        return out



# a preposition with a pronoun ("إليه", "عنها") that NLTK's list lacks: nothing a question asks about. Query side
# only: the stored terms keep them (changing the stopwords would change every stored chunk's terms)
_PREPOSITION_PRONOUNS = frozenset("اليه اليها اليهم عليها عليهم عنه عنها عنهم منهم فيهم لديه لديها معه معها معهم معنا".split())
# words that frame where a figure comes from ("according to the figures it conveyed", "Sputnik's tally"), and
# "جراء" (as a result of): nothing asked about. Query side only, as above
_FRAMING = frozenset("الارقام ارقام الاحصاءات احصاءات احصائيات نقلتها نقلها جراء tally figures التفسير تفسير "
                     # "ما الذي تقول موسكو …، بحسب تقرير يوم الأربعاء": who says it and where, not what is asked
                     "تقول يقول تقرير التقرير "
                     # a date's modifiers: the question frame reads the date ("مطلع تشرين الأول"), search need not
                     "مطلع اواخر اوائل منتصف بنص "
                     # "عن إمكانية قطع الاتصالات": the possibility is the question's frame, cutting them its topic;
                     # "من أي جهة" asks which party, it names none
                     "امكانيه امكانية احتمال جهه جهة".split())
_QUERY_ONLY_STOP = _PREPOSITION_PRONOUNS | _FRAMING
# the colloquial demonstrative glued to a noun: "هالزيارة", "بهالاتصال" (this visit, this call); query side only
_COLLOQUIAL_THIS = re.compile(r"^((?:و|ف)?(?:ب|ل)?)ه(?=ال\S{3,})")
# a leading conjunction, preposition and article: "والوعد", "بالتقرير" (normalized)
_CLITICS = re.compile(r"^(و|ف)?(بال|لل|كال|ال|ب|ل|ك)")
_PRONOUN_END = re.compile(r"(هما|ها|هم|ه)$")
# idioms of a question whose words ask nothing: "did Lavrov ring Kerry or was it the other way round?"
_IDIOMS = re.compile(r"\b(the )?other way (a)?round\b|\bvice versa\b|(^|\s)(ام|او|ولا) (العكس|بالعكس)(?=\s|$|[؟?])")


def _inflections(word: str, stem: str) -> set[str]:
    """Stems an article may give the same Arabic word that Snowball stems differently, for query
    matching only (the index keeps Snowball's stems): accusative tanween ("مدنيا" → مدني, while
    "مدني" → مدن), a nisba "ي" ("عسكري" → عسكر), the feminine plural "ات" ("خروقات" → خروق, خرق),
    a leading conjunction Snowball keeps (the query's "وانهار" is انهار, the article's is وانهار), and a
    three-letter verb in the other tense (حمل / يحمل)."""
    if not arabic.is_arabic(word) or len(word) < 3:
        return set()
    forms = set()
    if word.endswith("ا"):
        forms.add(word[:-1])
    if word.endswith("ات") and len(word) > 4:
        forms.update({word[:-2], word[:-2] + "ة"})
        if len(word) == 6 and word[2] == "و":  # broken plural فعولات → فعل: "خروقات" → "خرق"
            forms.add(word[0:2] + word[3])
    if word[0] in "وف" and len(word) > 4:
        forms.add(word[1:])
    if word[0] == "ا" and not word.startswith("ال"):  # Snowball keeps "ب" before an alef: the article's "بأسلحة" is باسلح
        forms.add("ب" + word)
    colloquial_passive = re.match(r"^(?:و|ف)?ان([^ت]\S{2})(ت|و|وا)?$", word)  # not "انتهك": ن-ه-ك
    if colloquial_passive:  # the spoken passive (form VII) of a three-letter root: "انضرب" (was hit) is ضرب, "انقصفت" قصف
        forms.add(colloquial_passive.group(1))
    out = {arabic.stem(f) for f in forms}
    if word[0] != "و":  # the article's "وانهار" is indexed as وانهار
        out.add(arabic.stem("و" + word))
    out.update(s[:-1] for s in {stem, *out} if s.endswith("ي") and len(s) > 3)
    # a verb in the other tense: Snowball keeps the imperfect's prefix, so the question's "حمّلت" (حمل) and
    # the article's "يحملون" (يحمل) meet only through these; three-letter stems only (a root, not a noun's pattern)
    # (a leading ت is also a perfect's own pattern, تطرّق, so only ي is taken off)
    noun = re.match(r"^(و|ف)?(ال|بال|لل|كال|ب|ل|ك)", word) is not None  # "القدم" is no verb (its تقدم would be "progress")
    if not noun and len(stem) == 3 and stem[0] not in "يتنا" and stem[-1] not in "ةه":
        out.update({"ي" + stem, "ت" + stem})
    elif not noun and len(stem) == 4 and stem[0] == "ي":
        out.add(stem[1:])
    return out - {stem}


def load_lexicon_file(path: Path) -> LexiconFile:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return LexiconFile.model_validate(data)
    except FileNotFoundError:
        raise DalilError(f"lexicon file not found: {path}") from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise DalilError(f"lexicon file {path} is invalid: {str(exc).splitlines()[0]}") from None


_CODE = ("arabic.py", "lexicon.py")  # the code that turns text into terms (with the lexicon's spellings)


@cache
def analyzer_key(path: Path | None = None) -> str:
    """Fingerprint of what ``Analyzer.terms`` and ``canonical`` make of a text: their code and the lexicon file's
    bytes. The store keeps the one its chunks were analyzed by; ingest analyzes them again when it changes."""
    digest = hashlib.sha256()
    for name in _CODE:
        digest.update(name.encode() + b"\0" + (Path(__file__).parent / name).read_bytes())
    try:
        digest.update((path or BUNDLED).read_bytes())
    except OSError:
        digest.update(b"unreadable")  # load_analyzer fails on it anyway
    return digest.hexdigest()[:20]


@cache
def load_analyzer(path: Path | None = None) -> Analyzer:
    """The analyzer for a lexicon file (the bundled one when ``path`` is None)."""
    lexicon = load_lexicon_file(path or BUNDLED)
    variants: dict[str, str] = {}
    bridges: dict[str, list[str]] = {}
    for entity in lexicon.entities:
        canonical_words = arabic.words(entity.ar)
        for variant in entity.variants:
            for v_word, c_word in zip(arabic.words(variant), canonical_words, strict=False):
                variants[v_word] = c_word
        for en in [*entity.en_variants, entity.en]:
            bridges.setdefault(arabic.normalize(en), []).append(entity.ar)
    for en, ars in lexicon.terms.items():
        bridges.setdefault(arabic.normalize(en), []).extend(ars)
        if "ة" in en:  # people type "الغايه" for "الغاية": either spelling of a question word finds the paraphrase
            bridges.setdefault(arabic.fold(en), []).extend(ars)
    substrings = [(arabic.normalize(a), arabic.normalize(b)) for a, b in lexicon.substrings]
    return Analyzer(variants=variants, substrings=substrings, bridges=bridges, entities=lexicon.entities)
