"""The report-gathering API in one place (the code lives in one module per concern).

* :mod:`.base` — periods, the :class:`Query` protocol, footnoted queries, scope;
* :mod:`.figures` — figures both reports share; :mod:`.integrity` — what verification establishes;
* :mod:`.governance` — human facts: triage, incidents and their 36-hour clock, overrides,
  suspensions, notifications, gate refusals;
* :mod:`.article12`, :mod:`.ll202604` — one module per report kind.
"""

from __future__ import annotations

from .article12 import gather_article12
from .base import DuckDBQuery, Period, Progress, Query, iso_us
from .governance import NOTIFY_WINDOW_HOURS, clock
from .ll202604 import gather_ll202604

__all__ = ["DuckDBQuery", "NOTIFY_WINDOW_HOURS", "Period", "Progress", "Query", "clock",
           "gather_article12", "gather_ll202604", "iso_us"]
