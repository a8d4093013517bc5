from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

# a refusal, a rejection, a dispute, a settlement or a revocation must say why in a real sentence
REASON_MIN = 10


class RequestIn(BaseModel):
    resource_id: int
    consumer_org_id: int | None = Field(None, description="defaults to the caller's own department")
    purpose: str = Field(min_length=4, max_length=2000)
    scenario: str = Field(min_length=4, max_length=2000, description="使用场景")
    system_name: str = Field(min_length=2, max_length=200, description="业务系统名称")
    items: list[str] = Field(min_length=1, max_length=500)
    valid_from: dt.date
    valid_until: dt.date


class ReviewIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=2000)


class DecideIn(BaseModel):
    grant: bool
    reason: str = Field("", max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class SettleIn(BaseModel):
    upheld: bool = Field(description="true: the dispute is upheld and the request granted")
    reason: str = Field(max_length=2000)


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    resource_id: int
    consumer_org_id: int
    provider_org_id: int
    purpose: str
    scenario: str
    system_name: str
    items: list[str]
    valid_from: dt.date
    valid_until: dt.date
    share_type: str
    status: str
    submitted_on: dt.date
    escalated_at: dt.datetime | None
    review_reason: str | None
    decision_reason: str | None
    dispute_reason: str | None
    settle_reason: str | None
    applicant: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    # the step being waited on, from its working-day clock
    due_on: dt.date | None = None
    remaining_workdays: int | None = None
    clock_status: str | None = None  # ok | warning | overdue
    grant_id: int | None = None


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    request_id: int
    consumer_org_id: int
    provider_org_id: int
    resource_id: int
    items: list[str]
    purpose: str
    valid_from: dt.date
    valid_until: dt.date
    status: str
    granted_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_by: str | None
    revoke_reason: str | None
