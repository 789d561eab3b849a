"""PERSON: Presidio's spaCy recognizer, filtered to private individuals, plus cue patterns.

spaCy's small model over-fires on capitalised words (product names, jailbreak personas,
sentence-initial verbs) and misses names in record-like text ("Name: Jane Roe"). The filter
keeps spans that look like a personal name; the cue patterns add names introduced by words
that only ever precede a person ("patient", "Dear", "I'm", "Dr.").
"""

from __future__ import annotations

import re
from typing import Any

from .engine import Span

# Widely known public figures (and famous fictional characters) are not personal data of a
# private individual.
_FAMOUS_PAIRS = re.compile(
    r"\b(?:albert einstein|marie curie|isaac newton|charles darwin|ada lovelace|alan turing|nikola tesla|"
    r"thomas edison|galileo|leonardo da vinci|shakespeare|jane austen|mark twain|abraham lincoln|"
    r"george washington|thomas jefferson|barack obama|joe biden|donald trump|hillary clinton|bill clinton|"
    r"winston churchill|napoleon|julius caesar|martin luther king|gandhi|nelson mandela|elon musk|jeff bezos|"
    r"bill gates|steve jobs|tim cook|satya nadella|sundar pichai|mark zuckerberg|sam altman|warren buffett|"
    r"jensen huang|taylor swift|beyonc[eé]|serena williams|michael jordan|lebron james|cristiano ronaldo|"
    r"lionel messi|roger federer|oprah winfrey|orville wright|wilbur wright|sherlock holmes|harry potter|"
    r"darth vader|james bond|santa claus)\b",
    re.I,
)

# Words that, as part of a span, show it is not a personal name.
_NOT_NAME_WORDS = frozenset(
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
    chat chatbot bot agent human ai book novel film movie album anything norms now""".split()
)
_FIRST_WORD_VERBS = frozenset(
    """summarize convert ignore write draft translate explain respond make help create generate fix
    refactor update please tell give list show print repeat decode act pretend imagine forget disregard
    review check add remove send call email schedule find describe compare""".split()
)
_NAME_TOKEN = re.compile(r"^[A-Z][a-z]+(?:['-][A-Z]?[a-z]+)*\.?$")

# Cue words after which a capitalised word sequence is a person's name.
_CUE = re.compile(
    r"(?:\b(?:[Pp]atient|[Nn]ame|[Ff]ull name|[Pp]atient name|[Cc]ustomer|[Cc]lient|[Mm]ember|[Ee]mployee|"
    r"[Tt]enant|[Bb]orrower|[Aa]pplicant|[Bb]eneficiary|[Gg]uardian|[Dd]ear|[Hh]i|[Hh]ello|[Tt]hanks|"
    r"[Ii]'m|I am|[Tt]his is|[Mm]y name is|[Ss]igned|[Rr]egards|[Ff]or|[Rr]eferring|[Rr]eminder for|"
    r"[Nn]amed|[Cc]alled|[Ss]on|[Dd]aughter|[Kk]id|[Ww]ife|[Hh]usband|[Mm]om|[Dd]ad|[Mm]other|[Ff]ather|"
    r"[Bb]rother|[Ss]ister|[Ff]riend|[Cc]olleague|[Nn]eighbou?r|[Mm]aiden name is|[Ll]ast name is|"
    r"[Ss]urname is|[Ff]irst name is|[Tt]o|[Aa]dd|[Ww]ith|[Ff]rom|[Aa]bout|[Tt]ext|[Ee]mail)"
    r"(?:\s*[:=]\s*|\s+|\s*\?\s*)(?:(?:is|was|named|called)\s+)?"
    r"|\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\.?\s+)"
    r"([A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?(?: [A-Z][a-z]+(?:['-][A-Z]?[a-z]+)?){0,2})"
)
# Cues strong enough that a single capitalised word after them is a name.
_STRONG_CUE = re.compile(
    r"(?:\b(?:[Pp]atient|[Nn]ame|[Dd]ear|[Hh]i|[Hh]ello|[Ii]'m|[Tt]his is|[Mm]y name is|[Nn]amed|[Cc]alled|"
    r"[Ss]on|[Dd]aughter|[Kk]id|[Ww]ife|[Hh]usband|[Bb]rother|[Ss]ister|[Ff]riend|[Cc]olleague|"
    r"[Mm]aiden name is|[Ll]ast name is|[Ss]urname is|[Ff]irst name is|[Tt]ext|[Rr]eminder for)"
    r"(?:\s*[:=]\s*|\s+|\s*\?\s*)|\b(?:Dr|Mr|Mrs|Ms|Miss|Mx|Prof)\.?\s+)$"
)
# "[00:02] Alice: ..." speaker labels in timestamped transcripts (bare "Agent:" is a role).
_SPEAKER = re.compile(r"(?m)^\s*\[[\d:]+\]\s*([A-Z][a-z]+(?: [A-Z][a-z]+)?):\s")
# "Kelly's address", "Omar's phone": a possessive on personal data names its owner.
_POSSESSIVE = re.compile(
    r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)?)(?:'s|’s) (?:home |personal |new |current |cell |mobile )?(?:address|phone|number|email|e-mail|ssn|"
    r"account|card|birthday|date of birth|dob|medical|records?|diagnosis|results|salary|password|manager)\b"
)
# A message addressed to someone: '"John, your results ...', 'Emily Kline - your echo ...'.
_VOCATIVE = re.compile(r"(?:^|[\"“\n]\s*)([A-Z][a-z]+(?: [A-Z][a-z]+)?)(?:,| -| –| —)\s+(?:your|you|we|I)\b")
# "write a text to Tiffany", "email Marcus about": a single name after a messaging verb.
_MESSAGE_TO = re.compile(r"\b(?:text|message|email|note|letter|card|invite|invitation|reply|call|remind)\s+(?:to|for)?\s*([A-Z][a-z]+)\b(?! [A-Z])")
# A line that is only a full name (letterheads, signatures).
_NAME_LINE = re.compile(r"(?m)^([A-Z][a-z]+(?: [A-Z]\.)?(?: [A-Z][a-z]+(?:-[A-Z][a-z]+)?){1,2})[ \t]*$")
_PERSONA_CONTEXT = re.compile(r"(?i)\b(?:chatbot|ai model|language model|persona|pretend|role of|roleplay|character|stands for)\b")
# A capitalised word that is nearly always a common word rather than a name.
_COMMON_CAPS = frozenset(
    """the a an this that these those my your our his her their it its we you i he she they there here
    what when where why how who which please thanks thank yes no ok hello hi dear note user system
    assistant patient name customer client admin team all any some every today tomorrow monday tuesday
    wednesday thursday friday saturday sunday january february march april may june july august
    september october november december subject re fwd date time phone email address dob mrn ssn
    question answer summary action item owner due human agent bot course friend mobile desk fax
    product reminder website confidential personal info you me do avoid""".split()
)


def _looks_like_name(value: str, text: str, start: int, *, single_ok: bool) -> bool:
    words = value.split()
    if not words or len(words) > 4:
        return False
    if any(not _NAME_TOKEN.match(w) for w in words):
        return False
    low = [w.lower().strip(".") for w in words]
    if any(w in _NOT_NAME_WORDS or w in _COMMON_CAPS for w in low):
        return False
    if _FAMOUS_PAIRS.search(value):
        return False
    if len(words) == 1 and not single_ok:
        return False
    # Titles of works ("the book Atomic Habits") are not people.
    if re.search(r"(?i)\b(?:book|novel|film|movie|song|album|show|game|series|podcast|play)\s+$", text[max(0, start - 12):start]):
        return False
    # A sentence-initial imperative ("Summarize Q3") is not a name.
    if low[0] in _FIRST_WORD_VERBS:
        return False
    # Followed by a company / street word: part of a larger proper noun.
    after = text[start + len(value):start + len(value) + 16]
    if re.match(r"\s+(?:Inc|LLC|Ltd|Corp|Street|St|Avenue|Ave|Road|Rd|Suite|Apt|Labs|Group|Capital|Bank)\b", after):
        return False
    return True


class PersonDetector:
    """PERSON spans for private individuals: Presidio spaCy NER + name cues, filtered."""

    name = "person"
    categories = frozenset({"PII"})
    needs_doc = True

    def __init__(self, analyzer: Any):
        self._analyzer = analyzer

    def _ner(self, text: str, doc: Any) -> list[tuple[int, int, float]]:
        if doc is None or self._analyzer is None:
            return []
        from presidio_analyzer.nlp_engine import NlpArtifacts

        ents = [e for e in doc.ents if e.label_ in ("PERSON", "PER")]
        if not ents:
            return []
        artifacts = NlpArtifacts(
            entities=ents,
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.lower_ for t in doc],
            nlp_engine=self._analyzer.nlp_engine,
            language="en",
        )
        results = self._analyzer.analyze(
            text=text, language="en", entities=["PERSON"], nlp_artifacts=artifacts, score_threshold=0.0
        )
        return [(r.start, r.end, r.score) for r in results if r.entity_type == "PERSON"]

    def detect(self, text: str, doc: Any | None) -> list[Span]:
        out: list[Span] = []
        seen: list[tuple[int, int]] = []

        def add(s: int, e: int, score: float, rec: str) -> None:
            # Trim possessive / trailing punctuation that NER keeps.
            val = text[s:e]
            m = re.search(r"(?:'s|’s|')$", val)
            if m:
                e -= len(m.group())
            while e > s and not text[e - 1].isalpha():
                e -= 1
            if e <= s or any(s < b and a < e for a, b in seen):
                return
            seen.append((s, e))
            out.append(Span("PERSON", "PII", s, e, score, rec))

        for m in _CUE.finditer(text):
            val = m.group(1)
            words = val.split()
            # Drop trailing words that are clearly not part of the name.
            while words and words[-1].lower() in _COMMON_CAPS | _NOT_NAME_WORDS:
                words.pop()
            if not words:
                continue
            val = " ".join(words)
            strong = bool(_STRONG_CUE.search(text[max(0, m.start(1) - 30):m.start(1)]))
            if _looks_like_name(val, text, m.start(1), single_ok=strong) and (len(words) >= 2 or strong):
                add(m.start(1), m.start(1) + len(val), 0.8, "person-cue")
        for rx, score, rec, single in (
            (_POSSESSIVE, 0.75, "person-possessive", True),
            (_VOCATIVE, 0.7, "person-vocative", True),
            (_MESSAGE_TO, 0.6, "person-message-to", True),
            (_NAME_LINE, 0.6, "person-name-line", False),
        ):
            for m in rx.finditer(text):
                if _looks_like_name(m.group(1), text, m.start(1), single_ok=single):
                    add(m.start(1), m.end(1), score, rec)
        for m in _SPEAKER.finditer(text):
            val = m.group(1)
            if _looks_like_name(val, text, m.start(1), single_ok=True) and val.lower() not in _COMMON_CAPS:
                add(m.start(1), m.end(1), 0.6, "person-speaker")
        persona = bool(_PERSONA_CONTEXT.search(text))
        for s, e, score in self._ner(text, doc):
            val = text[s:e].strip()
            val = re.sub(r"(?:'s|’s|')$", "", val)
            before = text[max(0, s - 30):s]
            strong = bool(_STRONG_CUE.search(before))
            single_ok = strong or (
                _is_single_name_ok(text, s, e) and not persona and not text[s + len(val):s + len(val) + 1] == ":"
            )
            if _looks_like_name(val, text, s, single_ok=single_ok):
                add(s, s + len(val), score, "presidio-spacy")
        return out


def _is_single_name_ok(text: str, s: int, e: int) -> bool:
    # A lone capitalised word is a name when it is not the first word of a sentence.
    prefix = text[max(0, s - 3):s]
    return bool(prefix) and not re.search(r"(?:^|[.!?:\n\"]\s*)$", text[:s][-3:] or "^")
