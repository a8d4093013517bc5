"""Certificate numbers (证照编号): readable, unique, and checked before any lookup.

    <type code>-<year>-<division>-<sequence><check>        e.g. SPJYXK-2026-320100-0000012K

- type code: the catalogue's 证照类型代码, 2–24 upper-case letters and digits;
- year: the year of issue (Asia/Shanghai);
- division: the first six digits (GB/T 2260) of the issuing department's administrative division;
- sequence: seven digits, counted per type, year and division (certificate_counter);
- check: one character from 0-9A-Z, ISO 7064 MOD 37,36 over every letter and digit before it (the hybrid
  system python-stdnum implements). It catches every single mistyped character and almost every swap of
  two neighbours, so a mistyped or invented number is told apart from an unknown one without a lookup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.iso7064 import mod_37_36

TYPE_CODE = re.compile(r"^[A-Z0-9]{2,24}$")
NUMBER = re.compile(r"^([A-Z0-9]{2,24})-(\d{4})-(\d{6})-(\d{7})([0-9A-Z])$")
MAX_LENGTH = 48
SEQUENCE_MAX = 9_999_999


@dataclass(frozen=True)
class Parsed:
    type_code: str
    year: int
    division: str
    sequence: int


def normalize(raw: str) -> str:
    return (raw or "").strip().upper()


def prefix(type_code: str, year: int, division: str) -> str:
    """The counter's key: the number without sequence and check."""
    return f"{type_code}-{year:04d}-{division[:6]}"


def make(type_code: str, year: int, division: str, sequence: int) -> str:
    if not 1 <= sequence <= SEQUENCE_MAX:
        raise ValueError("certificate sequence exhausted for this type, year and division")
    body = f"{prefix(type_code, year, division)}-{sequence:07d}"
    return body + mod_37_36.calc_check_digit(body.replace("-", ""))


def shape_ok(number: str) -> bool:
    return len(number) <= MAX_LENGTH and NUMBER.match(number) is not None


def check_ok(number: str) -> bool:
    return mod_37_36.is_valid(number.replace("-", ""))


def parse(number: str) -> Parsed | None:
    """The parts of a well-formed number with a correct check character; None otherwise."""
    m = NUMBER.match(number) if len(number) <= MAX_LENGTH else None
    if m is None or not check_ok(number):
        return None
    return Parsed(m.group(1), int(m.group(2)), m.group(3), int(m.group(4)))
