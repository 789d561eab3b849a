"""Inline SVG charts for the HTML reports: pure functions of the facts.

No scripts, fonts or external files: the SVG is embedded in the page so the
report stays self-contained and prints as drawn. Every label is escaped here
because the result is marked safe for the (autoescaping) templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

# Colour per outcome; hues chosen to stay distinguishable in greyscale print.
COLOURS: dict[str, str] = {
    "allow": "#3d8b5f", "redact": "#e0a526", "block": "#b8412f",
    "forwarded": "#3d8b5f", "refused-policy": "#b8412f", "refused-timeout": "#7d5ba6",
    "refused-unavailable": "#4a6fa5", "upstream-error": "#7f7f7f",
    "decisions": "#4a6fa5", "responses": "#9bb7d4",
}
_FONT = "font-family:Helvetica,Arial,sans-serif"


def _fmt(n: float) -> str:
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,.1f}"


def _nice_max(v: float) -> float:
    """A round axis maximum at or above ``v`` whose quarters are whole numbers."""
    if v <= 8:
        return 4.0 if v <= 4 else 8.0
    if v <= 12:
        return 12.0
    mag = 10 ** (len(str(int(v))) - 1)
    for m in (1.2, 1.6, 2, 2.4, 3.2, 4, 6, 8, 10):
        if m * mag >= v:
            return float(m * mag)
    return float(10 * mag)


def _legend(series: Sequence[str], x: float, y: float) -> list[str]:
    out, cx = [], x
    for s in series:
        out.append(f'<rect x="{cx:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{COLOURS.get(s, "#999")}"/>')
        out.append(f'<text x="{cx + 14:.1f}" y="{y:.1f}" font-size="11">{escape(s)}</text>')
        cx += 22 + 6.5 * len(s)
    return out


def stacked_bars(title: str, rows: Sequence[tuple[str, Mapping[str, int]]],
                 series: Sequence[str], *, width: int = 760) -> Markup:
    """Horizontal stacked bars: one bar per row label, one segment per series."""
    label_w, bar_h, gap, top = 150, 18, 8, 46
    plot_w = width - label_w - 70
    height = top + len(rows) * (bar_h + gap) + 24
    total_max = max((sum(v.get(s, 0) for s in series) for _, v in rows), default=0)
    scale = plot_w / _nice_max(total_max)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width:{width}px;{_FONT}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']
    parts += _legend(series, 0, 34)
    for i, (label, values) in enumerate(rows):
        y = top + i * (bar_h + gap)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="11" text-anchor="end">'
                     f"{escape(label[:24])}</text>")
        x = float(label_w)
        for s in series:
            v = values.get(s, 0)
            if v <= 0:
                continue
            w = max(v * scale, 1.0)
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{COLOURS.get(s, "#999")}"><title>{escape(label)} · {escape(s)}: '
                         f"{_fmt(v)}</title></rect>")
            x += w
        total = sum(values.get(s, 0) for s in series)
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" font-size="11">{_fmt(total)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(title: str, buckets: Sequence[tuple[str, Mapping[str, int]]],
            series: Sequence[str], *, width: int = 760, height: int = 240) -> Markup:
    """Vertical stacked columns over time (one column per bucket)."""
    left, right, top, bottom = 56, 10, 46, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(buckets), 1)
    slot = plot_w / n
    col_w = max(slot * 0.8, 1.0)
    vmax = _nice_max(max((sum(v.get(s, 0) for s in series) for _, v in buckets), default=0))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width:{width}px;{_FONT}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']
    parts += _legend(series, left, 34)
    for k in range(5):  # horizontal grid lines with axis values
        v = vmax * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ddd" stroke-width="1"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">{_fmt(v)}</text>')
    every = max(1, round(n / 12))  # at most ~12 date labels, so they never overlap
    for i, (label, values) in enumerate(buckets):
        x = left + i * slot + (slot - col_w) / 2
        y = float(top + plot_h)
        for s in series:
            v = values.get(s, 0)
            if v <= 0:
                continue
            h = plot_h * v / vmax
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{col_w:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS.get(s, "#999")}"><title>{escape(label)} · {escape(s)}: '
                         f"{_fmt(v)}</title></rect>")
        if i % every == 0:
            parts.append(f'<text x="{x + col_w / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
                         f'text-anchor="middle">{escape(label[5:] if len(label) == 10 else label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
                 f'stroke="#333" stroke-width="1"/>')
    if buckets:
        parts.append(f'<text x="{left}" y="{height - 4}" font-size="10">{escape(buckets[0][0])} … '
                     f"{escape(buckets[-1][0])} (UTC)</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def article12_charts(facts: Mapping[str, object]) -> dict[str, Markup]:
    """The charts of the Article 12 report."""
    mon = facts["monitoring"]  # type: ignore[index]
    rows = [(r["route_id"] or "(no route)", r) for r in mon["by_route"]]  # type: ignore[index]
    tl = mon["timeline"]  # type: ignore[index]
    return {
        "decisions_by_route": stacked_bars("Decisions by route and outcome", rows, ("allow", "redact", "block")),
        "responses_by_route": stacked_bars("Responses by route and outcome", rows,
                                           ("forwarded", "refused-policy", "refused-timeout",
                                            "refused-unavailable", "upstream-error")),
        "volume": columns(f"Decisions per {tl['unit']} by outcome", [(b["bucket"], b) for b in tl["buckets"]],
                          ("allow", "redact", "block")),
    }


def ll202604_charts(facts: Mapping[str, object]) -> dict[str, Markup]:
    """The charts of the LL-2026-04 report."""
    inv = facts["inventory"]["rows"]  # type: ignore[index]
    rows = [(f"{r['route_id'] or '(no route)'} → {r['upstream_id'] or '?'}", r) for r in inv]
    return {"use_by_route": stacked_bars("AI use by route (decisions and responses)", rows,
                                         ("decisions", "responses"))}
