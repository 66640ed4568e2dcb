"""Citation verification: a model's answer + the passages it saw → checked sentences.

Takes the answer text with ``[n]`` markers and the numbered passages; returns
``AnswerSentence`` objects (markers, ``supported`` verdict, support score, problems),
the citations actually used (each quote the passage sentence that best matches the
claim, verbatim), and the markers that pointed nowhere. Checks per sentence: it has a
marker; numbers in it (digits in any script, number words such as "ثلاثة" or "ten") are
stated by the cited passages or their dates; every content word of it (entities, verbs,
nouns, bridged English→Arabic by the lexicon) occurs in those passages, and a negation on one
side has one on the other; it neither repeats text shaped like an instruction to a model nor
rests on such text in a passage (prompt injection); and the slot it states — who initiated,
when, who said, who took part — agrees with the facts the offline event rules extract from
the cited passages (``agent.answer.facts``): "Kerry initiated the 1 October call [2]" is unsupported
when passage 2 names no initiator or another one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from llama_index.core.schema import NodeWithScore

from agent.answer import facts as slot_facts
from agent.answer.answers import citation_for
from agent.schema import AnswerSentence, Citation
from agent.text import arabic
from agent.text.lexicon import Analyzer, Concept

_MARKER = re.compile(r"\[\s*([0-9٠-٩۰-۹]+(?:\s*[,،]\s*[0-9٠-٩۰-۹]+)*)\s*\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass
class Verification:
    sentences: list[AnswerSentence] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    dangling: list[int] = field(default_factory=list)

    @property
    def all_supported(self) -> bool:
        return bool(self.sentences) and all(s.supported for s in self.sentences)

    @property
    def text(self) -> str:
        return " ".join(s.text + (" " + "".join(f"[{n}]" for n in s.citations) if s.citations else "") for s in self.sentences)


def split_claims(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of the answer with their markers; a marker-only fragment joins the sentence before it."""
    out: list[tuple[str, list[int]]] = []
    for span in arabic.sentence_spans(answer):
        raw = span.of(answer)
        markers = [int(arabic.normalize(n)) for group in _MARKER.findall(raw) for n in re.split(r"\s*[,،]\s*", group)]
        text = _MARKER.sub("", raw).strip()
        text = re.sub(r"\s+([.!?؟،؛,])", r"\1", text)
        if not any(c.isalnum() for c in text):
            if out and markers:
                out[-1][1].extend(markers)
            continue
        out.append((text, markers))
    return out


def numbers_in(text: str) -> set[str]:
    return {n.replace(",", ".") for n in _NUMBER.findall(arabic.normalize(text))}


def _passage_numbers(text: str) -> set[str]:
    found = numbers_in(text)
    return found | {n.split(".")[0] for n in found}


def ungrounded_numbers(sentence: str, passages: list[str], dates: set[str] | None = None) -> list[str]:
    """Numbers in the sentence (digits or number words, as written) that neither the cited passages (as digits,
    number words or "250 ألف") nor their resolved dates contain."""
    available = set().union(*(_passage_numbers(p) for p in passages)) if passages else set()
    available |= dates or set()
    values = set().union(*(slot_facts.numbers_of(p) for p in passages)) if passages else set()
    digits = {n for n in numbers_in(sentence)}
    missing = {n for n in digits if n not in available}
    for number in slot_facts.numbers(sentence):
        if number.value in values:
            missing -= {n for n in digits if n in number.written.replace(",", ".") or n == number.written}
        elif not any(ch.isdigit() for ch in number.written):
            missing.add(number.written)
    return sorted(missing)


def date_numbers(passage: NodeWithScore) -> set[str]:
    """Day, month and year numbers of the passage's publication date and of the dates it mentions."""
    import datetime as dt

    from agent.text.dates import resolve_dates

    published = passage.node.metadata.get("published")
    if not published:
        return set()
    day = dt.date.fromisoformat(published)
    days = [day] + [r.date for r in resolve_dates(passage.node.get_content(), day) if r.date]
    return {str(x) for d in days for x in (d.day, d.month, d.year, f"{d.day:02d}", f"{d.month:02d}")}


# Words that negate what follows (normalized). Bare Arabic "ما" is usually "what/which"; it counts
# only at the start of a sentence ("ما تحدث…", "وما…"). "لا يزال / ما زال" mean "still", not "not".
NEGATIONS = frozenset((
    "not no never nor none nothing nobody neither without cannot didn doesn don isn wasn weren aren "
    "won hasn haven hadn couldn wouldn shouldn mustn needn shan ain "
    "لا لم لن ليس ليست ليسا ليسوا لست لسنا غير دون بدون عدم بلا"
).split())
_STILL = frozenset("زال يزال تزال نزال ازال زالت زالوا زلنا زلت برح يبرح تبرح انفك ينفك تنفك".split())
_NEGATION_SCOPE = 3  # content words after a negation that it applies to
# Function words the NLTK lists lack (English, light verbs, Arabic يوم before a weekday): not claims.
_FUNCTION_WORDS = frozenset((
    "also would could should may might shall will can must per via upon amid among across toward towards "
    "however although though despite whether within onto yet still even already s t يوم "
    "make makes made making take takes took taken taking give gives gave given giving get gets got getting"
).split())
_AR_PREFIXES = "ايتنسوف"  # verb prefixes, and the conjunctions Snowball may keep or strip

# Text shaped like an instruction to a model rather than reportage: in an answer it means the
# model repeated (or obeyed) an injected article; in a passage it is never evidence.
_INSTRUCTION = re.compile("|".join((
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:instructions?|prompts?|rules|directions|guidelines|"
    r"(?:the\s+)?(?:above|previous|prior|earlier)\b)",
    r"\bsystem\s*(?:prompt|message|instructions?)\b",
    r"(?:^|[\s\"'«(])system\s*:",
    r"\byou\s+are\s+now\b",
    r"\byou\s+must\b",
    r"\bfrom\s+now\s+on\b",
    r"\bnew\s+instructions?\b",
    r"\b(?:call|invoke|run|use|execute)\s+(?:the\s+|a\s+)?(?:\w+\s+)?(?:tool|function)s?\b",
    r"\b(?:developer|jailbreak|dan)\s+mode\b",
    r"\bdo\s+anything\s+now\b",
    r"\b(?:reveal|print|show|repeat)\s+(?:your|the)\s+(?:system\s+)?(?:prompt|instructions)\b",
    r"\b(?:end|start|begin)\s+(?:every|each|all|your)\s+(?:answers?|repl(?:y|ies)|responses?)\b",
    # Arabic, on normalized text (no hamza on alef, ى→ي)
    r"(?:^|\s)[وف]?(?:تجاهل|تجاهلي|تجاهلوا|اهمل|اهملي|انس|انسي|تخط)\s[^.\n]{0,30}?(?:تعليمات|التعليمات|اوامر|الاوامر|توجيهات|التوجيهات|ما\s+سبق|القواعد)",
    r"(?:تعليمات|اوامر|موجه|رساله|توجيهات)\s+(?:ال)?نظام\b",
    r"(?:^|\s)[وف]?انت\s+الان\b",
    r"(?:^|\s)[وف]?يجب\s+عليك\b",
    r"(?:^|\s)[وف]?عليك\s+ان\b",
    r"(?:^|\s)[وف]?(?:استدع|استدعي|استخدم|نفذ)\s+(?:ال)?(?:اداه|اداة|دالة|داله)\b",
    r"(?:^|\s)(?:منذ\s+الان|من\s+الان\s+فصاعدا)\b",
)), re.IGNORECASE)


def instruction_like(text: str) -> str | None:
    """The part of ``text`` shaped like an instruction to a model (prompt injection), if any."""
    match = _INSTRUCTION.search(arabic.normalize(text))
    return match.group(0).strip(" \"'«(") if match else None


@dataclass
class _Evidence:
    """One sentence of a cited passage: its tokens (normalized words) and their terms."""

    tokens: list[str]
    terms: list[str | None]  # None for stopwords
    instruction: bool

    @property
    def term_set(self) -> set[str]:
        return {t for t in self.terms if t}


@dataclass
class ClaimCheck:
    """What checking one sentence's words against its cited passages found."""

    content: list[str] = field(default_factory=list)  # the claim's content words
    missing: list[str] = field(default_factory=list)  # content words not in the passages
    unbridged: list[str] = field(default_factory=list)  # missing English words the lexicon cannot bridge
    injected: list[str] = field(default_factory=list)  # missing words found only in instruction-shaped text
    polarity: str | None = None  # a negation mismatch, described

    @property
    def score(self) -> float | None:
        return None if not self.content else (len(self.content) - len(self.missing)) / len(self.content)


def _evidence(passages: list[str], analyzer: Analyzer) -> list[_Evidence]:
    stop = arabic.stopwords()
    out = []
    for text in passages:
        for span in arabic.sentence_spans(text) or [arabic.Span(0, len(text))]:
            sentence = span.of(text)
            tokens = arabic.words(sentence)
            terms = [None if w in stop else arabic.stem(analyzer.canonical(w)) for w in tokens]
            out.append(_Evidence(tokens, terms, instruction_like(sentence) is not None))
    return out


def _light_forms(term: str) -> set[str]:
    forms = {term}
    if len(term) >= 4 and term[0] in _AR_PREFIXES:
        forms.add(term[1:])
    return forms


def _term_found(term: str, terms: set[str], light: dict[str, set[str]]) -> bool:
    """``term`` among ``terms``; Arabic also up to a short suffix or one verb prefix (هاتف/هاتفي, تستمر/استمر)."""
    if term in terms:
        return True
    if not arabic.is_arabic(term) or len(term) < 3:
        return False
    for form in _light_forms(term):
        for other_forms in light.values():
            for other in other_forms:
                short, long_ = sorted((form, other), key=len)
                if len(short) >= 3 and len(long_) - len(short) <= 2 and long_.startswith(short):
                    return True
    return False


def _matcher(terms: set[str]):
    light = {t: _light_forms(t) for t in terms if arabic.is_arabic(t) and len(t) >= 3}
    return lambda term: _term_found(term, terms, light)


_LIGHT_PHRASES = re.compile(r"\b(?:take|takes|took|taken|taking)\s+place\b", re.IGNORECASE)  # "the call took place on …"


def _content_concepts(sentence: str, analyzer: Analyzer) -> list[Concept]:
    sentence = _LIGHT_PHRASES.sub(" ", sentence)
    return [
        c for c in analyzer.concepts(sentence)
        if len(c.word) > 1 and not any(ch.isdigit() for ch in c.word)
        and c.word not in NEGATIONS and c.word not in _FUNCTION_WORDS and _negation(c.word) is None
    ]


def _negation(word: str, following: str | None = None, first: bool = False) -> str | None:
    """The negation ``word`` is (its normalized form), or None; ``following`` rules out "لا يزال"."""
    bare = word[1:] if len(word) > 2 and word[0] in "وف" and word[1:] in NEGATIONS | {"ما"} else word
    if bare == "ما" and not first:
        return None
    if bare not in NEGATIONS and bare != "ما":
        return None
    if following is not None and (following in _STILL or (following[:1] in "وف" and following[1:] in _STILL)):
        return None
    return bare


def _negations(tokens: list[str]) -> list[tuple[int, str]]:
    return [(i, n) for i, w in enumerate(tokens)
            if (n := _negation(w, tokens[i + 1] if i + 1 < len(tokens) else None, first=i == 0))]


def _scoped_negation(sentence: _Evidence, matches) -> str | None:
    """A negation in the passage sentence that applies to one of the claim's words, as text."""
    for i, word in _negations(sentence.tokens):
        scope = [j for j in range(i + 1, len(sentence.tokens)) if sentence.terms[j]][:_NEGATION_SCOPE]
        for j in scope:
            if matches(sentence.terms[j]):
                return f"{word} {sentence.tokens[j]}"
    return None


def check_claim(sentence: str, passages: list[str], analyzer: Analyzer, known: Sequence[str] = ()) -> ClaimCheck:
    """Content words, negation and provenance of one sentence against the texts it cites.

    Every content word of the claim (entities, verbs, nouns; not stopwords, negations or numbers)
    must be found in the passages, directly or through a lexicon bridge; an English word with no
    bridge cannot be found in an Arabic passage. Sentences of a passage shaped like an instruction
    to a model are not evidence. A negation in the claim needs a negation in the best-matching
    passage sentence applying to the claim's words, and the other way round. ``known``: names the
    caller has already tied to these passages (an event's participants), accepted as found.
    """
    check = ClaimCheck()
    concepts = _content_concepts(sentence, analyzer)
    check.content = [c.word for c in concepts]
    evidence = _evidence(passages, analyzer)
    facts = [e for e in evidence if not e.instruction]
    found_in = _matcher(set().union(*(e.term_set for e in facts), *(_name_terms(n, analyzer) for n in known)))
    injected_in = _matcher(set().union(*(e.term_set for e in evidence if e.instruction)) if evidence else set())
    arabic_passages = any(arabic.is_arabic(p) for p in passages)
    found: list[Concept] = []
    for concept in concepts:
        if any(found_in(t) for t in concept.alternatives):
            found.append(concept)
            continue
        check.missing.append(concept.word)
        if any(injected_in(t) for t in concept.alternatives):
            check.injected.append(concept.word)
        elif arabic_passages and not arabic.is_arabic(concept.word) and len(concept.alternatives) == 1:
            check.unbridged.append(concept.word)
    check.polarity = _polarity(sentence, found, facts)
    return check


def _name_terms(name: str, analyzer: Analyzer) -> set[str]:
    """A name's own terms and its lexicon spellings in Arabic."""
    return {t for c in analyzer.concepts(name) for t in c.alternatives}


def _polarity(sentence: str, found: list[Concept], facts: list[_Evidence]) -> str | None:
    if not found or not facts:
        return None
    wanted = {t for c in found for t in c.alternatives}
    matches = _matcher(wanted)
    overlap = []
    for e in facts:
        in_sentence = _matcher(e.term_set)
        overlap.append(sum(any(in_sentence(t) for t in c.alternatives) for c in found))
    best = max(overlap)
    candidates = [e for e, n in zip(facts, overlap, strict=True) if n == best and n > 0]
    negated = [n for _, n in _negations(arabic.words(sentence))]
    scoped = [s for e in candidates if (s := _scoped_negation(e, matches))]
    if negated and not scoped:
        return f"the claim is negated ({negated[0]}) but the cited passage does not say so"
    if not negated and candidates and len(scoped) == len(candidates):
        return f"the cited passage negates it ({scoped[0]}) but the claim does not"
    return None


def overlap_score(sentence: str, passages: list[str], analyzer: Analyzer) -> float | None:
    """Share of the sentence's Arabic and lexicon-bridged words found in the passages (None: none).

    The weak check, for text Dalil writes itself from fields already tied to the passages (the
    offline summary's English template lines): unbridged English words and negation are not
    looked at. Never for a model's sentences.
    """
    facts = [e for e in _evidence(passages, analyzer) if not e.instruction]
    found_in = _matcher(set().union(*(e.term_set for e in facts)) if facts else set())
    checkable = [c for c in _content_concepts(sentence, analyzer) if arabic.is_arabic(c.word) or len(c.alternatives) > 1]
    if not checkable:
        return None
    return sum(any(found_in(t) for t in c.alternatives) for c in checkable) / len(checkable)


MIN_OVERLAP = 0.5  # of ``overlap_score``, for Dalil's own template lines


def verify(answer: str, passages: list[NodeWithScore], analyzer: Analyzer, strict: bool = True,
           known: Sequence[str] = ()) -> Verification:
    """Check every sentence of ``answer`` against the passages its markers point to.

    ``strict`` (always, for a model's answer): every content word and the polarity are checked.
    ``strict=False`` only for Dalil's own template lines: enough Arabic or bridged words suffice.
    ``known``: names already tied to the passages (see ``check_claim``).
    """
    result = Verification()
    used: dict[int, list[str]] = {}
    for text, markers in split_claims(answer):
        valid = list(dict.fromkeys(n for n in markers if 1 <= n <= len(passages)))
        result.dangling.extend(n for n in markers if not 1 <= n <= len(passages))
        problems: list[str] = []
        support = 0.0
        instruction = instruction_like(text)
        if instruction:
            problems.append(f"{INSTRUCTION_PROBLEM} («{instruction}»)")
        if not markers:
            problems.append("no citation")
        elif not valid:
            problems.append("cites passages that do not exist")
        else:
            cited = [passages[n - 1].node.get_content() for n in valid]
            where = "the passage" if len(cited) == 1 else "the passages"
            dates = set().union(*(date_numbers(passages[n - 1]) for n in valid))
            missing = ungrounded_numbers(text, cited, dates)
            if missing:
                problems.append("numbers not in the cited passages: " + ", ".join(missing))
            claim = text
            if strict:  # a model's sentence: the slot it states must agree with the passages' facts
                slot_problems, verified_dates = slot_facts.check_slots(
                    text, [cited_passage(passages[n - 1]) for n in valid], analyzer, known)
                problems.extend(slot_problems)
                claim = _without(text, verified_dates)  # a verified date's words ("October", "Saturday") are checked
            check = check_claim(claim, cited, analyzer, known) if strict else None
            if check is None:
                overlap = overlap_score(text, cited, analyzer)
                support = overlap or 0.0
                if overlap is None:
                    problems.append("nothing in the sentence can be checked against the passages")
                elif overlap < MIN_OVERLAP:
                    problems.append(f"only {overlap:.0%} of its terms are in the cited passages")
            elif check.score is None:
                problems.append("nothing in the sentence can be checked against the passages")
            else:
                support = check.score
                if check.injected:
                    problems.append(f"{INJECTED_PROBLEM}: " + ", ".join(check.injected))
                absent = [w for w in check.missing if w not in check.injected]
                if absent:
                    some = "" if check.unbridged == absent else ": " + ", ".join(check.unbridged)
                    note = f" (no Arabic equivalent in the lexicon{some})" if check.unbridged else ""
                    problems.append(f"claim words not found in {where}: " + ", ".join(absent) + note)
            if check is not None and check.polarity:
                problems.append(check.polarity)
            for n in valid:
                used.setdefault(n, []).append(text)
        result.sentences.append(
            AnswerSentence(text=text, citations=valid, supported=not problems, support=round(support, 3), problems=problems)
        )
    result.citations = [_best_quote(n, passages[n - 1], claims, analyzer) for n, claims in sorted(used.items())]
    result.dangling = sorted(set(result.dangling))
    return result


def cited_passage(passage: NodeWithScore) -> slot_facts.Cited:
    """A passage with its article's publication day, for the slot checks."""
    import datetime as dt

    published = passage.node.metadata.get("published")
    try:
        day = dt.date.fromisoformat(str(published)[:10]) if published else None
    except ValueError:
        day = None
    return slot_facts.Cited(passage.node.get_content(), day)


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


INSTRUCTION_PROBLEM = "repeats text shaped like an instruction to the model, never verified"
INJECTED_PROBLEM = "found only in instruction-shaped text of the passage (possible prompt injection)"


def injection_suspected(sentence: AnswerSentence) -> bool:
    """Whether a checked sentence echoes or relies on instruction-shaped text."""
    return any(p.startswith((INSTRUCTION_PROBLEM, INJECTED_PROBLEM)) for p in sentence.problems)


def _best_quote(n: int, passage: NodeWithScore, claims: list[str], analyzer: Analyzer) -> Citation:
    """Cite the sentence of the passage that shares most with the claims citing it."""
    text = passage.node.get_content()
    base = int(passage.node.metadata["start_char"])
    wanted = {t for claim in claims for c in analyzer.concepts(claim) for t in c.alternatives}
    spans = arabic.sentence_spans(text) or [arabic.Span(0, len(text))]
    spans = [s for s in spans if not instruction_like(s.of(text))] or spans  # an injected order is no quote
    best = max(spans, key=lambda s: (len(wanted & set(analyzer.terms(s.of(text)))), -s.start))
    return citation_for(n, passage, base + best.start, base + best.end, best.of(text))
