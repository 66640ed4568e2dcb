"""Follow-up questions → standalone questions.

LLM mode: the model rewrites the follow-up with the conversation so far
(``prompts/chat_rewrite.txt``). Offline: a question that looks like a follow-up ("ومتى
حدث ذلك؟", "and what did the Americans say?") is searched together with the content
words of the question it follows, and the user is told which question that was.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.answer.llm import load_prompt
from agent.text import arabic

if TYPE_CHECKING:
    from agent.answer.llm import ChatClient
    from agent.chat.conversation import Turn

_PUNCT = "؟?!.,،؛;:«»“”\"'()[]{}…-—–"
_MARKERS = re.compile(r"\s*\[\s*\d+(?:\s*[,،]\s*\d+)*\s*\]")
# Words that point back into the conversation (normalized forms; a leading و/ف is stripped first).
_REFERRING = frozenset((
    "ذلك ذاك هذا هذه تلك هولاء اولئك هناك هنالك حينها حينذاك عندها انذاك بعدها قبلها نفسه نفسها "
    "هم هما هن عنه عنها عنهم منه منها منهم له لها لهم فيه فيها "
    "it its that this those these they them their theirs he him his she her there then same"
).split())
_CONNECTORS = ("and ", "but ", "so ", "also ", "what about", "how about", "then ", "وماذا عن", "ماذا عن", "وما ", "وهل ", "ومتى", "وكيف",
               "ولماذا", "وأين", "واين", "ومن ", "وكم", "وماذا", "فماذا", "فمتى", "فهل", "ثم ")
MAX_CONTEXT_WORDS = 12
MAX_REWRITE_CHARS = 600
HISTORY_TURNS = 4


def _tokens(text: str) -> list[str]:
    return [t.strip(_PUNCT) for t in text.split() if t.strip(_PUNCT)]


def _bare(token: str) -> str:
    """Normalized word with a leading conjunction و/ف removed when what remains is a known function word."""
    word = arabic.normalize(token)
    if len(word) > 2 and word[0] in "وف" and (word[1:] in arabic.stopwords() or word[1:] in _REFERRING):
        return word[1:]
    return word


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry its topic (as written), without question and function words."""
    stop = arabic.stopwords()
    seen: set[str] = set()
    out: list[str] = []
    for token in _tokens(_MARKERS.sub("", text)):
        bare = _bare(token)
        if bare in stop or bare in _REFERRING or bare in seen:
            continue
        seen.add(bare)
        out.append(token)
    return out


def is_followup(question: str) -> bool:
    """Does ``question`` lean on the conversation (a connector, a pronoun, or almost no topic words)?"""
    lowered = question.strip().lower()
    if lowered.startswith(_CONNECTORS):
        return True
    if any(_bare(t) in _REFERRING for t in _tokens(lowered)):
        return True
    return len(content_words(question)) <= 1


def topic_of(turn: Turn) -> str:
    """The standalone question a turn was about (an offline follow-up inherits its context's)."""
    return turn.context or turn.standalone


def with_context(question: str, topic: str) -> str:
    """Offline: the follow-up, with the topic question's content words for retrieval."""
    words = [w for w in content_words(topic) if w not in question][:MAX_CONTEXT_WORDS]
    return f"{question.strip()} ({' '.join(words)})" if words else question.strip()


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def history_text(turns: list[Turn], limit: int = HISTORY_TURNS) -> str:
    lines = []
    for turn in turns[-limit:]:
        answer = turn.answer
        said = "(the articles do not answer this)" if answer.abstained else _clip(_MARKERS.sub("", answer.answer), 500)
        lines += [f"User: {turn.standalone}", f"Assistant: {said}"]
    return "\n".join(lines).replace("</conversation>", "</ conversation>")


def rewrite_prompt(question: str, turns: list[Turn]) -> str:
    return load_prompt("chat_rewrite.txt").format(history=history_text(turns), question=question.strip())


def parse_rewrite(text: str, question: str) -> str:
    """The standalone question from the model's reply; the question as typed when the reply is unusable."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(standalone question|question|السؤال(?: المستقل)?)\s*[:：]\s*", "", line, flags=re.IGNORECASE)
    line = line.strip().strip("\"'«»“”`").strip()
    if not line or len(line) > MAX_REWRITE_CHARS or not any(c.isalpha() for c in line):
        return question.strip()
    return line


def rewrite_followup(question: str, turns: list[Turn], client: ChatClient) -> str:
    """LLM mode: ``question`` rewritten to stand on its own (raises ``DalilError`` on endpoint faults)."""
    if not turns:
        return question.strip()
    completion = client.complete([{"role": "user", "content": rewrite_prompt(question, turns)}], max_tokens=200)
    return parse_rewrite(completion.text, question)
