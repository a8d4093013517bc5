"""Request and response models of one-stop services."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhicheng.approvals import vocab
from zhicheng.core.calendar.clock import MAX_WORKDAYS

REASON_MIN = 10  # a refusal, a rejection, a correction notice or a lift states its reasons in a real sentence
MAX_MATERIAL_MB = 100


class MaterialIn(BaseModel):
    code: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="the material's key in submissions")
    name: str = Field(min_length=1, max_length=200)
    required: bool = True
    core: bool = Field(False, description="主审要件: can never be missing at acceptance")
    rongque: bool = Field(False, description="容缺: a required non-core material that may follow acceptance")
    formats: list[str] = Field(default_factory=lambda: ["pdf", "ofd", "jpg", "png"], min_length=1)
    max_mb: int = Field(10, ge=1, le=MAX_MATERIAL_MB)
    template: str | None = Field(None, max_length=200, description="name of the blank form or sample")
    note: str = Field("", max_length=1000)

    @field_validator("formats")
    @classmethod
    def _formats(cls, value: list[str]) -> list[str]:
        out = [v.strip().lower().lstrip(".") for v in value]
        unknown = [v for v in out if v not in vocab.FORMATS]
        if unknown:
            raise ValueError(f"unknown formats {unknown}; known: {sorted(vocab.FORMATS)}")
        return list(dict.fromkeys(out))

    @model_validator(mode="after")
    def _rongque(self) -> MaterialIn:
        if self.rongque and (self.core or not self.required):
            raise ValueError(f"material {self.code}: only a required non-core material can be 容缺")
        return self


class FieldIn(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(min_length=1, max_length=100)
    type: Literal["text", "number", "date", "phone", "id_number", "credit_code"] = "text"
    required: bool = True
    max_length: int = Field(200, ge=1, le=5000)


class ItemBody(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    kind: str = Field(description="行政许可, 行政确认, 公共服务, ... (or license, confirmation, ...)")
    org_id: int = Field(
        description="实施主体: the implementing organization (the approval bureau, in bureau mode)"
    )
    deciding_org_id: int | None = Field(
        None, description="the department that really decides, in bureau mode"
    )
    legal_basis: str = Field(min_length=2, max_length=4000)
    conditions: str = Field("", max_length=4000)
    statutory_days: int = Field(ge=1, le=MAX_WORKDAYS, description="法定时限, working days")
    promised_days: int = Field(ge=1, le=MAX_WORKDAYS, description="承诺时限, working days; ≤ statutory")
    fee: str = Field("不收费", max_length=1000)
    result_name: str = Field("", max_length=200)
    certificate_type: str | None = Field(
        None, max_length=100, description="电子证照类型; none: no certificate"
    )
    materials: list[MaterialIn] = Field(default_factory=list, max_length=100)
    form: list[FieldIn] = Field(default_factory=list, max_length=100)
    flow_code: str = Field(min_length=1, max_length=40)
    note: str = Field("", max_length=200, description="why this version")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        found = vocab.key_for(vocab.ITEM_KINDS, value)
        if found is None:
            raise ValueError(f"kind must be one of {sorted(vocab.ITEM_KINDS)} or their Chinese names")
        return found

    @model_validator(mode="after")
    def _limits(self) -> ItemBody:
        if self.promised_days > self.statutory_days:
            raise ValueError(
                "the promised limit cannot exceed the statutory limit (承诺时限不得超过法定时限)"
            )
        codes = [m.code for m in self.materials]
        if len(set(codes)) != len(codes):
            raise ValueError("material codes repeat")
        keys = [f.key for f in self.form]
        if len(set(keys)) != len(keys):
            raise ValueError("form field keys repeat")
        return self


class ItemIn(ItemBody):
    code: str = Field(pattern=r"^[0-9A-Za-z-]{4,40}$", description="事项编码 (GB/T 39554.1)")


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    kind: str
    kind_zh: str = ""
    org_id: int
    org_name: str = ""
    deciding_org_id: int | None
    decided_by_org_id: int = 0
    decided_by: str = Field(
        "", description="who really decides: the deciding department, else the implementer"
    )
    legal_basis: str
    conditions: str
    statutory_days: int
    promised_days: int
    fee: str
    result_name: str
    certificate_type: str | None
    materials: list[dict[str, Any]]
    form: list[dict[str, Any]]
    flow_code: str
    status: str
    version: int
    updated_at: dt.datetime


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    snapshot: dict[str, Any]
    changed_fields: list[str]
    note: str
    actor: str
    at: dt.datetime


class ReasonIn(BaseModel):
    reason: str = Field(max_length=2000)


class FlowIn(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$")
    name: str = Field(min_length=2, max_length=200)
    owner_org_id: int
    definition: dict[str, Any]
    note: str = Field("", max_length=200)


class FlowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    version: int
    name: str
    owner_org_id: int
    definition: dict[str, Any]
    note: str
    created_by: str
    created_at: dt.datetime
    decision_days: int = 0
    versions: list[int] = Field(default_factory=list)


class FlowCheckIn(BaseModel):
    definition: dict[str, Any]


class UploadOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    sm3: str
    filename: str
    extension: str
    size: int
    created_at: dt.datetime


class ApplicantIn(BaseModel):
    kind: Literal["citizen", "enterprise"]
    id_number: str = Field(min_length=15, max_length=18)
    name: str = Field(min_length=2, max_length=100)
    phone: str | None = Field(None, pattern=r"^1\d{10}$")


class CheckIn(BaseModel):
    form: dict[str, Any] = Field(default_factory=dict)
    materials: dict[str, int] = Field(default_factory=dict, description="material code → upload id")


class CaseIn(CheckIn):
    item_code: str
    applicant: ApplicantIn | None = Field(
        None, description="who applies, for a portal system or a window clerk; a citizen's own login omits it"
    )
    client_token: str | None = Field(
        None, min_length=8, max_length=80, description="the idempotency key, if no Idempotency-Key header"
    )


class SupplyIn(CheckIn):
    pass


class AcceptIn(BaseModel):
    rongque: bool = Field(False, description="容缺受理: accept though 容缺-eligible materials are missing")
    supplement_days: int | None = Field(
        None, ge=1, le=20, description="working days to supplement; default: the longest allowed"
    )
    note: str = Field("", max_length=2000)
    version: int | None = Field(None, description="the case version the clerk saw (409 if it changed)")


class CorrectionIn(BaseModel):
    materials: list[str] = Field(default_factory=list, max_length=100)
    fields: list[str] = Field(default_factory=list, max_length=100)
    note: str = Field(max_length=2000, description="一次性告知: everything to correct, with reasons")
    version: int | None = None


class ConcludeIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=2000)
    version: int | None = Field(None, description="the task version the reviewer saw (409 if it changed)")


class DecideIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=2000)
    version: int | None = Field(None, description="the case version the officer saw (409 if it changed)")


class PauseIn(BaseModel):
    reason: Literal["hearing", "testing", "inspection", "quarantine", "expert_review"]
    note: str = Field(min_length=2, max_length=2000)


class DeliverIn(BaseModel):
    method: Literal["online", "window", "mail"]
    tracking_no: str | None = Field(
        None, min_length=4, max_length=60, description="mail: the tracking number"
    )
    note: str = Field("", max_length=2000)


class BlacklistIn(BaseModel):
    kind: Literal["citizen", "enterprise"]
    id_number: str = Field(min_length=15, max_length=18)
    reason: str = Field(max_length=2000)
    source: str = Field("信用中国", min_length=2, max_length=100)


class BlacklistOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    id_number: str
    reason: str
    source: str
    listed_on: dt.date
    listed_by: str
    lifted_at: dt.datetime | None
    lift_reason: str | None


class AckIn(BaseModel):
    instruction: str = Field(min_length=4, max_length=2000, description="督办意见")


class CaseRow(BaseModel):
    id: int
    number: str
    item_code: str
    item_name: str
    applicant_name: str
    status: str
    status_zh: str
    stage: str
    version: int
    window_org_id: int
    submitted_on: dt.date
    rongque: bool
    due_on: dt.date | None
    remaining_workdays: int | None
    clock_status: str = Field(description="ok | warning (yellow) | overdue (red) | paused | stopped")


class CasePage(BaseModel):
    items: list[CaseRow]
    next_cursor: str | None = None


class CaseOut(BaseModel):
    id: int
    number: str
    item_code: str
    item_name: str
    item_version: int
    flow_code: str
    flow_version: int
    party_id: int
    applicant_kind: str
    applicant_name: str
    status: str
    status_zh: str
    stage: str
    stage_name: str
    stage_kind: str
    version: int
    window_org_id: int
    window_org_name: str
    submitted_on: dt.date
    accepted_on: dt.date | None
    decided_on: dt.date | None
    closed_on: dt.date | None
    promised_days: int
    statutory_days: int
    promised_due_on: dt.date | None
    statutory_due_on: dt.date | None
    stage_due_on: dt.date | None
    due_on: dt.date | None
    remaining_workdays: int | None
    clock_status: str
    rongque: bool
    rongque_missing: list[str]
    supplement_due_on: dt.date | None
    supplements_done_on: dt.date | None
    correction: dict[str, Any] | None
    pause_reason: str | None
    pause_reason_zh: str | None
    outcome: str | None
    reason: str | None
    certificate_no: str | None
    delivery_method: str | None
    tracking_no: str | None
    escalated_at: dt.datetime | None
    form: dict[str, Any]
    materials: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    created_at: dt.datetime
    updated_at: dt.datetime
    replayed: bool = Field(False, description="true when an Idempotency-Key returned an earlier submission")


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: dt.datetime
    day: dt.date
    kind: str
    stage: str
    actor: str | None
    public: bool
    note: str
    data: dict[str, Any]


class TaskRow(BaseModel):
    id: int
    case_id: int
    case_number: str
    item_name: str
    applicant_name: str
    case_status: str
    stage: str
    kind: str
    kind_zh: str
    queue: str
    org_id: int
    org_name: str
    round: int
    status: str
    version: int
    due_on: dt.date
    remaining_workdays: int
    clock_status: str
    opened_at: dt.datetime
    escalated_at: dt.datetime | None


class TaskPage(BaseModel):
    items: list[TaskRow]
    next_cursor: str | None = None
