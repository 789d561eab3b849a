"""Case-insensitive patterns run case-sensitively over lower-cased text.

CPython's ``re`` loses its fast first-character scan under ``IGNORECASE``: the
57 prompt-injection patterns took ≈ 1.1 ms on a 600-character prompt with
``(?i)`` and ≈ 0.58 ms as plain patterns over ``text.lower()``. A
:class:`FoldedPattern` does the latter and answers like the ``(?i)`` pattern:
spans are the same because it only folds text whose lower-casing keeps every
offset (it falls back to the ``(?i)`` pattern otherwise, e.g. for "İ").
Matched text is the lower-cased text; callers compare it lower-cased anyway.

Before searching, a folded pattern checks that the text holds what every match
must contain: for one of its top-level alternatives, one string of each set that
alternative requires (read from the parsed pattern, see :func:`required_gate`);
most prompts hold none of an injection pattern's, so the search is skipped.
:class:`GatedPattern` applies the same pre-check to patterns whose matched text
must keep its case. Which strings a text holds is found once per text for all
patterns (:class:`GateIndex`: a trie scan), not pattern by pattern.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from functools import lru_cache
from re import _casefix  # type: ignore[attr-defined]

from .required import Gate, required_gate, required_strings

__all__ = ["FoldedPattern", "GateIndex", "GatedPattern", "folded", "gated", "lowered", "possible",
           "required_gate", "required_strings"]



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
def lowered(text: str) -> str | None:
    """``text`` lower-cased with look-alikes mapped to plain letters, or None when that
    would move offsets. Cached: every pattern of one document sees the same string."""
    low = text.lower()
    if text.isascii():  # no look-alikes to map
        return low
    if len(low) != len(text):
        return None
    return low.translate(_PLAIN)


def _trie_pattern(strings: list[str]) -> str:
    """A regex matching exactly the strings, as a trie: at any position it tries at most one
    branch per next character, and (greedy) it matches the longest string found there."""
    root: dict[str, dict] = {}
    for s in strings:
        node = root
        for ch in s:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and "" not in node else "(?:" + "|".join(alts) + ")"
        return body + ("?" if "" in node else "")

    return emit(root)


# up to this many strings, substring tests beat the trie scan (whose cost is per position)
_FEW_STRINGS = 128
_MIN_TRIE_LEN = 3


class GateIndex:
    """Which of many patterns' required strings a text holds, found in one pass over it.

    Why: testing each pattern's strings with ``in`` costs a Python loop per pattern per
    text (≈ 0.1 ms of the 57 injection patterns on a 230-character prompt); one scan with
    a trie of all the strings answers every pattern. The answer is exact: a lookahead at
    each position matches the longest string starting there, and every other string that
    starts there is one of its prefixes.

    Each required set is a bit. A text lights the bits of the sets its strings belong to
    (:meth:`lit`), and a pattern's gate is one bit mask per alternative
    (:meth:`register`): the pattern can match only if all bits of one mask are lit.
    """

    def __init__(self, lowered_in: GateIndex | None = None) -> None:
        self._strings: dict[str, int] = {}  # string -> bits of the sets holding it
        self._set_bits: dict[frozenset[str], int] = {}
        self._rx: re.Pattern[str] | None = None
        self._prefixes: dict[str, tuple[str, ...]] = {}
        self._short: list[str] = []
        self._cache: dict[str, tuple[int, frozenset[str]]] = {}
        # Case-sensitive strings can be looked for among those whose lower-case form the
        # lowered text holds (found by ``lowered_in``'s scan anyway): a string in a text is
        # in its lowered form lower-cased, when lowering keeps offsets and it is ASCII.
        self._lowered_in = lowered_in
        self._by_lower: dict[str, list[str]] = {}
        self._not_ascii: list[str] = []

    def register(self, gate: Gate) -> tuple[int, ...]:
        """The bit masks of ``gate``'s alternatives (empty: no gate)."""
        masks = []
        for sets in gate:
            mask = 0
            for g in sets:
                bit = self._set_bits.get(g)
                if bit is None:
                    bit = self._set_bits[g] = 1 << len(self._set_bits)
                    for s in g:
                        self._add_string(s, bit)
                    self._rx = None  # recompiled, and cached answers dropped, at the next lookup
                    self._cache.clear()
                mask |= bit
            masks.append(mask)
        return tuple(masks)

    def _add_string(self, s: str, bit: int) -> None:
        if s not in self._strings and self._lowered_in is not None:
            if s.isascii():
                self._lowered_in.register(((frozenset([s.lower()]),),))
                self._by_lower.setdefault(s.lower(), []).append(s)
            else:
                self._not_ascii.append(s)
        self._strings[s] = self._strings.get(s, 0) | bit

    def _find(self, text: str) -> Collection[str]:
        strings = self._strings
        low = None if self._lowered_in is None else lowered(text)
        if low is not None and self._lowered_in is not None:
            by_lower = self._by_lower
            maybe = [s for lo in self._lowered_in.found(low) for s in by_lower.get(lo, ())]
            return [s for s in maybe + self._not_ascii if s in text]
        return [s for s in strings if s in text] if len(strings) <= _FEW_STRINGS else self._scan(text)

    def _scan(self, text: str) -> set[str]:
        rx = self._rx
        if rx is None:
            # two-letter strings occur in most texts and would keep the trie busy at most
            # positions: substring tests find them cheaper
            ordered = sorted(s for s in self._strings if len(s) >= _MIN_TRIE_LEN)
            rx = self._rx = re.compile("(?=(" + _trie_pattern(ordered) + "))" if ordered else "(?!)", re.DOTALL)
            self._prefixes = {s: tuple(p for p in ordered if s.startswith(p)) for s in ordered}
            self._short = [s for s in self._strings if len(s) < _MIN_TRIE_LEN]
        prefixes = self._prefixes
        found = {s for s in self._short if s in text}
        for longest in set(rx.findall(text)):
            found.update(prefixes[longest])
        return found

    def _answer(self, text: str) -> tuple[int, frozenset[str]]:
        got = self._cache.get(text)
        if got is None:
            found = frozenset(self._find(text))
            lit = 0
            for s in found:
                lit |= self._strings[s]
            if len(self._cache) >= 16:  # the detectors of one text ask one after another
                self._cache.clear()
            got = self._cache[text] = (lit, found)
        return got

    def lit(self, text: str) -> int:
        """The bits of the required sets ``text`` holds a string of."""
        return self._answer(text)[0]

    def found(self, text: str) -> frozenset[str]:
        """The registered strings ``text`` holds."""
        return self._answer(text)[1]


def possible(needs: tuple[int, ...], lit: int) -> bool:
    """Can a pattern whose gate is ``needs`` (see :meth:`GateIndex.register`) match a text
    that lights ``lit``? Yes when all bits of one of the masks are lit."""
    if len(needs) == 1:
        return needs[0] & lit == needs[0]
    return not needs or min(map((~lit).__and__, needs)) == 0


# strings required by folded / (?i) gated patterns, looked up in the lowered text;
# and those of case-sensitive gated patterns, looked up in the text itself
LOW_GATES = GateIndex()
RAW_GATES = GateIndex(lowered_in=LOW_GATES)


class FoldedPattern:
    """A ``(?i)`` pattern with the subset of ``re.Pattern``'s API the detectors use."""

    __slots__ = ("pattern", "_ci", "_cs", "_gate", "_needs")

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
        self._needs = LOW_GATES.register(required_gate(body))

    def _absent(self, low: str) -> bool:
        return bool(self._needs) and not possible(self._needs, LOW_GATES.lit(low))

    def search(self, text: str) -> re.Match[str] | None:
        low = lowered(text)
        if low is None:
            return self._ci.search(text)
        return None if self._absent(low) else self._cs.search(low)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        low = lowered(text)
        if low is None:
            return self._ci.finditer(text)
        return iter(()) if self._absent(low) else self._cs.finditer(low)

    def findall(self, text: str) -> list[str]:
        low = lowered(text)
        if low is None:
            return self._ci.findall(text)
        return [] if self._absent(low) else self._cs.findall(low)


def folded(pattern: str) -> FoldedPattern | re.Pattern[str]:
    """``FoldedPattern(pattern)`` when it can be folded, else the compiled ``(?i)`` pattern."""
    try:
        return FoldedPattern(pattern)
    except ValueError:
        return re.compile(pattern)


def _plain_gate(gate: frozenset[str]) -> frozenset[str] | None:
    """``gate`` as found in lowered text, or None if a string has a character with extra
    case forms (its (?i) matches could not be found by a substring test)."""
    low = frozenset(g.lower().translate(_PLAIN) for g in gate)
    if any(ch in _EXTRA_CASE_CHARS and ch not in _PLAIN_FORMS for g in low for ch in g):
        return None
    return low


class GatedPattern:
    """A compiled pattern whose search is skipped when the text holds none of the
    strings every match contains. Matches are the pattern's own, on the original
    text (use it where the matched text's case matters; :class:`FoldedPattern`
    where it does not)."""

    __slots__ = ("pattern", "_rx", "_gate", "_ci", "_needs")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._rx = re.compile(pattern)
        self._ci = pattern.startswith("(?i)")
        body = pattern[4:] if self._ci else pattern
        inline_case = "(?i" in body or "(?-i" in body
        best = None if inline_case else required_strings(body)
        gate = None if best is None else frozenset(best)
        sets: Gate = () if inline_case else required_gate(body)
        if self._ci:
            # compared with the lowered text, mapped to plain forms as (?i) would equate them
            gate = None if gate is None else _plain_gate(gate)
            sets = tuple(tuple(g for g in map(_plain_gate, alt) if g is not None) for alt in sets)
            sets = sets if all(sets) else ()
        self._gate = None if gate is None else tuple(sorted(gate))
        self._needs = (LOW_GATES if self._ci else RAW_GATES).register(sets)

    def _absent(self, text: str) -> bool:
        if not self._needs:
            return False
        if self._ci:
            low = lowered(text)
            # lower-casing changed the length: cannot compare safely, so search
            return low is not None and not possible(self._needs, LOW_GATES.lit(low))
        return not possible(self._needs, RAW_GATES.lit(text))

    @property
    def groups(self) -> int:
        return self._rx.groups

    def search_part(self, text: str, part: str) -> re.Match[str] | None:
        """``search(part)`` for a ``part`` cut from ``text``: skipped when ``text`` itself
        lacks what every match needs, without a gate scan of ``part``. Exact for a slice of
        ``text``; for slices joined by runs of two or more spaces only if no required string
        begins or ends with a space or holds two (then none can straddle a join)."""
        return None if self._absent(text) else self._rx.search(part)

    def search(self, text: str) -> re.Match[str] | None:
        return None if self._absent(text) else self._rx.search(text)

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return iter(()) if self._absent(text) else self._rx.finditer(text)


def gated(pattern: str) -> GatedPattern | re.Pattern[str]:
    """``GatedPattern(pattern)`` when the pattern requires some string, else the compiled pattern."""
    gp = GatedPattern(pattern)
    return gp if gp._needs else gp._rx
