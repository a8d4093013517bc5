from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DayIn(BaseModel):
    day: dt.date = Field(description="YYYY-MM-DD")
    kind: Literal["holiday", "workday"] = Field(
        description="holiday: a weekday off; workday: a weekend day worked (调休)"
    )
    name: str = Field("", max_length=40, description="e.g. 元旦; a workday defaults to 调休")


class DayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    day: dt.date
    kind: str
    name: str


class YearOut(BaseModel):
    year: int
    published: bool = Field(description="false: deadlines touching this year are provisional (weekends only)")
    source: str | None
    published_at: dt.datetime | None
    days: list[DayOut] = Field(description="the exceptions to the weekend rule; drafts while unpublished")


class PublishOut(BaseModel):
    year: int
    published: bool
    published_at: dt.datetime | None
    recomputed: int = Field(description="running or paused clocks whose due date moved")


class DeadlineOut(BaseModel):
    start: dt.date
    days: int
    due: dt.date
    provisional: bool = Field(description="true when a counted day lies in a year not yet published")
