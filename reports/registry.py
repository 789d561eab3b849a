"""Report kinds: a small protocol and an explicit name → factory registry.

A kind knows its name, how to gather its facts, and which templates render
it. Built-in kinds are registered here, explicitly, when this module is
imported; nothing registers itself by side effect elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .context import ReportContext
from .errors import ReportError
from .queries import Period, Progress, Query, gather_article12, gather_ll202604

# The formats a template renders; json is produced from the facts directly.
TEMPLATE_FORMATS = ("html", "md")


class Gather(Protocol):
    def __call__(self, q: Query, period: Period, context: ReportContext, *,
                 tenant: str | None = None, route: str | None = None,
                 integrity: Mapping[str, Any] | None = None,
                 now: dt.datetime | None = None,
                 progress: Progress | None = None) -> dict[str, Any]: ...


class ReportKind(Protocol):
    """What the renderer and the scheduler need to know about one kind of report."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def templates(self) -> Mapping[str, str]:
        """Template file per format (``html``, ``md``)."""
        ...

    def gather(self, q: Query, period: Period, context: ReportContext, *,
               tenant: str | None = None, route: str | None = None,
               integrity: Mapping[str, Any] | None = None,
               now: dt.datetime | None = None,
               progress: Progress | None = None) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SimpleKind:
    """A report kind made of a gather function and its templates."""

    name: str
    title: str
    gather_fn: Gather
    templates: Mapping[str, str]

    def gather(self, q: Query, period: Period, context: ReportContext, *,
               tenant: str | None = None, route: str | None = None,
               integrity: Mapping[str, Any] | None = None,
               now: dt.datetime | None = None,
               progress: Progress | None = None) -> dict[str, Any]:
        return self.gather_fn(q, period, context, tenant=tenant, route=route,
                              integrity=integrity, now=now, progress=progress)


Factory = Callable[[], ReportKind]

_FACTORIES: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Register a report kind; a name can be registered once."""
    if not isinstance(name, str) or not name:
        raise ReportError(f"report kind name {name!r} is not a non-empty string: name it, e.g. 'article12'")
    if name in _FACTORIES:
        raise ReportError(f"report kind {name!r} is already registered: choose another name or "
                          f"unregister({name!r}) first")
    _FACTORIES[name] = factory


def unregister(name: str) -> None:
    """Remove a kind (tests and plugins replacing a built-in)."""
    if name not in _FACTORIES:
        raise ReportError(f"report kind {name!r} is not registered; registered: {', '.join(names())}")
    del _FACTORIES[name]


def names() -> list[str]:
    """Registered kind names, sorted."""
    return sorted(_FACTORIES)


def get(name: str) -> ReportKind:
    """The report kind called ``name``."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ReportError(f"unknown report kind {name!r}: expected one of {', '.join(names())}")
    kind = factory()
    if kind.name != name:
        raise ReportError(f"report kind registered as {name!r} calls itself {kind.name!r}: "
                          "register it under its own name")
    return kind


def _article12() -> ReportKind:
    return SimpleKind("article12", "Record-keeping report (Article 12)", gather_article12,
                      {"html": "article12.html.j2", "md": "article12.md.j2"})


def _ll202604() -> ReportKind:
    return SimpleKind("ll-2026-04", "AI governance report (Fannie Mae LL-2026-04)", gather_ll202604,
                      {"html": "ll202604.html.j2", "md": "ll202604.md.j2"})


register("article12", _article12)
register("ll-2026-04", _ll202604)
