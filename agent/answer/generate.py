"""LLM answers: question + passages → a cited ``Answer`` in the question's language.

Takes the question, retrieved ``NodeWithScore`` passages and a ``ChatClient``; fits the
passages to the model's context budget (tiktoken), fences them as untrusted data,
calls the model (streamed or not), strips ``<think>`` blocks, verifies every citation
and returns an ``Answer``. Also rewrites questions into Arabic and English search
queries for cross-lingual retrieval.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from llama_index.core.schema import NodeWithScore

from agent.answer import answers
from agent.answer.citations import injection_suspected, verify
from agent.answer.llm import ChatClient, Completion, load_prompt
from agent.ingest.chunking import token_counter
from agent.schema import Answer, Usage
from agent.text.lexicon import Analyzer

LANGUAGES = {"ar": "Arabic", "en": "English"}
NOT_IN_CORPUS = "NOT_IN_CORPUS"
_FENCE = re.compile(r"</?\s*(?:passage|tool_result)", re.IGNORECASE)  # the agent loop's tool results are fenced too


@dataclass
class Prompt:
    messages: list[dict[str, str]]
    passages: list[NodeWithScore]
    dropped: int
    prompt_tokens: int


def fence(text: str) -> str:
    """Article text made unable to close or open a passage (or tool result) fence."""
    return _FENCE.sub(lambda m: m.group(0).replace("<", "‹"), text)


def fence_attribute(value: str) -> str:
    """Metadata shown inside a fence's attributes: no quote or angle bracket can end it."""
    return fence(value).replace('"', "＂").replace(">", "›").replace("\n", " ")


def render_passage(n: int, passage: NodeWithScore) -> str:
    meta = passage.node.metadata
    outlet = meta.get("outlet") or "unknown outlet"
    published = meta.get("published") or "undated"
    return (f'<passage n="{n}" outlet="{fence_attribute(outlet)}" published="{fence_attribute(published)}">\n'
            f"{fence(passage.node.get_content())}\n</passage>")


def build_prompt(question: str, passages: list[NodeWithScore], lang: str, budget_tokens: int, encoding: str) -> Prompt:
    """Messages with as many passages (in rank order) as fit in ``budget_tokens``."""
    count = token_counter(encoding)
    language = LANGUAGES.get(lang, "the language of the question")
    system = load_prompt("answer_system.txt").format(language=language)
    template = load_prompt("answer_user.txt")
    kept: list[NodeWithScore] = []
    blocks: list[str] = []
    fixed = count(system) + count(template.format(question=question, passages="", language=language)) + 16
    used = fixed
    for passage in passages:
        block = render_passage(len(kept) + 1, passage)
        cost = count(block) + 1
        if used + cost > budget_tokens:
            continue
        kept.append(passage)
        blocks.append(block)
        used += cost
    user = template.format(question=question, passages="\n".join(blocks), language=language)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return Prompt(messages, kept, len(passages) - len(kept), used)


class EmptyCompletion(Exception):
    """The endpoint answered, but with nothing usable."""


def llm_answer(
    question: str,
    passages: list[NodeWithScore],
    client: ChatClient,
    analyzer: Analyzer,
    lang: str,
    on_text: Callable[[str], None] | None = None,
) -> Answer:
    """Ask the model, then verify what it wrote. Raises ``DalilError`` on endpoint failure."""
    settings = client.settings
    budget = settings.context_window - settings.max_tokens
    prompt = build_prompt(question, passages, lang, budget, settings.tokenizer)
    warnings = [f"{prompt.dropped} passage(s) left out to fit the model's context window"] if prompt.dropped else []
    if not prompt.passages:
        return abstention(question, lang, passages, [*warnings, "no passage fits the context window"])
    completion = client.stream(prompt.messages, on_text) if on_text else client.complete(prompt.messages)
    usage = Usage(prompt_tokens=completion.prompt_tokens or prompt.prompt_tokens, completion_tokens=completion.completion_tokens)
    if not completion.text.strip():
        raise EmptyCompletion("the model returned an empty answer")
    if NOT_IN_CORPUS in completion.text:
        answer = abstention(question, lang, prompt.passages, warnings)
        answer.usage = usage
        return answer
    return verified(question, lang, prompt.passages, completion, analyzer, warnings, usage)


def verified(question: str, lang: str, passages: list[NodeWithScore], completion: Completion, analyzer: Analyzer,
             warnings: list[str], usage: Usage) -> Answer:
    """The model's answer with every sentence checked against the passages its ``[n]`` point to (``passages[n-1]``)."""
    checked = verify(completion.text, passages, analyzer)
    if checked.dangling:
        warnings.append("removed citation markers that point to no passage: " + ", ".join(f"[{n}]" for n in checked.dangling))
    unsupported = [s for s in checked.sentences if not s.supported]
    if unsupported:
        warnings.append(f"{len(unsupported)} of {len(checked.sentences)} sentence(s) could not be verified against their citations")
    injected = [s for s in checked.sentences if injection_suspected(s)]
    if injected:
        warnings.append(f"{len(injected)} sentence(s) repeat or rely on text shaped like an instruction to the model "
                        "(possible prompt injection in the articles); they are not verified")
    if completion.finish_reason == "length":
        warnings.append("the model stopped at its token limit; the answer may be cut short")
    uncited = not checked.sentences or not any(s.citations for s in checked.sentences)
    if uncited:
        warnings.append("the model did not cite its sources; nothing in this answer is verified")
    elif not any(s.supported for s in checked.sentences):
        warnings.append("no sentence of this answer is supported by the passages it cites; nothing in it is verified")
    wrong_language = answer_language(checked.text) not in (None, lang) and lang in LANGUAGES
    if wrong_language:
        warnings.append(f"the answer is in {LANGUAGES[answer_language(checked.text) or '']}, but {LANGUAGES[lang]} was "
                        f"requested (--lang {lang}); it is marked degraded")
    degraded = uncited or bool(injected) or wrong_language or not any(s.supported for s in checked.sentences)
    return Answer(
        question=question, mode="llm", answer=checked.text, abstained=False, citations=checked.citations,
        sentences=checked.sentences, lang=lang, degraded=degraded, warnings=warnings, usage=usage,
    )


_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|\"[^\"]*\"|„[^“”]*[“”]")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")


def answer_language(text: str) -> str | None:
    """"ar" or "en" by the share of Arabic letters, quoted words left out (an English answer may quote the
    Arabic article); None when there are no letters to judge by."""
    unquoted = _QUOTED.sub(" ", text)
    letters = [ch for ch in unquoted if ch.isalpha()]
    if not letters:
        return None
    share = sum(bool(_ARABIC_LETTER.match(ch)) for ch in letters) / len(letters)
    return "ar" if share >= 0.5 else "en"


def abstention(question: str, lang: str, passages: list[NodeWithScore], warnings: list[str] | None = None) -> Answer:
    """The LLM answerer's abstention (``agent.answer.answers.abstention`` in mode "llm")."""
    return answers.abstention(question, lang, passages, "llm", warnings)


def rewrite_queries(question: str, client: ChatClient) -> list[str]:
    """Arabic and English search queries for ``question`` (empty when the model's reply is unusable)."""
    prompt = load_prompt("rewrite_query.txt").format(question=question)
    completion = client.complete([{"role": "user", "content": prompt}], max_tokens=200)
    match = re.search(r"\{.*\}", completion.text, re.DOTALL)
    if not match:
        return []
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return []
    queries = [data.get(k) for k in ("ar", "en")] if isinstance(data, dict) else []
    return [q.strip() for q in queries if isinstance(q, str) and q.strip() and q.strip() != question.strip()]
