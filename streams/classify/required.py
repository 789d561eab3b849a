"""What every match of a regex must contain, read from the parsed pattern.

A pattern can only match a text that holds some of its literal strings: ``ignore ... the ...
instructions`` needs a verb, a determiner and a noun. :func:`required_gate` reads those
sets of strings from the standard library's own pattern parser (what ``re.compile`` uses);
``fold`` uses them to skip a search when the text lacks them.
"""

from __future__ import annotations

# the standard library's own pattern parser, to read which literal strings a pattern
# cannot match without
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser as _p  # type: ignore[attr-defined]
from typing import Any

_MIN_GATE_LEN = 3  # shorter required strings occur almost everywhere: no point testing them


def _candidates(items: Any) -> list[frozenset[str]]:
    """Sets of strings, each of which every match of the parsed sequence ``items`` needs
    one of (every element of a sequence is matched, so each set is necessary)."""
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
    return candidates


def _selective(req: frozenset[str]) -> tuple[int, int]:
    # the most selective requirement: longest shortest string, then fewest strings
    return min(map(len, req)), -len(req)


def _required(items: Any) -> frozenset[str] | None:
    """Strings one of which every match of the parsed sequence ``items`` contains, or None."""
    candidates = _candidates(items)
    return max(candidates, key=_selective) if candidates else None


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


Gate = tuple[tuple[frozenset[str], ...], ...]


def _usable(req: frozenset[str]) -> bool:
    # two CJK characters are as rare in a text as three Latin letters
    return all(len(s) >= _MIN_GATE_LEN or len(s) == 2 and not s.isascii() for s in req)


def _conjunction(items: Any) -> tuple[frozenset[str], ...]:
    candidates = _candidates(items)
    usable = {c for c in candidates if _usable(c)}
    if not usable:
        # only two-letter strings ("pt", "SK"): weak, but they still rule out most texts,
        # and without them the pattern could not be gated at all
        usable = {c for c in candidates if min(map(len, c)) >= 2}
    return tuple(sorted(usable, key=lambda c: (_selective(c), sorted(c)), reverse=True))


def required_gate(pattern: str) -> Gate:
    """What a text must hold for ``pattern`` to match in it: for one of the pattern's
    top-level alternatives, a string of each of that alternative's required sets.
    Empty when some alternative requires nothing (then no cheap pre-check is possible).

    Every set is necessary, so together they reject far more texts than
    :func:`required_strings`' single set ("ignore ... the ... instructions" needs a verb,
    a determiner and a noun); and an alternation is only as open as its alternatives.
    """
    try:
        parsed = _p.parse(pattern, 0)
        branches = _alternation(parsed)
        alternatives = (_conjunction(parsed),) if branches is None else tuple(map(_conjunction, branches))
    except Exception:  # an unexpected parse shape only costs the shortcut
        return ()
    return alternatives if all(alternatives) else ()


def _alternation(items: Any) -> list[Any] | None:
    """The branches of ``items`` when it is one alternation (maybe in plain groups, maybe
    between anchors such as ``\\b``, which require nothing), else None."""
    core = [it for it in items if it[0] is not _c.AT]
    while len(core) == 1 and core[0][0] is _c.SUBPATTERN and not core[0][1][1] and not core[0][1][2]:
        core = [it for it in core[0][1][3] if it[0] is not _c.AT]
    return list(core[0][1][1]) if len(core) == 1 and core[0][0] is _c.BRANCH else None
