"""Cue words of the offline event rules, on normalized text (no diacritics, ا for أ/إ/آ, ي for ى).

Each pattern is a regular expression over ``arabic.normalize``d text. A leading و/ف/ب/ل
glued to a word is allowed by ``w()``; word ends are checked. Topics are English labels
whose Arabic forms come from the lexicon's ``terms`` (editable data).
"""

from __future__ import annotations

import re

_P = r"(?<!\w)(?:[وفبلك]|وب|ول|فب|فل)?"
_E = r"(?!\w)"


def w(pattern: str) -> re.Pattern[str]:
    """A whole-word pattern that tolerates a glued conjunction or preposition."""
    return re.compile(_P + "(?:" + pattern + ")" + _E)


# --- phone calls
CALL_STRONG = w(r"(?:ال)?هاتف\w*|(?:ال)?مكالم\w*|(?:ال)?محادث\w*\s+(?:ال)?هاتفي\w*")
CALL_WEAK = w(r"(?:ال)?اتصال(?:ا)?")
CALL_ANAPHOR = w(r"المحادثة|المحادثه|المكالمة|المكالمه|الاتصال")
CALL_NOT = re.compile(r"(?:قنوات|وسائل|علي|خطوط)\s+\S*$")  # "قنوات الاتصال", "الحفاظ على الاتصال": not a call
PAIR_WORDS = w(r"الوزيرين|الوزيران|نظيره|نظيرته|نظيرتها|نظيرها|نظيريه|نظيرهما|الجانبين|الطرفين|الطرفان|الجانبان")

# --- who initiated
INITIATIVE = w(r"(?:بعد\s+)?(?:بمبادرة|مبادرة)\s+من")
THE_LATTER = re.compile(r"^\s*(?:هذا\s+الاخير|هذه\s+الاخيرة|هذه\s+الاخيره|الاخير|الاخيرة)" + _E)
PLACED_CALL = w(r"اجري|اجرت|يجري|تجري")  # "أجرى لافروف … اتصالاً": the subject placed the call
CALLED = w(r"اتصل|اتصلت|هاتف")  # "اتصل X بـY"
NOT_SUBJECT = re.compile(r"(?<!\w)(?:بين|مع|في|عن|من|الي)(?!\w)")  # "أُجري في … بين لافروف": passive, no subject
RECEIVED = w(r"تلقي|تلقت|يتلقي")  # "تلقى X اتصالاً من Y": Y placed it

# --- dates: who is speaking vs when it happened
REPORTING = w(
    r"قال|قالت|يقول|اعلن|اعلنت|اعلان|لفت|اضاف|اضافت|اوضح|اوضحت|ذكر|ذكرت|افاد|افادت|صرح|صرحت|اكد|اكدت|"
    r"بيان|بيانها|بيانه|تصريح|تصريحات|افادة|نشر|نشرت|حذر|حذرت|اعتبر|اعتبرت|نقل|نقلت|نسبت"
)
EVENT_VERB = w(r"جري|جرى|جرت|اجري|اجريت|اجرت|تم|تمت|عقد|عقدت|وقع|حصل")

# --- other events (the cue word is where a date binds)
CEASEFIRE = w(
    r"(?:ال)?هدن(?:ة|ه)|(?:ال)?هدن|وقف\s+(?:ل)?(?:اطلاق\s+النار|الاعمال\s+القتالية|العمليات\s+القتالية|الاعمال\s+العدائية)|"
    r"ايقاف\s+اطلاق\s+النار|لاطلاق\s+النار"
)
AGREEMENT = w(r"(?:ال)?اتفاق\w*")
START = w(r"دخل\w*\s+حيز\s+التنفيذ|بدء\s+سريان|بدا\s+سريان|سريان|دخول\w*\s+حيز\s+التنفيذ")
COLLAPSE = w(r"انهار|انهارت|ينهار|تنهار|انهيار|انتهت|انتهي|سقطت|فشلت")
AGREED = w(r"توصل\w*|التوصل|الموقع|وقعا|وقعت|ابرم\w*|ابرام")
SUSPEND = w(r"تعليق|علقت|علق|يعلق|تعلق")
MODAL = re.compile(r"(?:وشك|تستعد|يستعد|تهدد|يهدد|قد|ستعلق|ربما|امكانية|تدرس)\W*(?:\S+\W+){0,2}$")
MEETING = w(r"زيارة|زياره|الزيارة|زار|زارت|اللقاء|لقاء|اجتماع\w*|التقي|اجتمع|اجتمعا")

# --- stances ("positions") and their English verbs
STANCES: dict[str, str] = {
    r"حث|حثت": "urged",
    r"ابلغ|ابلغت": "told",
    r"قال\s+ل\S+": "told",
    r"ابدي|ابدت": "expressed",
    r"اعرب|اعربت": "expressed",
    r"شدد|شددت": "stressed",
    r"حذر|حذرت": "warned",
    r"طالب|طالبت": "demanded",
    r"دعا|دعت": "called for",
    r"اشترط|اشترطت": "set conditions",
    r"اكد|اكدت": "affirmed",
}
STANCE_RE = [
    # "حث" takes no glued ب: "بحث" is "discussed", not "urged"
    (re.compile(r"(?<!\w)[وف]?(?:" + p + r")(?!\w)") if p.startswith("حث") else w(p), verb) for p, verb in STANCES.items()
]

# --- whose account: organizations (people and sides come from the lexicon)
REPORTERS: dict[str, str] = {
    r"(?:وزارة\s+)?الخارجية\s+الروسية|(?:وزارة\s+)?الخارجية\s+الروسيه": "Russian Foreign Ministry",
    r"(?:وزارة\s+)?الخارجية\s+الام[ير]{1,2}كية|(?:وزارة\s+)?الخارجية\s+الام[ير]{1,2}كيه": "US State Department",
    r"المتحدث\s+باسم\s+الخارجية\s+الام[ير]{1,2}كية": "US State Department",
    r"الكرملين": "Kremlin",
    r"رويترز": "Reuters",
    r"وكالة\s+الصحافة\s+الفرنسية": "AFP",
    r"وكالات\s+انباء\s+روسية": "Russian news agencies",
    r"سبوتنيك": "Sputnik",
    r"البعثة\s+الدايمة\s+لروسيا": "Russian mission in Geneva",
}
REPORTER_RE = [(w(p), name) for p, name in REPORTERS.items()]
# the side each of those sources speaks for (None: an agency that relays others' words)
REPORTER_SIDES: dict[str, str | None] = {
    "Russian Foreign Ministry": "Russia", "US State Department": "United States", "Kremlin": "Russia",
    "Russian news agencies": "Russia", "Sputnik": "Russia", "Russian mission in Geneva": "Russia", "Reuters": None, "AFP": None,
}
MINISTRIES = {name for p, name in REPORTERS.items() if "الخارجية" in p}  # what a bare "الوزارة" can refer back to

# --- whose account ("what was said"): cues beyond the reporting words above
# a call word that refers back to a call ("علق … على الاتصال"), unless it means contacts in general
CALL_REFERENCE_NOT = re.compile(r"(?:قنوات|وسائل|خطوط)\s+\S*$|(?:حافظ|تحافظ|يحافظ|ستحافظ|الحفاظ|الابقاء|البقاء)\S*\s+علي\s+\S*$")
MEDIA = w(r"صحيفة|صحيفه|جريدة|جريده|شبكة|شبكه|قناة|قناه|موقع|مجلة|مجله")  # "صحيفة واشنطن بوست" is not Washington
SPOKESMAN = w(r"(?:ال)?(?:متحدث|متحدثة|متحدثه|ناطق|ناطقة|ناطقه)\s+(?:الرسمي\S*\s+)?باسم")  # "المتحدث باسم …"
BARE_MINISTRY = w(r"وزارة\s+الخارجية|وزاره\s+الخارجيه|الخارجية|الخارجيه|الوزارة|الوزاره")  # unqualified: refers back
SOURCE_ANAPHOR = w(r"المصدر|المصادر|البيان|البيان\s+نفسه")  # "وفق المصدر", "أوضح البيان": the source named before
# a sentence that opens with a reporting or stance verb and names no one goes on with the previous sentence's source
CONTINUES = re.compile(
    r"^\W*(?:[وف]\s*)?(?:كما\s+|ثم\s+)?(?:[وف])?(?:اضاف|اضافت|تابع|تابعت|اوضح|اوضحت|اكد|اكدت|قال|قالت|ذكر|ذكرت|لفت|لفتت|"
    r"اشار|اشارت|شدد|شددت|اردف|اردفت|حذر|حذرت|اعتبر|اعتبرت|نقل|نقلت)(?!\w)"
)
THAT = re.compile(r"(?<!\w)(?:ان|بان|انه|انها|بانه)(?!\w)")  # "أوضحت أن …": what follows is reported speech
OBJECT_BEFORE = re.compile(r"(?<!\w)(?:مع|الي|عن|من|بين|علي)\W*$")  # "في اتصال مع كيري": Kerry is not the subject
ACCORDING = w(r"بحسب|حسب|وفق|وفقا|نقلا\s+عن")

# --- English topic labels → keys of the lexicon's `terms` / entity English names
TOPICS: dict[str, list[str]] = {
    "Aleppo": ["aleppo"],
    "ceasefire": ["ceasefire", "truce", "hostilities"],
    "counter-terrorism": ["terrorism", "terrorist", "terrorists"],
    "separating moderates from terrorist groups": ["separate", "separation"],
    "humanitarian access": ["humanitarian", "aid", "corridors", "evacuation"],
    "suspending cooperation": ["suspend"],
    "military coordination": ["coordination", "joint"],
    "Nusra Front": ["nusra"],
    "Geneva talks": ["geneva"],
    "Ukraine": ["ukraine"],
    "North Korea": ["korea"],
    "normalizing the situation": ["normalize"],
}

# "بعد عشرة أيام": a number of days after the nearest earlier date in the sentence
NUMBER_WORDS = {
    "يوم واحد": 1, "يوما واحدا": 1, "يومين": 2, "يومان": 2, "ثلاثة": 3, "ثلاث": 3, "اربعة": 4, "اربع": 4,
    "خمسة": 5, "خمس": 5, "ستة": 6, "ست": 6, "سبعة": 7, "سبع": 7, "ثمانية": 8, "ثماني": 8, "تسعة": 9, "تسع": 9,
    "عشرة": 10, "عشر": 10,
}
_NUM = "|".join(sorted(map(re.escape, NUMBER_WORDS), key=len, reverse=True))
DAYS_AFTER = re.compile(
    r"(?<!\w)(?P<rel>بعد|قبل)\s+(?:(?P<n>\d{1,2}|" + _NUM + r")\s+(?P<unit>ايام|يوما|اسبوع|اسابيع)"
    r"|(?P<one>يوم\s+واحد|يوما\s+واحدا|يومين|يومان|اسبوع|اسبوعين))(?!\w)(?!\s+من)"
)
