from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zhicheng.catalog import vocab


def _one_of(name: str, options: dict[str, str]):  # noqa: ANN202
    """A validator accepting a key or its Chinese label, storing the key."""

    def check(cls, value: str) -> str:  # noqa: ANN001
        found = vocab.key_for(options, value)
        if found is None:
            raise ValueError(f"{name} must be one of {sorted(options)} or {sorted(options.values())}")
        return found

    return field_validator(name)(check)


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    data_type: str = "string"
    description: str = Field("", max_length=2000)
    sensitivity: str = "none"
    share_type: str | None = Field(None, description="defaults to the resource's sharing type")

    _dt = _one_of("data_type", vocab.DATA_TYPES)
    _sens = _one_of("sensitivity", vocab.SENSITIVITY)

    @field_validator("share_type")
    @classmethod
    def _share(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        found = vocab.key_for(vocab.SHARE_TYPES, value)
        if found is None:
            raise ValueError(f"share_type must be one of {sorted(vocab.SHARE_TYPES)}")
        return found


class ResourceIn(BaseModel):
    name: str = Field(min_length=2, max_length=200)
    class_code: str = Field(pattern=r"^\d{1,16}$")
    provider_org_id: int
    summary: str = Field("", max_length=4000)
    format: str
    share_type: str
    share_condition: str | None = Field(None, max_length=2000)
    share_basis: str | None = Field(None, max_length=2000)
    share_mode: str = "api"
    open_type: str = "none"
    update_cycle: str
    grade: str = "general"
    published_on: dt.date | None = None
    related_codes: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    items: list[ItemIn] = Field(min_length=1, max_length=500)

    _fmt = _one_of("format", vocab.FORMATS)
    _st = _one_of("share_type", vocab.SHARE_TYPES)
    _sm = _one_of("share_mode", vocab.SHARE_MODES)
    _ot = _one_of("open_type", vocab.OPEN_TYPES)
    _uc = _one_of("update_cycle", vocab.UPDATE_CYCLES)
    _gr = _one_of("grade", vocab.GRADES)

    @model_validator(mode="after")
    def _sharing_rules(self) -> ResourceIn:
        """国发〔2016〕51号: 有条件 states its condition; 不予共享 states its legal basis."""
        if self.share_type == "conditional" and not (self.share_condition or "").strip():
            raise ValueError("有条件共享须写明共享条件 / a conditional resource must state its condition")
        if self.share_type == "none" and not (self.share_basis or "").strip():
            raise ValueError("不予共享须有法律、行政法规或政策依据 / refusing to share needs a legal basis")
        names = [i.name for i in self.items]
        if len(names) != len(set(names)):
            raise ValueError("信息项名称重复 / item names must be unique")
        for item in self.items:
            item.share_type = item.share_type or self.share_type
            if vocab.SHARE_ORDER[item.share_type] < vocab.SHARE_ORDER[self.share_type]:
                raise ValueError(
                    f"信息项“{item.name}”的共享类型不能宽于资源本身 / item {item.name} cannot be shared more "
                    "freely than its resource"
                )
        return self


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    position: int
    name: str
    data_type: str
    description: str
    sensitivity: str
    share_type: str


class ResourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    class_code: str
    provider_org_id: int
    summary: str
    format: str
    share_type: str
    share_condition: str | None
    share_basis: str | None
    share_mode: str
    open_type: str
    update_cycle: str
    grade: str
    published_on: dt.date | None
    related_codes: list[str]
    keywords: list[str]
    status: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ResourceDetail(ResourceOut):
    items: list[ItemOut]


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    changed_fields: list[str]
    note: str
    actor: str
    at: dt.datetime


class ClassIn(BaseModel):
    code: str = Field(pattern=r"^\d{1,16}$")
    name: str = Field(min_length=1, max_length=100)


class ClassOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    level: int
    parent_code: str | None
