"""LLM judge (``dalil eval --judge``): RAGAS-style faithfulness and correctness of answers.

The model splits an answer into claims and labels each one with an English token:
SUPPORTED/UNSUPPORTED against the cited passages (faithfulness = supported share) and
CORRECT/INCORRECT, plus MISSING reference facts, against the reference answer
(correctness = TP / (TP + (FP + FN) / 2)). Prompts are ``prompts/judge_claims.txt`` and
``prompts/judge_correctness.txt``; calls use ``agent.endpoint``'s client and error lines with ``settings.llm``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent import endpoint
from agent.endpoint import EndpointError, endpoint_errors
from agent.errors import DalilError
from agent.evals.records import ItemRecord, JudgeRecord, Verdict
from agent.evals.textnorm import strip_markers

if TYPE_CHECKING:
    import openai

    from agent.config import LLMSettings

CLAIMS_PROMPT = "judge_claims.txt"
CORRECTNESS_PROMPT = "judge_correctness.txt"
FAITH_LINE = re.compile(r"^[\W\d_]*?(UNSUPPORTED|SUPPORTED)\b\W*(.*)$")  # "- 2. **SUPPORTED** | claim"
CORRECT_LINE = re.compile(r"^[\W\d_]*?(INCORRECT|CORRECT|MISSING)\b\W*(.*)$")
REFUSED = ("auth", "forbidden", "not_found")  # like no server at all: wrong for every item alike, so the run stops


def load_prompt(name: str) -> str:
    """A judge prompt template from ``prompts/`` (``{question}``, ``{answer}``, ``{passages}``, ``{reference}``)."""
    from agent.answer.llm import load_prompt as load

    try:
        return load(name)
    except FileNotFoundError:
        raise DalilError(f"judge prompt prompts/{name} is missing") from None


def parse_verdicts(reply: str, pattern: re.Pattern[str]) -> list[Verdict]:
    """Labelled claims, one per line of the model's reply; other lines are ignored."""
    verdicts = []
    for line in reply.splitlines():
        match = pattern.match(line.strip())
        if match:
            verdicts.append(Verdict(label=match.group(1), claim=match.group(2).strip()))
    return verdicts


def faithfulness(verdicts: list[Verdict]) -> float | None:
    """SUPPORTED claims / claims."""
    return sum(v.label == "SUPPORTED" for v in verdicts) / len(verdicts) if verdicts else None


def correctness(verdicts: list[Verdict]) -> float | None:
    """RAGAS factual-correctness F1: TP = CORRECT, FP = INCORRECT, FN = MISSING."""
    tp = sum(v.label == "CORRECT" for v in verdicts)
    errors = sum(v.label in ("INCORRECT", "MISSING") for v in verdicts)
    return tp / (tp + errors / 2) if tp + errors else None


class Judge:
    """Asks the configured model to label an item's answer; one instance per run."""

    def __init__(self, llm: LLMSettings, seed: int = 0) -> None:
        if not llm.configured:
            raise DalilError("--judge needs an LLM endpoint: set llm.model and llm.base_url (or an API key), "
                             "e.g. DALIL_LLM_BASE_URL and DALIL_LLM_MODEL")
        self.llm = llm
        self.seed = seed
        self.claims_prompt = load_prompt(CLAIMS_PROMPT)
        self.correctness_prompt = load_prompt(CORRECTNESS_PROMPT)
        self._client: openai.OpenAI | None = None

    @property
    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = endpoint.client(self.llm)
        return self._client

    def judge(self, item: ItemRecord) -> JudgeRecord | None:
        """Faithfulness (and correctness for answerable items) of a non-abstained answer; None otherwise."""
        answer = item.answer
        if answer is None or answer.abstained:
            return None
        record = JudgeRecord()
        try:
            passages = "\n".join(f"[{c.n}] {c.quote}" for c in answer.citations) or "(no passages cited)"
            reply = self.complete(self.claims_prompt.format(question=item.question, answer=answer.text, passages=passages))
            record.claims = parse_verdicts(reply, FAITH_LINE)
            record.faithfulness = faithfulness(record.claims)
            if item.answerable:
                reply = self.complete(self.correctness_prompt.format(
                    question=item.question, reference=item.reference, answer=strip_markers(answer.text)))
                record.correctness_claims = parse_verdicts(reply, CORRECT_LINE)
                record.correctness = correctness(record.correctness_claims)
        except _RecoverableError as exc:
            record.error = str(exc)
        if record.error is None and (not record.claims or (item.answerable and not record.correctness_claims)):
            record.error = "the judge's reply had no labelled claims"
        return record

    def complete(self, prompt: str) -> str:
        """One chat completion; configuration problems (a refused key, an unknown model, no server) abort
        the run, others (a timeout, rate limiting, a server error, a malformed reply) are recorded per item."""
        try:
            with endpoint_errors(self.llm):
                response = self.client.chat.completions.create(
                    model=self.llm.model or "", messages=[{"role": "user", "content": prompt}],
                    temperature=0.0, seed=self.seed, max_tokens=self.llm.max_tokens,
                )
                if not getattr(response, "choices", None):
                    raise endpoint.malformed(self.llm, "no choices")
                text = response.choices[0].message.content or ""
        except EndpointError as exc:
            if exc.kind == "connection":
                raise DalilError(f"judge endpoint unreachable: {exc}") from None
            if exc.kind in REFUSED:
                raise DalilError(f"judge endpoint refused the request: {exc}") from None
            raise _RecoverableError(f"judge request failed: {exc}") from None
        from agent.answer.llm import strip_think

        return strip_think(text)


class _RecoverableError(Exception):
    """A judge failure limited to one item."""
