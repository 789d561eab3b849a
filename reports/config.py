"""The ``reports:`` section: who the reports name and which are generated on a schedule.

Assembled into the one ``Settings`` model by ``ledgergate.config``, the only reader of the
environment; nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field

from ledgergate.configbase import Section


class ReportSchedule(Section):
    kind: Literal["article12", "ll-2026-04"]
    every: Literal["monthly", "weekly", "daily"] = "monthly"
    per_tenant: bool = True
    format: Literal["html", "md", "json"] = "html"
    out_dir: Path = Path("reports")


class ReportsConfig(Section):
    provider: str = "ledgergate deployment"
    deployer: str = ""
    regime: str = "Regulation (EU) 2024/1689 (AI Act)"
    # The date in the Regulation as published (Art. 113). The Digital Omnibus
    # proposal would move Annex III obligations later; a proposal is not law, so
    # the report states the adopted date and names the proposal as pending.
    application_date: dt.date = dt.date(2026, 8, 2)
    application_note: str = (
        "Annex III high-risk obligations apply from this date under Art. 113 of Regulation (EU) 2024/1689 "
        "as published. The Digital Omnibus proposal would postpone them (to as late as 2 December 2027); "
        "it is shown here as a proposal, not as settled law: set reports.application_date and "
        "reports.application_note once its adoption is confirmed")
    loan_field: str = Field("loan_id", description="request metadata field holding a loan or case-file reference")
    schedules: tuple[ReportSchedule, ...] = ()
