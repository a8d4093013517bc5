from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=200)
    org_id: int | None = None
    party_id: int | None = None
    locale: str = Field("zh", pattern="^(zh|en)$")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    org_id: int | None
    party_id: int | None
    locale: str
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class GrantIn(BaseModel):
    role: str
    org_id: int


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    role_code: str
    org_id: int


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    org_id: int
    roles: list[str] = Field(min_length=1)
    days: int = Field(365, ge=1, le=3650)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    name: str
    org_id: int
    roles: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; only its digest is stored")


class RoleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name_zh: str
    name_en: str
    permissions: list[str]
    builtin: bool
