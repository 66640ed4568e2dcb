"""The lexicon's English→Arabic news vocabulary (the `terms:` section of agent/text/data/lexicon.yaml).

Well formed: no key given twice (YAML keeps the last silently), every form in Arabic script, every
form gives at least one search term (a form made only of stopwords bridges to nothing). Useful:
English questions that paraphrase the articles in general news words reach the Arabic sentence
that answers them, offline. The questions here are written for this test, not taken from evals/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agent.config import load_settings
from agent.pipeline import Dalil
from agent.text import arabic
from agent.text.lexicon import BUNDLED, load_analyzer

_ARABIC_FORM = re.compile(r"[\u0600-\u06ff]+(?: [\u0600-\u06ff]+)*")
# words so common in these articles that a bridge made only of them matches nearly every sentence
_UBIQUITOUS = ("في", "قال", "قالت", "ان", "على", "سوريا", "سورية", "روسيا")


class DuplicateKey(ValueError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """A YAML loader that refuses a mapping with the same key twice."""


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise DuplicateKey(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def strict_load(text: str) -> dict:
    return yaml.load(text, Loader=_StrictLoader)


@pytest.fixture(scope="module")
def terms() -> dict[str, list[str]]:
    return strict_load(BUNDLED.read_text(encoding="utf-8"))["terms"]


def test_the_duplicate_check_catches_a_key_given_twice() -> None:
    with pytest.raises(DuplicateKey, match="'strike'"):
        strict_load("terms:\n  strike: [ضربة]\n  struck: [قصف]\n  strike: [غارة]\n")


def test_the_terms_have_no_duplicate_keys_and_a_broad_vocabulary(terms: dict[str, list[str]]) -> None:
    assert len(terms) >= 550  # the ~200 first entries plus the general news vocabulary
    for key in ("brutality", "punitive", "healthcare", "struck", "channels", "briefing", "pledge", "fulfil",
                "killed", "besieged", "air strikes", "resume", "evacuate", "condemned", "international criminal court"):
        assert key in terms, key
    assert all(key == key.lower().strip() for key in terms), "keys are matched on lowercased words"


def test_every_form_is_arabic_script(terms: dict[str, list[str]]) -> None:
    bad = [(key, form) for key, forms in terms.items() for form in forms if not _ARABIC_FORM.fullmatch(form)]
    assert not bad, bad
    assert all(forms for forms in terms.values()), "a key with no Arabic form bridges to nothing"


def test_no_form_is_only_stopwords_or_ubiquitous_words(terms: dict[str, list[str]]) -> None:
    analyzer = load_analyzer()
    empty = [(key, form) for key, forms in terms.items() for form in forms if not analyzer.terms(form)]
    assert not empty, f"forms that give no search term (all stopwords): {empty}"
    common = {t for w in _UBIQUITOUS for t in analyzer.terms(w)}
    noisy = [key for key, forms in terms.items() if all(set(analyzer.terms(form)) <= common for form in forms)]
    assert not noisy, f"keys that only bridge to words nearly every sentence has: {noisy}"


def test_the_checks_see_a_stopword_form_and_a_latin_form() -> None:
    analyzer = load_analyzer()
    assert analyzer.terms("في") == [] and analyzer.terms("سبتمبر") == []  # what the check above rejects
    assert set(analyzer.terms("قال")) <= {t for w in _UBIQUITOUS for t in analyzer.terms(w)}
    assert not _ARABIC_FORM.fullmatch("strike") and not _ARABIC_FORM.fullmatch("ضربة ")


def test_english_inflections_and_phrases_bridge_to_the_articles_forms() -> None:
    analyzer = load_analyzer()

    def alternatives(question: str, word: str) -> set[str]:
        return next(c.alternatives for c in analyzer.concepts(question) if c.word == word)

    assert set(analyzer.terms("عدوان")) <= alternatives("Who struck Damascus?", "struck")
    assert set(analyzer.terms("الوحشية")) <= alternatives("What brutality did civilians face?", "brutality")
    assert set(analyzer.terms("قنوات")) <= alternatives("Which channels were cut?", "channels")
    assert set(analyzer.terms("الغارات")) <= alternatives("Were the air strikes halted?", "air strikes")
    court = alternatives("Was the case sent to the International Criminal Court?", "international criminal court")
    assert set(analyzer.terms("المحكمة الجنائية")) <= court


def test_an_arabic_paraphrase_bridges_with_its_article_and_clitics_too() -> None:
    """The lexicon lists "وعد" → بوعودها; the question's "الوعد" and "بالوعد" bridge the same way."""
    analyzer = load_analyzer()
    for word in ("الوعد", "بالوعد"):
        concept = next(c for c in analyzer.concepts(f"ما {word} الذي أخلت به واشنطن؟") if c.word == word)
        assert set(analyzer.terms("بوعودها")) <= concept.alternatives, word
    bare = next(c for c in analyzer.concepts("ما الوعيد؟") if c.word == "الوعيد")  # another word: no bridge
    assert not set(analyzer.terms("بوعودها")) & bare.alternatives


def test_the_colloquial_this_glued_to_a_noun_is_the_article() -> None:
    """"هالزيارة" (this visit), "وبهالاتصال" (and in this call): the noun with its article, as the articles write it."""
    words = [c.word for c in load_analyzer().concepts("إمتى كانت هالزيارة وبهالاتصال شو صار؟ هالة")]
    assert "الزيارة" in words and "وبالاتصال" in words and "هالة" in words  # a word that is only "هالة" stays


@pytest.fixture(scope="module")
def dalil(seeded_store: Path) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": seeded_store}}))


# Paraphrases in general news English; each answer sentence shares almost no word with the question
# except through the lexicon (the bundled lexicon before this vocabulary quoted another sentence).
@pytest.mark.parametrize(("question", "expected"), [
    ("Who said the healthcare system in the besieged east of Aleppo had been almost completely destroyed?",
     "نظام الرعاية الصحية في شرق حلب"),
    ("Which official accused the Syrian government of using starvation as a weapon of war?",
     "مستخدما التجويع كسلاح في الحرب"),
    ("What did the Russian general staff request regarding air strikes on Aleppo?",
     "طلب هيئة الأركان العامة الروسية لاستئناف الضربات الجوية"),
    ("Was Washington weighing a referral of the case to the International Criminal Court?",
     "وإحالة القضية إلى المحكمة الجنائية الدولية"),
    ("Which militant leaders spoke openly about foreign backing including arms supplies?",
     "زعماء بجبهة النصرة تحدثوا علنا عن دعم خارجي"),
    ("Who mediated the truce that collapsed before aid convoys could enter east Aleppo?",
     "الهدنة التي تم التوصل إليها بوساطة موسكو وواشنطن"),
    # colloquial and synonym Arabic: حكى (talked), جريدة (newspaper), جنود (soldiers)
    ("عن شو حكى لافروف وكيري بمكالمة الثلاثاء ١٦ آب؟", "تنسيق الأعمال لمكافحة الإرهاب"),
    ("أي جريدة انتقدت حسابات أوباما بشأن المستنقع السوري؟", "واشنطن بوست"),
    ("كم من الجنود السوريين لقوا حتفهم بسبب خروقات الهدنة؟", "3500 عسكري سوري"),
    ("شو قال لافروف لكيري عن قيادات جبهة النصرة؟", "زعماء بجبهة النصرة"),
    ("منذ متى صار وقف الأعمال العدائية ساريا في سوريا؟", "دخل حيز التنفيذ في سوريا منذ 27 شباط"),
    ("كم خرقا للهدنة سجلت سبوتنيك على الجماعات الموالية لواشنطن؟", "2031 مرة"),
], ids=["healthcare", "starvation", "general-staff", "icc-referral", "arms-supplies", "mediated-truce",
        "colloquial-talked", "newspaper", "soldiers", "leaderships", "hostile-acts", "breaches"])
def test_a_paraphrased_english_question_quotes_the_answering_sentence(dalil: Dalil, question: str, expected: str) -> None:
    answer = dalil.ask(question)
    assert not answer.abstained, answer.warnings
    first = arabic.normalize(answer.sentences[0].text)
    assert arabic.normalize(expected) in first, answer.answer


def test_a_lexicon_entity_with_a_misspelt_field_is_a_one_line_error(tmp_path: Path) -> None:
    """One lexicon model: `kind`/`side`/`roles` are typed fields, and a field it does not know
    (``sid: Russia``) is an error instead of being silently dropped."""
    from agent.errors import DalilError
    from agent.text.lexicon import load_lexicon_file

    good = tmp_path / "good.yaml"
    good.write_text("entities:\n  - {en: Sergei Lavrov, ar: سيرغي لافروف, kind: person, side: Russia}\n", encoding="utf-8")
    (entity,) = load_lexicon_file(good).entities
    assert (entity.kind, entity.side) == ("person", "Russia")
    bad = tmp_path / "bad.yaml"
    bad.write_text("entities:\n  - {en: Sergei Lavrov, ar: سيرغي لافروف, kind: person, sid: Russia}\n", encoding="utf-8")
    with pytest.raises(DalilError) as caught:
        load_lexicon_file(bad)
    assert str(caught.value).startswith(f"lexicon file {bad} is invalid") and "\n" not in str(caught.value)
