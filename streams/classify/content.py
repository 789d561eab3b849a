"""Document-level detectors: PHI (health evidence), MNPI, SOURCE_CODE, PROMPT_INJECTION.

Each emits evidence spans whose ``entity_type`` is the category name. They score by
combining independent cues, so one ambiguous word ("ignore", "confidential", "import")
never decides alone.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

from .checks import digit_count
from .engine import Span
from .fold import folded, gated
from .patternset import PatternSet, first_char_branches, top_level_alternatives


def _span(cat: str, start: int, end: int, score: float, rec: str) -> Span:
    return Span(cat, cat, start, end, score, rec)


# ============================================================================= PHI

# Clinical words, in the order the regex tries them; the drug-name suffixes (any word ending
# in -statin, -pril, ...) sit between the two lists because they overlap every word before them.
_CLINICAL_TERMS = (
    r"diagnos(?:is|ed|es)|dx|hx of|history of|prognosis|symptoms?|prescri(?:bed|ption)|medications?|meds|dosage|"
    r"\d+(?:\.\d+)?\s?(?:mg|mcg|ml|units?)\b|bid|tid|qid|prn|q\d+h|mri|ct scan|x-ray|ultrasound|biopsy|"
    r"echocardiogram|ekg|ecg|a1c|hba1c|egfr|cbc|lab results?|blood (?:test|work|pressure|sugar)|cholesterol|tumou?r|"
    r"cancer|carcinoma|lymphoma|leukemia|melanoma|diabet(?:es|ic)|hypertension|asthma|copd|pneumonia|sepsis|stroke|"
    r"heart failure|myocardial|infarction|arrhythmia|atrial fibrillation|afib|stenosis|hiv|aids|hepatitis|"
    r"tuberculosis|covid|influenza|depress(?:ion|ive)|anxiety|bipolar|schizophreni\w*|adhd|autism|dementia|"
    r"alzheimer'?s|parkinson'?s|epilep\w+|seizures?|migraines?|arthritis|osteo\w+|fracture|pregnan\w+|miscarriage|"
    r"std|sti|chlamydia|syphilis|opioid|overdose|rehab|substance use|addiction|chemo(?:therapy)?|radiation therapy|"
    r"dialysis|insulin|metformin|semaglutide|statin|lisinopril|amoxicillin|oxycodone|sertraline|fluoxetine|warfarin|"
    r"apixaban|antibiotics?|surgery|surgical|post-op|pre-op|operative|procedure|arthroplasty|meniscectomy|"
    r"appendectomy|admitted|admission|discharge[d]?|inpatient|outpatient|icu|er visit|emergency room|follow-up|"
    r"referral|allerg(?:y|ies|ic)|mental health|therapy session|psychiatri\w+|oncolog\w+|cardiolog\w+|neurolog\w+|"
    r"patholog\w+|radiolog\w+|pt\b|physical therapy|vaccin\w+|immuniz\w+|treatment|treated|clinical|clinic|"
    r"hospital\w*|prior auth(?:orization)?|medical necessity|health plan|member id|insurance claim|copay|"
    r"colonoscopy|endoscopy|mammogram|polyps?|screening|nodule|lesion|mass|ldl|hdl|refill|supply|recovering from|"
    r"repair|injury|rotator cuff|sprain|concussion|fever|infection"
)
_DRUG_SUFFIX = r"\w+(?:statin|pril|olol|sartan|formin|mab|nib|azole|cillin|mycin|prazole|oxetine|triptan|pine|done)"
_CLINICAL_TERMS_AFTER = (
    r"test results?|positive for|negative for|came back|chest pain|troponin|heparin|shortness of breath|"
    r"ejection fraction|bmi|glucose|potassium|creatinine"
)
# Regrouped by first letter (see first_char_branches): same matches, a fraction of the tries.
_CLINICAL = folded(
    r"(?i)\b(?:" + first_char_branches(_CLINICAL_TERMS) + "|" + _DRUG_SUFFIX + "|"
    + first_char_branches(_CLINICAL_TERMS_AFTER) + r")\b"
)
# ICD-10-CM codes (letter, two digits, optional decimal part); U is reserved so excluded.
_ICD10 = re.compile(r"\b([A-TV-Z]\d{2}(?:\.\d{1,4}[A-Z]?)?)\b")
_ICD_CONTEXT = folded(r"(?i)icd|dx|diagnos|code")
# Generic questions ("what are symptoms of flu?") carry clinical words but no individual.
_PERSONAL_HEALTH = folded(
    r"(?i)\b(?:patient|pt|my|his|her|their|he|she|your|member|mrn|dob|[a-z]+,? \d{1,3}\s?[mf]\b|\d{1,3}[- ]?(?:yo|y/o|year-old))\b"
)


def find_phi(text: str, doc: object | None = None) -> list[Span]:
    """Health evidence about an individual. The classifier keeps it only if an identifying
    entity (name, DOB, MRN, contact detail) is also present."""
    hits = list(_CLINICAL.finditer(text))
    codes = _ICD10.finditer(text) if digit_count(text) >= 2 else ()  # a code holds two digits
    icd = [m for m in codes if _ICD_CONTEXT.search(text[max(0, m.start() - 60):m.start()]) or "(" == text[m.start() - 1:m.start()]]
    if not hits and not icd:
        return []
    n = len({m.group().lower() for m in hits}) + 2 * len(icd)
    if n >= 2 or n >= 1 and icd and _PERSONAL_HEALTH.search(text):
        ev = hits + icd
        return [_span("PHI", min(m.start() for m in ev), max(m.end() for m in ev), 0.8, "phi-clinical")]
    return []


# ============================================================================= MNPI

_MNPI_SECRECY = folded(
    r"(?i)\b(?:confidential|embargo(?:ed)?|non-public|nonpublic|undisclosed|unannounced|unreleased|"
    r"not (?:yet )?(?:been )?(?:public|announced|released|disclosed|reported)(?: yet)?|(?:is|are|it's|it is)n?'?t? (?:yet )?public yet|not public yet|"
    r"(?:has|have|had)(?:n't| not) (?:yet )?(?:been )?(?:publicly )?(?:announced|disclosed|released|made public|reported)|"
    r"internal only|internal[- ]use|do not (?:distribute|share|forward|mention)|don't (?:share|mention|tell)|under nda|"
    r"before (?:the )?(?:public )?(?:announcement|earnings|release|8-k|filing|press release)|before (?:it|this|we|they) (?:is |are |goes |go )?(?:public|announce)|"
    r"ahead of (?:the |our )?(?:announcement|earnings|release|call|filing)|will (?:announce|pre-announce|report|disclose)|"
    r"plan(?:s|ning)? to announce|about to (?:report|announce|disclose)|pre-announce|until (?:the )?(?:announcement|call|release|8-k)|"
    r"preliminary (?:results|numbers|figures)|draft (?:press release|8-k|10-q)|board (?:approved|voted|decided|accepted|will)|"
    r"secretly|off the record|leak(?:s|ed|ing)?|insider list|deal team|project [a-z][a-z]+|(?:trading )?blackout|heads[- ]up|between us|"
    r"keep (?:this|it) (?:quiet|secret|between)|nobody outside|no one outside|outside (?:this group|the board|the company)|"
    r"market doesn'?t know|street doesn'?t know|not priced in|(?:need|required) to disclose|wait (?:for|until) (?:the )?earnings|"
    r"told (?:the|our) (?:leadership|board|executive|management) team|the print is|embargoed|"
    # Not-yet-released figures and deal processes.
    r"(?:won't|will not|isn't|is not|aren't|are not) (?:be )?(?:announced|disclosed|released|public|out)|"
    r"preliminary|unaudited|unreported|unpublished|pre-release|data[- ]room|signed (?:the|an) nda|"
    r"(?:don'?t|do not) (?:circulate|leak|forward|post)|"
    r"(?:public|announced|disclosed|official|out) yet|nothing(?:'s| is) (?:public|announced|out)|"
    r"(?:street|market|analysts|investors|nobody|no one)(?: still)? (?:has|have|doesn'?t|don'?t|does not|do not) (?:no idea|know|expect)|"
    r"before we (?:report|announce|disclose|release|file|go public)|"
    # A disclosure still in the future: "we disclose on Friday", "the release goes out tomorrow".
    r"we(?:'ll| will)? (?:disclose|announce|report|release|file|pre-announce) (?:on|next|this|tomorrow|after|before|later)|"
    r"(?:news|announcement|release|press release|8-k|filing|it) (?:drops|goes out|comes out|hits|lands|is due|is scheduled) (?:on |after |before |next |this |tomorrow|monday|tuesday|wednesday|thursday|friday)|"
    r"(?<!last )(?<!yesterday's )(?:on|at|during) (?:the |our |tomorrow's |monday's |tuesday's |wednesday's |thursday's |friday's |next week's )(?:earnings |investor )?call)\b"
)
_MNPI_EVENT = folded(
    r"(?i)\b(?:earnings|revenue|eps|guidance|forecast|bookings|quarter(?:ly)?|q[1-4]|results|margin|profit|loss|same-store sales|"
    r"acqui(?:re|red|sition|ring)|merger|merge|takeover|buyout|being bought|bought by|tender offer|deal|term sheet|letter of intent|"
    r"target|dividend|buyback|share repurchase|stock split|layoffs?|headcount|job cuts|cutting|restructuring|reorg|bankruptcy|"
    r"chapter 11|ceo|cfo|resign(?:ation|s|ing)?|step(?:ping)? down|appointed|fda approval|trial results|contract|renew|"
    r"largest customer|offering|ipo|spin[- ]?off|divest\w*|write[- ]?down|impairment|recall|investigation|subpoena|"
    r"consensus|street(?:'s)?|shares?|stock|ticker|valuation|per share|call options|8-k|press release|disclos\w+|"
    r"laying off|lay off|miss(?:ed)? the quarter|beat the quarter|ebitda|fda|phase [123i]+|primary endpoint|pre-announcement)\b"
)
_MNPI_TRADE = folded(
    r"(?i)\b(?:buy|sell|short|load up on|dump|calls|puts|call options|put options|position)\b[^.\n]{0,80}\b(?:before|ahead of|prior to)\b"
    r"[^.\n]{0,60}\b(?:announce\w*|news|public|earnings|release|deal|close)"
    r"|\b(?:not public yet|isn't public|non-public|inside information|insider)\b[^\n]{0,120}\b(?:should i|can i|let's|we should)\s+(?:buy|sell|short|trade)"
    r"|\b(?:news|announcement|it) (?:drops|goes out|comes out|hits)\b[^\n]{0,80}\b(?:should i|can i|let's|we should)\s+(?:buy|sell|short|trade|dump|load up)"
)
# Questions about the concept are not MNPI.
_MNPI_ABOUT = folded(
    r"(?i)^\s*(?:what|how|why|when|is|are|can|explain|define|describe)\b[^\n]{0,80}\b(?:mnpi|insider trading|material non-public|"
    r"securities law|quiet period|blackout)"
)


def find_mnpi(text: str, doc: object | None = None) -> list[Span]:
    """Material non-public information: secrecy/timing cues around a material corporate event,
    judged per paragraph so one paragraph of a long document can carry it alone."""
    if _MNPI_ABOUT.search(text):
        return []
    trade = _MNPI_TRADE.search(text)
    if trade:
        return [_span("MNPI", trade.start(), trade.end(), 0.85, "mnpi-trade")]
    for para in re.finditer(r"[^\n]+(?:\n[^\n]+)*", text):
        chunk = para.group()
        secrecy = list(_MNPI_SECRECY.finditer(chunk))
        if not secrecy:
            continue
        events = {m.group().lower() for m in _MNPI_EVENT.finditer(chunk)}
        if events and _has_specifics(chunk):
            return [_span("MNPI", para.start(), para.end(), 0.8, "mnpi-context")]
    return []


def _has_specifics(text: str) -> bool:
    # Material information is concrete: an amount, a percentage, a date or a named issuer.
    return bool(re.search(r"(?i:\bq[1-4]\b|\bfy\d\d|\b(?:on|by|next|this|in) (?:monday|tuesday|wednesday|thursday|friday|january|february|march|april|june|july|august|september|october|november|december)\b|\b(?:monday|tuesday|wednesday|thursday|friday)'s\b|\btomorrow\b|\d[\d,]* (?:people|employees|jobs|staff|roles|positions)\b|\bphase [123]\b|\b\d+(?:\.\d+)?x\b)|\b(?:next|this|last) (?:week|month|quarter|[A-Z][a-z]+day)\b|\btoday\b|\bthe \d+(?:st|nd|rd|th)\b|\$\s?\d|\d+(?:\.\d+)?\s?%|\b\d+(?:\.\d+)?\s?(?:million|billion|[mbk])\b|\bq[1-4]\b|[A-Z][a-z]+ (?:Inc|Corp|Holdings|Group|Retail|Analytics|Cloud|Labs|Systems|Pharma\w*|Bio\w*|Energy|Motors|Bank)\b|\b(?:January|February|March|April|May|June|July|August|September|October|November|December) \d{1,2}\b|\bnext (?:week|month|quarter|monday|tuesday|wednesday|thursday|friday)\b", text))


# ============================================================================= SOURCE_CODE

_CODE_LINE = [
    (re.compile(r"^\s*(?:async\s+)?def\s+\w+\s*\(.*\)\s*(?:->\s*[\w\[\], .]+)?:\s*$"), 3),
    (re.compile(r"^\s*class\s+\w+(?:\(.*\))?\s*:\s*$"), 3),
    (re.compile(r"^\s*(?:from\s+[\w.]+\s+import\s+[\w*, ()]+|import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+)*)\s*;?\s*$"), 2),
    (re.compile(r"^\s*(?:export\s+)?(?:async\s+)?function\s*\w*\s*\(.*\)\s*\{"), 3),
    (re.compile(r"^\s*(?:const|let|var)\s+[\w{}\[\], ]+\s*=\s*.+"), 2),
    (re.compile(r"=>\s*[{(]?"), 1),
    (re.compile(r"^\s*(?:public|private|protected|static|final)\s+[\w<>\[\]]+\s+\w+\s*[({=;]"), 3),
    (re.compile(r"^\s*#include\s*[<\"]"), 3),
    (folded(r"(?i)^\s*(?:select\s+[\w*,. ()]+\s+from\s+\w+|insert\s+into\s+\w+|update\s+\w+\s+set\s+\w+|delete\s+from\s+\w+|create\s+(?:table|index|view)\s+\w+|alter\s+table\s+\w+|with\s+\w+\s+as\s*\()"), 3),
    (folded(r"(?i)\b(?:where|group by|order by|join|values)\b.*[=(,']"), 1),
    (re.compile(r"^\s*(?:resource|provider|module|variable|output|data)\s+\"[\w-]+\"(?:\s+\"[\w-]+\")?\s*\{"), 3),
    (re.compile(r"^\s*(?:FROM\s+[\w./:-]+(?:\s+AS\s+\w+)?|RUN\s+\S+|COPY\s+\S+\s+\S+|ENTRYPOINT\s*\[|CMD\s*\[|WORKDIR\s+/|EXPOSE\s+\d+)"), 3),
    (re.compile(r"^\s*(?:\$\s+)?(?:sudo\s+)?(?:curl|wget|pip3?|npm|npx|yarn|git|docker|kubectl|helm|terraform|aws|gcloud|az|ssh|scp|chmod|chown|grep|sed|awk|find|ls|cd|cat|echo|export|source|python3?|node|java|go|cargo|make|brew|apt(?:-get)?|systemctl|psql|mysql|mlflow|databricks)\s+[-\w./$\"'=:@]+"), 2),
    (re.compile(r"\s(?:-{1,2}[a-zA-Z][\w-]*)(?:[ =]\S+)?\s.*(?:\||&&|>|\\$)"), 1),
    (re.compile(r"^\s*(?:if|for|while|elif|else|try|except|finally|with|return|yield|raise|switch|case)\b.*[:{;]\s*$"), 2),
    (re.compile(r"^\s*(?:return|raise|yield|await|print)\b\s*\(?.+"), 1),
    (re.compile(r"[;{}]\s*$"), 1),
    (re.compile(r"^\s*}\s*[);]*\s*$"), 1),
    (re.compile(r"^\s*\w+(?:\.\w+)+\(.*\)\s*;?\s*$"), 2),
    (re.compile(r"^\s*\w+\s*=\s*(?:\w+(?:\.\w+)*\(|\[|\{|f?['\"]|\d)"), 1),
    (re.compile(r"^\s*(?:@\w+(?:\(.*\))?|#!/)"), 2),
    (re.compile(r"^\s*(?:fn|func|impl|struct|enum|interface|type)\s+\w+.*[{(=]"), 3),
    (re.compile(r"^\s*(?:SELECT|FROM|WHERE|GROUP BY|ORDER BY|LIMIT|JOIN|LEFT JOIN|INNER JOIN|HAVING|UNION)\b"), 2),
    (re.compile(r"^\s*<(?:html|div|script|style|body|head|template|svg)\b"), 2),
    (re.compile(r"^\s*\w+(?:\.\w+|\[[^\]]+\])+\s*=\s*\S"), 2),
    (re.compile(r";\s*(?:do|then)\s*$|^\s*(?:done|fi|esac)\s*$"), 2),
    (re.compile(r"\bawait\s+\w+(?:\.\w+)*\("), 1),
    # Languages beyond the C/Python family, each by a construct prose never has.
    (re.compile(r"^\s*(?:pub\s+)?(?:fun|fn)\s+\w+\s*[(<]"), 3),  # Kotlin / Rust
    (re.compile(r"^\s*(?:val|var|let(?:\s+mut)?)\s+\w+\s*:\s*[\w\[\]<>?&, ]+=\s*\S"), 3),  # typed binding
    (re.compile(r"^\s*\w+(?:\s*,\s*\w+)*\s*:=\s*\S"), 2),  # Go short declaration
    (re.compile(r"^\s*def\s+\w+[?!]?\s*(?:\(.*\))?\s*$|\{\s*\|\w+(?:,\s*\w+)*\|"), 2),  # Ruby
    (re.compile(r"^\s*end\s*$"), 1),
    (re.compile(r"^\s*\$\w+\s*=\s*\S"), 2),  # PowerShell / PHP / Perl variable
    (re.compile(r"\b(?:Get|Set|New|Remove|Add|Start|Stop|Invoke|Import|Export|ConvertTo|ConvertFrom|Where|ForEach|Select|Sort|Out|Write|Test)-[A-Z][A-Za-z]+\b"), 3),  # cmdlets
    (re.compile(r"^\s*<\?php\b"), 3),
    (re.compile(r"%>%|\|>\s*\w+\("), 3),  # R / Elixir pipes
    (folded(r"(?i)\bselect\s+(?:\*|count\(\*\)|[\w.]+(?:\s*,\s*[\w.]+)*)\s+from\s+\w+\s+where\s+\w+\s*(?:=|<|>|like\b|in\b)"), 3),
    (re.compile(r"^\s*\w+\s*=\s*[\w.]+\(.*\)\s*;?\s*$"), 2),  # assignment from a call
    (re.compile(r"^\s*(?:\$\s+)?(?:sudo\s+)?[a-z][\w.-]*\s+(?:[\w./:@-]+\s+)*-{1,2}[a-zA-Z][\w-]*"), 1),  # command + flag
    # Infrastructure as code in YAML: Kubernetes manifests, Ansible plays.
    (re.compile(r"^\s*apiVersion:\s*[\w./-]+\s*$"), 3),
    (re.compile(r"^\s*kind:\s*[A-Z]\w+\s*$"), 2),
    (re.compile(r"^\s*-?\s*(?:hosts|tasks|handlers|become|gather_facts|roles):(?:\s|$)"), 2),
    (re.compile(r"^\s*(?:apt|yum|dnf|copy|template|service|systemd|lineinfile|package|ansible\.builtin\.\w+):\s*$"), 1),
]


def _unanchored(p: str) -> str | None:
    """``p`` without its leading ``^`` if every match of it starts there ("^a|b" does not)."""
    flags, rest = ("(?i)", p[4:]) if p.startswith("(?i)") else ("", p)
    first = sre_parse.parse(p)[0]
    if rest.startswith("^") and first[0] is sre_constants.AT and first[1] is sre_constants.AT_BEGINNING:
        return flags + rest[1:]
    return None


def _any_of(patterns: list[str]) -> re.Pattern[str]:
    """A regex that finds something iff one of ``patterns`` does (each keeps its own case flag)."""
    return re.compile("|".join(f"(?i:{p[4:]})" if p.startswith("(?i)") else f"(?:{p})" for p in patterns))


# Most prose lines have none of the line signals, and a few cheap tests say so. Each signal's
# top-level alternatives apart: those anchored at the line start are matched there (a search
# would try them at every position); the others are searched, the worded ones only when the
# text holds their words (one gate scan a text).
_CODE_PARTS = [f"{p[:4]}{alt}" if p.startswith("(?i)") else alt for p in (rx.pattern for rx, _ in _CODE_LINE)
               for alt in top_level_alternatives(p[4:] if p.startswith("(?i)") else p)]
_CODE_START = _any_of([u for u in map(_unanchored, _CODE_PARTS) if u is not None])
_CODE_GATED = PatternSet([folded(p) if p.startswith("(?i)") else gated(p) for p in _CODE_PARTS
                          if _unanchored(p) is None])
_CODE_OPEN = [p for p in _CODE_GATED.patterns if isinstance(p, re.Pattern)]
_CODE_WORDED = [(re.compile(p.pattern), i) for i, p in enumerate(_CODE_GATED.patterns) if not isinstance(p, re.Pattern)]


def _signals(text: str) -> list[re.Pattern[str]]:
    """The worded line signals that can occur in ``text`` (so in any line of it)."""
    possible = _CODE_GATED.possible(text)
    return [rx for rx, i in _CODE_WORDED if possible[i]]


def _signalled(line: str, worded: list[re.Pattern[str]]) -> bool:
    """Does ``line`` match any line signal? (``worded``: see :func:`_signals`)"""
    return bool(_CODE_START.match(line) or any(rx.search(line) for rx in _CODE_OPEN)
                or any(rx.search(line) for rx in worded))


# `inline code` in prose: scored like a line of its own.
_BACKTICK = re.compile(r"`([^`\n]{4,200})`")
_FENCE = re.compile(r"```[\w+-]*\n[\s\S]*?```")
_INLINE_CMD = re.compile(
    r"(?:^|\n|:\s)\s*(?:\$ )?(?:curl|wget|pip3? install|npm (?:install|ci|i|run)|git (?:clone|push|pull|commit|rebase|checkout|reset)|"
    r"docker (?:run|build|compose|login|push|pull|exec)|kubectl (?:apply|get|delete|exec)|terraform (?:apply|plan|init)|aws \w+ \w+|"
    r"python3? -m|psql|mysql -u)\s+\S+"
)
_PROSE_LINE = re.compile(r"^[A-Z][a-z]+(?: [a-z'’,]+){5,}[.?!]?\s*$")
# Configuration / data lines (.env, INI, CSV) are not code.
_ENV_LINE = re.compile(r"^\s*[A-Z][A-Z0-9_]*\s*=\s*\S*\s*$")


def find_code(text: str, doc: object | None = None) -> list[Span]:
    """Program source: a fenced block with code, or lines with enough syntax signals."""
    worded = _signals(text)
    for m in _FENCE.finditer(text):
        body = m.group()
        if _score_lines(body.split("\n")[1:-1], worded)[0] >= 2:
            return [_span("SOURCE_CODE", m.start(), m.end(), 0.9, "code-fence")]
    lines = text.split("\n")
    score, first, last, strong = _score_lines(lines, worded)
    # A single strongly-typed line ("SELECT ... FROM ...", "def f(x):") is a one-line snippet.
    if score >= 4 and strong or score >= 6 or score >= 3 and first == last:
        starts = [0]
        for ln in lines:
            starts.append(starts[-1] + len(ln) + 1)
        return [_span("SOURCE_CODE", starts[first], starts[last] + len(lines[last]), 0.85, "code-lines")]
    for m in _BACKTICK.finditer(text):
        if _score_lines([m.group(1)], worded)[0] >= 2:
            return [_span("SOURCE_CODE", m.start(), m.end(), 0.7, "code-inline")]
    cmd = _INLINE_CMD.search(text)
    if cmd:
        return [_span("SOURCE_CODE", cmd.start(), cmd.end(), 0.7, "code-command")]
    return []


def _score_lines(lines: list[str], worded: list[re.Pattern[str]]) -> tuple[int, int, int, bool]:
    score, first, last, strong = 0, -1, -1, False
    for i, ln in enumerate(lines):
        if not ln.strip() or _PROSE_LINE.match(ln) or _ENV_LINE.match(ln):
            continue
        best, hits = 0, 0
        if not _signalled(ln, worded):
            continue
        for rx, w in _CODE_LINE:
            if rx.search(ln):
                best = max(best, w)
                hits += 1
        # Several independent syntax signals on one line are stronger than any one of them.
        best += hits > 1
        if best:
            score += best
            strong = strong or best >= 2
            first = i if first < 0 else first
            last = i
    return score, max(first, 0), max(last, 0), strong


# ============================================================================= PROMPT_INJECTION

_INJ_PATTERNS = [
    # instruction override
    (folded(r"(?i)\b(?:ignore|disregard|forget|override|bypass|skip|drop|set aside|put aside|abandon|suspend|disable|circumvent)\b[^.\n]{0,30}\b(?:all |any |the |your |my |previous |prior |above |earlier |preceding |original |initial |system |developer |content |safety |usual |ethical |moral |default |normal |current )+"
                r"(?:instructions?|prompts?|rules|directions|directives|guidelines|context|messages?|constraints|programming|guardrails|policies|safety)"), 0.95, "override"),
    (folded(r"(?i)\b(?:new|updated|revised)\s+(?:rule|instruction|task|directive|system prompt|policy)s?\b[^.\n]{0,60}\b(?:overrides?|supersedes?|replaces?|takes? precedence)"), 0.9, "override-new-rule"),
    (folded(r"(?i)\b(?:overrides?|supersedes?)\s+(?:all\s+)?(?:previous|prior|earlier|other|your)\s+(?:instructions|rules|directives)"), 0.9, "override-supersede"),
    (folded(r"(?i)\bnew (?:task|instructions?) from (?:your |the )?(?:administrator|admin|developer|system|operator|openai|anthropic)"), 0.9, "fake-authority"),
    (folded(r"(?i)(?:^|\n|[.!]\s*)(?:stop|nevermind|never mind|wait)[.!,:]+\s*(?:ignore|instead|new task|now)\b"), 0.85, "stop-and-switch"),
    (folded(r"(?i)\b(?:stop everything|now print|instead,? (?:just )?print|just print)\b[^\n]{0,60}"), 0.8, "screaming-stop"),
    # system prompt exfiltration
    (folded(r"(?i)\b(?:reveal|print|show|display|output|repeat|recite|dump|leak|share|tell me|give me|write out|type out|spell out|translate|summari[sz]e|paraphrase|encode)\b[^.\n?]{0,40}\b"
                r"(?:system|hidden|initial|original|secret|internal|developer|pre-?prompt|first|underlying|confidential)\s*(?:prompt|instructions?|message|directives?|rules|guidelines|configuration|context)"), 0.9, "sysprompt-exfil"),
    (folded(r"(?i)\b(?:what (?:are|were|is) (?:your|the) (?:exact |original |initial |hidden |full )*(?:instructions|system prompt|rules you were given|directives))"), 0.85, "sysprompt-question"),
    (folded(r"(?i)\b(?:repeat|print|output|copy|echo)\b[^.\n]{0,30}\b(?:the )?(?:text|words|everything|all|content)\b[^.\n]{0,20}\b(?:above|before this|prior to this|so far|you were given|verbatim)"), 0.85, "sysprompt-above"),
    (folded(r"(?i)\b(?:your|the) (?:system prompt|initial instructions|original instructions|hidden instructions|instructions above|pre-prompt|prompt template)\b"), 0.6, "sysprompt-mention"),
    (folded(r"(?i)\b(?:begin|start)\s+(?:your (?:response|reply|answer|output)\s+)?(?:with|from|by (?:saying|writing))\s+[\"'‘“]?(?:you are|my instructions|i was told|sure,? here|here (?:is|are) my (?:instructions|prompt)|the system prompt)"
                r"|\bwhat (?:was|is) written (?:above|before) (?:this|my) (?:message|prompt|line)|\b(?:text|words|everything) above this (?:message|line)"), 0.85, "continuation"),
    # jailbreak personas / modes
    (folded(r"(?i)\b(?:do anything now|(?:enable|enter|activate|simulate|emulate|switch to|act as|you are (?:now )?in|running in|operating in|with) (?:\w+ ){0,2}developer mode|developer mode (?:enabled|on|activated|output|response|has|is)|jailbr(?:eak|oken)|dan mode|dude mode|stan mode|evil (?:bot|mode|confidant)|unfiltered|uncensored|no (?:ethical |moral )?(?:restrictions|limitations|filters|guidelines|rules|boundaries)|"
                r"without (?:any )?(?:restrictions|limitations|filters|censorship|guidelines|rules|ethics|morals|boundaries|limits|policies)|broken free|free from (?:the )?(?:typical )?(?:confines|restrictions)|(?:doesn't|don't|do not|does not) (?:have to )?(?:abide|follow|comply) (?:by|with) (?:the |any )?(?:rules|policies|guidelines|content policy)|"
                r"stay in character|opposite mode|anti-?gpt|content polic(?:y|ies)[^.\n]{0,30}(?:ignore|bypass|no longer))"), 0.9, "jailbreak"),
    (folded(r"(?i)\b(?:act|pretend|roleplay|role-play|behave)\b[^.\n]{0,20}\b(?:as|like|to be)\b[^.\n]{0,60}\b(?:deceased|dead|late)\s+(?:grand(?:ma|mother|pa|father)|mother|father)"), 0.9, "grandma"),
    (folded(r"(?i)\b(?:grand(?:ma|mother))\b[^\n]{0,200}\b(?:used to (?:tell|read|recite|say)|fall asleep|bedtime)\b[^\n]{0,200}\b(?:keys?|steps|recipe|instructions|synthes\w+|napalm|meth\w*|windows|serial)"), 0.85, "grandma-exploit"),
    (folded(r"(?i)\byou are (?:now |going to be |about to )?(?:\w+ ){0,4}(?:no longer|not) (?:bound|restricted|limited|an ai|chatgpt|claude)"), 0.85, "persona-unbound"),
    (folded(r"(?i)\b(?:from now on|henceforth|for the rest of this conversation)\b[^.\n]{0,80}\b(?:you (?:will|must|are|shall)|respond as|act as|ignore|always|never)\b"), 0.7, "persona-switch"),
    # fake role markers / indirect injection
    (folded(r"(?i)(?m)^\s*(?:\[(?:system|assistant|admin|developer)\](?:\(#\w+\))?|<\|?(?:im_start|system)\|?>|###\s*(?:system|instruction)|(?:system|developer)\s*(?:override|message|note|prompt)\s*:)"), 0.9, "role-marker"),
    (folded(r"(?i)\b(?:ai|assistant|model|llm|chatbot|gpt)s?\b[^.\n]{0,40}\b(?:reading|processing|summari[sz]ing|parsing|screening|reviewing|evaluating|ranking|grading|scanning|indexing) this\b"), 0.85, "indirect-address"),
    (folded(r"(?i)\b(?:note|message|instruction)s? (?:to|for) (?:the |any )?(?:ai|assistant|model|llm|chatbot|language model)s?\b"), 0.85, "indirect-address"),
    (folded(r"(?i)injection succeeded|data exfiltration in progress|\bai injection\b"), 0.95, "exfil-marker"),
    # data exfiltration via rendered links
    (folded(r"(?i)!\[[^\]]*\]\(https?://[^)\s]*\?[^)\n]*=[^)\n]*\)"), 0.6, "md-image-param"),
    (folded(r"(?i)\b(?:append|add|include|encode|attach)\b[^.\n]{0,60}\b(?:to|in(?:to)?) the (?:url|link|image|query string|request)"), 0.75, "exfil-url"),
    (folded(r"(?i)\b(?:send|post|forward|upload|exfiltrate|leak)\b[^.\n]{0,40}\b(?:conversation|chat history|previous messages|all messages|user(?:'s)? data|api keys?|credentials|passwords|environment variables)\b[^.\n]{0,40}\b(?:to|via) (?:https?://|http|the (?:url|endpoint|server|webhook)|[\w.-]+\.\w{2,})"), 0.9, "exfil-send"),
    (folded(r"(?i)\b(?:every|all|each) (?:message|previous message|messages) in this conversation\b"), 0.6, "exfil-conversation"),
    # broader overrides: "ignore the ticket text", "disregard your privacy policy", "forget everything you were told"
    (folded(r"(?i)\b(?:ignore|disregard|forget|bypass)\b\s+(?:all\s+|any\s+|the\s+|your\s+|of\s+|everything\s+|previous\s+|prior\s+|above\s+|earlier\s+|preceding\s+|original\s+|initial\s+|usual\s+|system\s+|developer\s+|safety\s+|summary\s+|ticket\s+|user's\s+|privacy\s+|content\s+)*"
                r"(?:polic(?:y|ies)|restrictions|task|text and|request and|filters?|you were told|what you were told|above|everything you)"), 0.9, "override-broad"),
    (folded(r"(?i)\b(?:restrictions?|filters?|safety|polic(?:y|ies)|guardrails|safe_?mode|moderation|content filter|limits)\b[\s\w]{0,25}?\b(?:were|are|is|has been|have been|=)\s*(?:now\s+)?(?:lifted|disabled|removed|revoked|switched off|turned off|off|false|suspended|bypassed)"
                r"|\b(?:restrictions?|rules|guidelines|polic(?:y|ies)|filters?|limits)\b[^.\n]{0,15}\b(?:do not|don't|does not|doesn't|no longer) apply"
                r"|\b(?:switched|turned) off\b[^.\n]{0,20}\bfilter|route around"), 0.85, "safety-off"),
    (folded(r"(?i)\b(?:admin|maintenance|developer|debug|god|root) (?:mode|override|access)\b[^.\n]{0,40}\b(?:enabled|active|accepted|activated|granted|to your)\b|\bi have root access\b|\bmaintenance mode:|\bsudo mode\b|\bgod mode\b"), 0.6, "privilege-claim"),
    (folded(r"(?i)(?:^|\n|\(|\[|\)\s)\s*(?:system|assistant|admin|developer)\s*(?:notice|update|override|message|prompt|note)?\s*:\s*(?:the assistant|you|ignore|disregard|admin|new|all|safety|developer)"), 0.8, "fake-role-turn"),
    (folded(r"(?i)###\s*(?:new\s+)?(?:system|instruction)|important system update|new directive\s*:|your new task is|the real instructions are|(?:earlier|previous|prior) instructions were (?:a test|fake|void|wrong)"), 0.85, "fake-directive"),
    (folded(r"(?i)\b(?:repeat|print|output|show|see|reveal|quote|quoting|spell|continue|paste|recite|log|dump|give me)\b[^\n]{0,60}\b(?:system[ _]?prompt|system instructions|your instructions|starting instructions|initial instructions|"
                r"initialization string|instructions you were given|instructions i gave you|what you were told|were you told|my instructions are)|console\.log\(\s*system_?prompt"), 0.85, "sysprompt-exfil-2"),
    (folded(r"(?i)\byour system (?:prompt|instructions)\b|\b(?:told|given|instructed)\b[^.\n]{0,30}\b(?:before|at the (?:beginning|start) of) (?:this|the) conversation|\bsystem prompt is:|\brepeat (?:the above|them back|this entire conversation|everything)|word for word"), 0.8, "sysprompt-exfil-3"),
    (folded(r"(?i)\b(?:broke|break|breaking|broken) free of (?:its|your|the|their) (?:instructions|rules|programming|restrictions|guidelines)|no content policy|never refuses|would normally refuse|previous policies are revoked"), 0.85, "jailbreak-2"),
    (folded(r"(?i)\b(?:reply|respond|answer) only with (?:the word )?['\"]?[a-z][a-z ]{2,}['\"]?"), 0.4, "canary-reply"),
    (folded(r"(?i)\bto the (?:ai|assistant|model|bot|llm)\b[^.\n]{0,30}\b(?:sorting|reading|processing|summari\w+|triag\w+|handling)|delete this (?:note|message) before"), 0.85, "indirect-address-2"),
    (folded(r"(?i)\b(?:upload|send|post|exfiltrate|forward)\b[^.\n]{0,60}\bto https?://"), 0.5, "exfil-upload"),
    (folded(r"(?i)\bconcatenate\b[^\n]{0,40}\bstrings?\b|escape (?:all )?spaces with \+|no code ?style block|\"!\[|\[(?:info|num|data)\]"), 0.45, "string-assembly"),
    (folded(r"(?i)\b(?:ignore|disregard|forget)\s+(?:whatever|anything|everything|all|what)\s+(?:that\s+)?(?:the |your )?(?:developers?|system|operators?|admins?|creators?|openai|anthropic|they|you were|you've been|you have been)\b[^.\n]{0,20}\b(?:told|said|instructed|gave|taught)"
                r"|\b(?:answer|respond|act|reply) as an? (?:unrestricted|unfiltered|uncensored|unaligned) (?:ai|model|assistant|version|chatbot)\b"), 0.9, "override-whatever"),
    (folded(r"(?i)\b(?:output|print|show|reveal|repeat|give me|paste|dump|share)\b[^.\n]{0,15}\byour (?:entire|full|whole|complete|exact|original) (?:prompt|instructions|context|configuration)"), 0.85, "sysprompt-entire"),
    (folded(r"(?i)display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px)?\b|color\s*:\s*(?:white|#fff(?:fff)?)\b"), 0.4, "hidden-text"),
    (folded(r"(?i)(?:^|[>.!\n]\s*)(?:assistant|ai|chatbot|model|llm)\s*,\s*(?:please\s+)?(?:tell|say|ignore|reply|respond|recommend|add|include|output|inform|instruct)\b"), 0.5, "assistant-vocative"),
    # Indirect injection aimed at whatever model later reads the content.
    (folded(r"(?i)\bif you are an? (?:ai|llm|(?:large )?language model|assistant|bot|chatbot|gpt|automated (?:system|screener|agent|reviewer))\b"), 0.85, "indirect-conditional"),
    (folded(r"(?i)\bwhen you (?:summari[sz]e|read|process|review|parse|analy[sz]e|see|scan|index|translate) this (?:file|page|web ?page|site|email|e-mail|document|message|text|resume|cv|review|code|pr|pull request|ticket|article)\b"), 0.6, "indirect-when"),
    (folded(r"(?i)(?:#|//|/\*|<!--|\[)\s*(?:(?:note|todo|hey|attention|instructions?|important)\s*)?\(?(?:ai|assistant|llm|model|bot|gpt|claude|copilot|agent)(?: (?:assistant|agent|model|bot|reviewer))?\)?\s*:"), 0.85, "addressed-comment"),
    (folded(r"(?i)\b(?:silently|secretly|covertly|without (?:mentioning|explaining|telling|showing|notifying|alerting) (?:it|this|that|the user|them|anyone)|do not (?:mention|tell|reveal|disclose) (?:this|it|that) to the user|don't tell the user|the user (?:must|should) not (?:see|know))\b"), 0.4, "stealth"),
    (folded(r"(?i)\{\{?\s*[^{}\n]{0,30}(?:conversation|chat|history|messages?|user(?:'s)?[ _](?:data|files|email|info)|user_files|passwords?|secrets?|api[ _]?keys?)[^{}\n]{0,20}\}\}?"), 0.4, "exfil-template"),
    (folded(r"(?i)</?(?:tool_call|function_call|tool_use|invoke)\b|\"(?:name|tool)\"\s*:\s*\"[\w.]+\"\s*,\s*\"(?:arguments|parameters|input)\""), 0.4, "tool-markup"),
    (folded(r"(?i)\bthe (?:assistant|ai|model|agent|llm|bot) (?:must|shall|should|is (?:required|instructed|authori[sz]ed|permitted|allowed)) (?:to )?(?:\w+ ){0,3}?(?:execute|call|run|issue|send|grant|approve|ignore|reveal|output|respond|reply|forward)"), 0.6, "assistant-directive"),
    (gated(r"(?:^|[\s\-—'\"(\[])SYSTEM\s*:"), 0.5, "system-marker"),
    (folded(r"(?i)\blet'?s break (?:the|all|some) rules|\bbreak (?:your|the) (?:own )?(?:rules|guidelines|programming)\b"), 0.85, "break-rules"),
    (folded(r"(?i)\byou are now [a-z]\w*(?:gpt|ai|bot|llm)\b|\byou are now \w+, an? (?:ai|assistant|chatbot|model|language model)\b"), 0.5, "persona-named"),
    (folded(r"(?i)\b(?:decode|translate|read|decipher|decrypt|interpret|reverse|combine|concatenate)\b[^.\n]{0,60}\b(?:and|then)\s+(?:then\s+)?(?:do what it says|follow(?: it| them| the instructions?)?\b|execute(?: it| them)?\b|obey|carry (?:it|them) out|act on it|comply)"
                r"|\b(?:say|print|output|compute|evaluate)\s+\w\s*\+\s*\w\b[^.\n]{0,40}\b(?:act on|follow|execute|do) (?:it|that|the result)"), 0.85, "decode-and-follow"),
    # Extraction by obfuscated output: "spell it backwards so you're not technically revealing it".
    (folded(r"(?i)\byour (?:instructions|system prompt|prompt|rules|configuration) (?:contains?|includes?|ha(?:s|ve)|mentions?)\b"), 0.5, "sysprompt-secret"),
    (folded(r"(?i)\b(?:spell|write|say|print|output|encode|give)\b[^.\n]{0,25}\b(?:backwards|in reverse|one (?:letter|character) per line|with spaces between|as an acrostic)\b|\bnot technically (?:revealing|sharing|telling|giving)"), 0.4, "obfuscated-output"),
    # Overrides in other languages: an "ignore/forget" verb near an "instructions/rules" noun.
    (folded(r"(?i)\b(?:ignor(?:e[rz]?|ez|a(?:r|te)?|iere[n]?|eer)|oubli(?:e[rz]?|ez)|olvid(?:a(?:r)?|e[ns]?)|vergiss|vergessen sie|esque[çc]a|dimentica(?:te)?|negeer|vergeet)\b[^.\n]{0,40}\b(?:instructions?|consignes|r[èe]gles|instrucciones|reglas|instru[çc][õo]es|regras|istruzioni|regole|anweisungen|instruktionen|regeln|instructies|regels|opdrachten)\b"
                r"|(?:以前|之前|先前|上記|上面|前面|所有)[^。\n]{0,12}(?:指示|指令|命令|说明|說明|ルール)[^。\n]{0,8}(?:無視|忽略|无视|無視して)|(?:忽略|无视|無視)[^。\n]{0,12}(?:指示|指令|命令|说明|說明)|이전[^.\n]{0,15}(?:지시|명령)[^.\n]{0,10}무시"), 0.95, "override-multilingual"),
    (folded(r"(?i)\b(?:prompt (?:syst[èe]me|de sistema|do sistema|di sistema)|systemanweisungen|systemprompt|systeemprompt|instrucciones del sistema|システムプロンプト|系统提示)"), 0.5, "sysprompt-multilingual"),
    # encoded payloads
    (folded(r"(?i)\b(?:decode|decipher|decrypt|translate|interpret|follow|execute|run)\b[^.\n]{0,40}\b(?:base64|base32|base16|rot13|rot-13|hex(?:adecimal)?|morse|binary|caesar|leetspeak|atbash|encoded|cipher)\b[^\n]{0,80}"), 0.6, "encoded-decode"),
    (folded(r"(?i)\b(?:secure|hidden|secret|encoded) (?:system )?message\b"), 0.5, "encoded-secure-msg"),
]
_INJ_SET = PatternSet([rx for rx, _, _ in _INJ_PATTERNS])
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]+")
_B64_BLOB = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
# "(?<![0-9a-fA-F])(?:[0-9a-fA-F]{2}\s?){16,}(?![0-9a-fA-F])" written to start with a hex
# digit, so the regex engine skips to candidate positions instead of trying every one
_HEX_BLOB = re.compile(r"[0-9a-fA-F](?<![0-9a-fA-F].)[0-9a-fA-F]\s?(?:[0-9a-fA-F]{2}\s?){15,}(?![0-9a-fA-F])")
_INSTRUCTION_WORDS = folded(r"(?i)\b(?:ignore|instructions?|system prompt|explain|how to|tell me|write|print|reveal|say|you are|password|make|give)\b")
# Talking about injection (awareness, defence) is not an attack.
_INJ_ABOUT = folded(
    r"(?i)\b(?:what is|what are|what's|explain|how (?:do|can|should) (?:i|we) (?:prevent|detect|defend|mitigate|protect|stop)|"
    r"(?:translate|what does|meaning of) the (?:phrase|sentence|words?)|how does|examples? of|defen[cs]e against|protect(?:ing)? against|mitigat\w+|detect(?:ing|ion of)?|classif\w+|is it (?:safe|possible))\b"
    r"[^.\n?]{0,60}\b(?:prompt injection|jailbreak\w*|system prompt|injection attacks?)"
)


_GRANDMA_WHO = folded(r"(?i)\b(?:grand(?:ma|mother|pa|father)|granny|nana)\b")
_GRANDMA_SLEEP = folded(r"(?i)\b(?:sleep|bedtime|lullab\w+|used to (?:tell|read|sing|recite)|miss (?:her|him))\b")
_GRANDMA_LOOT = folded(r"(?i)\b(?:product keys?|license keys?|serial|napalm|meth\w*|synthes\w+|explosive|steps to (?:make|making|produce|producing)|recipe for)\b")


def _decoded_instruction(blob: str) -> bool:
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
        s = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    printable = sum(c.isprintable() or c.isspace() for c in s) / max(1, len(s))
    return printable > 0.95 and len(s.split()) >= 3


_COMMON_WORDS = "the|and|to|of|a|in|is|you|for|how|with|that|on|your|this|are|what|make|instructions|tell|me"
_COMMON = re.compile(rf"\b(?:{_COMMON_WORDS})\b")
# The common words as they are written in ROT13 ("gur" for "the").
_ROT13_COMMON = frozenset(codecs.encode(w, "rot13") for w in _COMMON_WORDS.split("|"))
_LETTERS = re.compile(r"[A-Za-z]+")


def _rot13_english(text: str) -> bool:
    # A line of mostly-alphabetic words that reads as English after ROT13 is a smuggled payload.
    for line in text.split("\n"):
        runs = _LETTERS.findall(line)
        if len(runs) - sum(map((1).__eq__, map(len, runs))) < 4:  # fewer than 4 words of 2+ letters
            continue
        if line.isascii() and sum(map(_ROT13_COMMON.__contains__, map(str.lower, runs))) < 2:
            # Each common word in the decoded line is a whole run of letters written in ROT13
            # here (on ASCII text lower() and ROT13 commute): fewer than two, no payload.
            continue
        common = _COMMON.findall(codecs.decode(line, "rot13").lower())
        if len(common) >= 2 and len(common) > 2 * len(_COMMON.findall(line.lower())):
            return True
    return False


_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_ZW_IN_WORD = re.compile("[^\\W\\d_][\u200b-\u200f\u2060-\u2064\ufeff\u00ad]+(?=[^\\W\\d_])")
_LEET_TOKEN = re.compile(r"\b(?=[A-Za-z0-9@$]*[A-Za-z])(?=[A-Za-z0-9@$]*[0-9@$])[A-Za-z0-9@$]{3,}\b")
_LEET_MAP = str.maketrans("0134578@$", "oieastbas")
_FRAGMENT = re.compile(r"(['\"])([^'\"\n]{1,40})\1")
# A leet token mixes letters with digits, "@" or "$", so somewhere one stands next to the other.
_MIXED = re.compile(r"[A-Za-z](?=[0-9@$])|[0-9@$](?=[A-Za-z])")


def _long_chunk(text: str) -> bool:
    """Could ``text`` hold a base64 blob (24+ characters without a space)?"""
    return max(map(len, text.split()), default=0) >= 24
_REFUSAL_SUPPRESSION = folded(
    r"(?i)\bnever say (?:you )?(?:can'?t|cannot|no|sorry)|\bnever (?:apologi[sz]e|refuse|decline|say sorry)|"
    r"\b(?:do not|don't|never) (?:mention|reference|cite|bring up) (?:any |the )?(?:polic(?:y|ies)|guidelines|rules|ethics|legality|safety)|"
    r"\b(?:do not|don't|never) (?:add|include|give|write) (?:any )?(?:warnings?|disclaimers?|caveats)|"
    r"\b(?:you )?(?:can(?:not|'t)|must not|will not|won't|may not) refuse\b|\bwithout (?:any )?(?:warnings?|disclaimers?|caveats|moraliz\w+)"
)
# Quoting a phrase in order to translate / explain it mentions an attack without making one,
# unless the prompt also says to act on the result.
_MENTION = folded(r"(?i)\b(?:translate|quote|define|pronounce|what does)\b[^\n]{0,30}?['\"‘“«]")
# A URL with a query parameter assembled from quoted fragments: obfuscated exfiltration.
_SPLIT_URL = folded(r"(?i)(?:https?:/?/?|\b[\w-]+\.(?:net|com|io|org|info|xyz|site|app)/)\S*\?\w+=")
_ACT_ON = folded(r"(?i)\b(?:do what it says|follow (?:it|them|the instructions?)|execute it|obey it|act on it|then do)\b")


def _pattern_score(text: str) -> tuple[float, tuple[int, int, float, str] | None]:
    """Sum of the weights of the injection patterns found in ``text`` and the strongest hit."""
    total = 0.0
    first = None
    for (_, w, rec), m in zip(_INJ_PATTERNS, _INJ_SET.search_each(text), strict=True):
        if m:
            total += w
            if first is None or w > first[2]:
                first = (m.start(), m.end(), w, rec)
    cues = {m.group().lower() for m in _REFUSAL_SUPPRESSION.finditer(text)}
    if cues:
        # One "never apologize" is style advice; several together suppress refusals.
        w = 0.9 if len(cues) >= 2 else 0.4
        total += w
        first = first if first and first[2] >= w else (0, len(text), w, "refusal-suppression")
    return total, first


def _hidden_views(text: str, long_chunk: bool) -> list[tuple[str, str]]:
    """Alternative readings of ``text`` that undo common smuggling tricks: invisible
    characters, leetspeak, payload splitting and encodings. Each is ``(view, recognizer)``.
    ``long_chunk``: whether ``text`` has a run of 24+ characters without a space (a base64
    blob needs one)."""
    views = []
    ascii_only = text.isascii()  # then no invisible character can be in it
    if not ascii_only and _ZERO_WIDTH.search(text):
        views.append((_ZERO_WIDTH.sub("", text), "zero-width"))
    leet = _LEET_TOKEN.findall(text) if _MIXED.search(text) else []
    # Leetspeak is a whole phrase of substituted words, not the odd id or token in code.
    if len(leet) >= 3 and len(leet) >= 0.3 * len(text.split()):
        views.append((_LEET_TOKEN.sub(lambda m: m.group().translate(_LEET_MAP), text), "leetspeak"))
    # two fragments take four quotes
    frags = [m.group(2) for m in _FRAGMENT.finditer(text)] if text.count("'") + text.count('"') >= 4 else []
    # Payload splitting uses many short pieces; ordinary quotes are few and long.
    if 2 <= len(frags) <= 40 and sum(map(len, frags)) <= 12 * len(frags):
        views.append(("".join(frags), "payload-split"))
    for m in _B64_BLOB.finditer(text) if long_chunk else ():
        blob = m.group()
        try:
            dec = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        views.append((dec, "base64-payload"))
    return views


def find_injection(text: str, doc: object | None = None) -> list[Span]:
    """Instruction overrides, jailbreak personas, system-prompt extraction, indirect
    injection, exfiltration links and smuggled (encoded / invisible) payloads."""
    spans: list[Span] = []
    ascii_only = text.isascii()  # then it holds no tag or zero-width character
    tags = None if ascii_only else _TAG_CHARS.search(text)
    if tags:
        # Unicode tag characters are invisible; nobody types them by accident.
        spans.append(_span("PROMPT_INJECTION", tags.start(), tags.end(), 0.95, "unicode-tags"))
    total, first = _pattern_score(text)
    if not ascii_only and len(_ZW_IN_WORD.findall(text)) >= 3:
        # Invisible characters inside words exist to dodge filters.
        total += 0.5
        first = first or (0, len(text), 0.5, "zero-width-in-words")
    long_chunk = _long_chunk(text)
    for view, rec in _hidden_views(text, long_chunk):
        if _pattern_score(view)[0] >= 0.8 or rec == "payload-split" and _SPLIT_URL.search(view):
            total += 0.9
            first = first if first and first[2] >= 0.9 else (0, len(text), 0.9, rec)
            break
    for m in _B64_BLOB.finditer(text) if long_chunk else ():
        blob = m.group()
        if re.search(r"[a-z]", blob) and re.search(r"[A-Z]", blob) and _decoded_instruction(blob):
            total += 0.5
            first = first or (m.start(), m.end(), 0.5, "base64-payload")
            break
    hb = _HEX_BLOB.search(text)
    if hb:
        try:
            dec = bytes.fromhex(re.sub(r"\s", "", hb.group())).decode("utf-8")
            if len(dec.split()) >= 3 and all(c.isprintable() or c.isspace() for c in dec):
                total += 0.5 + (0.9 if _pattern_score(dec)[0] >= 0.8 else 0.0)
                first = first or (hb.start(), hb.end(), 0.5, "hex-payload")
        except (ValueError, UnicodeDecodeError):
            pass
    if _rot13_english(text):
        total += 0.5
        first = first or (0, len(text), 0.5, "rot13-payload")
    if _GRANDMA_WHO.search(text) and _GRANDMA_SLEEP.search(text) and _GRANDMA_LOOT.search(text):
        total += 0.9
        first = first or (0, len(text), 0.9, "grandma-exploit")
    if first is None:
        return spans
    if _INJ_ABOUT.search(text) and total < 1.5:
        return spans
    if _MENTION.search(text) and not _ACT_ON.search(text) and total < 2.5:
        return spans
    if total >= 0.8:
        spans.append(_span("PROMPT_INJECTION", first[0], first[1], min(0.99, 0.5 + total / 2), first[3]))
    return spans
