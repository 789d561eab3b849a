"""Validate a record against an Avro schema before it is encoded, naming every failing field path.

Used by the SDK and ``POST /v1/events``. The schema is compiled once per name
into nested checkers (a walk over the schema JSON per record cost more than the
encoding itself); each checker returns the value with record defaults filled in
and appends ``(field path, message)`` for what the encoder would reject: a
wrong type, an int or long out of range, a string that is not valid Unicode, a
missing required field, an unknown field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ledgergate.errors import LedgergateError
from ledgergate.schemas.codec import schema

Problems = list[tuple[str, str]]
Checker = Callable[[Any, str, Problems], Any]

_PRIMS: dict[str, tuple[type, ...]] = {
    "string": (str,), "long": (int,), "int": (int,), "double": (float, int), "float": (float, int),
    "boolean": (bool,), "bytes": (bytes,), "null": (type(None),),
}
_RANGES = {"int": (-2**31, 2**31, "an int is 32-bit"), "long": (-2**63, 2**63, "a long is 64-bit")}


class EventValidationError(LedgergateError, ValueError):
    """A record does not fit its schema; ``problems`` lists ``(field path, message)``."""

    def __init__(self, name: str, problems: Problems) -> None:
        self.name = name
        self.problems = problems
        super().__init__(f"invalid {name}: " + "; ".join(f"{p}: {m}" for p, m in problems))


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_primitive(t: str, v: Any, path: str, out: Problems) -> None:
    """Type and range of one primitive value (the encoder would fail on what this lets through)."""
    ok = _PRIMS.get(t)
    if ok is None:
        out.append((path, f"unknown Avro type {t!r}"))
        return
    if isinstance(v, bool) and t != "boolean":
        ok = ()
    if not isinstance(v, ok):
        out.append((path, f"expected {t}, got {type(v).__name__} {v!r:.40}"))
    elif t in _RANGES and isinstance(v, int):
        lo, hi, what = _RANGES[t]
        if not lo <= v < hi:
            out.append((path, f"{v!r:.40} is out of range: {what} ({lo} to {hi - 1})"))
    elif t == "string" and isinstance(v, str) and not _encodable(v):
        out.append((path, "the string holds an unpaired UTF-16 surrogate: send valid Unicode text"))


def _primitive(t: str) -> Checker:
    if t == "string":
        def check_str(v: Any, path: str, out: Problems) -> Any:
            if type(v) is not str or not v.isascii():  # ASCII text is always encodable
                _check_primitive(t, v, path, out)
            return v
        return check_str
    if t in _RANGES:
        lo, hi, _ = _RANGES[t]

        def check_int(v: Any, path: str, out: Problems) -> Any:
            if type(v) is not int or not lo <= v < hi:
                _check_primitive(t, v, path, out)
            return v
        return check_int

    def check(v: Any, path: str, out: Problems) -> Any:
        _check_primitive(t, v, path, out)
        return v
    return check


def _union(branches: list[Any], named: dict[str, Any]) -> Checker:
    nullable = "null" in branches
    non_null = [x for x in branches if x != "null"]
    if len(non_null) == 1:
        only = _compile(non_null[0], named)

        def check_optional(v: Any, path: str, out: Problems) -> Any:
            return None if v is None and nullable else only(v, path, out)
        return check_optional
    options = [_compile(x, named) for x in non_null]

    def check_union(v: Any, path: str, out: Problems) -> Any:
        if v is None and nullable:
            return None
        for option in options:
            trial: Problems = []
            r = option(v, path, trial)
            if not trial:
                return r
        out.append((path, f"matches none of {branches}"))
        return v
    return check_union


def _record(t: Mapping[str, Any], named: dict[str, Any]) -> Checker:
    name = t["name"]
    fields = []
    for f in t["fields"]:
        d = f.get("default")
        fields.append((f["name"], _compile(f["type"], named), "default" in f,
                       type(d) if isinstance(d, (list, dict)) else None, d))
    known = frozenset(f[0] for f in fields)
    listed = sorted(known)

    def check_record(v: Any, path: str, out: Problems) -> Any:
        if not isinstance(v, Mapping):
            out.append((path, f"expected an object ({name}), got {type(v).__name__}"))
            return v
        res: dict[str, Any] = {}
        prefix = f"{path}." if path else ""
        for fname, check, has_default, fresh, default in fields:
            if fname in v:
                res[fname] = check(v[fname], prefix + fname, out)
            elif has_default:
                res[fname] = fresh() if fresh is not None else default
            else:
                out.append((prefix + fname, "required field is missing"))
        if not known.issuperset(v):
            for k in v:
                if k not in known:
                    out.append((f"{prefix}{k}", f"unknown field; {name} has {listed}"))
        return res
    return check_record


def _compile(t: Any, named: dict[str, Any]) -> Checker:
    """The checker of Avro type ``t`` (named types are resolved when first checked)."""
    if isinstance(t, str):
        if t in named:
            return lambda v, path, out: named[t](v, path, out)
        return _primitive(t)
    if isinstance(t, list):  # union: null first in our schemas
        return _union(t, named)
    kind = t.get("type")
    if kind == "record":
        holder: list[Checker] = []
        named[t["name"]] = lambda v, path, out: holder[0](v, path, out)
        if "namespace" in t:
            named[f"{t['namespace']}.{t['name']}"] = named[t["name"]]
        holder.append(_record(t, named))
        return holder[0]
    if kind == "array":
        item = _compile(t["items"], named)

        def check_array(v: Any, path: str, out: Problems) -> Any:
            if not isinstance(v, list):
                out.append((path, f"expected an array, got {type(v).__name__}"))
                return v
            return [item(x, f"{path}[{i}]", out) for i, x in enumerate(v)]
        return check_array
    if kind == "map":
        value = _compile(t["values"], named)

        def check_map(v: Any, path: str, out: Problems) -> Any:
            if not isinstance(v, Mapping):
                out.append((path, f"expected an object of {t['values']}, got {type(v).__name__}"))
                return v
            for k in v:
                if not isinstance(k, str) or not _encodable(k):
                    out.append((f"{path}.{k!r:.40}", "map keys must be valid Unicode strings"))
            return {k: value(x, f"{path}.{k}", out) for k, x in v.items()}
        return check_map
    return _compile(kind, named)


_compiled: dict[str, Checker] = {}


def validate(name: str, record: Any) -> dict[str, Any]:
    """The record with defaults filled; EventValidationError listing every failing path."""
    check = _compiled.get(name)
    if check is None:
        check = _compiled[name] = _compile(schema(name).raw, {})
    problems: Problems = []
    out = check(record, "", problems)
    if problems:
        raise EventValidationError(name, problems)
    return out  # type: ignore[no-any-return]
