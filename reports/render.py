"""Rendering report facts: ``render(kind, facts, fmt) -> bytes``, a pure function.

* ``json``: the facts themselves, canonical (sorted keys) so the same facts
  always give the same bytes and the same SHA-256 in the ledger;
* ``html``: one self-contained printable page (inline CSS and SVG, no
  scripts, no external assets);
* ``md``: the same sections as Markdown.

Templates run with autoescape on and StrictUndefined, so a fact missing from
the facts is an error, never an empty cell.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import charts, registry
from .errors import ReportError

FORMATS = ("html", "md", "json")
_EXTENSIONS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json"}
_TEMPLATES = Path(__file__).parent / "templates"
_CHARTS: dict[str, Callable[[Mapping[str, Any]], dict[str, Markup]]] = {
    "article12": charts.article12_charts,
    "ll-2026-04": charts.ll202604_charts,
}


def format_for_path(path: str | Path) -> str:
    """The output format implied by a file name's extension."""
    ext = Path(path).suffix.lower()
    fmt = _EXTENSIONS.get(ext)
    if fmt is None:
        raise ReportError(f"cannot tell the report format of {str(path)!r} from its extension "
                          f"{ext or '(none)'!r}: expected one of {', '.join(sorted(_EXTENSIONS))}; "
                          "name the output file e.g. report.html")
    return fmt


def _mdcell(value: Any) -> str:
    """A value made safe for one Markdown table cell (pipes and newlines would break the row)."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _code(value: Any) -> Markup:
    """A Markdown code span. Code spans show their content literally (no entity
    decoding), so the value must not be HTML-escaped; a code span cannot carry
    markup either, so this is safe under autoescape. Backticks and newlines,
    which would end the span, are replaced."""
    text = "" if value is None else str(value)
    return Markup("`" + text.replace("`", "'").replace("\r", " ").replace("\n", " ") + "`")


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _seqs(first: Any, last: Any) -> str:
    if first is None:
        return "–"
    return str(first) if first == last else f"{first}–{last}"


def _short(value: Any, n: int = 16) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= n else text[:n] + "…"


def _pct(part: Any, whole: Any) -> str:
    return "–" if not whole else f"{100.0 * float(part) / float(whole):.1f}%"


_env: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    """The (cached) Jinja environment: autoescape on, StrictUndefined."""
    global _env
    if _env is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
            # every template is escaped, Markdown included: Markdown renderers pass
            # raw HTML through, so an unescaped tenant name could inject markup
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )
        env.filters.update(md=_mdcell, code=_code, num=_num, short=_short)
        env.globals.update(seqs=_seqs, pct=_pct)
        _env = env
    return _env


def render(kind: str, facts: Mapping[str, Any], fmt: str) -> bytes:
    """Render gathered ``facts`` of report ``kind`` as ``fmt`` (html | md | json)."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    rk = registry.get(kind)
    if facts.get("kind") != rk.name:
        raise ReportError(f"facts are of report kind {facts.get('kind')!r}, not {rk.name!r}: "
                          f"render them as {facts.get('kind')!r} or gather {rk.name!r} facts")
    if fmt == "json":
        try:
            text = json.dumps(facts, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ReportError(f"facts of {kind!r} are not plain JSON ({exc}): gather them with "
                              "ledgergate.reports.queries") from exc
        return (text + "\n").encode("utf-8")
    name = rk.templates.get(fmt)
    if name is None:
        raise ReportError(f"report kind {kind!r} has no {fmt} template: expected one of "
                          f"{', '.join(sorted(rk.templates))} or json")
    chart_fn = _CHARTS.get(kind)
    try:
        template = environment().get_template(name)
        text = template.render(f=facts, charts=chart_fn(facts) if chart_fn and fmt == "html" else {})
    except jinja2.TemplateNotFound as exc:
        raise ReportError(f"template {exc.name!r} of report kind {kind!r} is missing from {_TEMPLATES}: "
                          "reinstall ledgergate") from exc
    except jinja2.UndefinedError as exc:
        raise ReportError(f"facts of {kind!r} lack a value the {fmt} template needs ({exc.message}): "
                          "gather the facts with the same ledgergate version") from exc
    return text.encode("utf-8")


def render_to(kind: str, facts: Mapping[str, Any], path: str | Path) -> tuple[bytes, str]:
    """Render in the format named by ``path``'s extension; return (bytes, sha256 hex).

    Writes nothing: the caller writes the bytes and records the hash in the ledger.
    """
    data = render(kind, facts, format_for_path(path))
    return data, hashlib.sha256(data).hexdigest()
