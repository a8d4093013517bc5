"""Masking (脱敏) of exchanged values: rules, profiles, and a masker compiled once per request.

There is no single national masking rule (DOMAIN.md); common practice is encoded as named *rules* and a
*profile* maps each catalog sensitivity (catalog.vocab.SENSITIVITY) to a rule. A grant names a profile
(and may override single items); the exchange API compiles a masker for the granted items once and then
masks each row with a dict comprehension over precomputed functions.

Every rule is total: None stays None, "" stays "", anything else that the rule needs as text goes through
str(); no rule raises. Rules never reveal more than they allow: a value too short for its kept parts is
starred entirely. Every rule is idempotent (masking a masked value changes nothing), so a value that went
through a masker twice (a proxied provider that masks itself, a cached page) is still right.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zhicheng.catalog.vocab import SENSITIVITY

Rule = Callable[[Any], Any]

STAR = "*"
REDACTED = "***"
# characters that structure a value and are kept in place (they reveal nothing about the person)
_SEPARATORS = frozenset(" -()+./·•\u3000")
# full-width ASCII (ＦＦ01–ＦＦ5E) and the ideographic space to their half-width forms: phones and IDs typed
# in Chinese input methods must be recognised as digits, or "１３８…" would slip through unmasked-looking
_HALF_WIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def _text(value: Any, half_width: bool = False) -> str:
    s = value if isinstance(value, str) else str(value)
    if half_width and not s.isascii():
        s = s.translate(_HALF_WIDTH)
    return s.strip()


def _keep_ends(s: str, first: int, last: int, min_hidden: int) -> str | None:
    """Keep the first and last *slots* (non-separator characters), star the rest; None if too short.

    Slots rather than characters so that "138 1234 5678" and "138-1234-5678" keep their shape; a "*" is a
    slot too, which makes the rule idempotent.
    """
    slots = [i for i, c in enumerate(s) if c not in _SEPARATORS]
    n = len(slots)
    if n - first - last < min_hidden:
        return None
    chars = list(s)
    for i in slots[first : n - last]:
        chars[i] = STAR
    return "".join(chars)


def _all_stars(s: str) -> str:
    return "".join(c if c in _SEPARATORS else STAR for c in s)


# --- rules ---------------------------------------------------------------------------------------------


def keep(value: Any) -> Any:
    """No masking: for the "none" sensitivity and for grants approved for plain values."""
    return value


def drop(value: Any) -> None:
    """The value is withheld (the key stays, so that clients see the column exists)."""
    return None


def redact(value: Any) -> Any:
    """The whole value becomes ***."""
    if value is None or value == "":
        return value
    return REDACTED


def all_stars(value: Any) -> Any:
    """Every character becomes * (separators stay): 张三 → **."""
    if value is None:
        return None
    return _all_stars(_text(value))


# a fixed line with its area code set apart: 025-84561234, (0512)68881234, 0512 6888123
_FIXED_LINE = re.compile(r"(\(0\d{2,3}\)|0\d{2,3}[ -])( ?)([\d*]{7,8})")


def phone(value: Any) -> Any:
    """138****5678; a fixed line keeps its area code and last 4 (025-****1234).

    11 slots or more: first 3 and last 4. 8–10 (a local number): last 4. Fewer: all stars, since keeping
    7 of 7 would reveal it all.
    """
    if value is None:
        return None
    s = _text(value, half_width=True)
    if len(s) == 11 and s.isdigit():  # the common mobile, fast
        return s[:3] + "****" + s[7:]
    m = _FIXED_LINE.fullmatch(s)
    if m:
        local = m.group(3)
        return m.group(1) + m.group(2) + STAR * (len(local) - 4) + local[-4:]
    out = _keep_ends(s, 3, 4, 4) or _keep_ends(s, 0, 4, 4)
    return out if out is not None else _all_stars(s)


def _id_rule(first: int, last: int) -> Rule:
    hidden = 18 - first - last

    def rule(value: Any) -> Any:
        if value is None:
            return None
        s = _text(value, half_width=True)
        if len(s) == 18 and s[:17].isdigit():  # the common resident ID, fast
            return s[:first] + STAR * hidden + s[18 - last :]
        out = _keep_ends(s, first, last, 4)
        return out if out is not None else _all_stars(s)

    rule.__name__ = f"id_{first}_{last}"
    rule.__doc__ = f"Resident ID (or any certificate number): keep the first {first} and last {last}."
    return rule


id_6_4 = _id_rule(6, 4)  # 110105********1234
id_1_2 = _id_rule(1, 2)  # 1***************34

COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 端木".split()
)


def name(value: Any) -> Any:
    """张* / 张** ; compound surnames keep both characters: 欧阳**.

    A name no longer than its surname is all stars.
    """
    if value is None:
        return None
    s = _text(value)
    kept = 2 if s[:2] in COMPOUND_SURNAMES else 1
    if len(s) <= kept:
        return _all_stars(s)
    return s[:kept] + _all_stars(s[kept:])


# the first 街道/镇/乡/路/街 after the first 区/县/市 (not 小区/社区, which are estates, not districts)
_STREET = re.compile(r".*?(?<![小社])[区县市].*?(?:街道|镇|乡|路|街)")
_REGION = re.compile(r".*?(?<![小社])[区县]")
_CITY = re.compile(r".*?市")
# only a prefix is ever kept; capping the text bounds the regex's work on pathological input
_ADDRESS_SCAN = 120
_ADDRESS_FALLBACK = 6


def _masked_body(s: str) -> tuple[str, bool]:
    return (s[: -len(REDACTED)], True) if s.endswith(REDACTED) else (s, False)


def address_street(value: Any) -> Any:
    """Cut after the street or town: 江苏省南京市玄武区中山路*** ; no match: the first 6 characters + ***.

    A short unmatched address keeps at most half of itself, so "中山路1号" does not come back whole.
    """
    if value is None:
        return None
    s = _text(value)
    if not s:
        return s
    body, masked = _masked_body(s)
    m = _STREET.match(body[:_ADDRESS_SCAN])
    if m:
        return m.group(0) + REDACTED
    if masked and len(body) <= _ADDRESS_FALLBACK:  # already cut by this rule
        return s
    return body[: min(_ADDRESS_FALLBACK, len(body) // 2)] + REDACTED


def address_region(value: Any) -> Any:
    """Only the district or county: 江苏省南京市玄武区*** ; else the city (南京市***); else ***."""
    if value is None:
        return None
    s = _text(value)
    if not s:
        return s
    body = _masked_body(s)[0][:_ADDRESS_SCAN]
    m = _REGION.match(body) or _CITY.match(body)
    return (m.group(0) if m else "") + REDACTED


RULES: dict[str, Rule] = {
    "keep": keep,
    "drop": drop,
    "redact": redact,
    "all_stars": all_stars,
    "phone": phone,
    "id_6_4": id_6_4,
    "id_1_2": id_1_2,
    "name": name,
    "address_street": address_street,
    "address_region": address_region,
}

# Hosted datasets keep, beside each sensitive column, its values already masked by the rules the built-in
# profiles apply to that sensitivity, computed once at load instead of on every read (masking is most of
# a read's work). Bump RULES_VERSION whenever a rule's output changes: stored masks of an older version
# are then ignored and the rule runs at read time until the data is loaded again.
RULES_VERSION = 1
PRECOMPUTED = {
    "name": ("name", "all_stars"),
    "id_number": ("id_6_4", "id_1_2"),
    "phone": ("phone",),
    "address": ("address_street", "address_region"),
}

# --- profiles ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """A masking profile: sensitivity key → rule name.

    Sensitivities it leaves out are masked as its "other" (or redacted), except "none", which is kept.
    """

    name: str
    rules: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate(self.name, self.rules)

    def rule_for(self, sensitivity: str | None) -> str:
        if not sensitivity:
            sensitivity = "none"
        if sensitivity not in SENSITIVITY:
            sensitivity = "other"  # fail closed: an unknown sensitivity is treated as the most guarded one
        rule = self.rules.get(sensitivity)
        if rule is None and sensitivity == "none":
            return "keep"
        return rule or self.rules.get("other") or "redact"


def _validate(profile: str, rules: Mapping[str, str]) -> None:
    for sens, rule in rules.items():
        if sens not in SENSITIVITY:
            raise ValueError(
                f"脱敏配置“{profile}”：未知的敏感类型“{sens}”（可用：{'、'.join(SENSITIVITY)}）"
                f" / masking profile '{profile}': unknown sensitivity '{sens}'"
                f" (known: {', '.join(SENSITIVITY)})"
            )
        if rule not in RULES:
            raise ValueError(
                f"脱敏配置“{profile}”：未知的脱敏规则“{rule}”（可用：{'、'.join(RULES)}）"
                f" / masking profile '{profile}': unknown masking rule '{rule}' (known: {', '.join(RULES)})"
            )


STANDARD = Profile(
    "standard",
    {
        "none": "keep",
        "name": "name",
        "id_number": "id_6_4",
        "phone": "phone",
        "address": "address_street",
        "other": "redact",
    },
)
STRICT = Profile(
    "strict",
    {
        "none": "keep",
        "name": "all_stars",
        "id_number": "id_1_2",
        "phone": "phone",
        "address": "address_region",
        "other": "redact",
    },
)
OPEN = Profile("open", dict.fromkeys(SENSITIVITY, "keep"))
BUILTIN: dict[str, Profile] = {p.name: p for p in (STANDARD, STRICT, OPEN)}


def load_profiles(mapping: Mapping[str, Any]) -> dict[str, Profile]:
    """Custom profiles from JSON-like data, on top of the built-ins.

    {"district": {"base": "strict", "rules": {"phone": "drop"}}}, or the short form
    {"district": {"phone": "drop"}} (base "standard"). A base may be a built-in or another profile of the
    same mapping defined before it.
    Returns the built-ins plus the custom profiles; raises ValueError (Chinese / English) on bad data.
    """
    if not isinstance(mapping, Mapping):
        raise ValueError(
            "脱敏配置必须是对象（名称 → 规则） / masking profiles must be an object (name → rules)"
        )
    profiles = dict(BUILTIN)
    for pname, spec in mapping.items():
        if not isinstance(pname, str) or not pname.strip():
            raise ValueError("脱敏配置名称不能为空 / a masking profile needs a name")
        if not isinstance(spec, Mapping):
            raise ValueError(f"脱敏配置“{pname}”必须是对象 / masking profile '{pname}' must be an object")
        if "rules" in spec or "base" in spec:
            extra = set(spec) - {"rules", "base"}
            if extra:
                raise ValueError(
                    f"脱敏配置“{pname}”：未知的键 {sorted(extra)} / masking profile '{pname}': "
                    f"unknown keys {sorted(extra)}"
                )
            base_name, rules = spec.get("base", "standard"), spec.get("rules", {})
        else:
            base_name, rules = "standard", spec
        if base_name not in profiles:
            raise ValueError(
                f"脱敏配置“{pname}”：未知的基础配置“{base_name}” / masking profile '{pname}': "
                f"unknown base profile '{base_name}'"
            )
        if not isinstance(rules, Mapping):
            raise ValueError(
                f"脱敏配置“{pname}”的规则必须是对象 / rules of masking profile '{pname}' must be an object"
            )
        profiles[pname] = Profile(pname, {**profiles[base_name].rules, **rules})
    return profiles


# --- compiled maskers ----------------------------------------------------------------------------------


def mask_value(value: Any, sensitivity: str | None, profile: Profile = STANDARD) -> Any:
    """One value (the console's masked sample); the exchange uses compile_masker."""
    return RULES[profile.rule_for(sensitivity)](value)


def compile_masker(
    items: Mapping[str, str | None],
    profile: Profile = STANDARD,
    overrides: Mapping[str, str] | None = None,
    passthrough: Iterable[str] = (),
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """A function masking one row: built once per request, called per row.

    items: the granted item names → their sensitivity. overrides: item → rule name, for a grant approved
    with a different treatment of single items. passthrough: technical columns (e.g. "_id") returned
    unchanged. Columns in the row that are neither items nor passthrough are left out — only granted items
    come back, even if a provider or a query returns more. Items missing from the row are left out too.
    """
    overrides = dict(overrides or {})
    for rule_name in overrides.values():
        _validate(f"{profile.name}+overrides", {"other": rule_name})
    plan: list[tuple[str, Rule | None]] = [(c, None) for c in passthrough]
    for item, sens in items.items():
        rule = RULES[overrides.get(item) or profile.rule_for(sens)]
        plan.append((item, None if rule is keep else rule))
    if all(fn is None for _, fn in plan):  # nothing to mask: a projection only
        cols = tuple(c for c, _ in plan)
        return lambda row: {c: row[c] for c in cols if c in row}
    steps = tuple(plan)
    return lambda row: {c: (row[c] if fn is None else fn(row[c])) for c, fn in steps if c in row}


def compile_row_masker(
    columns: Sequence[tuple[str, str | None]],
    profile: Profile = STANDARD,
    overrides: Mapping[str, str] | None = None,
    passthrough: Sequence[str] = ("_id",),
) -> Callable[[Sequence[Any]], dict[str, Any]]:
    """Like compile_masker, for rows as tuples straight from the database: positions are `passthrough`
    first (unchanged), then `columns` (item, sensitivity) in order. Saves building a dict per row twice."""
    overrides = dict(overrides or {})
    for rule_name in overrides.values():
        _validate(f"{profile.name}+overrides", {"other": rule_name})
    steps: list[tuple[str, int, Rule | None]] = [(c, i, None) for i, c in enumerate(passthrough)]
    for offset, (item, sens) in enumerate(columns, start=len(passthrough)):
        rule = RULES[overrides.get(item) or profile.rule_for(sens)]
        steps.append((item, offset, None if rule is keep else rule))
    plan = tuple(steps)
    return lambda row: {c: (row[i] if fn is None else fn(row[i])) for c, i, fn in plan}
