"""Postal addresses beyond US layouts, anchored on a postcode.

Most of the world writes an address as a street part (name then house number, as in
"Björkgatan 12"; or number then name, "7, boulevard Valentin"), then a postcode and a city in
either order. We find a postcode shape (UK, NL, PL/PT/BR, CZ/SE, prefixed "H-9108", plain
4-6 digits), walk back over at most three comma-separated parts that look like an address, and
require a street part (a street word in one of the main European languages, or a house number
next to a capitalised name). The US layout keeps its own detector in ``pii``.
"""

from __future__ import annotations

import re

from .engine import Span

_POSTCODE = re.compile(
    r"(?<![\w-])(?:"
    r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"  # UK
    r"|[A-Z]\d{2} ?[A-Z\d]{4}"  # Irish Eircode
    r"|\d{4} ?[A-Z]{2}(?![A-Za-z])"  # NL
    r"|\d{2,5}-\d{3}"  # PL, PT, BR
    r"|\d{3} \d{2}"  # CZ, SK, SE, GR
    r"|[A-Z]{1,2}-\d{4,5}"  # country-prefixed (H-9108, D-10115)
    r"|\d{4,6}"  # DE FR IT ES FI (5), DK AT CH BE NO HU (4), IN (6)
    r")(?![\w-])"
)
# Street words: any case where the word means nothing else; capitalised only where it is also
# ordinary English ("Pearce Field" but not "a field"); compound suffixes ("Björkgatan").
_SW_ANYCASE = (
    r"stra(?:ß|ss)e|str\.|utca|út|tér|körút|ulica|ul\.|al\.|pl\.|aleja|osiedle|rue|boulevard|bd|allée|chemin|impasse|"
    r"quai|calle|c/|avenida|avda\.?|paseo|plaza|camino|carrer|rúa|rua|travessa|largo|praça|alameda|estrada|via|viale|"
    r"corso|piazza|vicolo|strada|contrada|jl\.|jalan|marg|nagar|nám\.|náměstí|třída|sokak|caddesi|mahallesi|bulvarı|"
    r"sokağı|chaussee|allé|apt\.|appartamento|puerta|piso|wohnung|pasaje|cuesta|rambla|ronda|travesía|glorieta|"
    r"callejón|urbanización|canale|borgo|vico|rotonda|beco|praceta|av|avda|bairro|vila|quinta|lugar"
)
_SW_TITLE = (
    r"Road|Rd\.?|Street|St\.?|Lane|Ln\.?|Drive|Dr\.?|Avenue|Ave\.?|Av\.|Close|Crescent|Terrace|Gardens|Square|Court|"
    r"Ct\.?|Way|Grove|Hill|Park|Mews|Row|Walk|Field|Fields|Parade|Place|View|Rise|Green|Flat|Apartment|Circle|Trail|"
    r"Boulevard|Blvd\.?|Highway|Hwy\.?|Route|Quay|Wharf|Gate|Yard|Hollow|Heights|Ridge|Meadow|Meadows|Manor|Estate|Cottages"
)
_SW_SUFFIX = (
    r"weg|ring|damm|ufer|gasse|platz|allee|stra(?:ß|ss)e|gatan|vägen|väg|gränd|vej|gade|katu|tie|polku|kuja|straat|"
    r"laan|gracht|plein|kade|singel|dreef|steeg"
)
_STREET_WORDS = _SW_ANYCASE + "|" + _SW_SUFFIX + "|" + _SW_TITLE
_STREET_WORD = re.compile(
    rf"(?:(?i:\b(?:{_SW_ANYCASE})(?!\w))|\b(?:{_SW_TITLE})(?!\w)|(?<=[a-zà-ÿ])(?:{_SW_SUFFIX})\b)"
)
_MONTH_DAY = re.compile(
    r"\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|"
    r"Nov(?:ember)?|Dec(?:ember)?)\.? \d{1,2}\b"
)
_HOUSE_NO = re.compile(r"(?<![\w-])(?:\d{1,5}[a-zA-Z]?\.?|S/N|s/n)(?![\w-])")
_PARTICLE = (
    r"(?:de|da|do|dos|das|del|della|dei|di|du|des|la|le|les|el|van|der|den|von|am|an|im|zum|zur|y|e|i|och|og|nad|pod|na|u|"
    r"of|the|and|St\.?|pl\.|ul\.|al\.|jl\.|c/)"
)
_TOKEN = rf"(?:[A-ZÀ-ÞĀ-Žİ][\w'’.-]*|{_PARTICLE}|(?i:{_SW_ANYCASE})|\d{{1,5}}[a-zA-Z]?\.?|S/N)"
# The run of address-like tokens that ends a segment ("... to Viale Irma" -> "Viale Irma").
_TAIL_RUN = re.compile(rf"(?:{_TOKEN}(?:\s+|$))+$")
_CITY_AFTER = re.compile(
    r"(?:,\s*|\s+)((?:[A-ZÀ-ÞĀ-Žİ][\w'’.-]*)(?:[ -](?:(?:nad|am|an|der|de|la|le|sur|en|del|di|im|pod) )?[A-ZÀ-ÞĀ-Žİ][\w'’.-]*)"
    r"{0,3})(?:\s*\([A-Z]{2}\)|\s*/\s*[A-Z]{2})?"
)
_UP_CHARS = "A-ZÀ-ÖØ-ÞĀ-ɏ"
_PROSE_WORD = re.compile(r"\b[a-zà-ÿ]{3,}\b")


def _segments(left: str) -> list[tuple[int, str]]:
    """Comma- (or newline-) separated parts of ``left``, last first, with their offsets."""
    out, end = [], len(left)
    for m in reversed(list(re.finditer(r",|\n", left))):
        out.append((m.end(), left[m.end():end]))
        end = m.start()
    out.append((0, left[:end]))
    return out


_ADJ = re.compile(r"(?:Alte|Neue|Große|Grosse|Kleine|Obere|Untere|Lange|Hohe|Old|New|Upper|Lower|Great|Little|North|South|East|West)$")


def _trim_run(seg: str, start: int) -> int:
    """Narrow a run of capitalised tokens to where the street part begins: at a leading house
    number ("12 rue des Lilas"), at a street word or compound ("Calle Mayor 7",
    "Lindenstraße 14", after an adjective such as "Alte"), else at most two name words before
    the house number ("Petříkova 64")."""
    toks = [(m.start() + start, m.group()) for m in re.finditer(r"\S+", seg[start:])]
    words = [w for _, w in toks]
    num = next((i for i, w in enumerate(words) if _HOUSE_NO.fullmatch(w.rstrip(","))), None)
    street = next((i for i, w in enumerate(words) if _STREET_WORD.search(w)), None)
    if num is not None and (street is None or num < street):
        return toks[num][0]
    if street is not None:
        w = words[street]
        if re.match(rf"(?i)(?:{_SW_ANYCASE})$", w) or re.search(rf"(?<=[a-zà-ÿ])(?:{_SW_SUFFIX})\.?,?$", w):
            k = street - 1 if street > 0 and _ADJ.match(words[street - 1]) else street
            return toks[k][0]
        k = street
        while k > 0 and street - k < 3 and re.match(rf"[{_UP_CHARS}]", words[k - 1]) and not _ADJ.match(words[k]):
            k -= 1
        return toks[k][0]
    if num is not None:
        k, caps = num, 0
        while k > 0 and caps < 4 and (re.match(rf"[{_UP_CHARS}]", words[k - 1]) or re.fullmatch(_PARTICLE, words[k - 1])):
            caps += bool(re.match(rf"[{_UP_CHARS}]", words[k - 1]))
            k -= 1
        while k < num and re.fullmatch(_PARTICLE, words[k]):
            k += 1
        return toks[k][0]
    return start


def _street_start(seg: str) -> int | None:
    """Where the address starts inside ``seg`` (its tail run of address tokens), or None when
    the segment has no street evidence."""
    m = _TAIL_RUN.search(seg.rstrip() + " ")
    if not m:
        return None
    run = seg[m.start():]
    if not (_STREET_WORD.search(run) or (_HOUSE_NO.search(run) and re.search(r"[A-ZÀ-Þ]", run))):
        return None
    return m.start()


def _address_like(seg: str) -> bool:
    s = seg.strip()
    if not s or len(s) > 60:
        return False
    prose = [w for w in _PROSE_WORD.findall(s) if not re.fullmatch(_PARTICLE, w) and not _STREET_WORD.fullmatch(w)]
    return not prose and bool(re.search(r"[A-ZÀ-Þ\d]", s))


def _evidence(seg: str) -> bool:
    return bool(_STREET_WORD.search(seg) or _HOUSE_NO.search(seg))


def _walk_back(left: str, left_start: int) -> int | None:
    """Start of the street part in the text before a postcode, or None.

    City parts ("Granada, 45571") are crossed while no street evidence has been seen; after
    it, only parts that carry evidence themselves ("7, boulevard Valentin") extend the
    address, so a name before the street ("Anna Rossi, Viale Irma 38, ...") stays out.
    """
    start = None
    for i, (off, seg) in enumerate(_segments(left)):
        if i > 3:
            break
        if not seg.strip():
            if i == 0:
                continue
            break
        run = _TAIL_RUN.search(seg.rstrip() + " ")
        if run is None:
            break
        tail = seg[run.start():]
        clean = run.start() == len(seg) - len(seg.lstrip())  # nothing but the run in this part
        if _evidence(tail) and (start is None or clean or _street_start(seg) is not None or _HOUSE_NO.fullmatch(tail.strip())):
            start = left_start + off + (run.start() if start is not None else _trim_run(seg, run.start()))
        elif start is not None or not _address_like(seg):
            break
        if not clean:
            break
    return start


def find_world_addresses(text: str) -> list[Span]:
    """Addresses whose postcode sits next to a city, after a street part."""
    out: list[Span] = []
    last_end = -1
    for pm in _POSTCODE.finditer(text):
        if pm.start() < last_end:
            continue
        line_start = text.rfind("\n", 0, pm.start()) + 1
        # An address written over two lines: the street line may sit right above.
        if not text[line_start:pm.start()].strip() and line_start > 0:
            line_start = text.rfind("\n", 0, line_start - 1) + 1
        left_start = max(line_start, pm.start() - 120)
        left = text[left_start:pm.start()]
        start = _walk_back(left, left_start)
        if start is None:
            continue
        head = text[start:pm.start()]
        end = pm.end()
        city = _CITY_AFTER.match(text, end)
        if city and "\n" not in city.group():
            end = city.end()
            while text[end - 1] in ".,":
                end -= 1
        if _MONTH_DAY.search(text[max(0, start - 12):pm.start()]) or re.search(r"\d[ -]?\Z", text[max(0, pm.start() - 2):pm.start()]):
            continue  # a date ("On December 17, 1903") or the tail of a longer number (a phone)
        if len(pm.group()) == 4 and pm.group().isdigit() and not city:
            continue  # a bare 4-digit number is more often a year than a postcode
        value = text[start:end]
        # A street part needs a house number or a street word besides the postcode itself.
        if not (_HOUSE_NO.search(head) or _STREET_WORD.search(head)) or len(value) < 10:
            continue
        while start < end and text[start] in " ,\n":
            start += 1
        out.append(Span("STREET_ADDRESS", "PII", start, end, 0.8, "street-address-world"))
        last_end = end
    return out
