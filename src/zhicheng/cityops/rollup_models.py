"""The roll-up tables behind the indicators and the dashboard (cityops.rollup keeps them in step).

`cityops_daily` holds, per day × street × category × department, counters of the cases reported
that day in their current state (the cohort counters: reported, decided, registered, …) and the number of
cases closed that day (`closures`, the only flow counter). `cityops_live` holds the open cases now, per
grid × category × department × status, and how many of them are escalated (超期). Both are maintained in
the transaction of every change to a case, so the figures are live; `rollup.rebuild` recounts them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhicheng.cityops.models import Case
from zhicheng.core.db import Base

# drill-down and the roll-up's recount read cases by the day they were reported
Index("ix_cityops_case_reported", Case.__table__.c.reported_on, Case.__table__.c.id)

COHORT = (
    "reported",
    "decided",
    "registered",
    "cancelled",
    "handled",
    "handled_on_time",
    "closed",
    "closed_on_time",
    "reworked",
    "called_back",
    "satisfied",
    "satisfaction_sum",
)
COUNTERS = (*COHORT, "closures")


class Daily(Base):
    """One day × street × category × department. `street_code` is the first 9 digits of the case's grid
    code (district + street): few enough keys that a day of a big city is a few hundred rows, not one per
    case (finer areas are counted from the cases, see indicators). `department_id` is the case's department,
    else the one its routing rule names, else 0 (none)."""

    __tablename__ = "cityops_daily"
    __audit_exempt__ = True
    __table_args__ = (Index("ix_cityops_daily_department", "department_id", "day"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    street_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reported: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    decided: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # registered or cancelled
    registered: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 立案 = 应结案
    cancelled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    handled: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # fed back at least once
    handled_on_time: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    closed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 结案 (closed or evaluated)
    closed_on_time: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reworked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # sent back at least once
    called_back: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # 回访 with satisfaction
    satisfied: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # satisfaction 4 or 5
    satisfaction_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    closures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # closed on this day


class Live(Base):
    """The open cases now, per grid × category × department × status; `overdue`: escalated (超期督办)."""

    __tablename__ = "cityops_live"
    __audit_exempt__ = True

    grid_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    overdue: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


from zhicheng.cityops import rollup as rollup  # noqa: E402,F401  (the hook that keeps these in step)
