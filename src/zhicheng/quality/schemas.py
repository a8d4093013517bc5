"""Request and response models of the quality API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

# a rejection or a cancellation must say why in a real sentence (as in sharing)
REASON_MIN = 10


class CorrectionIn(BaseModel):
    resource_id: int
    consumer_org_id: int | None = Field(None, description="defaults to the caller's own department")
    item: str = Field(min_length=1, max_length=100, description="the information item that is wrong")
    record_key: str = Field(min_length=1, max_length=200, description="the row's key value or record id")
    problem: str = Field(min_length=4, max_length=2000, description="what is wrong")
    suggested: str | None = Field(None, max_length=2000, description="the value believed right")


class AnswerIn(BaseModel):
    corrected: bool = Field(description="true: the data was corrected; false: the report is rejected")
    note: str = Field("", max_length=2000, description="optional when corrected; reasons when rejected")


class TaskIn(BaseModel):
    resource_id: int
    reason: str = Field(max_length=2000, description="the legal or functional change that needs the update")


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class Deadline(BaseModel):
    """The working-day clock of a step being waited on (None when nobody is waited on)."""

    due_on: dt.date | None = None
    remaining_workdays: int | None = None
    clock_status: str | None = None  # ok | warning | overdue


class CorrectionOut(Deadline):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resource_id: int
    consumer_org_id: int
    provider_org_id: int
    item: str
    record_key: str
    problem: str
    suggested: str | None
    status: str
    submitted_on: dt.date
    reporter: str
    escalated_at: dt.datetime | None
    answer: str | None
    answered_by: str | None
    answered_on: dt.date | None
    on_time: bool | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class TaskOut(Deadline):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resource_id: int
    provider_org_id: int
    reason: str
    status: str
    opened_by: str
    opened_on: dt.date
    opened_version: int
    escalated_at: dt.datetime | None
    closed_version: int | None
    closed_on: dt.date | None
    on_time: bool | None
    cancel_reason: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class IssueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    resource_id: int
    provider_org_id: int
    update_cycle: str
    source: str
    last_update_at: dt.datetime
    due_at: dt.datetime
    detected_at: dt.datetime
    cleared_at: dt.datetime | None
    cleared_reason: str | None


class ItemCompleteness(BaseModel):
    item: str
    filled: int  # rows where the item has a value
    share: float | None  # filled / rows; None when there are no rows


class CompletenessOut(BaseModel):
    rows: int
    complete_rows: int  # rows with every item filled
    complete_share: float | None
    items: list[ItemCompleteness]


class TimelinessOut(BaseModel):
    update_cycle: str
    cycle_days: int | None  # None: no fixed cycle (不定期), never overdue
    source: str  # dataset: the hosted or proxied data's last load; catalog: the resource's last change
    last_update_at: dt.datetime | None
    due_at: dt.datetime | None  # when the next update is expected (last update + cycle)
    overdue: bool
    open_issue_id: int | None


class ResourceQualityOut(BaseModel):
    resource_id: int
    code: str
    name: str
    provider_org_id: int
    status: str
    data_mode: str  # hosted | proxied | none
    timeliness: TimelinessOut
    completeness: CompletenessOut | None  # hosted data only
    open_corrections: int
    open_task_id: int | None
