"""Phone numbers in any country's layout, with Google's libphonenumber (``phonenumbers``).

A digit run shaped like a phone number (7-15 digits, the separators people use, an optional
extension) counts when something says it is one: a phone word before it ("tel", "call ... on",
"mobile", "reach me on", in several languages), a leading ``+``/``00`` that libphonenumber
accepts as a possible number, or libphonenumber validating it for one of the regions we serve.
Dates, IPs, versions and money are excluded by shape.
"""

from __future__ import annotations

import re

import phonenumbers

from .engine import Span

_CANDIDATE = re.compile(
    r"(?<![\w+/.,-])(?:\+|00)?\(?\d[\d ()./-]{5,22}\d(?:\s?(?:x|ext\.?|#)\s?\d{1,6})?(?![\w/-]|[.,]\d)"
)
_CONTEXT = re.compile(
    r"(?:phone|tel\b|tel\.|telephone|mobile|mob\b|cell|call|ring|reach|contact|whatsapp|signal|sms|text (?:me|him|her)|fax|"
    r"number|hotline|dial|telefon|téléphone|portable|teléfono|móvil|telefono|cellulare|telefone|celular|puhelin|"
    r"gsm|tlf|tfn|handy|nummer|numéro|número|numero)[^\n\d]{0,25}$",
    re.I,
)
# What introduces ids that libphonenumber would still call valid numbers.
_NOT_PHONE = re.compile(r"(?:order|invoice|ref|reference|ticket|case|account|acct|iban|id|no\.?|#|[A-Z0-9]{4})\W{0,3}$", re.I)
_DATE_SHAPE = re.compile(r"^\d{1,4}([./-])\d{1,2}\1\d{1,4}$")
_IP_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "AT", "CH", "IE", "PT", "PL", "SE", "DK", "FI", "NO", "CZ",
           "HU", "RO", "TR", "IN", "ID", "BR", "MX", "AU", "CA", "JP", "ZA", "NG", "PH")


def _digits(s: str) -> str:
    return re.sub(r"\D", "", re.split(r"(?i)\s?(?:x|ext\.?|#)\s?\d{1,6}$", s)[0])


def _valid_somewhere(value: str) -> bool:
    for region in REGIONS:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def find_world_phones(text: str) -> list[Span]:
    """Phone numbers outside the NANP layout (and NANP ones with extensions)."""
    out = []
    for m in _CANDIDATE.finditer(text):
        value = m.group().rstrip(" (")
        # a dangling "(" / ")" from prose is not part of the number
        if value.count("(") != value.count(")"):
            if value.startswith("(") and ")" not in value:
                value = value[1:]
            elif value.endswith(")") and "(" not in value:
                value = value[:-1]
        start = m.start() + m.group().index(value)
        digits = _digits(value)
        if not 7 <= len(digits) <= 15 or _DATE_SHAPE.match(value) or _IP_SHAPE.match(value.split("/")[0]):
            continue
        if re.fullmatch(r"\d{4}", value.split()[0]) and len(value.split()) == 1:
            continue
        context = bool(_CONTEXT.search(text[max(0, start - 45):start]))
        intl = value.startswith(("+", "00"))
        if context:
            score = 0.85
        elif intl:
            try:
                num = phonenumbers.parse("+" + digits[2:] if value.startswith("00") else value, None)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_possible_number(num):
                continue
            score = 0.8
        elif (len(digits) >= 9 and len(re.findall(r"[ ()./-]+", value)) >= 2 and not _NOT_PHONE.search(text[max(0, start - 20):start])
              and _valid_somewhere(value)):
            score = 0.6
        else:
            continue
        out.append(Span("PHONE_NUMBER", "PII", start, start + len(value), score, "phone-world"))
    return out
