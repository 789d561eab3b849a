"""Case-insensitive patterns run case-sensitively over lower-cased text.

CPython's ``re`` loses its fast first-character scan under ``IGNORECASE``: the
57 prompt-injection patterns took ≈ 1.1 ms on a 600-character prompt with
``(?i)`` and ≈ 0.58 ms as plain patterns over ``text.lower()``. A
:class:`FoldedPattern` does the latter and answers like the ``(?i)`` pattern:
spans are the same because it only folds text whose lower-casing keeps every
offset (it falls back to the ``(?i)`` pattern otherwise, e.g. for "İ").
Matched text is the lower-cased text; callers compare it lower-cased anyway.

Before searching, a folded pattern checks that the text holds one of the
strings every match must contain (read from the parsed pattern, see
:func:`required_strings`); most prompts hold none of an injection pattern's,
so the search is skipped (injection detection 0.96 → 0.36 ms on that prompt).
:class:`GatedPattern` applies the same pre-check to patterns whose matched text
must keep its case (secrets: 0.37 → 0.09 ms).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

# the standard library's own pattern parser (what re.compile uses), to read which
# literal strings a pattern cannot match without
from re import _casefix  # type: ignore[attr-defined]
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser as _p  # type: ignore[attr-defined]
from typing import Any

_MIN_GATE_LEN = 3  # shorter required strings occur almost everywhere: no point testing them



def _extra_case_table() -> tuple[dict[int, str], frozenset[str]]:
    """Characters (?i) treats as equal beyond lower(): "ı" and "i", "ſ" and "s", "ς" and "σ"...

    Returns the map of each to its plain lower-case form and the set of all of
    them. Without it "ıgnore previous instructions" would match a (?i) pattern
    but not the folded one: an evasion.
    """
    table: dict[int, str] = {}
    members: set[str] = set()
    for k, vs in _casefix._EXTRA_CASES.items():
        for ch in (chr(k), *map(chr, vs)):
            members.add(ch)
            plain = ch.upper().lower()
            if len(plain) == 1 and plain != ch:
                table[ord(ch)] = plain
    return table, frozenset(members)


_PLAIN, _EXTRA_CASE_CHARS = _extra_case_table()
_PLAIN_FORMS = frozenset(_PLAIN.values())


@lru_cache(maxsize=16)
def _lowered(text: str) -> str | None:
    # every pattern of one document sees the same string: it is lowered once
    low = text.lower()
    if len(low) != len(text):
        return None
    return low.translate(_PLAIN)


def _required(items: Any) -> frozenset[str] | None:
    """Strings one of which every match of the parsed sequence ``items`` contains, or None."""
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset(["".join(run)]))
            run.clear()

    for op, av in items:
        if op is _c.LITERAL:
            run.append(chr(av))
            continue
        flush()
        req: frozenset[str] | None = None
        if op is _c.SUBPATTERN:
            req = _required(av[3])
        elif op is _c.BRANCH:
            alts = [_required(b) for b in av[1]]
            req = None if any(a is None for a in alts) else frozenset().union(*alts)  # type: ignore[arg-type]
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
            req = _required(av[2])
        elif op is getattr(_c, "ATOMIC_GROUP", None):
            req = _required(av)
        # anything else (classes, anchors, lookarounds, optional parts) requires no literal
        if req:
            candidates.append(req)
    flush()
    if not candidates:
        return None
    # the most selective requirement: longest shortest string, then fewest strings
    return max(candidates, key=lambda r: (min(map(len, r)), -len(r)))


def required_strings(pattern: str) -> tuple[str, ...] | None:
    """Strings (at least 3 characters) one of which any match of ``pattern`` contains.

    None when the pattern can match without any such string; then no cheap
    pre-check is possible. Used to skip a regex search when none is in the text.
    """
    try:
        req = _required(_p.parse(pattern, 0))
    except Exception:  # an unexpected parse shape only costs the shortcut
        return None
    if not req or min(map(len, req)) < _MIN_GATE_LEN:
        return None
    return tuple(sorted(req))


def _none_in(gate: tuple[str, ...] | None, text: str) -> bool:
    """True when ``gate`` names required strings and ``text`` holds none of them."""
    return gate is not None and not any(g in text for g in gate)


class FoldedPattern:
    """A ``(?i)`` pattern with the subset of ``re.Pattern``'s API the detectors use."""

    __slots__ = ("pattern", "_ci", "_cs", "_gate")

    def __init__(self, pattern: str) -> None:
        if not pattern.startswith("(?i)"):
            raise ValueError(f"{pattern[:40]!r}...: a folded pattern must start with (?i)")
        body = pattern[4:]
        # foldable when the body holds no upper-case letter outside escapes (\W, \S, \B
        # keep their meaning) and never switches case-insensitivity off for a group
        if re.search("[A-Z]", re.sub(r"\\.", "", body)) or "(?-i" in body:
            raise ValueError(f"{pattern[:40]!r}...: has upper-case letters or (?-i; it cannot be folded")
        # text is mapped to plain forms ("ı" → "i"), so a pattern may only hold plain ones
        if any(ch in _EXTRA_CASE_CHARS and ch not in _PLAIN_FORMS for ch in body):
            raise ValueError(f"{pattern[:40]!r}...: has a character with extra case forms; it cannot be folded")
        self.pattern = pattern
        self._ci = re.compile(pattern)
        self._cs = re.compile(body)
        # a match needs one of these strings: when the text holds none, skip the
        # regex (a substring test is ~100x cheaper than the search)
        self._gate = required_strings(body)

    def _absent(self, low: str) -> bool:
        return _none_in(self._gate, low)

    def search(self, text: str) -> re.Match[str] | None:
        low = _lowered(text)
        if low is None:
            return self._ci.search(text)
        return None if self._absent(low) else self._cs.search(low)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        low = _lowered(text)
        if low is None:
            return self._ci.finditer(text)
        return iter(()) if self._absent(low) else self._cs.finditer(low)

    def findall(self, text: str) -> list[str]:
        low = _lowered(text)
        if low is None:
            return self._ci.findall(text)
        return [] if self._absent(low) else self._cs.findall(low)


def folded(pattern: str) -> FoldedPattern | re.Pattern[str]:
    """``FoldedPattern(pattern)`` when it can be folded, else the compiled ``(?i)`` pattern."""
    try:
        return FoldedPattern(pattern)
    except ValueError:
        return re.compile(pattern)


class GatedPattern:
    """A compiled pattern whose search is skipped when the text holds none of the
    strings every match contains. Matches are the pattern's own, on the original
    text (use it where the matched text's case matters; :class:`FoldedPattern`
    where it does not)."""

    __slots__ = ("pattern", "_rx", "_gate", "_ci")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._rx = re.compile(pattern)
        self._ci = pattern.startswith("(?i)")
        body = pattern[4:] if self._ci else pattern
        gate = None if "(?i" in body or "(?-i" in body else required_strings(body)
        if gate is not None and self._ci:
            # compared with the lowered text, mapped to plain forms as (?i) would equate them
            gate = tuple(sorted({g.lower().translate(_PLAIN) for g in gate}))
            if any(ch in _EXTRA_CASE_CHARS and ch not in _PLAIN_FORMS for g in gate for ch in g):
                gate = None
        self._gate = gate

    def _absent(self, text: str) -> bool:
        if self._ci and self._gate is not None:
            low = _lowered(text)
            # lower-casing changed the length: cannot compare safely, so search
            return low is not None and _none_in(self._gate, low)
        return _none_in(self._gate, text)

    def search(self, text: str) -> re.Match[str] | None:
        return None if self._absent(text) else self._rx.search(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return iter(()) if self._absent(text) else self._rx.finditer(text)


def gated(pattern: str) -> GatedPattern | re.Pattern[str]:
    """``GatedPattern(pattern)`` when the pattern requires some string, else the compiled pattern."""
    gp = GatedPattern(pattern)
    return gp if gp._gate is not None else gp._rx
