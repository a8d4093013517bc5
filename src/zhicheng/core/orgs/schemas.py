from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DivisionIn(BaseModel):
    code: str = Field(
        pattern=r"^\d{6}(\d{3}){0,2}$",
        description="GB/T 2260 code; 9 digits for a street, 12 for a community",
    )
    name: str = Field(min_length=1, max_length=100)
    parent_code: str | None = None


class DivisionOut(DivisionIn):
    model_config = ConfigDict(from_attributes=True)
    level: str


class OrgIn(BaseModel):
    name: str = Field(min_length=2, max_length=100)
    short_name: str | None = Field(None, max_length=40)
    kind: Literal["government", "department", "institution"]
    division_code: str
    parent_id: int | None = None
    line_parent_id: int | None = None
    credit_code: str | None = None


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    short_name: str | None
    kind: str
    division_code: str
    parent_id: int | None
    line_parent_id: int | None
    credit_code: str | None
    active: bool


class PartyIn(BaseModel):
    kind: Literal["citizen", "enterprise"]
    id_number: str = Field(min_length=18, max_length=18)
    name: str = Field(min_length=2, max_length=100)
    phone: str | None = Field(None, pattern=r"^1\d{10}$")


class PartyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    id_number: str
    name: str
    verified_at: dt.datetime | None
    verified_by: str | None
