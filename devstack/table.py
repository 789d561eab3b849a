"""Plain-text tables for people reading a terminal (``events list``, the demo's decisions)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any


def table(rows: Sequence[dict[str, Any]], cols: list[str]) -> str:
    """``rows`` as aligned columns ``cols`` under a header; long cells are shortened."""
    if not rows:
        return "(no records)"
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(ln.rstrip() for ln in out)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ",".join(map(str, v))
    s = str(v)
    if len(s) <= 40 or " " not in s:
        return s  # identifiers are never cut: a shortened id names nothing
    return textwrap.shorten(s, 40, placeholder=" ...")  # cut between words, never inside one
