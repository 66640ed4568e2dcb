"""Arabic-first text handling for search: normalization, sentence spans, search terms.

Takes original article text; returns normalized strings, sentence spans (offsets into
the original, which is always what gets displayed and quoted) and stemmed terms for
BM25 and the local embedder. Normalization is for matching only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import Stemmer

_TASHKEEL_CHARS = "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"  # diacritics + tatweel
_TASHKEEL = re.compile(f"[{_TASHKEEL_CHARS}]")
_LETTERS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ؤ": "و", "ئ": "ي",
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Extended (Persian) digits
    "٫": ".", "٬": ",",
}
_LETTER_MAP = str.maketrans(_LETTERS)
# In running text (``normalize_with_offsets``) zero-width joiners and direction marks, which pasted web
# text carries inside words, are dropped too, and Persian yeh is read as ي.
_IN_TEXT_DROPPED = re.compile(f"[{_TASHKEEL_CHARS}\u200c-\u200f]")
_IN_TEXT_LETTERS = _LETTERS | {"ی": "ي"}
_WORD = re.compile(r"[^\W_]+(?:\.\d+)?", re.UNICODE)
# Sentence ends: Latin and Arabic full stop, ؟ ! ؛ and line breaks (the Arabic comma is a
# softer boundary used only when a single sentence is too long for a chunk).
_SENTENCE_END = re.compile(r"[.!?؟!؛…]+[\"'”»)\]]*|\n+")
_CLAUSE_END = re.compile(r"[،,:]")
_ARABIC = re.compile("[\u0600-\u06ff]")
QUESTION_WORDS = frozenset((
    "متي من ما ماذا كيف لماذا لم هل اين كم اي ايه ماهو ماهي هو هي لمن بمن ممن عمن "
    "what who whom whose when where why how which did does do is are was were "
    "the a an of in on at to for by with about and or according "
    # words that frame a question about the articles rather than ask for content
    "المقالات المقاله المقال الخبر الاخبار المصادر تذكر يذكر ذكرت تشير يشير تنقل نقلت بحسب وفق وفقا تاريخ الروايات الروايه اسم اسما "
    "مقال مقاله روايه "
    "article articles report reports reported mention mentioned mentions say says said date source sources "
    # colloquial question and function words (Levantine, Gulf, Egyptian) analysts also type
    "مين ومين اللي شو ايش وين ليش امتى امتي قديش اديش ازاي ليه عشان علشان هاد هادا هاي هذي يعني ولا بدو "
    "هلق هلا هلأ بدي بدنا بدها بدهم رح عم اعرف نعرف قلي قللي خبرني فهمني وش كام انو باي بايه لاي "
    "بشو لشو عشو بايش لايش"  # "بشو انضرب المستشفى" (with what was the hospital hit)
).split())


def normalize(text: str) -> str:
    """Search form of ``text``: NFKC, no diacritics/tatweel, unified alef/hamza/ya, ASCII digits, lowercase."""
    text = unicodedata.normalize("NFKC", text)
    text = _TASHKEEL.sub("", text)
    return text.translate(_LETTER_MAP).lower()


def fold(text: str) -> str:
    """``normalize(text)`` with ta marbuta read as ha (ة→ه): the form the answer rules match on, where
    "المبادرة" and a stem's "المبادره" must meet. One character for one, so offsets stay those of ``normalize``."""
    return normalize(text).replace("ة", "ه")


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """Matching form of ``text`` and, for each of its characters, its index in ``text``.

    For rules that find a phrase in the normalized text and quote it from the original
    (``agent.text.dates``). The same folding as ``normalize``, one character at a time and never into
    several, so every offset maps back: no NFKC, and case is kept (English rules tell the month
    "May" from "may"). It also drops zero-width and direction marks and reads Persian yeh (ی) as ي;
    ``normalize`` does not, because the stored search terms were built without that.
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if _IN_TEXT_DROPPED.match(ch):
            continue
        chars.append(_IN_TEXT_LETTERS.get(ch, ch))
        index.append(i)
    return "".join(chars), index


def dropped(ch: str) -> bool:
    """Whether ``normalize_with_offsets`` drops ``ch`` (a diacritic, tatweel or invisible mark)."""
    return bool(_IN_TEXT_DROPPED.match(ch))


def is_arabic(text: str, sample: int = 4000) -> bool:
    """Whether most letters (of the first ``sample``) are Arabic; cheap on very long texts."""
    letters = arabic_letters = 0
    for char in text:
        if char.isalpha():
            letters += 1
            arabic_letters += bool(_ARABIC.match(char))
            if letters >= sample:
                break
    return letters > 0 and arabic_letters / letters > 0.3


@dataclass(frozen=True)
class Span:
    start: int
    end: int

    def of(self, text: str) -> str:
        return text[self.start:self.end]


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of ``text[start:end]`` split on ``. ؟ ! ؛`` and newlines, as spans of the original."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.group().startswith(".") and _is_decimal_point(text, match.start()):
            continue
        span = _trimmed(text, cursor, match.end())
        if span and any(c.isalnum() for c in span.of(text)):
            spans.append(span)
        cursor = match.end()
    tail = _trimmed(text, cursor, end)
    if tail and any(c.isalnum() for c in tail.of(text)):
        spans.append(tail)
    return spans


def _is_decimal_point(text: str, pos: int) -> bool:
    return 0 < pos < len(text) - 1 and text[pos - 1].isdigit() and text[pos + 1].isdigit()


def clause_spans(text: str, span: Span) -> list[Span]:
    """Split one over-long sentence on Arabic/Latin commas and colons."""
    spans: list[Span] = []
    cursor = span.start
    for match in _CLAUSE_END.finditer(text, span.start, span.end):
        piece = _trimmed(text, cursor, match.end())
        if piece:
            spans.append(piece)
        cursor = match.end()
    tail = _trimmed(text, cursor, span.end)
    if tail:
        spans.append(tail)
    return spans


def paragraph_spans(text: str) -> list[Span]:
    """Non-empty lines of ``text`` as spans (news paragraphs are one per line)."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        span = _trimmed(text, match.start(), match.end())
        if span:
            spans.append(span)
    return spans


@cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


@cache
def stopwords() -> frozenset[str]:
    """Arabic and English stopwords from the NLTK lists bundled with llama-index (no download), less the
    content words the Arabic list holds (``_CONTENT_WORDS``). A store ingested before that change keeps
    those words out of its stored terms until its articles are ingested again; nothing breaks."""
    import llama_index.core as li

    folder = Path(li.__file__).parent / "_static" / "nltk_cache" / "corpora" / "stopwords"
    words: set[str] = set()
    for lang in ("arabic", "english"):
        path = folder / lang
        if path.is_file():
            words.update(normalize(w) for w in path.read_text(encoding="utf-8").split())
    return frozenset((words - _CONTENT_WORDS) | QUESTION_WORDS)


# words NLTK's Arabic list holds that news questions ask about: "patience" (صبر), "north", "left" (غادر),
# "happened", "took" (اتخذ), "name", "date", money. Kept searchable (normalized forms).
_CONTENT_WORDS = frozenset(normalize(w) for w in (
    "صبر صبرا شمال يمين غادر زعم خبر اخبر الخبر الاخبار علم اسم تاريخ عاد حدث وجد ترك اتخذ تخذ تحول ظن رجع ذهب "
    "رزق درهم دولار دينار ريال يورو جنيه ليرة شيكل المصادر الروايات الرواية"
).split())


# No word of any language comes close; a longer run of letters (a base64 blob, a 50 MB "word") is
# cut here, once for BM25 terms, the local embedder and queries alike, so its stem and character
# n-grams cost memory in proportion to this, not to the run (an 8 MB word took 2.2 GB to embed).
# Not a setting: stored terms and vectors depend on it, so it must not differ between runs.
MAX_TOKEN_CHARS = 64


def words(text: str) -> list[str]:
    """Normalized word tokens (no stemming, stopwords kept), each at most ``MAX_TOKEN_CHARS`` long."""
    return [w[:MAX_TOKEN_CHARS] for w in _WORD.findall(normalize(text))]


def skeleton(word: str) -> str:
    """A word without its long vowels and weak letters (ا و ي ى, and ة ه at the end): a crude root, for
    presence checks only ("انتهكت" and "الانتهاكات" share one once "ال" is off). By hand: Snowball stems
    the verb and its verbal noun apart, and no library in the stack gives Arabic roots offline."""
    return re.sub(r"[اويى]", "", word).rstrip("ةه")


_LI_TAFIL = re.compile(r"^(و|ف)?لت[^\Wاويى]{2}ي[^\Wاويى](ات|ه)?$")


def stem(word: str) -> str:
    """Snowball stem of one normalized word (Arabic or English)."""
    if _ARABIC.match(word):
        if word.startswith("وال") and len(word) > 4:  # Snowball keeps the conjunction و-: والخارجية → والخارج, الخارجية → خارج
            word = word[1:]
        elif _LI_TAFIL.match(word):  # and "ل" before a verbal noun تفعيل: لتعليق → لتعليق, but تعليق and بتعليق → تعليق
            word = re.sub(r"^(و|ف)?ل", "", word)
        return _stemmer("arabic").stemWord(word)
    return _stemmer("english").stemWord(word)


def iter_char_ngrams(word: str, low: int = 3, high: int = 5) -> Iterator[str]:
    padded = f"#{word}#"
    for n in range(low, high + 1):
        for i in range(max(1, len(padded) - n + 1)):
            yield padded[i:i + n]
