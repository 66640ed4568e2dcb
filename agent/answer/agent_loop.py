"""The LLM agent loop: a question → tool calls the model chooses → one cited, verified answer.

The model gets the question, ``prompts/agent_system.txt`` and the tools of ``agent.answer.tools`` as OpenAI
tool specs. Each call is validated and run by ``tools.call``; its result goes back to the model as
untrusted data (passages fenced as in the one-pass prompt, inside a ``<tool_result>`` fence), each
passage numbered once for the whole loop, so the final answer's ``[n]`` point to passages the model
has seen, and the one-pass verifier (``agent.answer.generate.verified``) checks it.

Bounded by ``llm.agent_max_steps`` tool calls, ``llm.agent_max_tokens`` tokens and
``llm.agent_timeout`` seconds. An unknown tool, arguments that are not JSON or not valid, a refused
``read`` or a repeated call are answered with an error the model can act on (and a warning); a
second repeat, a budget running out or an endpoint failure mid-loop ends with an extractive answer
over the passages seen, and a warning. When the endpoint refuses the first request with tools,
``ToolsUnavailable`` tells the caller to answer in one pass.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llama_index.core.schema import NodeWithScore

from agent.answer import tools
from agent.answer.generate import LANGUAGES, NOT_IN_CORPUS, abstention, fence, fence_attribute, verified
from agent.answer.llm import Completion, ToolCall, ToolsRejected, load_prompt
from agent.errors import DalilError
from agent.index.nodes import chunk_node
from agent.ingest.chunking import token_counter
from agent.schema import Answer, Citation, Step, Usage

if TYPE_CHECKING:
    from agent.pipeline import Dalil
    from agent.retrieval.retrieve import SearchFilters

StepFn = Callable[[Step], None]
Fallback = Callable[[list[NodeWithScore]], Answer]
MAX_REPEATS = 2  # a call repeated this often ends the loop (the first repeat is refused, with a note)


class ToolsUnavailable(DalilError):
    """The endpoint refused the first request with tools (``llm.tools = "auto"``): answer in one pass."""


class Seen:
    """The passages shown to the model, numbered in the order it first saw them: the final answer's ``[n]``."""

    def __init__(self) -> None:
        self.passages: list[NodeWithScore] = []
        self._numbers: dict[str, int] = {}

    def number(self, node: Any, score: float = 0.0) -> int:
        meta = node.metadata
        key = f"{meta['doc_id']}:{meta['start_char']}-{meta['end_char']}"
        if key not in self._numbers:
            self.passages.append(NodeWithScore(node=node, score=score))
            self._numbers[key] = len(self.passages)
        return self._numbers[key]


def quote_node(c: Citation) -> Any:
    """A citation's verbatim quote as a passage (the evidence of an event, a side's account)."""
    return chunk_node(c.chunk_id, c.quote, c.model_dump(), 0, c.start, c.end, 0)


def passage_block(n: int, node: Any) -> str:
    """A passage for the model: numbered, its source and offsets in the fence's attributes, its text fenced."""
    meta = node.metadata
    attrs = {"n": n, "doc": meta["doc_id"], "start": meta["start_char"], "end": meta["end_char"],
             "outlet": meta.get("outlet") or "unknown outlet", "published": meta.get("published") or "undated"}
    head = " ".join(f'{k}="{fence_attribute(str(v))}"' for k, v in attrs.items())
    return f"<passage {head}>\n{fence(node.get_content())}\n</passage>"


class AgentLoop:
    """One question answered by the model through tool calls; ``run()`` returns the verified ``Answer``."""

    def __init__(self, dalil: Dalil, question: str, lang: str, fallback: Fallback, filters: SearchFilters | None = None,
                 k: int | None = None, on_step: StepFn | None = None) -> None:
        self.dalil, self.question, self.lang, self.fallback = dalil, question, lang, fallback
        self.filters, self.k, self.on_step = filters, k, on_step
        self.settings = dalil.settings.llm
        self.seen = Seen()
        self.steps: list[Step] = []
        self.warnings: list[str] = []
        self.usage = Usage()
        self.requests = 0  # answered by the endpoint
        self.calls: dict[str, int] = {}  # each distinct call → times asked for
        self.secrets = [s.get_secret_value() for s in (self.settings.api_key, dalil.settings.embeddings.api_key) if s]
        self.count = token_counter(self.settings.tokenizer)

    # ------------------------------------------------------------------------------------ the loop
    def run(self) -> Answer:
        s = self.settings
        language = LANGUAGES.get(self.lang, "the language of the question")
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": load_prompt("agent_system.txt").format(language=language, max_steps=s.agent_max_steps)},
            {"role": "user", "content": load_prompt("agent_user.txt").format(question=self.question, language=language)},
        ]
        specs = tools.openai_tool_specs()
        context = sum(self.count(m["content"]) for m in messages) + self.count(json.dumps(specs))
        deadline = time.monotonic() + s.agent_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return self._fallback(f"the agent ran out of time (llm.agent_timeout = {s.agent_timeout:g}s)")
            if self.usage.prompt_tokens + self.usage.completion_tokens >= s.agent_max_tokens:
                return self._fallback(f"the agent used its token budget (llm.agent_max_tokens = {s.agent_max_tokens})")
            room = s.context_window - s.max_tokens
            if context > room:
                return self._fallback("the passages seen fill the model's context window (llm.context_window)")
            # no step left, or the context nearly full: the model must answer now (tool_choice "none")
            last = len(self.steps) >= s.agent_max_steps or context > 0.8 * room
            try:
                completion = self.dalil.chat.complete_with_tools(messages, specs, left, "none" if last else None)
            except DalilError as exc:
                if time.monotonic() >= deadline - 0.05:
                    return self._fallback(f"the agent ran out of time (llm.agent_timeout = {s.agent_timeout:g}s)")
                if self.requests:
                    return self._fallback(str(exc))
                if isinstance(exc, ToolsRejected) and s.tools == "auto":
                    raise ToolsUnavailable(f"{exc}; answered in one pass (llm.tools = auto)") from None
                raise
            self.requests += 1
            self.usage.prompt_tokens += completion.prompt_tokens
            self.usage.completion_tokens += completion.completion_tokens
            if not completion.tool_calls:
                return self._final(completion)
            if last:
                spent = (f"after its {s.agent_max_steps} steps (llm.agent_max_steps)" if len(self.steps) >= s.agent_max_steps
                         else "with its context window nearly full (llm.context_window)")
                return self._fallback(f"the model asked for more tool calls {spent}")
            messages.append({"role": "assistant", "content": completion.text or None, "tool_calls": [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": self._redact(c.arguments)}}
                for c in completion.tool_calls]})
            context += self.count(completion.text) + sum(self.count(c.arguments) + 8 for c in completion.tool_calls)
            for call in completion.tool_calls:
                if len(self.steps) >= s.agent_max_steps:
                    content: str | None = "error: no tool call left; answer now from the passages above"
                else:
                    content = self._step(call)
                    if content is None:
                        return self._fallback(f"the model repeated the same call ({self.steps[-1].tool}) {MAX_REPEATS} times")
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
                context += self.count(content) + 4

    def _step(self, call: ToolCall) -> str | None:
        """Run one call (or refuse it) and record the step; the tool message for the model. None: end the loop."""
        name = call.name[:60]
        started = time.perf_counter()
        arguments: dict[str, Any] = {}
        error: str | None = None
        key = f"{call.name}\0{call.arguments}"
        try:
            parsed = json.loads(call.arguments or "{}")
            if isinstance(parsed, dict):
                arguments = self._within_filters(name, parsed)
                key = f"{call.name}\0{json.dumps(arguments, sort_keys=True, ensure_ascii=False)}"
        except json.JSONDecodeError:
            pass
        self.calls[key] = self.calls.get(key, 0) + 1
        result: tools._Output | None = None
        if self.calls[key] >= MAX_REPEATS + 1:
            error = "repeated call"
        elif self.calls[key] > 1:
            error = "repeated call, not run again: its result is above; answer from the passages you have"
            self._warn(f"the model repeated a call ({name}); it was not run again")
        else:
            try:
                result = tools.call(self.dalil, call.name, arguments if arguments else call.arguments)
            except DalilError as exc:
                error = str(exc)
                self._warn(f"a tool call was refused: {error}")
        step = Step(tool=name, arguments=self._redacted(arguments), ids=result.ids() if result else [],
                    summary=self._redact(result.summary()) if result else "", error=self._redact(error) if error else None,
                    seconds=round(time.perf_counter() - started, 4))
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        if self.calls[key] >= MAX_REPEATS + 1:
            return None
        body = self._render(result) if result is not None else f"error: {fence(error or '')}"
        return self._redact(f'<tool_result name="{fence_attribute(name)}">\n{body}\n</tool_result>')

    def _within_filters(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A search stays inside the user's --from / --to / --outlet, and takes their -k unless it gives one."""
        if name != "search":
            return arguments
        arguments = dict(arguments)
        if self.k and "k" not in arguments:
            arguments["k"] = min(self.k, tools.MAX_K)
        f = self.filters
        if f is None:
            return arguments
        if f.outlet:
            arguments["outlet"] = f.outlet
        if f.date_from and not (isinstance(arguments.get("from"), str) and arguments["from"] > f.date_from.isoformat()):
            arguments["from"] = f.date_from.isoformat()
        if f.date_to and not (isinstance(arguments.get("to"), str) and arguments["to"] < f.date_to.isoformat()):
            arguments["to"] = f.date_to.isoformat()
        return arguments

    # ------------------------------------------------------------------------------------ tool results for the model
    def _render(self, result: tools._Output) -> str:
        lines: list[str] = []
        if isinstance(result, tools.SearchOutput):
            nodes = self.dalil.store.registry.nodes(result.ids())
            lines.append(f"{len(result.passages)} passage(s):")
            lines += [passage_block(self.seen.number(nodes[h.chunk_id], h.score), nodes[h.chunk_id])
                      for h in result.passages if h.chunk_id in nodes]
        elif isinstance(result, tools.EventsOutput):
            lines.append(f"{len(result.events)} event(s), in chronological order"
                         + (f" ({result.left_out} more dated only to a period, not listed)" if result.left_out else "") + ":")
            for e in result.events:
                node = quote_node(e.evidence)
                when = e.date or f"{e.start}…{e.end}"
                lines.append(fence(f"event {e.id}: {e.type} on {when}; {e.label_en}; participants: {', '.join(e.participants)}"
                                   + (f"; initiated by {e.initiator}" if e.initiator else "")
                                   + (f"; dated by «{e.date_phrase}»" if e.date_phrase else "")))
                lines.append(passage_block(self.seen.number(node), node))
                lines += [fence(f"sources disagree: {d}") for d in e.disagreements]
        elif isinstance(result, tools.AccountsOutput):
            lines.append(fence(f"accounts of event {result.event.id} ({result.event.label_en}):"))
            for side in result.sides:
                for a in side.accounts:
                    node = quote_node(a.citation)
                    lines.append(fence(f"{side.side} side, {a.source}: {a.said}"))
                    lines.append(passage_block(self.seen.number(node), node))
            lines += [fence(f"sources disagree: {d}") for d in result.disagreements]
        elif isinstance(result, tools.ReadOutput):
            node = self._read_node(result)
            lines.append(passage_block(self.seen.number(node), node))
        else:
            lines.append(fence(result.model_dump_json()))
        return "\n".join(lines)

    def _read_node(self, result: tools.ReadOutput) -> Any:
        """The text a ``read`` returned as a passage, under the id of the stored chunk it starts in."""
        registry = self.dalil.store.registry
        chunks = registry.nodes(registry.chunk_ids_of([result.doc_id])).values()
        chunk = next((c for c in chunks if c.metadata["start_char"] <= result.start < c.metadata["end_char"]), None)
        meta = {"doc_id": result.doc_id, "file": result.file, "published": result.published, "outlet": result.outlet}
        return chunk_node(chunk.node_id if chunk else f"{result.doc_id}:{result.start}", result.text, meta, 0,
                          result.start, result.end, 0)

    # ------------------------------------------------------------------------------------ endings
    def _final(self, completion: Completion) -> Answer:
        warnings = list(self.warnings)
        if not completion.text.strip():
            return self._fallback("the model returned an empty answer")
        if NOT_IN_CORPUS in completion.text:
            answer = abstention(self.question, self.lang, self.seen.passages, warnings)
        else:
            if not self.seen.passages:
                warnings.append("the model answered without calling a tool, so it saw no passage to cite")
            answer = verified(self.question, self.lang, self.seen.passages, completion, self.dalil.analyzer, warnings, self.usage)
        answer.usage, answer.steps = self.usage, self.steps
        return answer

    def _fallback(self, reason: str) -> Answer:
        seen = len(self.seen.passages)
        answer = self.fallback(self.seen.passages)
        where = f"the {seen} passage(s) the agent found" if seen else "a search with the question"
        answer.degraded = True
        answer.warnings[:0] = [*self.warnings, self._redact(f"{reason}; showing the extractive answer over {where}")]
        answer.usage, answer.steps = self.usage, self.steps
        return answer

    def _warn(self, message: str) -> None:
        message = self._redact(message)
        if message not in self.warnings:
            self.warnings.append(message)

    # ------------------------------------------------------------------------------------ secrets
    def _redact(self, text: str) -> str:
        """``text`` without the configured API keys (a model that saw one could echo it into a call)."""
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "****")
        return text

    def _redacted(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if not self.secrets:
            return arguments
        text = json.dumps(arguments, ensure_ascii=False)
        return arguments if text == self._redact(text) else json.loads(self._redact(text))


def run_agent(dalil: Dalil, question: str, lang: str, fallback: Fallback, filters: SearchFilters | None = None,
              k: int | None = None, on_step: StepFn | None = None) -> Answer:
    """``question`` answered by the agent loop (see the module docstring)."""
    return AgentLoop(dalil, question, lang, fallback, filters, k, on_step).run()
