"""Question understanding: a question → a typed ``QuestionFrame`` (offline, Arabic and English).

Takes the question text, the analyzer (its lexicon names people and places in both scripts)
and the corpus's latest publication day (what "5 October" or "the Wednesday call" is
resolved against); returns what is asked (who initiated, when, how many, …), the focus
words, and the constraints a passage must meet: dates and ranges, a weekday, the people and
places named, the kind of event and a relation to another event. Nothing here reads the
store: ``agent.retrieval.grounding`` matches a frame against the event index.

Written with patterns rather than a parser: the questions are short, the two languages'
question words are few, and every decision must be explainable in ``dalil ask --explain``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from agent.text import arabic
from agent.text.lexicon import ROLE_NOUNS, Analyzer, Entity

Asks = Literal["who_initiated", "who_said", "who", "when", "where", "how_many", "how_long", "why", "list", "order",
               "compare", "yes_no", "what"]
EventKind = Literal["call", "agreement", "ceasefire", "suspension", "meeting", "statement"]
Attribute = Literal["duration", "minutes", "casualties", "count", "time_of_day", "name", "person", "place", "city", "leader",
                    "proposal"]

WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAYS_AR = ("الاثنين", "الثلاثاء", "الاربعاء", "الخميس", "الجمعه", "السبت", "الاحد")  # normalized (ة→ه kept below)

# what is asked: the first pattern that matches wins, so the specific ones come first
_ASKS: list[tuple[Asks, str]] = [
    ("who_initiated", r"\bwho (initiated|placed|made|started|requested|asked for|called whom|reached out|phoned|rang|set up|arranged)\b"
                      r"|\binitiat|^(was it|did) \w+ or \w+ (that|who)? ?(set up|arranged|placed|made|requested|called|phoned|rang)\b"
                      r"|\bwhose (idea|initiative|request)\b"
                      r"|\bat whose (request|initiative)|\b(reached out|got in touch|phoned|rang|called) first\b|\bpicked up the phone\b"
                      r"|\bwhich (side|minister|country|party|capital|government) (called|initiated|made|placed|requested|asked for|reached out)"
                      r"|\b(made|make|makes) the first move\b|\btook the initiative\b"
                      # "did Lavrov ring Kerry or was it the other way round?", "هل اتصل لافروف بكيري أم العكس؟"
                      r"|\b(call|called|ring|rang|phone|phoned)\b.*\b(other way (a)?round|vice versa)\b"
                      r"|(اتصل|بادر|هاتف).*(ام|او|ولا) (العكس|بالعكس)"
                      # "28 sept: who called?" (not "who called for talks", "who called on Russia to …")
                      r"|\bwho (called|rang|phoned)\b(?! (for|on|upon|to)\b)(?!.*\b(for|on) (the|a|an|russia|washington|moscow)\b)"
                      r"|\b(russian|american|us|u\.s\.) or (russian|american|us|u\.s\.) (initiative|request|call)\b"
                      r"|(بمبادره|بطلب|مبادره) \S+ (ام|او) \S+"
                      r"|(^|\s)(من|ومن|مين|ومين) (الذي |اللي )?(بادر|طلب|اجرى|اتصل|بدا|رفع السماعه)"
                      r"|بمبادره (من )?(من|اي)|بمبادره ممن|بطلب (من )?(من|اي)|بطلب ممن|(من|ومن) (الذي )?سعي (الي|ل)"
                      r"|اي (ال)?(طرف|جانب|طرفين|جانبين|وزيرين) (بادر|طلب|اتصل|اجرى)"),
    ("who_said", r"\bwho (said|says|warned|stated|announced|told|reported|claimed|accused|confirmed)\b|\baccording to whom\b"
                 r"|\bwho (spoke|was speaking|speaks) (for|on behalf of)\b"
                 r"|\baccording to (which|what) (agency|agencies|outlet|source|sources|newspaper|paper|official|side|ministry)\b"
                 r"|\bwhich (agency|agencies|outlet|source|newspaper|paper) (reported|said|cited|quoted)\b"
                 r"|(^|\s)(من|ومن) (الذي )?(قال|صرح|اعلن|حذر|اكد|ذكر|اتهم|ابلغ)|(وفق|بحسب|حسب|نقلا عن) (من|اي|ايه)(\s|$)"),
    ("how_long", r"\bhow long\b|\bduration\b|\bfor how many (minutes|hours|days|weeks|months)\b"
                 r"|\bhow many (minutes|hours|days|weeks) did\b.*\b(last|take)\b"
                 r"|كم (استمر|دام|استغرق)|(^|\s)منذ كم(\s|$)|(^|\s)و?لكم (يوم|يوما|ساعه|ساعات|اسبوع|اسبوعا|شهر|شهرا)(\s|$)"
                 r"|(^|\s)(قديش|اديش|كم) (طول|طولت|طولو|ضل|ضلت|اخد|اخدت|اخذت|استمرت|دامت|استغرقت)(\s|$)"
                 r"|(^|\s)مده|كم (دقيقه|ساعه)|كم (يوما|يوم|اياما|ساعه|ساعات|دقيقه|دقائق|اسبوعا|شهرا) (استغرق|استمر|دام)"),
    ("order", r"\b(in (chronological )?order|chronolog\w*|which came first|sequence of|order these)\b|(^|\s)(رتب|ترتيب|تسلسل)"),
    ("list", r"^(list|name(?! of\b)|enumerate)\b|\b(list|name) (all|the|every)\b|\bwhat (calls|events)\b|(^|\s)(اذكر|عدد|ما هي) (جميع|كل|الاتصالات)"),
    # "what did Toner compare the fighting to": a likeness asked for, not two things compared
    ("compare", r"^(?!.*\bcompared?\b.*\b(to|with)( what| whom)?\s*$)(?!.*\b(what|which)\b.*\b(did|does|do)\b.*\bcompared?\b.*\b(to|with)\b)"
                r".*(\b(compare|differ|differs|difference|different|versus|vs\.?)\b|(^|\s)(قارن|الفرق|يختلف|تختلف|مقارنه))"),
    ("when", r"\b(when|(what|which) days?|(what|which) dates?|on what dates?|what time)\b|\b(what|which) (exact|precise|specific) (date|day)s?\b"
             r"|\b(what|which) (was|is|were) the ((actual|exact|precise|real|calendar) )?(date|day)\b"
             r"|(^|\s)(متى|متي|امتى|امتي|ب?اي يوم|ب?اي تاريخ|ما تاريخ|ما هو تاريخ)"),
    ("how_many", r"\bhow (many|much)\b|\bnumber of\b|\b(tally|count) of\b|\b(resolution|decree|decision) (number|no)\b"
                 r"|(^|\s)(ما|وما) (هو )?رقم(\s|$)|\b(by )?what (percentage|proportion|share|percent)\b"
                 r"|\b(what|which) (was|is|were) the (value|amount|sum|size|figure)\b"
                 r"|(^|\s)(كم|كام|قديش|اديش)(\s|$)|(^|\s)عدد |(^|\s)(ما|وما) (هي )?(قيمه|مبلغ|حجم)(\s|$)"),
    ("where", r"\bwhere\b|\b(in|from|to) which (city|country|place|capital)\b|\bwhich (city|capital)\b"
              r"|(^|\s)(اين|(في|من|الى|الي) اي (مدينه|بلد|دوله|مكان|عاصمه))|(^|\s)(وين|لوين)(\s|$)"),
    # "لم" asks why only opening the question ("لم رفضت واشنطن …؟"); inside it, it negates ("التي لم تف بها")
    ("why", r"\bwhy\b|\bfor what reason\b|\bwhat (was|is) the reason\b|(^|\s)(لماذا|ليش|ما سبب|ما السبب)|^(و|ف)?لم "),
    ("yes_no", r"^(did|was|were|is|are|does|do|has|have|had|can|could|will|would)\b|^هل(\s|$)"),
    ("who", r"\bwho\b|\bwhom\b|^(من|ومن) (هو|هي|هم)?|(^|\s)(مين|ومين)(\s|$)"),
]
_ASK_RE = [(asks, re.compile(pattern)) for asks, pattern in _ASKS]

_EVENTS: list[tuple[EventKind, str]] = [
    ("suspension", r"\bsuspen\w*|\bhalt\w*|\bfreez\w*|\bfroze(n)?\b|\bcut\w* (off )?(its |the |all )?(\w+ )?(channels|contacts|ties|cooperation)"
                   r"|(^|\s)(و|ب|ل)?(ال)?(تعليق(?!ا? علي)|(علق|تعلق|يعلق)(?!(\s+\S+){0,4}\s+علي(\s|$))|وقف التعاون"
                   r"|(قطع|وقف) (كل |جميع )?(ال)?(قنوات|اتصالات|تواصل)|(تجمد|يجمد|جمد|جمدت|تجميد))"),
    ("ceasefire", r"\bceasefire|\bcease-fire|\btruce|\bcessation of hostilities|(^|\s)(و|ب|ل)?(ال)?(هدنه|وقف اطلاق النار|وقف الاعمال)"),
    ("agreement", r"\bagreement|\bdeal\b|\baccord\b|(^|\s)(و|ب|ل)?(ال)?(اتفاق|اتفاقيه)"),
    ("meeting", r"\bmeet\w*|\bvisit\w*|\btrilateral\b|\btalks in\b|(^|\s)(و|ب|ل)?(ال)?(لقاء|اجتماع|زياره)"
                r"|(^|\s)(و|ف)?(التقي|التقو|يلتقي|يلتقو|تلتقي|اجتمع|يجتمع|تجتمع)(ا|وا|ت|ن)?(?=\s|$)"),  # the verbs (ى is ي here)
    ("call", r"\bcall\w*|\bphone\w*|\btelephone\w*|\bspoke\b|\bspeak\b|\bspoken\b|\btalked\b|\bconversation"
             r"|(^|\s)(و|ب|ل|ف)?(ال)?(اتصال|اتصالا|اتصل|يتصل|(ي|ت)?هاتف\w*|مكالم\w*|محادث\w*)"),
    ("statement", r"\bstatement|\bdeclar\w*|(^|\s)(و|ب|ل)?(ال)?(بيان|تصريح)"),
]
_EVENT_RE = [(kind, re.compile(pattern)) for kind, pattern in _EVENTS]
_CALL_RE = dict(_EVENT_RE)["call"]


def _office(question: str, norm: str, analyzer: Analyzer) -> tuple[str | None, str | None]:
    """The office the question names by a country's adjective, as written, and the stem of that country's Arabic
    adjective (التركي → ترك; "Saudi" → السعودية → سعود), or (None, None)."""
    m = _OFFICE_AR.search(norm)
    if m:
        return " ".join(as_written(w, question) for w in m.group(0).split()), m.group("nisba")
    m = _OFFICE_EN.search(norm)
    if m and (stem := _stem_of_adjective(m.group("adj"), analyzer)):
        written = re.search(re.escape(m.group(0).strip()), question, re.IGNORECASE)
        return (written.group(0) if written else m.group(0).strip()), stem
    return None, None


def _stem_of_adjective(adjective: str, analyzer: Analyzer, nisba_only: bool = False) -> str | None:
    """The stem of the Arabic adjective of the country an English adjective names ("Saudi" → السعودية → سعود), or
    None; ``nisba_only``: from an Arabic form that ends like a country or its adjective ("senior" → كبير is none)."""
    for form in analyzer.bridges.get(adjective, []):
        if nisba_only and not re.search(r"(ي|يه|يا)$", arabic.fold(form)):
            continue
        if stem := country_stem(form):
            return stem
    return None


def country_stem(form: str) -> str | None:
    """The stem a country's Arabic name or adjective shares with the other ("روسيا", "الروسي" → روس), or None."""
    stem = re.sub(r"^ال", "", arabic.fold(form))
    stem = stem[:-1] if stem.endswith("ي") else re.sub(r"(يا|يه|ا|ه)$", "", stem)
    return stem if len(stem) >= 3 else None


def side_stems(side: str, analyzer: Analyzer) -> frozenset[str]:
    """The stems of the Arabic name and adjectives of the country a person speaks for (an entity's ``side``:
    "United States" → امريك, الولايات …): what "which Syrian official" is checked against."""
    entity = next((e for e in analyzer.entities if e.en == side), None)
    english = [side.lower(), *(entity.en_variants if entity else [])]
    forms = [*(entity.ar, *entity.variants)] if entity else []
    forms += [form for word in english for form in analyzer.bridges.get(word, [])]
    return frozenset(stem for form in forms if (stem := country_stem(form)))


def names_event(kind: str, text: str) -> bool:
    """Whether ``text`` (either language) names an event of ``kind``: "المكالمة", "the call", "الاتفاق"."""
    return any(k == kind and pattern.search(arabic.fold(text).lower()) for k, pattern in _EVENT_RE)
RELATION_TARGET_WORDS = 10  # words after "after"/"before" that may say which event of its kind is the anchor
_RELATION = re.compile(r"\b(after|before|following|followed|prior to)\b((?:\s+\w+){1,3})|(^|\s)(بعد|قبل)((?:\s+\S+){1,2})")
# a day named right after "before"/"after" anchors a relation instead of constraining the date
_ANCHOR = re.compile(r"\b(?P<word>before|after|prior to|following|preceded|preceding|followed)\s+(the\s+|their\s+|his\s+|its\s+)?"
                     r"((one|call|calls|meeting|visit|statement|that)\s+)?((on|of|held on|made on)\s+)?(the\s+)?$"
                     r"|(^|\s)(?P<word2>قبل|بعد|سبق|سبقت|تلا|تلت|اعقب|اعقبت)\s+(ال)?(اتصال|مكالمه|لقاء)?\s*(يوم\s+)?"
                     r"((منتصف|اواخر|اوائل|مطلع|نهايه|بدايه)\s+(شهر\s+)?)?$")
_BEFORE = ("before", "prior to", "preceded", "preceding", "قبل", "سبق", "سبقت")
_PLURAL = re.compile(r"\b(calls|events|meetings|conversations)\b|(^|\s)(ال)?(اتصالات|مكالمات|محادثات)(\s|$)")
_LATE = re.compile(r"\b(late|end of)\s+$|(اواخر|نهايه|اخر)\s+(شهر\s+)?$")
_EARLY = re.compile(r"\b(early|beginning of|start of)\s+$|(اوائل|بدايه|مطلع)\s+(شهر\s+)?$")
_MID = re.compile(r"\b(mid|middle of)[- ]?\s*$|(منتصف)\s+(شهر\s+)?$")
_RANGE_END = re.compile(r"\b(between|from)\s+(\S+\s+){1,3}(and|to|until|till|through)\s+$"
                        r"|(^|\s)(بين|من)\s+(\S+\s+){1,3}(و|الى|الي|حتى|حتي|لغايه)\s*$|(^|\s)(بين|من)\s+(\S+\s+){0,2}\S+\s+و$")
_SINCE = re.compile(r"\b(since|ever since)\s+(the\s+)?$|(^|\s)(منذ|من(\s+)?بدايه)\s*$")
_RANGE_DASH = re.compile(r"\S[-–]\s*$|\S\s+[-–]\s*$")  # "feb-sept 2016", "شباط - أيلول 2016"
_LASTS = re.compile(r"\b(last|lasted|take|took|long was|duration)\b"
                    r"|(^|\s)(استمر|استمرت|استغرق|استغرقت|دام|دامت|مده|طول|طولت|طولو|ضل|ضلت|اخدت|اخذت)(\s|$)")
# an office for a country named by its adjective ("وزير الخارجية التركي", "the Saudi foreign minister"); the question
# then needs a passage that names that office, not only the country ("خبراء من … وتركيا" names no Turkish minister)
_OFFICE_AR = re.compile(r"(^|\s)(و)?(ال)?(وزير|رييس|سفير|مبعوث|متحدث|ناطق)(\s+(ال)?(خارجيه|دفاع|داخليه|حكومه|وزراء))?"
                        r"\s+ال(?P<nisba>\S{2,})ي(?=\s|$|[،,؟?])")
_OFFICE_EN = re.compile(r"\b(?P<adj>[a-z]+(?:ish|ian|an|i|ese))\s+(?:foreign |defen[cs]e |prime |interior )?"
                        r"(?:minister|president|ambassador|envoy|spokes(?:man|woman|person)|premier)\b")
# the noun a what-question asks for: "what sanctions did …", "ما العقوبات الإضافية التي …"
_HEAD = re.compile(r"^(what|which) (?:specific |exact |other |additional |new |concrete )?(?P<en>[a-z]{4,}) "
                   r"(did|does|do|was|were|has|have|had|is|are)\b"
                   r"|^(ما|ماهي|ما هي|اي) (?P<ar>ال\S{3,})( ال\S+)? (التي|الذي|الذين)(\s|$)")
# a question asking for a place ("Where did they meet?", "من أي مدينة اتصل؟"), not a clause with "where" in it
# ("the one area where the US would keep talking"); a city or a capital is not answered by a country
_WHERE = re.compile(r"^(and )?where\b|\b(in|from|to|at) which (city|country|place|capital)\b|^which (city|capital)\b"
                    r"|(^|\s)(اين|(في|من|الى|الي) اي (مدينه|بلد|دوله|مكان|عاصمه))")
_COUNTRY = re.compile(r"\b(country|countries|nation)\b|(^|\s)(بلد|دوله|البلد|الدوله)(\s|$)")
# a choice between the events the question names ("in which one", "أي الاتصالين"): a second weekday is an option
_WHICH_OF = re.compile(r"\bwhich (one|of|call|conversation)\b|\b(in|on|during) which\b|(^|\s)(في |ب)?(اي|ايهما|ايها)(\s|$)")
# a day that dates the article, not the event: "in the piece published 3 October", "the 3 October article",
# "وفق مقال 3 أكتوبر", "في التقرير المنشور يوم 3 أكتوبر"; the events it reports happened on other days
_PUBLISHED_BEFORE = re.compile(r"\b(published|dated|printed|ran|run|filed)( on)?( the)?\s*$"
                               r"|\b(piece|article|report|story|dispatch|item)s? (of|from)( the)?\s*$"
                               r"|(^|\s)(ال)?(مقال|مقاله|تقرير|خبر)(\s+(ال)?(منشور|صادر))?(\s+(في|يوم|بتاريخ))?\s*$"
                               r"|(^|\s)(ال)?(منشور|صادر)(ه)?\s+(في|يوم|بتاريخ)?\s*$")
_PUBLISHED_AFTER = re.compile(r"\s*(,\s*)?(\d{4}\s+)?(piece|article|report|story|dispatch|edition)\b")
_RANGE_GOES_ON = re.compile(r"\s*(and|to|until|till|through|-|–|و|الى|الي|حتى|حتي|لغايه)(\s|\d|$)")
_DURATION_WORDS = re.compile(r"\bhow long\b|\bduration\b|\bminutes?\b|\bhours?\b|(^|\s)(مده|دقيقه|دقائق|ساعه|ساعات|استمر|دام)(\s|$)")
_SHORT_UNITS = re.compile(r"\b(minutes?|hours?)\b|(^|\s)(دقيقه|دقائق|ساعه|ساعات)(\s|$)")
_TIME_OF_DAY = re.compile(r"\b(what|which) time\b|\btime of (the )?day\b|\bat what hour\b|\b(morning|afternoon|evening|night) or\b"
                          r"|(^|\s)(في )?(اي|ايه) (ساعه|وقت من اليوم)|(^|\s)ما الساعه|(^|\s)(صباحا|ليلا|مساء) ام")
# "what did X propose", "ما الذي اقترحه": a proposal must be reported, not only X speaking about the topic ("suggest"
# is not one: "what does the readout suggest" asks what it implies)
_PROPOSAL = re.compile(r"\b(propos(e|es|ed|al|als))\b|(^|\s)(و)?(اقترح|يقترح|تقترح|اقتراح|مقترح)\S*")
# "how many days passed between X and Y" is counted from two dates, not read from one sentence
_TIME_BETWEEN = re.compile(r"\bhow many (days|weeks|months|hours)\b|(^|\s)كم (يوما|يوم|اياما|اسبوعا|شهرا|ساعه)(\s|$)")
# "how many countries sent experts" is answered by the sentence that names them, with no number in it
_LISTED = re.compile(r"\bhow many (countries|nations|states|cities|parties|sides|agencies|outlets)\b"
                     r"|(^|\s)كم (دوله|بلدا|بلد|مدينه|طرفا|جهه|وكاله)(\s|$)")
# the noun a how-many question counts: "how many civilians", "كم مدنيا", "عدد المدنيين"
_COUNTED = re.compile(r"\bhow many (\w+)|\b(resolution|decree|decision) (?:number|no)\b|(?:^|\s)رقم (\S+)|"
                      r"\bnumber of (?:the )?(\w+)|(?:^|\s)(?:قيمه|مبلغ|حجم) (\S+)|"
                      r"(?:^|\s)(?:كم|كام|قديش|اديش) (?!من(?:\s|$))(?:(?:يبلغ|بلغ|كان|هو|يكون) )?(?:عدد )?(\S+)|(?:^|\s)عدد (\S+)")
_HOW_MANY = re.compile(r"\bhow many ((?:[a-z]+ ?){1,3})")
# words that end the noun phrase a how-many question counts ("how many people under attack": people)
_PHRASE_END = frozenset("were was are is did do does have has had would will could can in on of by from between during since at "
                        "that who whose which under with to for against into over after before".split())


def as_written(word: str, question: str) -> str:
    """A normalized word of ``question`` as the question writes it: "مستشفى", whose ى tells its dual
    ("مستشفيين") from a plural, which normalizing loses."""
    return next((w for w in re.findall(r"\w+", question) if arabic.fold(w).lower() == word), word)


# "what is the name of the largest hospital", "ما اسم أكبر مستشفى": the noun whose name is asked for
_WHICH_GROUP = re.compile(r"\b(which|what) ((rebel|armed|militant|opposition|terrorist|jihadist|islamist|insurgent) )?"
                          r"(?P<en>faction|group|militia|organi[sz]ation)s?\b"
                          r"|(^|\s)(اي|ايه|ما|ما هو|ما هي|شو) (ال)?(?P<ar>فصيل|فصايل|جماعه|تنظيم|ميليشيا|مليشيا)(\s|$)")
# "which Russian official denied …", "which US spokesman said …": the person is asked for by name
# the roles "which …" asks a person by (the lexicon's ROLE_NOUNS less those a question names a body by: minister, head)
_ASKED_ROLES = "official|spokesman|spokeswoman|spokesperson|officer|general|commander|diplomat|envoy"
_WHICH_ROLE = re.compile(rf"^(and )?(which|what) (?P<adj>(\S+ ){{0,2}})(?P<en>{_ASKED_ROLES})s?\b")
_NAME_OF = re.compile(r"\bnames? of (the )?(?P<en>(\w+ ){0,3}\w+)|^(please )?name (the )?(?P<en2>(\w+ ){0,4}\w+)"
                      # "من هو المسؤول الذي …" asks who the official is, as "ما اسم المسؤول" does: "مسؤول أميركي" is no answer
                      r"|(^|\s)((ما|وما|شو|ايش|شنو) (هو |هي )?(اسم|اسماء)|(من|مين) (هو|هي)(?= (ال)?(مسوول|مسيول|متحدث|ضابط|دبلوماسي|مبعوث)))"
                      r" (?P<ar>\S+( \S+)?)")


def _before_function_word(words: list[str]) -> list[str]:
    """The words of an English noun phrase up to its first function word ("senior US official who …")."""
    return words[:next((i for i, w in enumerate(words) if w in _PHRASE_END), len(words))]


def _counted_name(phrase: str) -> str | None:
    """The noun ending an English noun phrase, before its first function word ("senior US official who …"); a
    role in the plural as its singular ("the names of the two spokesmen": a spokesman is named)."""
    words = _before_function_word(phrase.split())
    if not words:
        return None
    singular = re.sub(r"men$", "man", words[-1]) if words[-1].endswith("men") else words[-1].removesuffix("s")
    return singular if singular in ROLE_NOUNS else words[-1]


_NOT_THE_NOUN = frozenset("largest biggest main first last top the a an اكبر اصغر اول اخر ابرز اهم".split())


_IRREGULAR_PLURALS = frozenset("people men women children".split())


# (the question's apostrophes are spaces here: "aleppo s hospitals")
_HOW_MANY_OF = re.compile(r"\bhow many of (the |its |their |his |her |these |those )?((\w+ )?\w+ s )?")


def _counted_phrase(norm: str) -> list[str]:
    """The words of the noun phrase after "how many", up to the first function word."""
    m = _HOW_MANY.search(norm)
    words = _before_function_word(m.group(1).split() if m else [])
    def plural(word: str) -> bool:
        return word.endswith("s") or word in _IRREGULAR_PLURALS

    # a modifier and its plural noun ("ceasefire violations", "Russian soldiers"); "civilians left" is noun and verb
    if len(words) >= 2 and plural(words[1]):
        return words[:2]
    if len(words) >= 3 and not plural(words[0]) and plural(words[2]):  # "east Aleppo hospitals": hospitals
        return words[2:3]
    return words[:1]


_CASUALTIES = re.compile(r"\b(killed|dead|died|die|deaths|casualt\w*|wounded|injured|victims)\b"
                         r"|(^|\s)(قتلي|القتلي|قتيل|ضحايا|الضحايا|جرحي|الجرحي|قتلوا|قتل|لقي|لقوا|حتفه|حتفهم|مصرع|مصرعهم)(\s|$)")
# "the civilian death toll from …", "حصيلة الضحايا": a count of the dead asked without "how many"
_TOLL = re.compile(r"\b(death|casualty|civilian) tolls?\b|\b(casualty|death) (figures?|counts?)\b|\bnumber of (dead|deaths|victims|casualties)\b"
                   r"|(^|\s)حصيله (ال)?(ضحايا|قتلي|القتلي|الضحايا)(\s|$)")
# words an English question uses that are not its subject (the focus is what is left)
_QUESTION_WORDS = frozenset(
    "who whom whose what which when where why how did does do was were is are has have had according "
    "many much long initiated initiate initiative placed made said told day date".split()
) | frozenset(arabic.normalize(w) for w in "من ما ماذا متى أين لماذا كيف كم هل أي الذي التي".split())


class QuestionFrame(BaseModel):
    """What a question asks and what a passage must meet to answer it."""

    question: str
    lang: Literal["ar", "en"]
    asks: Asks = Field(description="the slot asked for")
    focus: list[str] = Field(default_factory=list, description="the content words, question words left out")
    entities: list[str] = Field(default_factory=list, description="people, places and bodies named (English names from the lexicon)")
    names_unknown: list[str] = Field(default_factory=list, description="capitalized or alphanumeric names the lexicon does not know")
    event: EventKind | None = Field(default=None, description="the kind of event asked about")
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    date_phrase: str | None = Field(default=None, description="the words that set the date constraint")
    weekday: int | None = Field(default=None, description="0 = Monday … 6 = Sunday")
    relation: Literal["after", "before"] | None = None
    relation_event: EventKind | None = None
    relation_from: dt.date | None = Field(default=None, description="the anchor's dates in 'the call before the one on 16 August'")
    relation_to: dt.date | None = None
    relation_days: int | None = Field(default=None, description="'two days before the suspension': the offset from the event")
    relation_target: str | None = Field(default=None, description="the words naming the anchor ('the Moscow trilateral with the "
                                        "Syrian and Iranian ministers'): which of its kind it is")
    relation_anchor: str | None = Field(default=None, description="the id of the anchor event those words fit best (set by the "
                                        "pipeline from the event index)")
    described: str | None = Field(default=None, description="the id of the event whose own report tells the anchor ('after the "
                                  "trilateral, Lavrov called Kerry'), when the index holds no such anchor event (set by the pipeline)")
    anchor_first: bool = Field(default=False, description="the anchor is named before the event asked about ('Washington "
                               "suspended on Monday; two days later a call'): a weekday then dates the anchor")
    nearest: bool = Field(default=False, description="one event is asked for: the nearest one before or after the anchor")
    verbatim: bool = Field(default=False, description="'what exactly did X say', 'حرفياً': their words in quotation marks")
    describes: bool = Field(default=False, description="'how did Toner describe …', 'what image did he use', 'كيف وصف': the "
                            "speaker's own words in quotation marks answer best")
    wants_day: bool = Field(default=False, description="'on what date exactly', 'في أي تاريخ تحديداً': a month does not answer")
    from_pinned: bool = Field(default=False, description="the relation's anchor is the event the date or weekday pins "
                              "('the call before the Saturday call', 'an earlier call that month'), not the first of its kind")
    attribute: Attribute | None = Field(default=None, description="an attribute the evidence must state (a duration, a casualty count, a city)")
    speaker: str | None = Field(default=None, description="the person whose words are asked for ('what did Kerry tell Lavrov')")
    counted: str | None = Field(default=None, description="what a how-many question counts ('civilians'): the number must count it")
    counted_head: str | None = Field(default=None, description="the noun ending a longer counted phrase ('how many ceasefire "
                                     "violations'): the number must count it too")
    speaker_words: list[str] = Field(default_factory=list, description="who an Arabic 'ماذا قال …' asks about, as written")
    call_names: list[str] = Field(default_factory=list, description="people named only to say which call ('after the "
                                  "Lavrov-Kerry call', 'بعد اتصال لافروف وكيري'): the passages need not name them")
    head: str | None = Field(default=None, description="the noun a what-question asks for ('what sanctions did …', 'ما "
                             "العقوبات التي …'), as written")
    lasts: bool = Field(default=False, description="'how long did the call last': the duration is the event's own, "
                        "not one it happened during ('منذ كم كانت روسيا تشن حملتها وقت مكالمة السبت')")
    office: str | None = Field(default=None, description="an office held for a country named by its adjective ('وزير الخارجية "
                               "التركي', 'the Saudi foreign minister'), as written: a passage must name that office")
    role_country: str | None = Field(default=None, description="'which Russian official': the stem of the role's country "
                                     "adjective ('روس'), which the articles' description of him must carry")
    office_country: str | None = Field(default=None, description="the office's country as the stem of its Arabic adjective ('ترك')")
    published_on: dt.date | None = Field(default=None, description="'in the piece published 3 October', 'وفق مقال 3 أكتوبر': the "
                                         "day of the article asked about, not of the event")
    reported_on: dt.date | None = Field(default=None, description="'Moscow disclosed the call on Sunday 2 Oct', 'أعلنت في ٢ "
                                        "تشرين الأول عن محادثة': the day the event was made known, on or after the day it happened")
    realized: bool = Field(default=False, description="'actually', 'فعلياً': what was done, not what was weighed or planned")

    @property
    def pins_time(self) -> bool:
        return self.date_from is not None or self.weekday is not None or self.reported_on is not None

    @property
    def weekday_name(self) -> str | None:
        return None if self.weekday is None else WEEKDAYS_EN[self.weekday].capitalize()

    def explain(self) -> list[str]:
        """One line per decision, for ``dalil ask --explain``."""
        lines = [f"asks: {self.asks.replace('_', ' ')}", f"language: {self.lang}"]
        if self.focus:
            lines.append("focus: " + ", ".join(self.focus))
        if self.entities:
            lines.append("names: " + ", ".join(self.entities))
        if self.names_unknown:
            lines.append("names the lexicon does not know: " + ", ".join(self.names_unknown))
        if self.event:
            lines.append(f"event: {self.event}")
        if self.date_from:
            span = str(self.date_from) if self.date_from == self.date_to else f"{self.date_from} … {self.date_to}"
            lines.append(f"date: {span} (from {self.date_phrase!r})")
        if self.weekday is not None:
            lines.append(f"weekday: {self.weekday_name}")
        if self.published_on:
            lines.append(f"article published: {self.published_on}")
        if self.reported_on:
            lines.append(f"made known on: {self.reported_on}")
        if self.relation and self.relation_days:
            lines.append(f"relation: {self.relation_days} days {self.relation} the {self.relation_event}")
        elif self.relation and self.relation_from:
            span = str(self.relation_from) if self.relation_from == self.relation_to else f"{self.relation_from} … {self.relation_to}"
            lines.append(f"relation: {'the nearest event ' if self.nearest else ''}{self.relation} {span}")
        elif self.relation:
            lines.append(f"relation: {self.relation} the {self.relation_event or 'event'}")
        if self.attribute:
            lines.append(f"the evidence must state: {self.attribute}")
        if self.speaker:
            lines.append(f"the evidence must quote: {self.speaker}")
        if self.realized:
            lines.append("the evidence must report it done, not weighed or planned")
        return lines


def understand(question: str, analyzer: Analyzer, reference: dt.date | None = None) -> QuestionFrame:
    """The frame of ``question``; dates without a year are resolved against ``reference`` (the latest publication day)."""
    lang: Literal["ar", "en"] = "ar" if arabic.is_arabic(question) else "en"
    norm = " ".join(arabic.fold(question).split())
    norm = re.sub(r"[?؟!.,،:;؛\"'«»()]", " ", norm)
    norm = " ".join(norm.split())
    frame = QuestionFrame(question=question, lang=lang, asks=_asks(_main_clause(norm)))
    if frame.asks == "how_many" and _ENUMERATE.match(question):  # "عدّد الملفات …" (enumerate) is no "عدد" (number of)
        frame.asks = "what"
    frame.event = _event_kind(norm)
    if frame.asks == "who_initiated" and (frame.event is None or _CALL_RE.search(norm)):
        # "Who rang whom on 28 Oct?": only a call is initiated; "Even though Washington had just frozen
        # cooperation, which side initiated the call …": the call, not the suspension named first
        frame.event = "call"
    if frame.event == "statement" and frame.asks != "who_said":
        frame.event = None  # "statement" is too weak a cue on its own; a call asked about says "call"
    _relation(frame, norm)
    _dates(frame, question, reference)
    _relative_to_pinned(frame, norm)
    frame.entities = named_entities(question, analyzer)
    frame.call_names = [e for m in _CALL_NAMED.finditer(norm) for e in named_entities(m.group(0), analyzer)]
    frame.names_unknown = _unknown_names(question, analyzer, frame.entities) if lang == "en" else []
    frame.focus = _focus(question, analyzer)
    frame.speaker = _speaker(norm, analyzer)
    frame.speaker_words = _speaker_words(norm) if lang == "ar" else []
    # "what sanctions did Washington impose": a deed asked about as done is answered by its doing, as "actually" is
    frame.realized = bool(_REALIZED.search(norm)) or (frame.asks != "when" and bool(_DONE_DEED.search(norm)))
    head = _HEAD.search(norm)
    frame.head = as_written(head.group("en") or head.group("ar"), question) if head else None
    frame.office, frame.office_country = _office(question, norm, analyzer)
    frame.wants_day = frame.asks == "when" and bool(_WANTS_DAY.search(norm))
    frame.verbatim = frame.speaker is not None and bool(_VERBATIM.search(norm))
    frame.describes = frame.speaker is not None and bool(_DESCRIBES.search(norm))
    named = _NAME_OF.search(norm)
    if named and named.group("en2") and _counted_name(named.group("en2")) not in ROLE_NOUNS:
        named = None  # "Name the calls Kerry initiated" lists calls; "Name the official who …" asks a name
    group = _WHICH_GROUP.search(norm)
    role = _WHICH_ROLE.search(norm)
    if role and not named and not group:  # "which Russian official denied …": who it was, by name or as the articles
        frame.attribute, frame.counted = "person", role.group("en")  # describe him ("a senior US official")
        stems = (_stem_of_adjective(adj, analyzer, nisba_only=True) for adj in (role.group("adj") or "").split())
        frame.role_country = next((stem for stem in stems if stem), None)
    elif group and not named:  # "which rebel faction launched the offensive": a faction must be named, not "the militants"
        frame.attribute, frame.counted = "name", group.group("en") or group.group("ar")
    elif named:  # "what is the name of the largest hospital": a name must be given, not only the hospital
        frame.attribute = "name"
        if frame.asks == "list" and named.group("en2"):  # "Name the Russian officer who …": someone, not a list
            frame.asks = "who"
        if named.group("en") or named.group("en2"):  # the noun ends its phrase: "the Kremlin spokesman"
            frame.counted = _counted_name(named.group("en") or named.group("en2"))
        else:  # the noun starts it: "المتحدث باسم الكرملين", after an adjective that may come first ("أكبر مستشفى")
            frame.counted = next((w for w in named.group("ar").split() if w not in _NOT_THE_NOUN), None)
    elif _LED_BY.search(norm):  # "who headed the Saudi delegation": who led it must be stated, not only the meeting
        frame.attribute = "leader"
    elif frame.asks == "where" and _WHERE.search(norm):  # "from which city did Kerry call?": a place must be named
        frame.attribute = "place" if _COUNTRY.search(norm) else "city"  # "where was Kerry": not "in Syria", the topic
    elif _TIME_OF_DAY.search(norm):
        frame.attribute = "time_of_day"  # "at what time did they speak": a clock time or a part of the day
    elif frame.asks == "what" and _PROPOSAL.search(norm):
        frame.attribute = "proposal"  # "what did Ban Ki-moon propose to the Security Council": not what he condemned
    elif frame.asks == "how_long" or (frame.asks == "how_many" and _DURATION_WORDS.search(norm)):
        # "how many minutes did the call last": minutes or hours; "ten days" answers another question
        frame.attribute = "minutes" if _SHORT_UNITS.search(norm) else "duration"
        frame.lasts = bool(_LASTS.search(norm)) or bool(re.match(r"how long (did|was|were)\b(?!.*\b(been|since)\b)", norm))
    elif (frame.asks == "how_many" and _CASUALTIES.search(norm)) or (frame.asks == "what" and _TOLL.search(norm)):
        frame.attribute = "casualties"
    elif frame.asks == "how_many" and not _TIME_BETWEEN.search(norm) and not _LISTED.search(norm):
        frame.attribute = "count"  # "how many civilians left": a number must be stated ("several" is not one)
    if frame.attribute in ("count", "casualties"):  # "how many Russian soldiers were killed": not Syrian ones
        counting = _HOW_MANY_OF.sub("how many ", norm)  # "how many of east Aleppo's hospitals": hospitals are counted
        counted = _COUNTED.search(counting)
        frame.counted = next((g for g in counted.groups() if g), None) if counted else None
        phrase = _counted_phrase(counting)  # "how many ceasefire violations were": "violations" is counted too
        if len(phrase) > 1:
            frame.counted_head = phrase[-1]
        elif phrase and frame.counted != phrase[0]:  # "how many east Aleppo hospitals": hospitals are counted
            frame.counted = phrase[0]
        elif lang == "ar" and frame.counted:  # "كم جندياً روسياً قُتل": Russian ones, not "3500 عسكري سوري"
            frame.counted_head = _country_after(frame.counted, norm, analyzer)
    return frame


def _country_after(noun: str, norm: str, analyzer: Analyzer) -> str | None:
    """The country adjective that follows ``noun`` in the (folded) question ("جنديا روسيا"), if any."""
    words = norm.split()
    folded = arabic.fold(noun)
    countries = {stem for e in analyzer.entities if e.kind == "country" for stem in side_stems(e.en, analyzer)}
    for i, word in enumerate(words[:-1]):
        if word == folded and country_stem(words[i + 1]) in countries:
            return words[i + 1]
    return None


# the imperative "enumerate", told from "the number of" by its shadda: "عدّد الملفات التي …"
_ENUMERATE = re.compile(r"^\s*(و|ف)?عدّد")


# "What was Putin responding to when he …", "How did Obama react when …": a "when" inside the question
# is a clause of it, not what it asks; a question that starts with another question word asks that
_AUX = r"(did|does|do|was|were|is|are|has|had|would|will|could|can)"
_LEADING_WHEN = re.compile(rf"^when (?!{_AUX}\b).*?\b(?P<wh>what|which|who|whom|how|why|where)\b(?=(?: \w+)? {_AUX}\b)")
_SUBORDINATE_WHEN = re.compile(r"(?<!^)(?<!\band )\bwhen\b(?! and\b)")
_OTHER_START = re.compile(r"^(what|how|why|who|whom|which|where|did|does|do|was|were|is|are)\b")


# "the Kerry-initiated call", "the call Washington initiated" describe the call a what/when question is about
_DESCRIBED_INITIATOR = re.compile(r"\b[\w.]+-initiated\b|\binitiat\w*")
_NOT_WHO_START = re.compile(r"^(on |in |at |for |by |according to \w+ )?(exactly |precisely )?"
                            r"(what|when|how|why|where|which (day|date|time|month|week)"
                            # "which Russian spokesperson read out the statement on the Kerry-initiated call": a person
                            rf"|which (\S+ ){{0,2}}({_ASKED_ROLES}|agency|outlet|newspaper)s?)\b")


def _main_clause(norm: str) -> str:
    if _NOT_WHO_START.match(norm):
        norm = _DESCRIBED_INITIATOR.sub(" ", norm)
    lead = _LEADING_WHEN.match(norm)  # "When the US froze contacts, what channel did Kerry keep open?": asks what
    if lead:
        return norm[lead.start("wh"):]
    when = re.search(r"\bwhen\b", norm)
    # "Apart from Syria, which dossiers came up when they spoke": another question word before it asks
    asked_before = when is not None and _ASKED_BEFORE.search(norm[:when.start()])
    return _SUBORDINATE_WHEN.sub(" ", norm) if _OTHER_START.match(norm) or asked_before else norm


_ASKED_BEFORE = re.compile(r"\b(what|which|who|whom|how|why|where)\b")


# "What did Kerry tell Lavrov", "How did Obama react", "ماذا قال لافروف لكيري": whose words are asked for
_SPEECH_QUESTION = re.compile(
    r"\b(?:what(?: image| metaphor| words?| phrase| term)?|how|which \w+) (?:exactly |precisely )?(?:did|does|do|has|had|would|was) "
    r"(?P<who>(?:\S+ ){1,6}?)"
    r"(?:say|said|tell|told|stress|warn|announce|think|react|"
    r"respond|reply|describe|characteri[sz]e|liken|compare|demand|want|ask|accuse|claim|mean|urge|propose|suggest|insist|argue|use)\b"
    r"|(?:^|\s)(?:ماذا|ما الذي|بماذا|بم|كيف|ما|شو|ايش|وشو) (?:قال|قالت|قاله|قالته|ابلغ|ابلغت|اكد|اكدت|اعلن|اعلنت|صرح|صرحت|حذر|حذرت|رد|ردت|وصف|"
    r"وصفت|طالب|طالبت|اقترح|اقترحت|اتهم|اتهمت|يريد|تريد|اراد|ارادت|عرض|عرضت|اوضح|اوضحت|اضاف|اضافت|علق|علقت) (?P<who2>(?:\S+ ?){1,6})"
    )
_ACCORDING_TO = re.compile(r"\baccording to (?P<who>(?:\S+ ?){1,4})"
                           r"|(?:بحسب|وفق|حسب) (?:ما )?(?:قاله|قالته|ذكره|ذكرته|اعلنه|اعلنته|صرح به) (?P<who2>(?:\S+ ?){1,6})")


def _speaker(norm: str, analyzer: Analyzer) -> str | None:
    """The person whose words the question asks for: the nearest person named after the Arabic verb, or
    between "did" and the verb in English. Places and bodies are left out ("what did Moscow say" is
    answered by the ministry's statement)."""
    people = {e.en for e in analyzer.entities if e.kind == "person"}
    found = sorted([*_SPEECH_QUESTION.finditer(norm), *_ACCORDING_TO.finditer(norm)], key=lambda m: m.start())
    for m in found:  # "ماذا تريد واشنطن … بحسب ما قاله تونر": the first person who speaks
        words = next((g for g in m.groups() if g), "").split()
        # the speaker comes before what he spoke about: "قالت الواشنطن بوست عن أوباما", "رد الأميركان على قرار بوتين"
        words = words[:next((i for i, w in enumerate(words) if w in _TOPIC_PREPOSITIONS), len(words))]
        if words and words[0] in _INSTITUTIONS and not _ROLES & set(words):
            # "بماذا وصفت صحيفة واشنطن بوست حسابات أوباما": the paper speaks ("State Department spokesman Mark Toner": he does)
            continue
        for n in range(1, len(words) + 1):  # the shortest window that names someone: the nearest name
            named = [e for e in named_entities(" ".join(words[:n]), analyzer) if e in people]
            if named:
                return named[0]
    return None


_VERBATIM = re.compile(r"\b(verbatim|word for word|exact words|in (his|her|their) own words|literally)\b"
                       r"|(^|\s)(حرفيا|بالحرف|نص كلام|بالنص)(\s|$)")
_DESCRIBES = re.compile(r"\b(describe|characteri[sz]e|portray|depict|liken|compare)\w*\b"
                        r"|\b(what|which) (\w+ )?(image|metaphor|analogy|phrase|expression|words?|term|description|comparison)\b"
                        r"|(^|\s)(كيف|بماذا|بم) (وصف|وصفت|يصف|تصف|شبه|شبهت)(\s|$)|(^|\s)(الوصف|التشبيه|العباره|التعبير)(\s|$)")
_WANTS_DAY = re.compile(r"\b(what|which) (exact |precise )?(date|day)s?\b|\bon what (date|day)s?\b|\bexact(ly)? (date|day|when)\b"
                        r"|(^|\s)(في )?(اي|ايه|باي) (يوم|تاريخ)|(^|\s)(تحديدا|بالتحديد|بالضبط)(\s|$)")
_REALIZED = re.compile(r"\b(actually|in fact|in practice|really|end(ed)? up|eventually|in the end)\b"
                       r"|(^|\s)(فعليا|فعلا|بالفعل|فعلي|على ارض الواقع)(\s|$)")
# a deed asked about as done: "what sanctions did Washington impose", "العقوبات التي فرضتها واشنطن" (folded)
_DONE_DEED = re.compile(r"\b(did|has|have|had) (\S+ ){1,4}?(impose|slap|enact|levy)\b|\b(imposed|enacted|levied) (on|against)\b"
                        r"|(^|\s)(التي|الذي|هل) (فرضتها|فرضها|فرضت|فرض)(\s|$)")
# who led a body or a meeting: "who headed the Saudi delegation", "من ترأس الوفد", "من مثل السعودية" (folded)
_LED_BY = re.compile(r"^(and )?who (\S+ )?(led|headed|chaired|represented|was leading|was heading|was in charge of)\b"
                     r"|^(and )?who (was|is) (the )?(head|leader|chief) of (the )?\S*\s?(delegation|team|mission|group|meeting)\b"
                     r"|^(و)?(من|مين) (هو |كان )?(تراس|تراست|يتراس|راس|قاد|يقود|مثل|يمثل|رئيس الوفد|رئيس وفد)(\s|$)")
_TOPIC_PREPOSITIONS = frozenset("عن علي حول بشان بخصوص تجاه ازاء".split())  # folded: على is علي
# a body, not a person, is the subject when the words after the verb start with one of these (normalized)
_INSTITUTIONS = frozenset("صحيفه وكاله وكالات وزاره شبكه موقع قناه مجله بعثه الخارجيه الكرملين البيت الحكومه الاداره "
                          "the newspaper paper agency ministry state department kremlin white house government".split())
# "after the Lavrov-Kerry call", "بعد اتصال لافروف وكيري": the names say which call, they are not what is asked about
_CALL_NAMED = re.compile(r"\b[a-z]+[-–][a-z]+ (phone )?(call|conversation)\b|\b(call|conversation)( \S+){0,4}? between [a-z]+ and [a-z]+\b"
                         r"|(^|\s)(ال)?(اتصال|مكالمه|محادثه)( الهاتفي| الهاتفيه)?( بين)? [^\s،,؟?]+ (و|ب|مع )[^\s،,؟?]+"
                         # "باتصال ١٦ آب بين لافروف وكيري": a date between the call and its people
                         r"|(^|\s)(ب|ل|و)?(ال)?(اتصال|مكالمه|محادثه)\S*( \S+){1,4}? بين [^\s،,؟?]+ (و|مع )?[^\s،,؟?]+"
                         # the call as a clause: "before he called Kerry", "قبل ما يتصل بكيري", "بعد اتصاله بكيري"
                         r"|\b(before|after) (he |she |they )?(call(ed|ing)?|phon(ed|ing)|rang|ringing|spok(e|en)|speaking) (to |with )?[a-z]+\b"
                         r"|(^|\s)(قبل|بعد) (ما |ان )?(يتصل|اتصل|اتصاله|يكلم|كلم|يحكي|حكي|تحدث|يتحدث) (مع )?[^\s،,؟?]+")
_ROLES = frozenset("spokesman spokeswoman spokesperson secretary minister official المتحدث الناطق وزير مسؤول".split())
_SPEAKER_END = re.compile(r"(^|\s)(عن|حول|بشان|في|خلال|ل|الي|امام|بعد|قبل|يوم|ان|انه)(\s|$)")


def _speaker_words(norm: str) -> list[str]:
    """The words naming who an Arabic speech question asks about, up to the first preposition ("ماذا قال وزير
    الخارجية الفرنسي جان مارك إيرولت عن …"): names the lexicon lacks, which the caller checks against the corpus."""
    m = next((m for m in _SPEECH_QUESTION.finditer(norm) if m.group("who2")), None)
    if m is None:
        return []
    span = m.group("who2")
    end = _SPEAKER_END.search(" " + span)
    return arabic.words(span[:max(0, end.start() - 1)] if end else span)


def _asks(norm: str) -> Asks:
    for asks, pattern in _ASK_RE:
        if pattern.search(norm):
            return asks
    return "what"


# "when did Kerry warn Lavrov that the US would suspend …": the suspension is what was said, not the event asked about
_TOLD_THAT = re.compile(r"\b(warn\w*|told|tell\w*|inform\w*|threat\w*)\b(\s+\w+){0,3}\s+that\b"
                        r"|(^|\s)(ابلغ|نبه|حذر|هدد)\S*(\s+\S+){0,3}\s+(ان|انو|بان)(\s|$)")


def _event_kind(norm: str) -> EventKind | None:
    """The kind of event the question is about: the first one it names ("the Friday call that followed his
    meeting" is about a call); a suspension or a meeting named after "after"/"before" is a relation, not the subject."""
    found = []
    for kind, pattern in _EVENT_RE:
        for m in pattern.finditer(norm):
            if not re.search(r"\b(after|before|following|followed|prior to)(\s+\w+){0,4}\s*$|(بعد|قبل)(\s+\S+)?\s*$", norm[:m.start()]) \
                    and not _TOLD_THAT.search(norm[:m.start()]):
                found.append((m.start(), kind))
                break
    return min(found)[1] if found else None


_COUNTS = {"a": 1, "the": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "يوم": 1, "يوما": 1, "يومين": 2, "ثلاثه": 3, "اربعه": 4, "خمسه": 5, "سته": 6, "سبعه": 7}
_OFFSET = re.compile(r"\b(?P<n>\d+|a|one|two|three|four|five|six|seven|the(?= (?:day|week)\b)) (?P<unit>days?|weeks?) "
                     r"(?P<word>before|after|earlier than|later than"
                     r"|later|earlier)"
                     r"(?P<target>.*)$"
                     r"|(^|\s)(و|ف)?(?P<word2>قبل|بعد) (?P<n2>يومين|يوما|يوم|\d+|ثلاثه|اربعه|خمسه|سته|سبعه|اسبوعين|اسبوع)"
                     r"(?: (?P<unit2>ايام|يوما|اسابيع))?(?P<from> من)?(?P<target2>.*)$"
                     # "قبل مكالمة السبت بيوم": the count after the event
                     r"|(^|\s)(?P<word3>قبل|بعد|سبق|سبقت|يسبق|تلا|تلت|اعقب|اعقبت) (?P<target3>(?:\S+ ){1,3}?)"
                     r"(?P<n3>بيوم|بيومين|باسبوع|باسبوعين)(\s|$)"
                     # "the call that preceded the Saturday conversation by one day"
                     r"|\b(?P<word4>preceded|followed) (?P<target4>(?:\S+ ){1,4}?)by (?P<n4>a|one|two|three|\d+) (?P<unit4>days?|weeks?)\b"
                     # "الأسبوع الذي سبق مكالمة 28 تشرين الأول": the week before it
                     r"|(^|\s)(ال)?(?P<n5>اسبوع) (?:الذي |اللي )?(?P<word5>سبق|سبقت|تلا|تلت)(?P<target5> .*)$")
_AFTER_COUNTS = {"بيوم": 1, "بيومين": 2, "باسبوع": 7, "باسبوعين": 14}


def _first_event(text: str) -> EventKind | None:
    """The kind of the event ``text`` names first ("the Saturday call, … restoring the ceasefire": a call)."""
    found = [(m.start(), k) for k, pattern in _EVENT_RE if (m := pattern.search(text))]
    return min(found)[1] if found else None


def _offset_relation(frame: QuestionFrame, norm: str) -> bool:
    """"the call two days before the suspension", "قبل ثلاثة أيام من إعلان واشنطن قطع قنوات التواصل": one event,
    a counted number of days from another."""
    m = _OFFSET.search(norm)
    if m is None:
        return False
    word = m.group("word") or m.group("word2") or m.group("word3") or m.group("word4") or m.group("word5")
    target = m.group("target") or m.group("target2") or m.group("target3") or m.group("target4") or m.group("target5") or ""
    # "two days later a call", "وبعد يومين جرى اتصال" (no "من"): what follows the count is the event asked about
    counts_on = word in ("later", "earlier") or (m.group("word2") is not None and m.group("from") is None)
    kind = None if counts_on else _first_event(target)
    if kind is None:  # "أعلنت واشنطن التعليق يوم الاثنين، وجرى اتصال بعد يومين", "… on Monday; two days later a call":
        # the anchor came first; the event asked about is the last one named before the count, or the next one after it
        before = sorted((mention.start(), k) for k, pattern in _EVENT_RE for mention in pattern.finditer(norm[:m.start()]))
        after = sorted((mention.start(), k) for k, pattern in _EVENT_RE for mention in pattern.finditer(target))
        asked = after[0][1] if after and counts_on else before[-1][1] if before else None
        if not before or asked is None or before[0][1] == asked:
            return False
        kind, frame.event, frame.anchor_first = before[0][1], asked, True
    if kind == "statement":
        return False
    n = m.group("n") or m.group("n2") or m.group("n3") or m.group("n4") or m.group("n5")
    unit = m.group("unit") or m.group("unit2") or m.group("unit4") or ""
    if n in _AFTER_COUNTS:
        days = _AFTER_COUNTS[n]
    elif n.startswith("اسبوع"):
        days = 14 if n == "اسبوعين" else 7
    else:
        days = (int(n) if n.isdigit() else _COUNTS.get(n, 0)) * (7 if unit.startswith(("week", "اسابيع")) else 1)
    if not days:
        return False
    frame.relation = "before" if word in ("before", "earlier than", "earlier", "preceded", "قبل", "سبق", "سبقت", "يسبق") else "after"
    frame.relation_event, frame.relation_days, frame.nearest = kind, days, True
    return True


# "an earlier call", "the previous conversation", "الاتصال السابق", "اتصالاً سابقاً": the call before another one
_EARLIER = re.compile(r"\b(earlier|previous|prior|preceding)\s+(\S+\s+){0,3}?(call|conversation|phone call|talk)s?\b"
                      r"|(^|\s)(ال)?(اتصال|مكالمه|محادثه)(ا)?\s+(ال)?سابق(ا|ه)?(\s|$)")


def _relative_to_pinned(frame: QuestionFrame, norm: str) -> None:
    """A call asked about relative to the call the question pins by day ("the mid-August report mentions an
    earlier call: when was it?", "shortly before the Saturday call"): the pinned call is the anchor, and the
    nearest call before it is asked about."""
    if not frame.pins_time or frame.relation_from:
        return
    if frame.event not in ("call", None) and not _day_pins_the_anchor(frame):
        return  # "the meeting on 15 July": the day is the meeting's
    if frame.event == "call" and frame.relation is None and _EARLIER.search(norm):
        frame.relation, frame.relation_event = "before", "call"
    if frame.relation and frame.relation_event == "call":  # "قبل مكالمة السبت بيوم": the day pins the anchor call
        frame.event = frame.event or "call"
        frame.from_pinned, frame.nearest = True, True


def _day_pins_the_anchor(frame: QuestionFrame) -> bool:
    """Whether the day the question names is in the words naming the call it relates to ("قبل أن يهاتف لافروف كيري
    يوم الجمعة، مع من اجتمع": Friday is the call's day, not the meeting's)."""
    if frame.relation_event != "call" or not frame.relation_target:
        return False
    target = frame.relation_target.split()
    days = {arabic.fold(WEEKDAYS_AR[frame.weekday]), WEEKDAYS_EN[frame.weekday]} if frame.weekday is not None else set()
    phrase = " ".join(arabic.fold(frame.date_phrase or "").split())
    return bool(days & {re.sub(r"^(و|ب|ل)?(يوم )?", "", w) for w in target}) or bool(phrase and phrase in frame.relation_target)


def _relation(frame: QuestionFrame, norm: str) -> None:
    if _offset_relation(frame, norm):
        return
    for m in _RELATION.finditer(norm):
        word = m.group(1) or m.group(4)
        target = m.group(2) or m.group(5) or ""
        kind = _first_event(target)
        if kind is not None and kind != "statement":
            frame.relation = "before" if word in ("before", "prior to", "قبل") else "after"
            frame.relation_event = kind
            frame.relation_target = " ".join(norm[m.end(1) if m.group(1) else m.end(4):].split()[:RELATION_TARGET_WORDS])
            return


# a day named after a verb of reporting dates the report, not the event: "the call Moscow revealed on Sunday"
_REPORTED_ON = re.compile(r"\b(reported|announced|revealed|disclosed|said|made public)( \w+)?( on)?( the)?\s*['\"‘“]?\s*((yesterday|today)\s*,?\s*)?$"
                          r"|(اعلنت|اعلن|كشفت|كشف|ذكرت|ذكر|قالت|قال|افادت|نشرت)( عنها| عنه)?( \S+){0,2}\s+(يوم\s+)?$")
# a day after a verb of disclosure dates when the event was made known ("Moscow disclosed a conversation on Sunday 2 Oct",
# "أعلنت في ٢ تشرين الأول عن محادثة"); not after "said" ("what did Lavrov say on 28 September" dates what he said)
# "the ministry said on Sunday 2 Oct that the ministers had discussed …", «قالت الخارجية يوم الأحد إن …»: the day
# something was told, when what was told follows as "that …" (a plain "what did Lavrov say on Sunday" is not)
_SAID = re.compile(r"\b(said|stated|told \w+|added)( on)?( the)?\s*$|(^|\s)(قال|قالت|ذكر|ذكرت|اضافت|اضاف)( \S+){0,3}\s+(يوم\s+)?$")
_THAT_FOLLOWS = re.compile(r"\s*,?\s*(that\b|(ان|إن|أن|انه|إنه|أنه)(\s|$))")
_MADE_KNOWN = re.compile(r"\b(reported|announced|revealed|disclosed|made public|released|issued|published|put out)( \w+)?( on)?( the)?\s*$"
                         r"|\b(reported|announced|revealed|disclosed|made public|confirmed)( (a|an|the|its|their|his|her))?( [\w'–-]+){0,2} "
                         r"(phone )?(call|conversation|talks|contact|statement)s?( on| of)?\s*$"
                         r"|(اعلنت|اعلن|كشفت|كشف|افادت|افاد|نشرت)( عنها| عنه)?( \S+){0,2}\s+(يوم\s+)?$")
# agent.text.dates rules counted from "now" (the day the text was written), which a question does not give
_DEICTIC = ("yesterday", "day_before_yesterday", "today", "tomorrow", "weekday_recent", "weekday_last")


def _dates(frame: QuestionFrame, question: str, reference: dt.date | None) -> None:
    from agent.text.dates import resolve_dates

    if reference is None:
        reference = dt.date.today()
    question = re.sub(r"\b(early|late)-(?=[A-Z])", r"\1 ", question, flags=re.IGNORECASE)  # "early-August": same length
    question = _LOWER_MONTH.sub(lambda m: m.group(0).capitalize(), question)  # "aug 16", "on oct 5": as typed
    for found in resolve_dates(question, reference, lang="any"):
        phrase = arabic.fold(found.phrase)
        bare = re.sub(r"^(يوم|ال)\s*", "", phrase).strip()
        weekday = _weekday_of(bare)
        reported = _REPORTED_ON.search(arabic.fold(question[:found.start]).lower())
        if weekday is not None and len(bare.split()) == 1:
            # "the Wednesday call", "اتصال الثلاثاء": any Wednesday in the corpus. The first day named dates the
            # event ("the call revealed on Sunday" is dated by another day), except under an offset, which counts
            # from the last one ("the Friday call, one day before the Saturday call")
            if (frame.relation_days is not None and not frame.anchor_first) or (frame.weekday is None and not reported
                                                                                 and not frame.anchor_first):
                frame.weekday = weekday
            elif frame.weekday not in (None, weekday) and not reported and frame.relation is None \
                    and _WHICH_OF.search(arabic.fold(question).lower()):
                frame.weekday = None  # "calls on a Friday and on the Saturday: in which one …": it may be either
            continue
        if found.rule.split("+")[0] in _DEICTIC:  # "أمس الأول السبت" in a question is relative to a day it does not give:
            if found.weekday_stated and frame.weekday is None and not reported and not frame.anchor_first:  # only the weekday holds
                frame.weekday = _weekday_of(arabic.fold(found.weekday_stated))
            continue
        if found.period_start is None or found.period_end is None or found.granularity == "year":
            continue
        start, end = found.period_start, found.period_end
        before = arabic.fold(question[:found.start])
        if found.granularity == "day" and (_PUBLISHED_BEFORE.search(before.lower()) or _PUBLISHED_AFTER.match(
                question[found.start + len(found.phrase):].lower())):
            frame.published_on = frame.published_on or start
            continue
        told_that = _SAID.search(before.lower()) and _THAT_FOLLOWS.match(question[found.start + len(found.phrase):].lower())
        # "Moscow disclosed the call on Sunday 2 Oct: when did it take place?": the day it was told, not the day it happened
        if found.granularity == "day" and frame.reported_on is None and (_MADE_KNOWN.search(before.lower()) or told_that):
            frame.reported_on = start
            continue
        if _SINCE.search(before.lower()):  # "2031 violations since February 2016": the start of a span that runs on,
            continue  # not the time of what is asked
        part_of_month = False
        if found.granularity == "month" and not (_RANGE_END.search(before.lower()) or _RANGE_DASH.search(before.lower())):
            part_of_month = True
            if _LATE.search(before):
                start = start.replace(day=21)
            elif _EARLY.search(before):
                end = start.replace(day=10)
            elif _MID.search(before):
                start, end = start.replace(day=11), start.replace(day=20)
            else:
                part_of_month = False
        anchor = _ANCHOR.search(before.lower())
        if anchor and (found.granularity in ("day", "mid_month") or part_of_month):  # "the call before the one on 16 August", "the call
            # that preceded the mid-August one": that day or part of a month is the anchor
            word = anchor.group("word") or anchor.group("word2")
            frame.relation = "before" if word in _BEFORE else "after"
            frame.relation_event = frame.relation_event or frame.event
            frame.relation_from, frame.relation_to = start, end
            frame.nearest = not _PLURAL.search(arabic.fold(question).lower())
            continue
        if _RANGE_END.search(before.lower()) or _RANGE_DASH.search(before.lower()):  # "between February and September 2016",
            # "feb-sept 2016": a span, not its last month
            if frame.date_from is not None and frame.date_to is not None:
                frame.date_from, frame.date_to = min(frame.date_from, start), max(frame.date_to, end)
                frame.date_phrase = f"{frame.date_phrase} … {found.phrase}"
            continue  # the start was not resolved (a month with no year): a span that long constrains little
        if frame.date_from is not None or frame.reported_on is not None:  # a second day that does not end a span:
            return  # the first one holds
        frame.date_from, frame.date_to, frame.date_phrase = start, end, found.phrase
        if found.weekday_stated:
            frame.weekday = _weekday_of(arabic.fold(found.weekday_stated))
        after = arabic.normalize(question[found.start + len(found.phrase):]).lower()
        if not _RANGE_GOES_ON.match(after):  # "between 19 September and 5 October": the next day ends the span
            return


def _weekday_of(word: str) -> int | None:
    word = word.lower().strip()
    if word in WEEKDAYS_EN:
        return WEEKDAYS_EN.index(word)
    word = re.sub(r"^(و|ب|ف)?ال", "ال", word)
    if not word.startswith("ال"):
        word = "ال" + word  # "السبت" reaches here as "سبت"
    return WEEKDAYS_AR.index(word) if word in WEEKDAYS_AR else None


def named_entities(question: str, analyzer: Analyzer) -> list[str]:
    """The lexicon entities ``question`` names (English names), in either script."""
    return list(analyzer.memo("named_entities", question, lambda: tuple(_named_entities(question, analyzer))))


def _named_entities(question: str, analyzer: Analyzer) -> list[str]:
    question = re.sub(r"(?<=[A-Za-z])['’]s\b", "", question)  # "Ban Ki-moon's reaction", "Shoigu's corridors"
    lowered = {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z.'-]*", question)}
    lowered |= {part for w in lowered if "-" in w for part in w.split("-") if part}  # "the Lavrov-Kerry call"
    terms = set(analyzer.terms(question))
    for word in arabic.words(question):  # "لكيري", "ولافروف": a one-letter prefix the stemmer keeps
        if len(word) > 4 and word[0] in "وبلفك":
            terms.update(analyzer.terms(word[1:]))
    found = []
    for entity in analyzer.entities:
        english = {entity.en.lower(), *(v.lower() for v in entity.en_variants)}
        names = [entity.ar, *entity.variants]
        arabic_terms = {t for name in names for t in analyzer.terms(name)}
        # a one-word Arabic name must match itself; a longer one needs its distinctive (last) word
        distinctive = {t for name in names for t in analyzer.terms(name)[-1:]}
        if english & lowered and not (english - _given_name_only(entity.en, question)) & lowered:
            continue  # "Sergei Shoigu" names Shoigu, not Sergei Lavrov
        if english & lowered or entity.en.lower() in question.lower() or (distinctive & terms and arabic_terms):
            found.append(entity.en)
    return list(dict.fromkeys(found))


def _given_name_only(name: str, question: str) -> set[str]:
    """The given name of ``name`` ("sergei") when every use of it in ``question`` is followed by another
    capitalized name ("Sergei Shoigu"): then it does not name this person."""
    given = name.split()[0]
    uses = list(re.finditer(rf"(?i:\b{re.escape(given)}\b)(\s+[A-Z][\w'-]*)?", question))
    surname = name.split()[-1].lower()
    if uses and all(m.group(1) and m.group(1).strip().lower() != surname for m in uses):
        return {given.lower()}
    return set()


# capitalized words that name no one (sentence starts, titles, months, weekdays)
# month and weekday names typed in lower case; "may" and "march" only next to a number (else they are verbs)
_LOWER_MONTH = re.compile(r"\b(january|february|april|june|july|august|september|october|november|december|jan|feb|apr|jun|"
                          r"jul|aug|sept|sep|oct|nov|dec|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
                          r"|\b(may|march|mar)\b(?=\.?\s*\d)|(?<=\d\s)(may|march|mar)\b")
_GENERIC_CAPS = frozenset(
    "what who whom whose when where why how which did does do was were is are has have had can could will would the a an in on "
    "at of for and or to from by with about according foreign minister ministry secretary state department office president "
    "since while after before although though given apart besides also then so but if once until per despite "
    "spokesman spokeswoman spokesperson government army forces regime opposition rebels un u.n. us u.s. usa uk eu "
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday "
    "jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun "
    "dept govt gov admin mr mrs ms dr st mfa mod fm fms tv".split()
)


# what a request's next sentence starts with ("… Give the dates."): not a name
_IMPERATIVES = frozenset("give list name put tell show explain include provide state say answer describe compare order arrange "
                         "summarize summarise quote cite add mention note".split())


def _unknown_names(question: str, analyzer: Analyzer, known: list[str]) -> list[str]:
    """Names in an English question that the lexicon cannot carry into Arabic: "G20", "Yemen".
    ``known`` are the entities found (their words are not unknown: "United States", "Mark Toner").
    Whether the corpus knows the rest is for the caller (it has the index)."""
    named = {e.en: e for e in analyzer.entities}
    covered = {w.lower() for name in known if name in named
               for w in [*named[name].en.split(), *named[name].en_variants]}
    covered |= {w for phrase in analyzer.bridges if " " in phrase and phrase in question.lower() for w in phrase.split()}
    out = []
    for i, m in enumerate(re.finditer(r"[A-Za-z][A-Za-z0-9.'-]*[A-Za-z0-9]|[A-Za-z]", question)):
        word = re.sub(r"'s$", "", m.group(0)).rstrip(".'")  # "Shoigu's": Shoigu
        low = word.lower()
        if "-" in low and low.split("-")[0] in covered | set(analyzer.bridges):
            continue  # "Lavrov-Kerry", "Washington-backed": built on a known name
        if low in _GENERIC_CAPS or low in analyzer.bridges or low in covered or len(word) < 2 \
                or all(part in _GENERIC_CAPS for part in low.split("-")):  # "Feb-Sept", "Monday-Friday"
            continue
        # a capital after a sentence's end is the next sentence's first word ("… going. Since when …"), not a name
        starts_sentence = i == 0 or re.search(r"[.?!:;]\s*$", question[:m.start()]) is not None
        if ((word[0].isupper() and not (starts_sentence and (low in arabic.stopwords() or low in _IMPERATIVES))) and i > 0) \
                or any(ch.isdigit() for ch in word):
            out.append(word)
    return list(dict.fromkeys(out))


def _focus(question: str, analyzer: Analyzer) -> list[str]:
    stop = arabic.stopwords()
    words = [w for w in arabic.words(question) if w not in stop and w not in _QUESTION_WORDS]
    return list(dict.fromkeys(words))


# --- checks the caller runs with the corpus at hand -------------------------------------------

_INSTITUTION_AR = ("اداره", "حكومه", "نظام", "عهد", "اداره الرييس")
_INSTITUTION_EN = re.compile(r"^(?:'s)?\s+(administration|government|regime|white house)\b", re.IGNORECASE)


def names_an_institution(entity: Entity, question: str) -> bool:
    """Whether the question names the person only for an institution ("an official in the Obama administration",
    "مسؤول في إدارة أوباما"): then no passage has to name him."""
    for name in {entity.en.split()[-1], *entity.en_variants}:
        for m in re.finditer(rf"\b{re.escape(name)}\b", question, flags=re.IGNORECASE):
            if _INSTITUTION_EN.match(question[m.end():]):
                return True
    words = arabic.words(question)
    names = {w for s in [entity.ar, *entity.variants] for w in arabic.words(s)}
    return any(w in names and words[i - 1].replace("ة", "ه") in _INSTITUTION_AR for i, w in enumerate(words) if i > 0)


def unknown_speaker(words: list[str], known: Callable[[str], bool | None]) -> list[str]:
    """The words naming the speaker of "ماذا قال وزير الخارجية الفرنسي جان مارك إيرولت" that no article uses,
    when they read as a name: two such words within three, neither with the article "ال" (a name has none). A
    word the question merely phrases differently ("كيف وصف مسؤول الإغاثة") is not a name. ``known`` is
    None for a word search ignores (a stopword)."""
    def absent(w: str) -> bool:
        bare = w[1:] if len(w) > 3 and w[0] in "وفبل" else w  # "والجرحى", "لصالح": a prefix, not a name
        return all(known(x) is False for x in {w, bare}) and not (w.endswith("ه") and known(w[:-1] + "ة"))

    def unnamed(w: str) -> bool:
        return absent(w) and not re.sub(r"^[وفبل]", "", w).startswith("ال")

    # "وزارة الخارجية الصينية": a country's adjective no article uses names a body the articles never quote
    nationality = [w for w in words if w.startswith("ال") and w.endswith(("يه", "ية")) and absent(w)]
    flags = [unnamed(w) for w in words]
    if nationality:
        return nationality
    if not any(sum(flags[i:i + 3]) >= 2 for i in range(len(flags))):  # "جان مارك إيرولت": Mark is a known name
        return []
    return [w for w, flag in zip(words, flags, strict=True) if flag]
