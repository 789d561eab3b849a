"""Personal-identifier recognizers: regexes validated by checksums, issuing rules and context.

Each ``find_*`` function is pure: ``text -> list[Span]``.
"""

from __future__ import annotations

import re

from .checks import aba_routing_ok, card_issuer_ok, digit_count, iban_ok, luhn_ok, public_ip, ssn_ok
from .engine import Span
from .fold import gated


def _span(kind: str, start: int, end: int, score: float, rec: str, category: str = "PII") -> Span:
    return Span(kind, category, start, end, score, rec)


def _before(text: str, pos: int, width: int = 40) -> str:
    return text[max(0, pos - width):pos].lower()


# ----------------------------------------------------------------------------- email

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}(?![\w-])")
# RFC 2606 / 6761 reserved names identify nobody.
_RESERVED_MAIL = re.compile(r"@(?:[\w-]+\.)*(?:example\.(?:com|org|net)|example|test|invalid|localhost)$", re.I)
# Machine identities (cloud service accounts, no-reply senders) belong to no individual.
_MACHINE_MAIL = re.compile(r"^(?:no-?reply|do-?not-?reply|mailer-daemon)@|@[\w.-]*\.(?:iam\.gserviceaccount\.com|svc\.id\.goog)$", re.I)


def find_emails(text: str) -> list[Span]:
    """E-mail addresses outside the reserved example domains."""
    out: list[Span] = []
    if "@" not in text:
        return out
    for m in _EMAIL.finditer(text):
        if _RESERVED_MAIL.search(m.group()) or _MACHINE_MAIL.search(m.group()):
            continue
        # "scheme://user:password@host" - the part before @ is a password, not a mailbox.
        if re.search(r"://[^\s/@]*:$", text[max(0, m.start() - 80):m.start()]):
            continue
        out.append(_span("EMAIL_ADDRESS", m.start(), m.end(), 0.95, "email"))
    return out


# ----------------------------------------------------------------------------- phone

# NANP: area code and exchange start with 2-9. Optional +1 / 1 prefix; separators must be
# present (bare 10-digit runs are more often ids than phone numbers).
_PHONE = re.compile(
    r"(?<![\w+-])(?:\+?1[ .-]?)?(?:\(([2-9]\d{2})\)\s?|([2-9]\d{2})[ .-])([2-9]\d{2})[ .-](\d{4})(?![\w-])"
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+(?:[2-9]\d{0,2})[ .-]?\d{1,4}(?:[ .-]\d{2,4}){2,4}(?![\w-])")
_PHONE_CONTEXT = re.compile(r"phone|call|cell|mobile|tel|text|fax|whatsapp|sms|number|reach|contact")


def find_phones(text: str) -> list[Span]:
    """North American numbers (NANP rules) and context-backed international numbers."""
    out: list[Span] = []
    if digit_count(text) < 6:  # NANP has 10 digits, the shortest international form 6
        return out
    for m in _PHONE.finditer(text):
        area = m.group(1) or m.group(2)
        if area[1:] == "11":  # N11 service codes are not area codes
            continue
        out.append(_span("PHONE_NUMBER", m.start(), m.end(), 0.85, "phone"))
    for m in _PHONE_INTL.finditer(text):
        if m.group().startswith("+1"):
            continue
        digits = re.sub(r"\D", "", m.group())
        if 8 <= len(digits) <= 15 and _PHONE_CONTEXT.search(_before(text, m.start(), 60)):
            out.append(_span("PHONE_NUMBER", m.start(), m.end(), 0.8, "phone-intl"))
    return out


# ----------------------------------------------------------------------------- SSN

_SSN = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])")
_SSN_BARE = re.compile(r"(?<![\w-])(\d{3})(\d{2})(\d{4})(?![\w-])")
_SSN_CONTEXT = re.compile(r"\bssn\b|social security|\bss#|\bssn#|taxpayer id|\btin\b|\bw-?9\b")


def find_ssns(text: str) -> list[Span]:
    """US social security numbers with valid area/group/serial; bare 9 digits need context."""
    out: list[Span] = []
    if digit_count(text) < 9:
        return out
    for m in _SSN.finditer(text):
        if ssn_ok(m.group(1), m.group(3), m.group(4)):
            score = 0.9 if m.group(2) == "-" or _SSN_CONTEXT.search(_before(text, m.start(), 80)) else 0.5
            out.append(_span("US_SSN", m.start(), m.end(), score, "ssn"))
    for m in _SSN_BARE.finditer(text):
        if ssn_ok(m.group(1), m.group(2), m.group(3)) and _SSN_CONTEXT.search(_before(text, m.start(), 80)):
            ctx = _before(text, m.start(), 30)
            if "account" in ctx or "routing" in ctx:
                continue
            out.append(_span("US_SSN", m.start(), m.end(), 0.8, "ssn-bare"))
    return out


# ----------------------------------------------------------------------------- credit card

_CARD = re.compile(
    r"(?<![\w-])(?:\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?"  # 4-4-4-4(-x)
    r"|\d{4}([ -])\d{6}\2\d{4,5}"  # Amex / Diners 4-6-5
    r"|\d{13,19})(?![\w-])"
)


def find_cards(text: str) -> list[Span]:
    """Payment card numbers: a known network's IIN and length, and a valid Luhn digit."""
    out: list[Span] = []
    if digit_count(text) < 13:
        return out
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and card_issuer_ok(digits) and luhn_ok(digits):
            out.append(_span("CREDIT_CARD", m.start(), m.end(), 0.95, "credit-card"))
    return out


# ----------------------------------------------------------------------------- IBAN

# (?<![A-Za-z0-9])[A-Z]{2}... written to start with its first letter, the lookbehind after it:
# the regex engine then skips to capitals instead of trying every position (same matches)
_IBAN = re.compile(r"([A-Z](?<![A-Za-z0-9].)[A-Z]\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)(?![A-Za-z0-9])")


def find_ibans(text: str) -> list[Span]:
    """IBANs whose country length and mod-97 check digits are valid."""
    out = []
    for m in _IBAN.finditer(text):
        raw = m.group(1)
        compact = raw.replace(" ", "")
        # The greedy tail may have eaten a following word; back off one group at a time.
        while len(compact) >= 15 and not iban_ok(compact):
            if " " not in raw:
                break
            raw = raw[: raw.rfind(" ")]
            compact = raw.replace(" ", "")
        if iban_ok(compact):
            out.append(_span("IBAN_CODE", m.start(1), m.start(1) + len(raw), 0.95, "iban"))
    return out


# ----------------------------------------------------------------------------- IP

_IPV4 = re.compile(r"(?<![\w.])((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])((?:[0-9A-Fa-f]{1,4}:){2,7}:?[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:)(?![\w:])")
_VERSION_CONTEXT = re.compile(r"(?:version|\bv|release|firmware|build|oid)\s*$")


def find_ips(text: str) -> list[Span]:
    """Globally routable IP addresses (private, loopback and documentation ranges excluded)."""
    out: list[Span] = []
    # IPv4 is four numbers joined by dots; IPv6 has at least two colons (and may hold no digit)
    ipv4 = text.count(".") >= 3 and digit_count(text) >= 4
    for m in _IPV4.finditer(text) if ipv4 else ():
        if public_ip(m.group(1)) and not _VERSION_CONTEXT.search(_before(text, m.start(), 12)):
            out.append(_span("IP_ADDRESS", m.start(), m.end(), 0.85, "ip"))
    for m in _IPV6.finditer(text) if text.count(":") >= 2 else ():
        if m.group().count(":") >= 2 and public_ip(m.group(1)):
            out.append(_span("IP_ADDRESS", m.start(), m.end(), 0.8, "ip6"))
    return out


# ----------------------------------------------------------------------------- bank account

_ACCOUNT = re.compile(
    r"\b(?:account|acct|a/c|checking|savings|deposit to)\b(?:\s+(?:number|no\.?|#|num))?\s*(?:is|:|#|=)?\s*(\d{8,17})(?![\w-])",
    re.I,
)


_EIGHT_DIGITS = re.compile(r"\d{8}")


def find_bank_accounts(text: str) -> list[Span]:
    """US bank account numbers: 8-17 digits right after an account keyword.

    A 9-digit value that passes the ABA checksum after "routing" is a routing number, which
    is public bank data, so it is skipped.
    """
    out: list[Span] = []
    if digit_count(text) < 8 or not _EIGHT_DIGITS.search(text):  # the number is a run of 8 to 17 digits
        return out
    for m in _ACCOUNT.finditer(text):
        digits = m.group(1)
        if "routing" in _before(text, m.start(1), 25) and aba_routing_ok(digits):
            continue
        out.append(_span("US_BANK_NUMBER", m.start(1), m.end(1), 0.85, "bank-account"))
    return out


# ----------------------------------------------------------------------------- date of birth

_MONTHS = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_ORD = r"(?:st|nd|rd|th)?"
_DATE = (
    r"(?:(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.]" + _DAY
    + r"|(?:0?[1-9]|1[0-2])[-/.]" + _DAY + r"[-/.](?:19|20)\d{2}"
    + r"|" + _DAY + r"[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)\d{2}"
    + rf"|{_MONTHS}\.?[ -]{_DAY}{_ORD},? (?:19|20)\d{{2}}"
    + rf"|(?:the )?{_DAY}{_ORD}(?: of)?[ -]{_MONTHS}\.?,?[ -](?:19|20)\d{{2}})"
    # Without this the day alternation stops at the first digit ("1987-10-2" of "1987-10-27").
    r"(?!\d)"
)
# Birth cues in English and the main European languages; the date may follow a few words later
# ("born in Leeds on 3 May 1990", "Birthday list: Ana Lima - 4 June 1988").
_BIRTH_CUE = (
    r"(?:\bd\.?\s?o\.?\s?b\b\.?|date of birth|birth ?date|birthday|\bborn\b|\bb\.(?=\s?\d)|['\"]?dob['\"]?|"
    r"geboren|geburtsdatum|\bgeb\.|n[ée]e? le|date de naissance|fecha de nacimiento|nacid[oa]|data di nascita|nat[oa] il|"
    r"data de nascimento|nascid[oa]|geboortedatum|f[öo]dd|f[øo]dt|syntym[äa]aika|ur\. |data urodzenia)"
)
_DOB = re.compile(_BIRTH_CUE + r"[\s:=('\"]{0,5}(?:is |was |on |am |el |le |il |the )?(" + _DATE + r")", re.I)
_DOB_NEAR = re.compile(_BIRTH_CUE + r"[^\n.;]{0,50}?\b(" + _DATE + r")", re.I)


# Cheap pre-check: every birth cue above contains one of these fragments.
_BIRTH_HINT = re.compile(r"(?i)born|birth|d\.?\s?o\.?\s?b|\bb\.|geb|naiss|\bn[ée]e?\b|nacid|nascid|nascita|nat[oa] il|geboorte|f[öo]dd|f[øo]dt|syntym|ur\. |urodzenia")


# Every _DATE form holds a four-digit year; most prompts hold none, so nothing else is tried.
_YEAR = re.compile(r"(?:19|20)\d\d")
_NAME_THEN_DATE = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+,\s*(" + _DATE + r")(?=\s*[,;|])")


def find_dobs(text: str) -> list[Span]:
    """Dates of birth: a full date right after a birth keyword (DOB, born, date of birth), or
    a date directly following a full name in a record ("Jane Roe, 1990-01-02, ...")."""
    out: list[Span] = []
    if not _YEAR.search(text):
        return out
    if _BIRTH_HINT.search(text):  # the cue regexes are costly; most prompts hold no birth word
        out = [_span("DATE_OF_BIRTH", m.start(1), m.end(1), 0.9, "dob") for m in _DOB.finditer(text)]
        for m in _DOB_NEAR.finditer(text):
            if not any(s.start < m.end(1) and m.start(1) < s.end for s in out):
                out.append(_span("DATE_OF_BIRTH", m.start(1), m.end(1), 0.8, "dob-near"))
    for m in _NAME_THEN_DATE.finditer(text):
        if not any(s.start == m.start(1) for s in out):
            out.append(_span("DATE_OF_BIRTH", m.start(1), m.end(1), 0.6, "dob-record"))
    return out


# ----------------------------------------------------------------------------- MRN

# A record number is known by what introduces it, not by its format: hospitals use digits,
# letter prefixes, dashes and slashes. The value must hold at least four digits.
_MRN_CUE = (
    r"(?:\bMRN\b|\bmedical[- ]record|\bhealth[- ]record|\b(?:chart|hospital|patient|case[- ]?note|emr|ehr|nhs|unit|"
    r"clinic|health[- ]?care|chi|medicare|member)\s*(?:(?:number|num|no|nr|id|identifier|ref(?:erence)?)\b\.?|#)"
    r"|\bpatient[- ]id\b|\bpt\.? ?(?:id|no|#)\b)"
)
# gated: skipped unless the text holds a cue word (see fold.GatedPattern)
_MRN = gated(
    "(?i)" + _MRN_CUE + r"(?:\s+(?:at|in|for|of) [\w .'-]{1,40}?)?(?:\s*(?:is|was|:|#|=|-|no\.?|number))*\s*"
    r"((?=[A-Z0-9/-]*\d[A-Z0-9/-]*\d[A-Z0-9/-]*\d[A-Z0-9/-]*\d)[A-Z]{0,4}[-/ ]?\d[A-Z0-9]*(?:[-/. ]\d[A-Z0-9]*){0,4})(?![\w-])",
)


# Generic record cues ("record no.", "file number") name a medical record only in clinical text.
_MRN_GENERIC = gated(_MRN.pattern.replace(_MRN_CUE, r"\b(?:record|file|case)\s*(?:(?:number|num|no|nr|id|ref(?:erence)?)\b\.?|#)", 1))
_CLINICAL_CONTEXT = gated(
    r"(?i)\b(?:patient|clinic\w*|hospital|case notes|medical|health|doctor|dr\.|nurse|diagnos\w+|ward|gp|surgery|"
    r"pharmacy|admitted|discharged|symptoms?|treatment|prescri\w+)\b"
)


def find_mrns(text: str) -> list[Span]:
    """Medical record numbers: an id (4+ digits, any dash/slash layout) after a record cue
    (MRN, medical record, chart no., hospital number, patient id, EMR id, ...)."""
    out: list[Span] = []
    if digit_count(text) < 4:  # the value holds at least four digits
        return out
    for m in _MRN.finditer(text):
        value = m.group(1).rstrip(" .")
        # Above the SSN score: a cue-introduced record number shaped like an SSN is a record number.
        out.append(_span("MEDICAL_RECORD_NUMBER", m.start(1), m.start(1) + len(value), 0.95, "mrn", category="PHI"))
    if _CLINICAL_CONTEXT.search(text):
        for m in _MRN_GENERIC.finditer(text):
            if not any(s.start == m.start(1) for s in out):
                value = m.group(1).rstrip(" .")
                out.append(_span("MEDICAL_RECORD_NUMBER", m.start(1), m.start(1) + len(value), 0.95, "mrn-clinical",
                                 category="PHI"))
    return out


# ----------------------------------------------------------------------------- street address

# USPS Publication 28 street suffixes (full names and standard abbreviations).
_SUFFIXES = (
    "Alley Aly Annex Anx Arcade Arc Avenue Ave Av Bayou Byu Beach Bch Bend Bnd Bluffs? Blf Bottom Btm "
    "Boulevard Blvd Branch Br Bridge Brg Brooks? Brk Burgs? Bg Bypass Byp Camp Cp Canyon Cyn Cape Cpe "
    "Causeway Cswy Centers? Ctr Circles? Cir Cliffs? Clf Club Clb Commons? Cmn Corners? Cor Course Crse "
    "Courts? Ct Coves? Cv Creek Crk Crescent Cres Crest Crst Crossing Xing Crossroads? Curve Dale Dl Dam "
    "Divide Dv Drives? Dr Estates? Est Expressway Expy Extensions? Ext Falls? Ferry Fry Fields? Fld "
    "Flats? Flt Fords? Frd Forest Frst Forges? Frg Forks? Frk Fort Ft Freeway Fwy Gardens? Gdn Gateway "
    "Gtwy Glens? Gln Greens? Grn Groves? Grv Harbors? Hbr Haven Hvn Heights Hts Highway Hwy Hills? Hl "
    "Hollow Holw Inlet Islands? Is Isle Junctions? Jct Keys? Ky Knolls? Knl Lakes? Lk Land Landing Lndg "
    "Lane Ln Lights? Lgt Loaf Locks? Lck Lodge Ldg Loop Mall Manors? Mnr Meadows? Mdw Mews Mills? Ml "
    "Mission Msn Motorway Mtwy Mount Mt Mountains? Mtn Neck Nck Orchard Orch Oval Overpass Opas Parks? "
    "Parkways? Pkwy Pass Passage Psge Path Pike Pines? Pne Place Pl Plains? Pln Plaza Plz Points? Pt "
    "Ports? Prt Prairie Pr Radial Radl Ramp Ranch Rnch Rapids? Rpd Rest Rst Ridges? Rdg River Riv "
    "Roads? Rd Route Rte Row Rue Run Shoals? Shl Shores? Shr Skyway Skwy Springs? Spg Spurs? Squares? "
    "Sq Station Sta Stravenue Stra Stream Strm Streets? St Summit Smt Terrace Ter Throughway Trwy Trace "
    "Trce Track Trak Trafficway Trfy Trail Trl Trailer Trlr Tunnel Tunl Turnpike Tpke Underpass Upas "
    "Unions? Un Valleys? Vly Via Viaduct Vdct Views? Vw Villages? Vlg Ville Vl Vista Vis Walks? Wall "
    "Ways? Wells? Wl"
).split()
_SUFFIX_RE = "(?:" + "|".join(_SUFFIXES) + r")\.?"
_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI FM MH PW AA AE AP"
).split()
_WORD = r"[A-Z][A-Za-z'-]+"
# "(?<![\w-])\d{1,6}" as "\d(?<![\w-].)\d{0,5}": starts with a digit, so the engine skips to digits
_ADDRESS = re.compile(
    rf"\d(?<![\w-].)\d{{0,5}}(?: [NSEW]\.?| North| South| East| West)?(?: (?:{_WORD}|\d+(?:st|nd|rd|th))){{1,4}}? {_SUFFIX_RE}"
    r"(?:,? (?:Apt|Apartment|Suite|Ste|Unit|Bldg|Building|Fl|Floor|Room|Rm|#)\.? ?#?[\w-]{1,6})?"
    rf"(?:(?:,\s*|\s*\n\s*)(?:{_WORD} ){{0,3}}{_WORD},? (?:{'|'.join(_STATES)})(?: \d{{5}}(?:-\d{{4}})?)?)?"
    r"(?![\w])"
)


# The same address with a greedy street name: "221 Maple Ridge Rd" contains the suffix
# "Ridge" before the real one, so the lazy pattern stops early; the greedy one is tried from the
# same start and wins when it reaches a state / ZIP.
_ADDRESS_GREEDY = re.compile(_ADDRESS.pattern.replace("){1,4}? ", "){1,4} ", 1))
_ADDRESS_END = re.compile(r"[A-Z]{2}(?: \d{5}(?:-\d{4})?)?$")


def find_addresses(text: str) -> list[Span]:
    """US street addresses: number, street name, USPS suffix, optional unit, city, state, ZIP."""
    out: list[Span] = []
    if not digit_count(text):  # an address starts with its house number
        return out
    pos = 0
    while True:
        m = _ADDRESS.search(text, pos)
        if not m:
            return out
        start, end = m.span()
        if not _ADDRESS_END.search(m.group()):
            g = _ADDRESS_GREEDY.match(text, start)
            if g and _ADDRESS_END.search(g.group()):
                end = g.end()
        # Without city/state the match must at least look like "123 Main Street".
        score = 0.9 if _ADDRESS_END.search(text[start:end]) else 0.6
        out.append(_span("STREET_ADDRESS", start, end, score, "street-address"))
        pos = end
