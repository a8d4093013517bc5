"""Checksum-valid numbers for the demo: organization codes (GB 11714), unified social credit codes (GB 32100)
and resident ID numbers (GB 11643). Derived from a seed string, so every run makes the same numbers."""

from __future__ import annotations

import datetime as dt
import hashlib

from stdnum.cn import ric, uscc

# GB 11714 weights of the eight body characters of an organization code
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
# characters a credit code may hold (no I, O, Z, S, V), also used for post-2015 "MA" organization codes
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100 prefixes: registering authority and entity type (organ, public institution, enterprise)
ORGAN, INSTITUTION, ENTERPRISE = "11", "12", "91"


def _digest(seed: str) -> bytes:
    return hashlib.sha256(seed.encode()).digest()


def org_check_char(body: str) -> str:
    """The ninth character of an organization code: 11 - Σ(value·weight) mod 11; 10 is 'X', 11 is '0'."""
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def org_code(seed: str, modern: bool = False) -> str:
    """A nine-character organization code: eight body characters and the GB 11714 check character.

    Government bodies carry old-style all-digit codes; enterprises registered since 2015 carry "MA…" codes.
    """
    raw = _digest(seed)
    if modern:
        body = "MA" + str(raw[0] % 10) + "".join(USCC_ALPHABET[b % len(USCC_ALPHABET)] for b in raw[1:6])
    else:
        body = "".join(str(b % 10) for b in raw[:8])
    return body + org_check_char(body)


def credit_code(prefix: str, division: str, seed: str, modern: bool = False) -> str:
    """A unified social credit code: authority and type (2), division (6), organization code (9), check."""
    base = prefix + division + org_code(seed, modern)
    return base + uscc.calc_check_digit(base)


def resident_id(place: str, birth: dt.date, order: int, male: bool) -> str:
    """An 18-digit resident ID: birthplace, birth date, order (odd for men, even for women), check digit."""
    order = order * 2 + (1 if male else 0)
    first = f"{place}{birth:%Y%m%d}{order % 1000:03d}"
    return first + ric.calc_check_digit(first + "0")  # stdnum's helper ignores the last character


def org_code_is_valid(code: str) -> bool:
    return len(code) == 9 and org_check_char(code[:8]) == code[8]
