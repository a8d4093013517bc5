"""Checks for the codes organizations carry: division codes, resident ID numbers, credit codes."""

from __future__ import annotations

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from zhicheng.core.errors import Invalid

LEVELS = ("province", "prefecture", "county", "street", "community")
LEVEL_ZH = {
    "province": "省级",
    "prefecture": "地市级",
    "county": "区县级",
    "street": "乡镇街道",
    "community": "村社区",
}
# GB/T 2260 province-level codes (the first two digits)
PROVINCES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
}


def division_level(code: str) -> str:
    """The level of a division code: 6 digits for province to county, 9 for street, 12 for community."""
    if not code.isdigit() or len(code) not in (6, 9, 12) or code[:2] not in PROVINCES:
        raise Invalid(f"行政区划代码无效：{code}", f"invalid administrative division code: {code}")
    if len(code) == 12:
        return "community"
    if len(code) == 9:
        return "street"
    if code[2:] == "0000":
        return "province"
    if code[4:] == "00":
        return "prefecture"
    return "county"


def division_prefix(code: str) -> str:
    """The prefix every division below this one starts with."""
    return {"province": code[:2], "prefecture": code[:4], "county": code[:6], "street": code[:9]}.get(
        division_level(code), code
    )


def check_parent(code: str, parent: str | None) -> None:
    level = division_level(code)
    if level == "province":
        if parent:
            raise Invalid("省级区划没有上级", "a province has no parent division")
        return
    if not parent:
        raise Invalid(f"{code} 需要上级区划", f"{code} needs a parent division")
    plevel = division_level(parent)
    if LEVELS.index(plevel) != LEVELS.index(level) - 1 or not code.startswith(division_prefix(parent)):
        raise Invalid(f"{code} 不属于 {parent}", f"{code} does not belong under {parent}")


def resident_id(value: str) -> str:
    try:
        return ric.validate(value.strip().upper())
    except ValidationError as exc:
        raise Invalid(f"居民身份证号码无效：{exc}", f"invalid resident ID number: {exc}") from exc


def credit_code(value: str) -> str:
    try:
        return uscc.validate(value.strip().upper())
    except ValidationError as exc:
        raise Invalid(f"统一社会信用代码无效：{exc}", f"invalid unified social credit code: {exc}") from exc
