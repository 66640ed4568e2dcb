"""Core promises, each tested by the fault it guards against.

Every test here was written against a deliberate mutation of one line of ``agent/`` that had
left every other test green (docs/MUTATION.md lists the mutations and how each test was shown
to fail under it). The docstring of each test says what breaks for a user when it fails.
LLM-mode tests go over real HTTP to the scripted OpenAI-compatible server; nothing of Dalil is
patched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from agent.answer.citations import MIN_OVERLAP, verify
from agent.answer.extractive import extractive_answer
from agent.answer.generate import fence
from agent.config import load_settings
from agent.pipeline import Dalil
from agent.text.lexicon import load_analyzer
from tests.conftest import run_cli, scripted_llm
from tests.scripted_openai import Reply

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
F001 = "001_a9aefecacaf48a1a.txt"
# seed 001, second paragraph: Lavrov and Kerry discussed normalizing the situation in Aleppo by phone
SATURDAY = (SEEDS / F001).read_text(encoding="utf-8").splitlines()[1]
_PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch, seeded_store: Path) -> Iterator[Any]:
    """The scripted server as Dalil's endpoint on the seeded store, without query rewriting unless a test turns it on."""
    monkeypatch.setenv("DALIL_LLM_REWRITE_QUERIES", "false")
    yield from scripted_llm(monkeypatch, seeded_store)


def passage(text: str, doc: str = "doc", start: int = 0) -> NodeWithScore:
    meta = {"doc_id": doc, "file": f"{doc}.txt", "start_char": start, "end_char": start + len(text), "published": "2016-10-03"}
    return NodeWithScore(node=TextNode(id_=f"{doc}-{start}", text=text, metadata=meta), score=1.0)


def prompt_passages(body: dict[str, Any]) -> list[str]:
    """The passage texts of an answer request, in their order ``[1]``, ``[2]``, …"""
    return [text for _, text in _PASSAGE.findall(body["messages"][-1]["content"])]


def answer_request(server: Any) -> dict[str, Any]:
    return next(b for b in server.chat_requests if "<passage" in b["messages"][-1]["content"])


# ---------------------------------------------------------------- the verifier's support threshold


def test_a_template_line_is_supported_only_when_most_of_its_words_are_in_the_cited_passage() -> None:
    """Dalil's own template lines (sequence paragraphs, ``verify(strict=False)``) count as supported
    when at least ``MIN_OVERLAP`` (half) of their checkable words are in the cited passage.
    If this fails, a line the passage does not back (a threshold of 0 passes one with no word in
    common) is shown to the user as verified, or true lines are flagged."""
    analyzer = load_analyzer()
    cited = [passage(SATURDAY)]

    def line(text: str):
        result = verify(text, cited, analyzer, strict=False)
        assert len(result.sentences) == 1
        return result.sentences[0]

    unrelated = line("انهارت البورصة في طوكيو [1].")  # no word of it is in the passage
    assert unrelated.support == 0.0 and not unrelated.supported
    assert any("0%" in p for p in unrelated.problems), unrelated.problems
    weak = line("تحدث لافروف عن البورصة والنفط والذهب [1].")  # one word in five
    assert 0 < weak.support < MIN_OVERLAP and not weak.supported
    backed = line("ناقش لافروف وكيري الوضع في حلب [1].")
    assert backed.support >= MIN_OVERLAP and backed.supported, backed.problems


# ---------------------------------------------------------------- hybrid fusion weights


@pytest.mark.parametrize("query", ["عقوبات على دمشق", "المستشفيات في شرق حلب", "لافروف كيري حلب"])
def test_bm25_weight_is_the_weight_of_the_bm25_list_in_hybrid_fusion(seeded_store: Path, query: str) -> None:
    """``retrieval.bm25_weight`` weighs the BM25 list and the dense list gets the rest: at 1.0 hybrid
    ranks as BM25 does, at 0.0 as dense does. If this fails the two weights are swapped or lost, and
    every hybrid search (the default mode) favours the wrong retriever: the measured 0.75 for the
    lexical embedder would act as 0.25."""
    def ranked(mode: str, weight: float | None = None) -> list[str]:
        settings = load_settings(None, {"store": {"path": seeded_store}, "retrieval": {"bm25_weight": weight}})
        return [n.node.node_id for n in Dalil(settings).retrieve(query, 5, mode=mode)]  # type: ignore[arg-type]

    bm25, dense = ranked("bm25"), ranked("dense")
    assert len(bm25) == len(dense) == 5 and bm25 != dense, "premise: the two retrievers rank differently"
    assert ranked("hybrid", 1.0) == bm25
    assert ranked("hybrid", 0.0) == dense


def test_bm25_leads_the_fusion_with_the_lexical_embedder() -> None:
    """The default weight, measured on evals/dev.yaml: 0.75 for BM25 with the local (lexical) embedder,
    0.5 with a semantic one. If this fails, hybrid search ranks differently from what was measured."""
    assert load_settings().bm25_weight == 0.75
    assert load_settings(None, {"embeddings": {"provider": "e5"}}).bm25_weight == 0.5


# ---------------------------------------------------------------- quote offsets in LLM mode


def test_llm_quotes_carry_their_offsets_in_the_article(llm: Any) -> None:
    """A citation's ``start``/``end`` are offsets in the whole article, so ``article[start:end]`` is the
    quote. Zakharova's warning is a later chunk of seed 001 (whose text is not at the article's start).
    If this fails, quote offsets are computed inside the chunk: a client that highlights or re-reads
    ``start``/``end`` shows the wrong text, while ``quote`` still looks right."""
    llm.enqueue(Reply(content="قالت ماريا زاخاروفا إن عدوانا أميركيا مباشرا ضد دمشق سيؤدي إلى تحولات مرعبة في المنطقة [1]."))
    code, out, err = run_cli("ask", "ماذا قالت ماريا زاخاروفا عن دمشق؟", "--mode", "llm", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert "زاخاروفا" in prompt_passages(answer_request(llm))[0], "premise: passage [1] is the Zakharova chunk"
    assert data["sentences"][0]["supported"], data["sentences"][0]["problems"]
    citation = data["citations"][0]
    article = (SEEDS / citation["file"]).read_text(encoding="utf-8")
    assert citation["file"] == F001 and "زاخاروفا" in citation["quote"]
    assert article.index(citation["quote"]) > 0, "premise: the quote is not at the article's start"
    assert article[citation["start"]:citation["end"]] == citation["quote"]


def test_llm_quote_offsets_point_past_the_chunk_start_for_a_later_sentence() -> None:
    """The same promise on a passage whose quoted sentence is not its first, and whose first sentence
    repeats earlier in the article (the shape that hid the bug: seed 001's lead is duplicated)."""
    lead = "قال لافروف إن الهدنة انهارت في حلب."
    article = f"{lead} {lead} وأضاف كيري أن المحادثات ستستأنف في جنيف الأسبوع المقبل."
    start = len(lead) + 1  # the chunk holds the second copy of the lead and the sentence after it
    chunk = article[start:]
    result = verify("أضاف كيري أن المحادثات ستستأنف في جنيف [1].", [passage(chunk, start=start)], load_analyzer())
    citation = result.citations[0]
    assert "جنيف" in citation.quote
    assert article[citation.start:citation.end] == citation.quote
    assert citation.start > start


# ---------------------------------------------------------------- the extractive sentence cut


def test_an_extractive_answer_quotes_no_sentence_far_weaker_than_its_best() -> None:
    """Offline answers quote only sentences covering at least 0.75 × the best sentence's share of the
    question's weighted terms (and ``min_coverage``). If this fails, a sentence that merely shares one
    word with the question ("Aleppo") is quoted beside the one that answers it."""
    strong = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب."
    weak = "وسقطت قذائف على أحياء في حلب."
    question = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية عن حلب؟"
    passages = [passage(f"{strong} {weak}")]
    answer = extractive_answer(question, passages, load_analyzer(), lambda term: 1, 50, min_coverage=0.15, max_sentences=3)
    assert not answer.abstained
    supports = [s.support for s in answer.sentences]
    assert [c.quote for c in answer.citations] == [strong], supports
    weak_coverage = extractive_answer(
        "ماذا سقط على أحياء حلب؟", [passage(weak)], load_analyzer(), lambda term: 1, 50, 0.0, 3).sentences[0].support
    assert weak_coverage > 0, "premise: the weak sentence shares words with questions"


def test_extractive_answers_on_the_seeds_keep_to_the_cut(seeded_store: Path) -> None:
    """The same promise on the seeds: every quoted sentence covers at least 0.75 × the best one."""
    dalil = Dalil(load_settings(None, {"store": {"path": seeded_store}}))
    for question in ("ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟", "ماذا قالت زاخاروفا عن دمشق؟"):
        answer = dalil.ask(question, mode="extractive")
        assert not answer.abstained, question
        best = max(s.support for s in answer.sentences)
        assert all(s.support >= 0.75 * best - 1e-3 for s in answer.sentences), [(s.support, s.text[:40]) for s in answer.sentences]


# ---------------------------------------------------------------- which queries are searched


def test_a_query_the_corpus_cannot_read_is_left_out_of_the_fusion(llm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the local (lexical) embedder, a rewritten query whose words the corpus mostly lacks (an
    English query over Arabic articles) is not searched: its ranked list would be noise in the fusion.
    If this fails, the model's rewrites push unrelated passages into the prompt."""
    monkeypatch.setenv("DALIL_LLM_REWRITE_QUERIES", "true")
    question = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"
    arabic, english = "اتصال هاتفي لافروف كيري حلب", "Tokyo stock exchange gold prices"
    dalil = Dalil(load_settings())
    assert dalil.searchable_queries([question, arabic, english]) == [question, arabic]
    assert dalil.searchable_queries([english]) == [english], "when none is readable, the question itself is still searched"

    expected = [fence(n.node.get_content()) for n in dalil.retrieve(question, rewrites=[arabic])]
    everything = [fence(n.node.get_content()) for n in dalil.retrieve(question, rewrites=[arabic, english])]
    assert expected != everything, "premise: searching the English query changes the passages"
    llm.enqueue(Reply(match="search queries", content=json.dumps({"ar": arabic, "en": english})),
                Reply(content="ناقش لافروف وكيري تطبيع الوضع في حلب [1]."))
    code, out, err = run_cli("ask", question, "--mode", "llm", "--json")
    assert code == 0, err
    assert any(english in w for w in json.loads(out)["warnings"]), "premise: the model's rewrites were received"
    assert prompt_passages(answer_request(llm)) == expected


# ---------------------------------------------------------------- survivors of the mutation run (docs/MUTATION.md)


def test_a_claim_opening_with_ma_is_a_negated_claim() -> None:
    """Bare "ما" is usually "what"; at the start of a sentence it negates ("ما ناقش…" = "did not discuss").
    If this fails, "they did not discuss Aleppo" is verified against a passage saying they did."""
    result = verify("ما ناقش لافروف وكيري تطبيع الوضع في حلب [1].", [passage(SATURDAY)], load_analyzer())
    sentence = result.sentences[0]
    assert not sentence.supported
    assert any("negated (ما)" in p for p in sentence.problems), sentence.problems


def test_a_passage_negation_covers_the_words_after_it_not_before() -> None:
    """A negation in the passage applies to the next few content words: "لم يوافق" negates agreeing,
    and the name before "ولم" is not negated. If this fails, true claims are flagged as contradicted
    or claims the passage denies are verified."""
    analyzer = load_analyzer()

    def check(claim: str, text: str):
        return verify(claim, [passage(text)], analyzer).sentences[0]

    assert check("تحدث لافروف مع كيري [1].", "تحدث لافروف مع كيري ولم يتفقا.").supported
    denied = check("وافق لافروف [1].", "لم يوافق الطرفان بعد جولة طويلة من المحادثات التي أجراها لافروف.")
    assert not denied.supported and any("negates it (لم يوافق)" in p for p in denied.problems), denied.problems


def test_a_template_line_is_judged_on_its_arabic_and_bridged_words() -> None:
    """For Dalil's own lines (``strict=False``), English words the lexicon bridges to Arabic are checked
    and words it cannot bridge are left out. If this fails, English summary lines with a name the
    lexicon lacks are flagged, or lines of bridged words only cannot be checked at all."""
    analyzer = load_analyzer()

    def line(text: str):
        return verify(text, [passage(SATURDAY)], analyzer, strict=False).sentences[0]

    unbridged = line("Lavrov and Kerry discussed Aleppo with Zorblatt, Flimflam and Quux [1].")
    assert unbridged.supported and unbridged.support == 1.0, unbridged.problems
    bridged = line("The situation in Aleppo [1].")  # each word bridged to one Arabic stem
    assert bridged.supported and bridged.support == 1.0, bridged.problems


def test_names_already_tied_to_the_passages_count_as_found() -> None:
    """``known`` (an event's participants, tied to its passages by the event index) are accepted as found
    in the cited passage, in English or Arabic spelling. If this fails, the summary's sentences naming
    a participant the quoted passage refers to only by title are flagged as unsupported."""
    analyzer = load_analyzer()
    text = "بحث وزير الخارجية الروسي مع نظيره الأمريكي الوضع في حلب."
    claim = "بحث لافروف مع نظيره الأمريكي الوضع في حلب [1]."
    assert not verify(claim, [passage(text)], analyzer).sentences[0].supported, "premise: the passage does not name him"
    sentence = verify(claim, [passage(text)], analyzer, known=["Sergei Lavrov"]).sentences[0]
    assert sentence.supported, sentence.problems
