"""Arabic text handling: normalization, sentence spans and search terms (agent.text.arabic, agent.text.lexicon)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.text import arabic
from agent.text.lexicon import load_analyzer

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


# --- normalize -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("الهُدْنَة", "الهدنة"),  # damma, sukun, fatha
        ("مُحَمَّدٌ", "محمد"),  # shadda + tanween
        ("كِتَابًا", "كتابا"),  # kasra, fathatan
        ("الْإِنْسَانِيَّةِ", "الانسانية"),  # sukun, kasra under hamza, shadda
        ("سـلام", "سلام"),  # one tatweel
        ("ســـــلام", "سلام"),  # many tatweels
        ("أحمد", "احمد"),
        ("إسلام", "اسلام"),
        ("آمن", "امن"),
        ("مستشفى", "مستشفي"),  # alef maqsura -> ya
        ("على", "علي"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),  # Arabic-Indic digits
        ("١٩ سبتمبر ٢٠١٦", "19 سبتمبر 2016"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert arabic.normalize(raw) == expected


def test_normalize_combined_and_idempotent() -> None:
    raw = "أَعْلَنَـــتْ إِدَارَةُ الْمُسْتَشْفَى يَوْمَ ٢٧ آبْ"
    once = arabic.normalize(raw)
    assert once == "اعلنت ادارة المستشفي يوم 27 اب"
    assert arabic.normalize(once) == once
    # nothing the normalizer strips or maps survives
    for ch in "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0640أإآى٠١٢٣٤٥٦٧٨٩":
        assert ch not in once


def test_normalize_keeps_plain_text_and_lowercases_latin() -> None:
    plain = "وزير الخارجية الروسي"
    assert arabic.normalize(plain) == plain
    assert arabic.normalize("John KERRY") == "john kerry"


def test_normalize_with_offsets_maps_back_and_keeps_case() -> None:
    raw = "أمسِ\u200f الأحدَ، ١٩ May ۲۰۱۶ الماضی"
    norm, index = arabic.normalize_with_offsets(raw)
    assert norm == "امس الاحد، 19 May 2016 الماضي"  # normalize's folding, case kept, marks dropped, ی read as ي
    assert "".join(raw[i] for i in index) == "أمس الأحد، ١٩ May ۲۰۱۶ الماضی"  # each kept character's offset
    assert arabic.dropped("\u0650") and arabic.dropped("\u200f") and not arabic.dropped("ا")


# --- sentence spans --------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s.of(text) for s in arabic.sentence_spans(text)]


def test_sentence_spans_split_on_arabic_and_latin_marks() -> None:
    text = "قال الوزير إن الهدنة انتهت. هل تستأنف المحادثات؟ لا أحد يعرف! ثم أضاف؛ سنرى\nسطر جديد بلا علامة"
    assert _sentences(text) == [
        "قال الوزير إن الهدنة انتهت.",
        "هل تستأنف المحادثات؟",
        "لا أحد يعرف!",
        "ثم أضاف؛",
        "سنرى",
        "سطر جديد بلا علامة",
    ]


def test_sentence_spans_do_not_split_decimal_numbers() -> None:
    text = "قتل 3500 عسكري سوري و12.8 ألف مدني. وتضاعف العدد 2.5 مرة"
    assert _sentences(text) == ["قتل 3500 عسكري سوري و12.8 ألف مدني.", "وتضاعف العدد 2.5 مرة"]


def test_sentence_spans_do_not_split_on_arabic_comma() -> None:
    text = "قال لافروف، في اتصال مع كيري، إن روسيا منفتحة."
    assert _sentences(text) == [text]


def test_sentence_spans_map_back_to_original_text() -> None:
    text = (SEEDS / "003_6fb0efb9cf778144.txt").read_text(encoding="utf-8")
    spans = arabic.sentence_spans(text)
    assert len(spans) > 20
    previous_end = 0
    for span in spans:
        piece = text[span.start:span.end]
        assert piece == span.of(text)
        assert piece and piece == piece.strip()
        assert span.start >= previous_end  # in order, never overlapping
        previous_end = span.end
    # the decimal "12.8" of the last paragraph stays inside one sentence
    assert any("و12.8 ألف مدني" in s.of(text) for s in spans)


def test_sentence_spans_with_diacritics_keep_original_offsets() -> None:
    text = "أعلنَتْ الوزارةُ الهُدْنَةَ. ثمّ انهارتْ؟"
    spans = arabic.sentence_spans(text)
    assert [s.of(text) for s in spans] == ["أعلنَتْ الوزارةُ الهُدْنَةَ.", "ثمّ انهارتْ؟"]
    assert text.index("ثمّ") == spans[1].start


def test_sentence_spans_of_a_window() -> None:
    text = "جملة أولى. جملة ثانية. جملة ثالثة."
    start = text.index("جملة ثانية")
    spans = arabic.sentence_spans(text, start, len(text))
    assert [s.of(text) for s in spans] == ["جملة ثانية.", "جملة ثالثة."]
    assert spans[0].start == start


# --- search terms ----------------------------------------------------------------------------


def test_diacritized_query_gives_same_terms_as_plain() -> None:
    analyzer = load_analyzer()
    assert analyzer.terms("الهُدْنَة") == analyzer.terms("الهدنة")
    assert analyzer.terms("الهُدْنَة")  # not empty
    assert analyzer.terms("انْهِيَارُ الهُدْنَةِ فِي حَلَبَ") == analyzer.terms("انهيار الهدنة في حلب")


def test_tatweel_and_hamza_forms_give_same_terms() -> None:
    analyzer = load_analyzer()
    assert analyzer.terms("الهـــدنة") == analyzer.terms("الهدنة")
    assert analyzer.terms("الإرهابيين") == analyzer.terms("الارهابيين")


@pytest.mark.parametrize(
    "variants",
    [
        ("سيرجي لافروف", "سريجي لافروف", "سيرغي لافروف"),
        ("الأميركي", "الأمريكي"),
        ("سوريا", "سورية"),
    ],
)
def test_spelling_variants_unify(variants: tuple[str, ...]) -> None:
    analyzer = load_analyzer()
    forms = [analyzer.terms(v) for v in variants]
    assert forms[0], "variants must produce search terms"
    assert all(f == forms[0] for f in forms), dict(zip(variants, forms, strict=True))


def test_variants_unify_with_clitic_prefix() -> None:
    analyzer = load_analyzer()
    assert analyzer.terms("وسورية") == analyzer.terms("سوريا")


def test_different_words_stay_different() -> None:
    analyzer = load_analyzer()
    assert analyzer.terms("سوريا") != analyzer.terms("روسيا")
    assert analyzer.terms("لافروف") != analyzer.terms("كيري")


def test_stopwords_are_not_search_terms() -> None:
    analyzer = load_analyzer()
    assert analyzer.terms("في من على إلى") == []
    assert analyzer.terms("ما هو سعر النفط") == analyzer.terms("سعر النفط")


def test_li_before_a_tafil_verbal_noun_is_taken_off_as_bi_is() -> None:
    # Snowball takes "ب" off "بتعليق" but keeps "ل" on "لتعليق": the question's "تعليق" must find both
    for word in ("لتعليق", "ولتعليق", "لتخفيف"):
        assert arabic.stem(arabic.normalize(word)) == arabic.stem(arabic.normalize(word.lstrip("و")[1:]))
    for word in ("لتركيا", "لتلك", "لتوحيد"):  # not ل + تفعيل: left as Snowball stems them
        assert arabic.stem(arabic.normalize(word)) == arabic._stemmer("arabic").stemWord(arabic.normalize(word))
