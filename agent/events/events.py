"""Offline event extraction: one article → ``Report``s, by rules over normalized sentences.

Phone calls: a call word (اتصال هاتفي، مكالمة، محادثة هاتفية، تحدث عبر الهاتف) in a sentence
that names both sides (two people, two sides, or الوزيرين / نظيره); following sentences
that refer back to it (المحادثة، الاتصال) join it. Its date is, in order: a date phrase
about the call in those sentences; else the day the account was given ("said on Sunday":
the call is that day at the latest); else the nearest date in the paragraph; else the
date of the article's main call; else the publication date, flagged as not stated. A date
inside quoted speech only counts when the call word is inside the same quote.

Other events (agreement, ceasefire start / collapse, suspension, meeting, statement): a
date phrase binds to the nearest cue word of its sentence (12 words at most).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from agent.events import vocab
from agent.events.corpus import Article, Citer
from agent.events.entities import EntityIndex, Mention
from agent.events.models import Account, AccountBasis, EventDate, EventType, Position, Report
from agent.events.textmap import NormText
from agent.events.when import article_dates, event_date, quote_segments, segment_of, undated
from agent.schema import Citation
from agent.text import arabic
from agent.text.dates import ResolvedDate
from agent.text.lexicon import Analyzer

WINDOW = 12  # words between a date phrase and the cue it belongs to
REPORT_WINDOW = 8
TYPE_ORDER: list[str] = ["ceasefire_start", "ceasefire_collapse", "suspension", "agreement", "meeting"]


@dataclass
class Cue:
    start: int
    end: int
    kind: str  # strong, weak, anaphor, or an event type


@dataclass
class Sentence:
    start: int
    end: int
    para: int
    tokens: list[int]  # start offsets of the words
    mentions: list[Mention]
    dates: list[ResolvedDate]
    calls: list[Cue] = field(default_factory=list)
    typed: list[Cue] = field(default_factory=list)

    def word(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.tokens, pos) - 1)

    def distance(self, a: int, b: int) -> int:
        return abs(self.word(a) - self.word(b))

    @property
    def persons(self) -> list[Mention]:
        return [m for m in self.mentions if m.kind == "person"]


@dataclass
class Cluster:
    sentences: list[Sentence]

    @property
    def start(self) -> int:
        return self.sentences[0].start

    @property
    def end(self) -> int:
        return self.sentences[-1].end


@dataclass(frozen=True)
class Attribution:
    """Whose account a sentence relays (English name), the side it speaks for, and the words that say so."""

    name: str
    side: str | None
    via: str | None
    basis: AccountBasis
    cue: str | None

    def carried(self, cue: str) -> Attribution:
        """The same source, continued by a later sentence ("وأضاف أن …")."""
        return Attribution(self.name, self.side, self.via, "continued", cue.strip(" ،,:"))


class Extractor:
    """Reports of one article (``run``); citations are numbered by ``citer``."""

    def __init__(self, article: Article, index: EntityIndex, analyzer: Analyzer, citer: Citer) -> None:
        self.article, self.index, self.analyzer, self.citer = article, index, analyzer, citer
        self.nt = NormText(article.text)
        self.quotes = quote_segments(article.text)
        self.dates = article_dates(article, self.nt)
        self.sentences = self._sentences()
        self.attributions = self._attributions()
        self.used: set[int] = set()  # start offsets of date phrases already given to an event

    # ------------------------------------------------------------------ reading
    def _sentences(self) -> list[Sentence]:
        text = self.article.text
        out: list[Sentence] = []
        for p, para in enumerate(arabic.paragraph_spans(text)):
            for span in arabic.sentence_spans(text, para.start, para.end):
                tokens = [span.start + m.start() for m in re.finditer(r"\S+", text[span.start:span.end])]
                s = Sentence(
                    span.start, span.end, p, tokens, self.index.mentions(self.nt, span.start, span.end),
                    [d for d in self.dates if span.start <= d.start < span.end],
                )
                s.calls = self._call_cues(s)
                s.typed = self._typed_cues(s)
                out.append(s)
        return out

    def _find(self, pattern: re.Pattern[str], s: Sentence) -> list[tuple[re.Match[str], int, int]]:
        return list(self.nt.finditer(pattern, s.start, s.end))

    def _before(self, pos: int, chars: int = 24) -> str:
        n = self.nt.to_norm(pos)
        return self.nt.norm[max(0, n - chars):n]

    def _call_cues(self, s: Sentence) -> list[Cue]:
        cues = [Cue(a, b, "strong") for _, a, b in self._find(vocab.CALL_STRONG, s)]
        for kind, pattern in (("weak", vocab.CALL_WEAK), ("anaphor", vocab.CALL_ANAPHOR)):
            for _, a, b in self._find(pattern, s):
                if not vocab.CALL_NOT.search(self._before(a)) and not any(c.start <= a < c.end for c in cues):
                    cues.append(Cue(a, b, kind))
        return sorted(cues, key=lambda c: c.start)

    def _typed_cues(self, s: Sentence) -> list[Cue]:
        has = {name: bool(self._find(p, s)) for name, p in (("ceasefire", vocab.CEASEFIRE), ("agreement", vocab.AGREEMENT))}
        cues: list[Cue] = []
        if has["ceasefire"] or has["agreement"]:
            cues += [Cue(a, b, "ceasefire_start") for _, a, b in self._find(vocab.START, s)]
            cues += [Cue(a, b, "ceasefire_collapse") for _, a, b in self._find(vocab.COLLAPSE, s)]
        if has["agreement"]:
            cues += [Cue(a, b, "agreement") for _, a, b in self._find(vocab.AGREED, s)]
        cues += [Cue(a, b, "suspension") for _, a, b in self._find(vocab.SUSPEND, s) if not vocab.MODAL.search(self._before(a, 30))]
        cues += [Cue(a, b, "meeting") for _, a, b in self._find(vocab.MEETING, s)]
        return sorted(cues, key=lambda c: c.start)

    def _pair(self, s: Sentence) -> bool:
        """Does the sentence name both sides of a call?"""
        if self._find(vocab.PAIR_WORDS, s) or len({m.name for m in s.persons}) >= 2:
            return True
        return len({m.side for m in s.mentions if m.side}) >= 2

    def _is_call(self, s: Sentence) -> bool:
        return any(c.kind in ("strong", "weak") for c in s.calls) and self._pair(s)

    # ------------------------------------------------------------------ calls
    def _clusters(self) -> list[Cluster]:
        clusters: list[Cluster] = []
        current: Cluster | None = None
        for s in self.sentences:
            if current and current.sentences[-1].para != s.para:
                current = None
            if self._is_call(s):
                own = self._event_dates(Cluster([s]))
                if current is None or (own and self._event_dates(current) and own[0].date != self._event_dates(current)[0].date):
                    current = Cluster([s])
                    clusters.append(current)
                else:
                    current.sentences.append(s)
            elif current and s.calls:
                current.sentences.append(s)
            else:
                current = None
        return clusters

    def _role(self, s: Sentence, d: ResolvedDate) -> str:
        """"report" when the nearest cue before the date is a reporting word ("قالت …، امس الأحد"), else "event"."""
        best: tuple[int, str] | None = None
        for pattern, role in ((vocab.REPORTING, "report"), (vocab.EVENT_VERB, "event")):
            for _, a, _ in self._find(pattern, s):
                if a < d.start and (best is None or a > best[0]):
                    best = (a, role)
        for cue in [*s.calls, *s.typed]:
            if cue.start < d.start and (best is None or cue.start > best[0]):
                best = (cue.start, "event")
        for pattern, _ in vocab.STANCE_RE:
            for _, a, _ in self._find(pattern, s):
                if a < d.start and (best is None or a > best[0]):
                    best = (a, "event")
        if best is None or s.distance(best[0], d.start) > REPORT_WINDOW:
            return "event"
        return best[1]

    def _call_dates(self, cluster: Cluster) -> list[tuple[Sentence, ResolvedDate]]:
        """Date phrases of the cluster that can be the call's (same quote as a call word, no nearer event cue)."""
        out = []
        for s in cluster.sentences:
            for d in s.dates:
                seg = segment_of(d.start, self.quotes)
                calls = [c for c in s.calls if segment_of(c.start, self.quotes) == seg]
                if not calls:
                    continue
                nearest_call = min(s.distance(c.start, d.start) for c in calls)
                typed = [c for c in s.typed if segment_of(c.start, self.quotes) == seg]
                if typed and min(s.distance(c.start, d.start) for c in typed) < nearest_call:
                    continue
                out.append((s, d))
        return out

    def _event_dates(self, cluster: Cluster) -> list[ResolvedDate]:
        return [d for s, d in self._call_dates(cluster) if self._role(s, d) == "event"]

    def _date_cluster(self, cluster: Cluster) -> tuple[EventDate | None, EventDate | None]:
        """(date of the call, day the account was given) — the call date None when nothing in the paragraph dates it."""
        candidates = self._call_dates(cluster)
        events = [d for s, d in candidates if self._role(s, d) == "event"]
        reports = [d for s, d in candidates if self._role(s, d) == "report"]
        for d in candidates:
            self.used.add(d[1].start)
        reported_on = event_date(reports[0], "report_day", self.article) if reports else None
        if events:
            events.sort(key=lambda d: d.granularity != "day")
            return event_date(events[0], "stated", self.article), reported_on
        if reports:
            return event_date(reports[0], "report_day", self.article), None
        para = cluster.sentences[0].para
        inside = {id(s) for s in cluster.sentences}
        free = [
            d for s in self.sentences if s.para == para and id(s) not in inside for d in s.dates
            if d.granularity == "day" and segment_of(d.start, self.quotes) < 0 and not s.typed and d.start not in self.used
        ]
        if free:
            nearest = min(free, key=lambda d: min(abs(d.start - cluster.start), abs(d.start - cluster.end)))
            return event_date(nearest, "paragraph", self.article), None
        return None, None

    def _call_persons(self, s: Sentence) -> list[str]:
        """The (at most two, one per side) people named nearest the sentence's call words."""
        if not s.calls:
            return []
        quoted = {segment_of(c.start, self.quotes) for c in s.calls}
        ranked = sorted(s.persons, key=lambda m: (
            segment_of(m.start, self.quotes) not in quoted, min(s.distance(c.start, m.start) for c in s.calls),
        ))
        chosen: list[Mention] = []
        for m in ranked:
            near = min(s.distance(c.start, m.start) for c in s.calls) <= WINDOW
            if near and m.name not in {c.name for c in chosen} and (m.side is None or m.side not in {c.side for c in chosen}):
                chosen.append(m)
        return [m.name for m in sorted(chosen[:2], key=lambda m: m.start)]

    def _call_participants(self, cluster: Cluster, pairs: list[str]) -> list[str]:
        persons = list(dict.fromkeys(p for s in cluster.sentences for p in self._call_persons(s)))[:2]
        sides = {m.side for s in cluster.sentences for m in s.mentions if m.side}
        covered = {self.index.side_of(p) for p in persons}
        for name in pairs:
            if len(persons) >= 2:
                break
            side = self.index.side_of(name)
            if name not in persons and side not in covered and (side in sides or not sides or not persons):
                persons.append(name)
                covered.add(side)
        return persons or sorted(sides)

    def _article_pair(self) -> list[str]:
        """People named most often in the article's call sentences (fills in "الوزيرين", "نظيره")."""
        counts: dict[str, int] = {}
        for s in self.sentences:
            if self._is_call(s):
                for name in self._call_persons(s):
                    counts[name] = counts.get(name, 0) + 1
        return sorted(counts, key=lambda n: -counts[n])

    def _initiator(self, cluster: Cluster) -> tuple[str | None, str | None, str | None]:
        """(who, side, verbatim words) from "بمبادرة من …", "أجرى X اتصالاً", "اتصل X بـ", "تلقى … من Y"."""
        for s in cluster.sentences:
            for m, a, b in self._find(vocab.INITIATIVE, s):
                after = self.nt.norm[m.end():self.nt.to_norm(s.end)]
                latter = vocab.THE_LATTER.match(after)
                if latter:
                    end = self.nt.to_original(m.end(), m.end() + latter.end())[1]
                    who = self._last_mention(cluster, a)
                else:
                    who = next((x for x in s.mentions if x.start >= b and s.distance(b, x.start) <= 4), None)
                    end = who.end if who else b
                if who:
                    return self._who(who, s, cluster), who.side, self.article.text[a:end]
            for pattern in (vocab.PLACED_CALL, vocab.CALLED):
                for _, a, b in self._find(pattern, s):
                    who = next((x for x in s.persons if x.start >= b and s.distance(b, x.start) <= 5
                                and not vocab.NOT_SUBJECT.search(self.nt.norm[self.nt.to_norm(b):self.nt.to_norm(x.start)])), None)
                    later_call = any(c.start > b and s.distance(b, c.start) <= 8 for c in s.calls) or pattern is vocab.CALLED
                    if who and later_call:
                        return who.name, who.side, self.article.text[a:who.end]
            for _, a, b in self._find(vocab.RECEIVED, s):
                source = re.search(r"(?<!\w)من(?!\w)", self.nt.norm[self.nt.to_norm(b):self.nt.to_norm(s.end)])
                if source:
                    pos = self.nt.to_original(self.nt.to_norm(b) + source.end(), self.nt.to_norm(b) + source.end() + 1)[0]
                    who = next((x for x in s.mentions if x.start >= pos and s.distance(pos, x.start) <= 3), None)
                    if who:
                        return who.name, who.side, self.article.text[a:who.end]
        return None, None, None

    def _last_mention(self, cluster: Cluster, before: int) -> Mention | None:
        mentions = [m for s in cluster.sentences for m in s.mentions if m.end <= before and m.side]
        return mentions[-1] if mentions else None

    def _who(self, m: Mention, s: Sentence, cluster: Cluster) -> str:
        """A side word right after a person of that side ("جون كيري نظيره الأمريكي") means the person."""
        if m.kind != "person":
            people = [p for x in cluster.sentences for p in x.persons if p.end <= m.start and p.side == m.side]
            if people and s.distance(people[-1].end, m.start) <= 3:
                return people[-1].name
        return m.name

    def _reported_by(self, sentences: list[Sentence], before: int | None = None) -> str | None:
        """Whose account it is: the organization or person right after a reporting word
        ("قالت وزارة الخارجية الروسية", "بحسب … رويترز"); with ``before``, the reporting word
        nearest before that offset."""
        for s in sentences:
            for _, _, name, _ in self._sources(s, before):
                return name
        return None

    def _sources(self, s: Sentence, before: int | None = None) -> Iterator[tuple[int, int, str, str]]:
        """(start of the reporting word, end of the name, English name, kind) per reporting word of ``s`` that names
        its source: an organization within 6 words, else a person, country or organization within 4 words that is
        neither the object of a preposition nor inside the reported speech."""
        hits = sorted(
            (a, b) for pattern in (vocab.REPORTING, vocab.ACCORDING) for _, a, b in self._find(pattern, s)
            if before is None or a < before
        )
        if before is not None:
            hits.reverse()
        for a, b in hits:
            orgs = [(a2, e2, name) for p, name in vocab.REPORTER_RE for _, a2, e2 in self._find(p, s) if a2 >= b and s.distance(b, a2) <= 6]
            near = [
                m for m in s.mentions if m.start >= b and s.distance(b, m.start) <= 4
                and m.kind in ("person", "country", "organization") and not self._is_object(m)
                and not vocab.THAT.search(self.nt.norm[self.nt.to_norm(b):self.nt.to_norm(m.start)])
            ]
            if orgs:
                _, end, name = min(orgs)
                yield a, end, name, "organization"
            elif near:
                m = min(near, key=lambda m: m.start)
                yield a, m.end, m.name, m.kind

    # ------------------------------------------------------------------ whose account ("what was said")
    def _attributions(self) -> list[Attribution | None]:
        """Per sentence, whose account it relays: named in it, or carried on from the sentence before."""
        out: list[Attribution | None] = []
        earlier: list[Attribution] = []
        for i, s in enumerate(self.sentences):
            found = self._attribution(s, out[i - 1] if i else None, earlier)
            out.append(found)
            if found is not None:
                earlier.append(found)
        return out

    def _attribution(self, s: Sentence, previous: Attribution | None, earlier: list[Attribution]) -> Attribution | None:
        """Whose account ``s`` relays: a source named after a reporting word (as ``_reported_by``), a spokesman's
        ministry, a side ("قال مسؤول أميركي"); or one named before — a bare "الوزارة", "وفق المصدر", "أوضح البيان",
        a sentence that opens with a reporting verb and names no one ("وأضاف أن …") — else None."""
        text = self.article.text
        for a, end, name, _ in self._sources(s):
            via, end = self._via(s, name, end)
            return Attribution(name, self._source_side(name, via), via, "named", text[a:end].strip(" ،,"))
        cues = sorted(
            (a, b) for pattern in (vocab.REPORTING, vocab.ACCORDING, vocab.SPOKESMAN) for _, a, b in self._find(pattern, s)
        )
        for a, b in cues:
            after = self.nt.norm[self.nt.to_norm(b):self.nt.to_norm(s.end)]
            orgs = [(a2, e2, name) for p, name in vocab.REPORTER_RE for _, a2, e2 in self._find(p, s) if a2 >= b and s.distance(b, a2) <= 4]
            if orgs:  # "وعلق المتحدث باسم وزارة الخارجية الأميركية مارك تونر على …"
                _, end, name = min(orgs)
                via, end = self._via(s, name, end)
                return Attribution(name, self._source_side(name, via), via, "named", text[a:end].strip(" ،,"))
            sides = [
                m for m in s.mentions if m.kind == "side" and m.start >= b and s.distance(b, m.start) <= 3
                and not self._is_object(m) and not vocab.THAT.search(between := self.nt.norm[self.nt.to_norm(b):self.nt.to_norm(m.start)])
                and not vocab.MEDIA.search(between)
            ]
            if sides:  # "وأضافت العاصمة الروسية أن …", "قال مسؤول أميركي"
                return Attribution(sides[0].name, sides[0].side, None, "named", text[a:sides[0].end].strip(" ،,"))
            nb = self.nt.to_norm(b)
            bare = next((m for m in vocab.BARE_MINISTRY.finditer(after) if len(after[:m.start()].split()) <= 2), None)
            if bare and not after[:bare.start()].rstrip().endswith("وزير") \
                    and not any(p.match(after, bare.start()) for p, _ in vocab.REPORTER_RE):
                ministry = self._last_ministry(s.start)
                if ministry:  # "وبحسب وزارة الخارجية، فإن …": the ministry named before
                    cue_end = self.nt.to_original(nb, nb + bare.end())[1]
                    return Attribution(ministry, self._source_side(ministry, None), None, "continued", text[a:cue_end])
            skip = len(after) - len(after.lstrip(" ،,:"))
            anaphor = vocab.SOURCE_ANAPHOR.match(after, skip)
            if anaphor and earlier:  # "وفق المصدر", "وأوضح البيان أن …": the source named before
                statement = "بيان" in anaphor.group()
                source = next((x for x in reversed(earlier) if not statement or "بيان" in arabic.normalize(x.cue or "")), earlier[-1])
                return source.carried(text[a:self.nt.to_original(nb, nb + anaphor.end())[1]])
        head = self.nt.norm[self.nt.to_norm(s.start):self.nt.to_norm(s.end)]
        opening = vocab.CONTINUES.match(head)
        if opening and previous is not None:  # "وأضاف أن …", "وأوضحت أن …", "كما شدد على أن …"
            return previous.carried(text[s.start:self.nt.to_original(self.nt.to_norm(s.start), self.nt.to_norm(s.start) + opening.end())[1]])
        for p, name in vocab.REPORTER_RE:  # "وركزت وزارة الخارجية الروسية أن …": the source is the subject
            for _, a2, e2 in self._find(p, s):
                if s.word(a2) <= 2 and vocab.THAT.search(self.nt.norm[self.nt.to_norm(e2):self.nt.to_norm(min(s.end, e2 + 40))]):
                    return Attribution(name, self._source_side(name, None), None, "named", text[s.start:e2])
        return None

    def _last_ministry(self, before: int) -> str | None:
        """The last foreign ministry the article names before ``before`` (what "الوزارة" refers back to)."""
        found = [(a, name) for p, name in vocab.REPORTER_RE if name in vocab.MINISTRIES for _, a, _ in self.nt.finditer(p, 0, before)]
        return max(found)[1] if found else None

    def _via(self, s: Sentence, name: str, end: int) -> tuple[str | None, int]:
        """The person named right after a source ("المتحدث باسم الخارجية الأميركية، جون كيربي")."""
        person = next((m for m in s.persons if m.start >= end and s.distance(end, m.start) <= 4 and m.name != name
                       and not self._is_object(m)
                       and not vocab.THAT.search(self.nt.norm[self.nt.to_norm(end):self.nt.to_norm(m.start)])), None)
        return (person.name, person.end) if person else (None, end)

    def _source_side(self, name: str, via: str | None) -> str | None:
        side = vocab.REPORTER_SIDES[name] if name in vocab.REPORTER_SIDES else self.index.side_of(name)
        return side or (self.index.side_of(via) if via else None)

    def _account(self, indices: list[int], participants: list[str]) -> tuple[Account, Citation] | None:
        """The account carried by consecutive sentences: their source (or, when none is named, the one person whose
        words they give), claims and verbatim quote."""
        sentences = [self.sentences[i] for i in indices]
        citation = self.citer.cite(self.article, sentences[0].start, sentences[-1].end)
        positions = self._positions(sentences, citation.n, participants)
        attribution = next((self.attributions[i] for i in indices if self.attributions[i] is not None), None)
        if attribution is None:
            sides = {self.index.side_of(p.holder) for p in positions}
            if not positions or len(sides) != 1 or None in sides:
                return None
            attribution = Attribution(positions[0].holder, sides.pop(), None, "speaker", None)
        account = Account(
            attribution=attribution.name, side=attribution.side, via=attribution.via, basis=attribution.basis,
            cue=attribution.cue, topics=self._topics(citation.quote), positions=positions, quote=citation.quote,
            citation=citation.n,
        )
        return account, citation

    def _spanned(self, report: Report) -> list[int]:
        c = report.citations[0]
        return [i for i, s in enumerate(self.sentences) if c.start <= s.start < c.end]

    def _with_account(self, report: Report, participants: list[str]) -> Report:
        """``report`` carrying the account of its own evidence, if it has one."""
        found = self._account(self._spanned(report), participants)
        if found:
            report.accounts.append(found[0])
            if report.reported_by is None and found[0].basis != "speaker":
                report.reported_by = found[0].attribution
        return report

    def _satellites(self, calls: list[Report], reports: list[Report]) -> None:
        """Attributed sentences outside any event that give an account of a call: they refer back to it
        ("علق … على الاتصال", "الوزيرين ناقشا"), give the words of one of its participants ("قال … إن كيري أعرب
        عن …"), or go on with the source of a sentence that does ("وأضاف أن …"). Each joins the nearest call before
        it (else after it) as one more account, with its own citation."""
        taken = {i for r in reports for i in self._spanned(r)}
        owner: dict[int, Report] = {i: r for r in calls for i in self._spanned(r)}
        groups: list[tuple[Report, list[int]]] = []
        for i, s in enumerate(self.sentences):
            attribution = self.attributions[i]
            if i in taken or attribution is None:
                continue
            target = None
            if attribution.basis == "continued" and i - 1 in owner:
                target = owner[i - 1]
            elif self._refers_to_call(s):
                target = self._nearest_call(calls, s, None)
            else:
                holders = [p.holder for p in self._positions([s], 0, [])]
                target = next((c for h in holders if (c := self._nearest_call(calls, s, h))), None)
            own = {d.date for d in s.dates if d.granularity == "day" and segment_of(d.start, self.quotes) < 0}
            if target is None or (own and target.date.date not in own):
                continue
            if groups and groups[-1][0] is target and groups[-1][1][-1] == i - 1 and attribution.basis == "continued":
                groups[-1][1].append(i)
            else:
                groups.append((target, [i]))
            owner[i] = target
        for target, indices in groups:
            found = self._account(indices, target.participants)
            if found:
                account, citation = found
                target.accounts.append(account)
                if all(c.n != citation.n for c in target.citations):
                    target.citations.append(citation)

    def _refers_to_call(self, s: Sentence) -> bool:
        """A call word or "الوزيرين" that is not about contacts in general ("قنوات الاتصال", "الحفاظ على الاتصال")."""
        words = [a for p in (vocab.CALL_STRONG, vocab.CALL_WEAK, vocab.CALL_ANAPHOR) for _, a, _ in self._find(p, s)]
        return bool(self._find(vocab.PAIR_WORDS, s)) or any(not vocab.CALL_REFERENCE_NOT.search(self._before(a, 30)) for a in words)

    def _nearest_call(self, calls: list[Report], s: Sentence, person: str | None) -> Report | None:
        """The call before ``s`` (else after it) nearest to it, with ``person`` among its participants if given."""
        fitting = [c for c in calls if person is None or person in c.participants]
        before = [c for c in fitting if c.citations[0].start < s.start]
        if before:
            return max(before, key=lambda c: c.citations[0].start)
        return min(fitting, key=lambda c: c.citations[0].start) if fitting else None

    def _positions(self, sentences: list[Sentence], n: int, participants: list[str]) -> list[Position]:
        out: list[Position] = []
        for s in sentences:
            for pattern, verb in vocab.STANCE_RE:
                for _, a, b in self._find(pattern, s):
                    after = [m for m in s.persons if m.start >= a and s.distance(b, m.start) <= 2]
                    before = [
                        m for m in s.persons if m.end <= a and s.distance(m.end, a) <= 6
                        and not self._is_object(m)
                    ]
                    adjacent = [m for m in before if s.distance(m.end, a) <= 1]  # "إن كيري أبلغ لافروف": the subject comes first
                    holder = (before[-1] if before and (adjacent or pattern.pattern.find("قال") >= 0) else None) \
                        or (after[0] if after else None) or (before[-1] if before else None)
                    if holder is None:
                        continue
                    others = [m.name for m in s.persons if m.start >= b and m.name != holder.name]
                    addressee = others[0] if others else next((p for p in participants if p != holder.name), None)
                    out.append(Position(holder=holder.name, stance=verb, addressee=addressee, citation=n))
        return list({(p.holder, p.stance): p for p in out}.values())

    def _is_object(self, m: Mention) -> bool:
        """"مع كيري", "لكيري": the person is the object of a preposition, not the one speaking."""
        if vocab.OBJECT_BEFORE.search(self._before(m.start, 12)):
            return True
        word = arabic.normalize(self.article.text[m.start:m.end])
        return word[:1] in "لب" and self.index.matches(m.name, word[1:])

    def _topics(self, text: str) -> list[str]:
        terms = set(self.analyzer.terms(text))
        found = []
        for label, keys in vocab.TOPICS.items():
            phrases = [ar for k in keys for ar in self.analyzer.bridges.get(k, [])]
            if any((stems := set(self.analyzer.terms(ar))) and stems <= terms for ar in phrases):
                found.append(label)
        return found

    # ------------------------------------------------------------------ reports
    def _report(self, kind: EventType, start: int, end: int, when: EventDate, sentences: list[Sentence], **fields) -> Report:
        citation = self.citer.cite(self.article, start, end)
        flags = list(fields.pop("flags", []))
        for d in (when, fields.get("reported_on")):
            if d is not None and d.weekday_mismatch:
                flags.append(f"weekday mismatch: '{d.phrase}' names a weekday that is not {d.date} ({d.explanation})")
        return Report(
            id=f"{self.article.file}#{start}", type=kind, doc_id=self.article.doc_id, file=self.article.file,
            published=self.article.published, outlet=self.article.outlet, date=when, text=citation.quote,
            citations=[citation], topics=self._topics(citation.quote), flags=flags,
            reported_by=fields.pop("reported_by", None) or self._reported_by(sentences), **fields,
        )

    def calls(self) -> list[Report]:
        pairs = self._article_pair()
        dated: list[tuple[Cluster, EventDate | None, EventDate | None]] = []
        for cluster in self._clusters():
            when, reported_on = self._date_cluster(cluster)
            dated.append((cluster, when, reported_on))
        lead = next(((c, w) for c, w, _ in dated if w is not None), None)
        reports = []
        for cluster, when, reported_on in dated:
            flags = []
            if when is None and lead is not None:
                when = lead[1].model_copy(update={
                    "basis": "article_lead",
                    "explanation": f"no date in this passage; dated like the article's main call (chars {lead[0].start}–{lead[0].end}): "
                    + lead[1].explanation,
                })
            elif when is None:
                when = undated(self.article)
                flags.append("date not stated")
            participants = self._call_participants(cluster, pairs)
            who, side, phrase = self._initiator(cluster)
            report = self._report(
                "call", cluster.start, cluster.end, when, cluster.sentences, participants=participants, initiator=who,
                initiator_side=side or (self.index.side_of(who) if who else None), initiator_phrase=phrase,
                reported_on=reported_on, flags=flags,
            )
            report.positions = self._positions(cluster.sentences, report.citations[0].n, participants)
            reports.append(self._with_account(report, participants))
        return reports

    def others(self, call_sentences: set[int]) -> list[Report]:
        reports = []
        for s in self.sentences:
            for d in s.dates:
                if d.start in self.used:
                    continue
                seg = segment_of(d.start, self.quotes)
                typed = [c for c in s.typed if segment_of(c.start, self.quotes) == seg and s.distance(c.start, d.start) <= WINDOW]
                if typed:
                    cue = min(typed, key=lambda c: (s.distance(c.start, d.start), c.start > d.start, TYPE_ORDER.index(c.kind)))
                    self.used.add(d.start)
                    reports.append(self._typed(cue, s, d))
                elif s.start not in call_sentences and d.granularity == "day":
                    statement = self._statement(s, d)
                    if statement:
                        self.used.add(d.start)
                        reports.append(statement)
        return reports

    def _typed(self, cue: Cue, s: Sentence, d: ResolvedDate) -> Report:
        """An agreement, ceasefire, suspension or meeting: the people and sides named near its cue word."""
        near = [m for m in s.mentions if s.distance(m.start, cue.start) <= WINDOW]
        persons = list(dict.fromkeys(m.name for m in near if m.kind == "person"))
        sides = sorted({m.side for m in near if m.side and m.kind != "person"} - {self.index.side_of(p) for p in persons})
        kind: EventType = cue.kind  # type: ignore[assignment]  # a typed cue's kind is an event type (_typed_cues)
        report = self._report(kind, s.start, s.end, event_date(d, "stated", self.article), [s], participants=persons + sides)
        return self._with_account(report, report.participants) if kind == "meeting" else report

    def _statement(self, s: Sentence, d: ResolvedDate) -> Report | None:
        """"وقال تونر، الجمعة، …" / "حث لافروف … اليوم": a dated statement by someone named."""
        positions = self._positions([s], 0, [])
        speaker = self._reported_by([s], before=d.start) if self._role(s, d) == "report" else None
        speaker = speaker or (positions[0].holder if positions else None)
        if speaker is None:
            return None
        report = self._report(
            "statement", s.start, s.end, event_date(d, "stated", self.article), [s], participants=[speaker], reported_by=speaker,
        )
        n = report.citations[0].n
        report.positions = [p.model_copy(update={"citation": n}) for p in positions]
        report.participants = list(dict.fromkeys([speaker, *(p.addressee for p in positions if p.addressee)]))
        return self._with_account(report, report.participants)

    def run(self) -> list[Report]:
        found = self.calls()
        calls = dedupe(found)
        call_sentences = {s.start for s in self.sentences if any(r.citations[0].start <= s.start < r.citations[0].end for r in calls)}
        others = self.others(call_sentences)
        self._satellites(calls, found + others)
        return calls + others


def dedupe(reports: list[Report]) -> list[Report]:
    """Drop a report that repeats another of the same article almost word for word (scraping artifacts)."""
    kept: list[Report] = []
    for report in reports:
        words = set(arabic.words(report.text))
        twin = next((k for k in kept if k.type == report.type and _jaccard(words, set(arabic.words(k.text))) > 0.8), None)
        if twin is None:
            kept.append(report)
        elif not _complete(twin.text) and _complete(report.text):
            kept[kept.index(twin)] = report
    return kept


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _complete(text: str) -> bool:
    return bool(re.search(r"[.!?؟»”\"')]\s*$", text))


def extract(article: Article, index: EntityIndex, analyzer: Analyzer, citer: Citer) -> list[Report]:
    """Every report the rules find in ``article``."""
    return Extractor(article, index, analyzer, citer).run()
