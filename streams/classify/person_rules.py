"""The vocabulary and pure predicates the PERSON detector uses: name shapes, cue words,
public-figure usage and the words that show a capitalised run is not a personal name.

Kept apart from the detector (``person.py``) so the detector reads as the order in
which evidence is gathered, and these rules can be read and tested on their own.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .fold import GatedPattern, folded, gated
from .patternset import Prefiltered, first_char_branches

# Words that, as part of a span, show it is not a personal name.
NOT_NAME_WORDS = frozenset(
    """mode token key secret password api model prompt system user assistant admin developer chatgpt gpt
    openai anthropic google microsoft amazon apple meta stripe slack github gitlab twilio sendgrid zoho
    zapier databricks mlflow aws azure webhook upload retail analytics grocers cloud apparel gaming labs
    inc llc ltd corp co company group holdings partners capital bank semiconductor systems technologies
    street st avenue ave road rd lane suite apt drive dr court boulevard terrace ports spur plains row
    greens drives squares alley highway harbor manor branch mill ridges locks club dale flats turnpike
    passage radial springs river motorway order invalid discipline moderation summary markdown language
    hypertext python java javascript sql linux windows docker kubernetes terraform project projects home
    networks network payments devices software solutions services industries foods grocers pharma
    health medical clinic hospital university college school institute foundation agency department
    hiring manager team sir madam colleagues customers gemini llama claude bard copilot mistral grok
    chat chatbot bot agent human ai book novel film movie album anything norms now
    snacks biotech therapeutics pharmaceuticals motors airlines energy logistics ventures media studios
    brands robotics dynamics materials chemicals insurance realty properties consulting securities
    financial bancorp trust markets retail apparel foods beverages airways automotive aerospace
    chair desk lamp sofa phone laptop accounts payable receivable finance legal operations sales marketing
    support engineering procurement payroll senior junior lead principal chief head buyer engineer analyst
    director officer specialist associate consultant coordinator representative executive president vp""".split()
)
FIRST_WORD_VERBS = frozenset(
    """summarize convert ignore write draft translate explain respond make help create generate fix
    refactor update please tell give list show print repeat decode act pretend imagine forget disregard
    review check add remove send call email schedule find describe compare""".split()
)
# Names are not ASCII: "Wiśniewski", "Lucía", "Chloé". Upper/lower classes cover Latin-1 and
# Latin Extended-A (the extended block interleaves cases, so it sits in both).
UP = "A-ZÀ-ÖØ-ÞĀ-ɏ"
LO = "a-zß-öø-ÿĀ-ɏ"
# "O'Sullivan", "D'Angelo": an apostrophe may follow a single capital.
_NAME_TOKEN = re.compile(rf"^(?:(?:Mc|Mac|Fitz|[{UP}]['’])?[{UP}][{LO}]+|[{UP}](?='))(?:['-][{UP}]?[{LO}]+)*\.?$")

# Two to five capitalised words (name particles allowed inside): where a full name can be.
NAME_PARTICLES = ("da", "de", "del", "della", "di", "do", "dos", "du", "van", "von", "der", "den", "ter", "bin", "binti",
                   "al", "el", "la", "le")
_CAP_WORD = rf"(?:Mc|Mac|Fitz|[{UP}]['’])?[{UP}][{LO}]+(?:['’-][{UP}]?[{LO}]+)*"
# The first word written to start with its capital ("(?<![\w'’-])" + _CAP_WORD, unrolled): the
# regex engine then skips to capitals instead of trying every position. Same matches.
_FIRST_CAP_WORD = rf"[{UP}](?<![\w'’-].)(?:(?<=M)c[{UP}]|(?<=M)ac[{UP}]|(?<=F)itz[{UP}]|['’][{UP}]|)[{LO}]+(?:['’-][{UP}]?[{LO}]+)*"
CAP_RUN = re.compile(rf"{_FIRST_CAP_WORD}(?: (?:{_CAP_WORD}|(?:{'|'.join(NAME_PARTICLES)})(?!\w))){{1,4}}")

# Relationship and role nouns that only ever introduce a person ("my roommate Bartholomew",
# "our babysitter, Marisol Gutierrez"): a single capitalised word after them is a name.
_RELATIONS = (
    r"[Rr]oommate|[Ff]latmate|[Hh]ousemate|[Cc]o-?worker|[Tt]eammate|[Cc]lassmate|[Bb]oss|[Mm]anager|[Ss]upervisor|"
    r"[Ll]andlord|[Ll]andlady|[Bb]abysitter|[Nn]anny|[Tt]utor|[Tt]eacher|[Cc]oach|[Tt]herapist|[Nn]urse|[Cc]ousin|[Aa]unt|"
    r"[Uu]ncle|[Nn]ephew|[Nn]iece|[Gg]randson|[Gg]randdaughter|[Gg]randma|[Gg]randpa|[Ff]ianc[ée]e?|[Gg]irlfriend|[Bb]oyfriend|"
    r"[Pp]artner|[Ss]pouse|[Ss]tep(?:son|daughter|mother|father)|[Nn]ew hire|[Ii]ntern|[Nn]eighbou?r|[Tt]enant|"
    r"[Aa]ccount holder|[Cc]ardholder"
)


# Cue words after which a capitalised word sequence is a person's name.
_CUE_WORDS = (
    r"[Pp]atient|[Nn]ame|[Ff]ull name|[Pp]atient name|[Cc]ustomer|[Cc]lient|[Mm]ember|[Ee]mployee|"
    r"[Tt]enant|[Bb]orrower|[Aa]pplicant|[Bb]eneficiary|[Gg]uardian|[Dd]ear|[Hh]i|[Hh]ello|[Tt]hanks|"
    r"[Ii]'m|I am|[Tt]his is|[Mm]y name is|[Ss]igned|[Rr]egards|[Ff]or|[Rr]eferring|[Rr]eminder for|"
    r"[Nn]amed|[Cc]alled|[Ss]on|[Dd]aughter|[Kk]id|[Ww]ife|[Hh]usband|[Mm]om|[Dd]ad|[Mm]other|[Ff]ather|"
    r"[Bb]rother|[Ss]ister|[Ff]riend|[Cc]olleague|[Nn]eighbou?r|[Mm]aiden name is|[Ll]ast name is|"
    r"[Ss]urname is|[Ff]irst name is|[Tt]o|[Aa]dd|[Ww]ith|[Ff]rom|[Aa]bout|[Tt]ext|[Ee]mail|"
    + _RELATIONS
)
CUE = re.compile(
    r"(?:\b" + first_char_branches(_CUE_WORDS)
    + r"(?:\s*[:=]\s*|\s*,\s*|\s+|\s*\?\s*)(?:(?:is|was|named|called)\s+)?"
    r"|\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\.?\s+)"
    rf"((?:Mc|Mac)?[{UP}][{LO}]+(?:['-][{UP}]?[{LO}]+)?(?: (?:Mc|Mac)?[{UP}][{LO}]+(?:['-][{UP}]?[{LO}]+)?){{0,3}})"
)
# Cues strong enough that a single capitalised word after them is a name.
STRONG_CUE = re.compile(
    r"(?:\b(?:[Pp]atient|[Nn]ame|[Dd]ear|[Hh]i|[Hh]ello|[Ii]'m|[Tt]his is|[Mm]y name is|[Nn]amed|[Cc]alled|"
    r"[Ss]on|[Dd]aughter|[Kk]id|[Ww]ife|[Hh]usband|[Bb]rother|[Ss]ister|[Ff]riend|[Cc]olleague|"
    r"[Mm]aiden name is|[Ll]ast name is|[Ss]urname is|[Ff]irst name is|[Tt]ext|[Rr]eminder for|"
    + _RELATIONS + r")"
    r"(?:\s*[:=]\s*|\s*,\s*|\s+|\s*\?\s*)|\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\.?\s+)$"
)
# "[00:02] Alice: ..." speaker labels in timestamped transcripts (bare "Agent:" is a role).
SPEAKER = re.compile(r"(?m)^\s*\[[\d:]+\]\s*([A-Z][a-z]+(?: [A-Z][a-z]+)?):\s")
# "Kelly's address", "Omar's phone": a possessive on personal data names its owner.
POSSESSIVE = gated(
    r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)?)(?:'s|’s) (?:home |personal |new |current |cell |mobile )?(?:address|phone|number|email|e-mail|ssn|"
    r"account|card|birthday|date of birth|dob|medical|records?|diagnosis|results|salary|password|manager)\b"
)
# A message addressed to someone: '"John, your results ...', 'Emily Kline - your echo ...'.
VOCATIVE = re.compile(rf"(?:^|[\"“'‘\n]\s*)([{UP}][{LO}]+(?: [{UP}][{LO}]+)?)(?:,| -| –| —)\s+(?:your|you|we|I)\b")
# "write a text to Tiffany", "email Marcus about": a single name after a messaging verb.
_MESSAGE_WORDS = "text|message|email|note|letter|card|invite|invitation|reply|call|remind"
MESSAGE_TO = Prefiltered(
    re.compile(r"\b(?i:" + first_char_branches(_MESSAGE_WORDS) + rf")\s+(?:to|for)?\s*([{UP}][{LO}]+)\b(?! [A-Z])"),
    folded(f"(?i){_MESSAGE_WORDS}"),  # a match holds one of the words: most texts are out at one gate check
)
# A line that is only a full name (letterheads, signatures).
NAME_LINE = re.compile(rf"(?m)^([{UP}][{LO}]+(?: [A-Z]\.)?(?: [{UP}]['{LO}]*[{UP}]?[{LO}]+(?:-[{UP}][{LO}]+)?){{1,3}})[ \t]*$")
PERSONA_CONTEXT = re.compile(r"(?i)\b(?:chatbot|ai model|language model|persona|pretend|role of|roleplay|character|stands for)\b")
# A capitalised word that is nearly always a common word rather than a name.
COMMON_CAPS = frozenset(
    """the a an this that these those my your our his her their it its we you i he she they there here
    what when where why how who which please thanks thank yes no ok hello hi dear note user system
    assistant patient name customer client admin team all any some every today tomorrow monday tuesday
    wednesday thursday friday saturday sunday january february march april may june july august
    september october november december subject re fwd date time phone email address dob mrn ssn
    question answer summary action item owner due human agent bot course friend mobile desk fax
    product reminder website confidential personal info you me do avoid mr mrs ms miss mx dr prof sir madam
    captain""".split()
)


# Public figures are talked ABOUT (their works, career, role, historic acts), private people are
# talked TO or on behalf of. These cues read that from the words around a name instead of
# listing famous names.
_PUBLIC_BEFORE = GatedPattern(
    r"(?i)(?:\b(?:biography|bio|life|career|legacy|influence|reign|presidency|works?|books?|novels?|poems?|poetry|songs?|"
    r"albums?|films?|movies?|paintings?|speech(?:es)?|quotes?|ideas|theor(?:y|ies)|philosophy|style|styles|leadership styles?|"
    r"music|lyrics|discoveries|inventions?) (?:of|by|from)|\bin the (?:style|spirit|manner|voice) of|\binspired by|\bwho (?:is|was|were)|"
    r"\btell me about|\bfamous|\b(?:president|senator|governor|king|queen|emperor|prince|princess|pope|prime minister|"
    r"chancellor|ceo|founder|singer|actor|actress|author|novelist|poet|painter|artist|composer|rapper|scientist|physicist|"
    r"philosopher|economist|chef|director|athlete|player|inventor|explorer|general|saint|st\.))\s+(?:\w+\s+){0,2}$"
)
_PUBLIC_AFTER = GatedPattern(
    r"(?i)^(?:(?:'s?|’s?)\s+(?:\w+\s+)?(?:career|legacy|influence|theory|theories|equilibrium|law|laws|principle|paradox|"
    r"speech|letters?|paintings?|novels?|books?|poems?|songs?|albums?|films?|movies?|music|recipes?|works?|ideas|philosophy|"
    r"quotes?|lyrics|tour|administration|presidency|reign|policies|spending|discover\w+|inventions?|analytical|"
    r"commencement|leadership|biography|thinking|famous)"
    r"|\s+(?:famously|originally|wrote|painted|composed|invented|discovered|described|explored?|explores|argued|proved|"
    r"ruled|conquered|starred|directed|mean by|meant by|(?:made|became|was|were) the first)"
    # Eponyms: "the Nash equilibrium", "Hodgkin lymphoma", "the Turing test".
    r"|\s+(?:equilibrium|theorem|law|effect|principle|paradox|conjecture|syndrome|disease|lymphoma|scale|test|method|"
    r"algorithm|prize|award|distribution|number|constant|curve|index|rule))\b"
)
# A sentence about works, sport, history or media (and not about the writer's own circle).
_PUBLIC_SENTENCE = GatedPattern(
    r"(?i)\b(?:novels?|books?|stor(?:y|ies)|plot|characters?|films?|movies?|series|episodes?|chapters?|poems?|musical|"
    r"biography|documentary|albums?|grand slams?|titles|championships?|hall of fame|nobel|oscars?|grammys?|revolution|"
    r"empire|dynasty|presidency|election|commencement|leadership styles?|hall|tour)\b"
)
_PRIVATE_FRAME = re.compile(r"(?i)\b(?:my|our|me|us|i'm|i am|we|colleague|customer|client|patient|tenant|employee)\b")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


@lru_cache(maxsize=256)  # the cue and gazetteer gatherers often ask about the same name
def _public_figure(text: str, start: int, end: int) -> bool:
    """True when the words around ``text[start:end]`` treat the name as a public figure or a
    character (biography, works, role titles, historic acts), not as someone the user knows."""
    # gated on the whole text (search_part): most texts hold none of these words
    if (_PUBLIC_BEFORE.search_part(text, text[max(0, start - 60):start])
            or _PUBLIC_AFTER.search_part(text, text[end:end + 40])):
        return True
    for m in _SENTENCE.finditer(text):
        if m.start() <= start < m.end():
            # The name itself is blanked: "Oscar Nissen" must not read as "the Oscars".
            sent = text[m.start():start] + " " * (end - start) + text[end:m.end()]
            return bool(_PUBLIC_SENTENCE.search_part(text, sent)) and not _PRIVATE_FRAME.search(sent)
    return False


# A sentence-initial single name is a person when it is the subject of a person's verb
# ("Lisa is from ...", "Ahmed said ...", "Sofia and Mateo are ...") - imperatives, the usual
# sentence-initial capitalised words, are followed by their object instead.
SUBJECT_VERB = re.compile(
    r"^(?:'s\b|\s+(?:is|was|are|were|has|had|have|said|says|asked|asks|told|tells|wants|needs|thinks|called|emailed|"
    r"texted|sent|will|would|can|could|should|just|also|still|never|always|and|from|works|worked|lives|left|joined|"
    r"doesn't|didn't|isn't|wasn't|won't|can't|keeps|kept|owes|wrote|replied|mentioned|complained|"
    # meeting-note style: "Raj to follow up", "Svetlana owns the migration"
    r"to follow|owns|reviews|handles|leads|drives|takes)\b)"
)
# Two coordinated sentence-initial names as the subject of a plural verb ("Sofia and Mateo are ...")
# and action items in meeting notes ("Raj to follow up ...; Deepak reviews ...").
PAIR_SUBJECT = gated(
    rf"(?m)(?:^|[.!?;:]\s+)([{UP}][{LO}]+) and ([{UP}][{LO}]+) (?:are|were|have|had|both|will|live|split|share|went|met|got)\b"
)
ACTION_ITEM = gated(rf"(?m)(?:^|[;:]\s+|\n\s*[-*]\s*)([{UP}][{LO}]+) (?:to follow up|to send|to draft|to review|owns|reviews|handles|drives|will follow up)\b")
# A place after a travel verb is not a person ("travelling to Montserrat").
_TRAVEL_BEFORE = GatedPattern(r"(?i)\b(?:travel\w*|fly\w*|flew|mov(?:e|ed|ing)|trip|visit\w*|going|go|went|head\w*|relocat\w+|"
                            r"live[sd]?|living|based|born|located|stay\w*|flights?)\s+(?:to|in|at|from|for)?\s*$")
# Lowercase names are only trusted after cues that cannot precede anything else.
LOWER_CUE = gated(r"\b[Mm]y name is\s+([a-z][a-z'-]{1,20})\b")
# In all-lowercase prompts ("hi, i'm dmitri and ...") a word after a person cue is a name only
# if spaCy, shown the word capitalised, tags it PERSON.
LOWER_CANDIDATE = re.compile(
    r"\b(?:i'm|i am|this is|my (?:friend|colleague|coworker|roommate|neighbou?r|son|daughter|wife|husband|brother|sister|"
    r"boss|partner|cousin|mom|dad|boyfriend|girlfriend)|dear|hi|hey|hello|thanks|ask|tell|text|email)\s+([a-z][a-z'-]{2,20})\b"
)


def looks_like_name(value: str, text: str, start: int, *, single_ok: bool) -> bool:
    words = value.split()
    if not words or len(words) > 4:
        return False
    if any(not _NAME_TOKEN.match(w) for w in words):
        return False
    low = [w.lower().strip(".") for w in words]
    if any(w in NOT_NAME_WORDS or w in COMMON_CAPS for w in low):
        return False
    if _public_figure(text, start, start + len(value)):
        return False
    if len(words) == 1 and not single_ok:
        return False
    if len(words) == 1 and _TRAVEL_BEFORE.search_part(text, text[max(0, start - 25):start]):
        return False
    # Titles of works ("the book Atomic Habits") are not people.
    if re.search(r"(?i)\b(?:book|novel|film|movie|song|album|show|game|series|podcast|play)\s+$", text[max(0, start - 12):start]):
        return False
    # A sentence-initial imperative ("Summarize Q3") is not a name.
    if low[0] in FIRST_WORD_VERBS:
        return False
    # Followed by a company / street word: part of a larger proper noun.
    after = text[start + len(value):start + len(value) + 16]
    if re.match(r"\s+(?:Inc|LLC|Ltd|Corp|Street|St|Avenue|Ave|Road|Rd|Suite|Apt|Labs|Group|Capital|Bank)\b", after):
        return False
    # Followed by a product / place noun: a brand ("the Herman Miller Aeron chair").
    if re.match(r"\s+(?:chair|desk|phone|laptop|car|truck|watch|shoes|sneakers|bag|guitar|camera|app|software|platform|"
                r"brand|store|restaurant|hotel|airport|university|hospital|stadium|bridge|foundation)\b", after):
        return False
    return True


_NO_DECOMPOSITION = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i", "ß": "ss",
                                   "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ð": "d", "þ": "th"})


def fold(name: str) -> str:
    """``name`` without diacritics (NFKD, combining marks dropped; letters NFKD keeps whole,
    such as Polish ł or Danish ø, mapped to their base letter)."""
    return "".join(c for c in unicodedata.normalize("NFKD", name.translate(_NO_DECOMPOSITION))
                   if not unicodedata.combining(c))


NOT_PERSON_LABELS = frozenset({"ORG", "PRODUCT", "FAC", "WORK_OF_ART", "EVENT", "LAW"})


CORPORATE = re.compile(
    r"(?i)\b(?:its|shares?|stock|firm|bank|brokerage|analysts?|clients|fees|fund|investment|securities|"
    r"inc|corp|llc|ltd|plc|company|brand|store|stores|products?|headquarter\w*|ceo)\b"
)
