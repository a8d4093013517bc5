"""CKAN's search parameters read into conditions on the catalog: `q`, `fq` (and `fq_list`), `sort`, and the
facets of `package_search`.

`fq` is read as the subset of Solr's syntax CKAN clients and harvesters send: `field:value` terms (all must
hold), `-field:value` to exclude, quoted values, `field:(a OR b)`, `a:1 OR b:2`, and ranges `[from TO to]` /
`{from TO to}` on `metadata_modified` and `metadata_created` (ISO timestamps, `*`, `NOW`, `NOW-7DAYS`).
Anything else is a Validation Error, never a guess.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, not_, or_, true

from zhicheng.catalog import vocab
from zhicheng.catalog.ckan import LICENSE, invalid, org_name, package_name, small_int, tag_name
from zhicheng.catalog.models import CatalogClass
from zhicheng.catalog.public_queries import OPEN, R, Row
from zhicheng.core.db import utcnow
from zhicheng.core.orgs.models import Org

DEFAULT_SORT = "score desc, metadata_modified desc"
VOCABS = {
    "share_type": vocab.SHARE_TYPES,
    "open_type": vocab.OPEN_TYPES,
    "share_mode": vocab.SHARE_MODES,
    "grade": vocab.GRADES,
    "update_cycle": vocab.UPDATE_CYCLES,
    "res_format": vocab.FORMATS,
}
# fq / q field names → the one we read them as
FIELDS = {
    **{name: name for name in VOCABS},
    "format": "res_format",
    "organization": "organization",
    "owner_org": "owner_org",
    "provider_org_id": "owner_org",
    "tags": "tags",
    "class": "class",
    "class_code": "class",
    "name": "name",
    "id": "id",
    "code": "code",
    "resource_code": "code",
    "metadata_modified": "metadata_modified",
    "metadata_created": "metadata_created",
    "state": "state",
    "dataset_type": "dataset_type",
    "type": "dataset_type",
    "capacity": "capacity",
    "license_id": "license_id",
    "groups": "groups",
    "site_id": "site_id",
}
FACETS = (
    "organization",
    "tags",
    "res_format",
    "class",
    "license_id",
    "groups",
    *(n for n in VOCABS if n != "res_format"),
)
SORTS = {
    "score": lambda r: r.score,
    "metadata_modified": lambda r: r.updated_at,
    "metadata_created": lambda r: r.created_at,
    "name": lambda r: package_name(r.code),
    "title": lambda r: r.name,
    "title_string": lambda r: r.name,
    "id": lambda r: r.id,
}


_TERM = re.compile(
    r"""([+-]?)([A-Za-z_][\w.]*):("(?:[^"\\]|\\.)*"|[\[{][^\]}]*[\]}]|\([^)]*\)|(?:[^\s"()\[\]{}\\]|\\.)+)"""
)
_RANGE = re.compile(r"^([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])$")
_NOW = re.compile(r"^NOW(?:([+-])(\d+)(MINUTES?|HOURS?|DAYS?|WEEKS?))?(?:/DAY)?$")
_UNESCAPE = re.compile(r"\\(.)")


@dataclass
class Clause:
    field: str
    values: list[str] = field(default_factory=list)  # any of them; ["*"]: any value at all
    low: dt.datetime | None = None
    high: dt.datetime | None = None
    strict: tuple[bool, bool] = (False, False)  # exclusive low, exclusive high
    ranged: bool = False
    negate: bool = False


def _values(raw: str) -> list[str]:
    if raw.startswith('"'):
        return [_UNESCAPE.sub(r"\1", raw[1:-1])]
    if raw.startswith("("):
        parts = re.findall(r'"(?:[^"\\]|\\.)*"|[^\s()]+', raw[1:-1])
        return [v for p in parts if p not in ("OR", "||") for v in _values(p)]
    return [_UNESCAPE.sub(r"\1", raw)]


def _instant(name: str, value: str, now: dt.datetime) -> dt.datetime | None:
    if value == "*":
        return None
    found = _NOW.match(value)
    if found:
        sign, amount, unit = found.groups()
        if not amount:
            return now
        unit = unit.rstrip("S").lower() + "s"
        try:
            delta = dt.timedelta(**{unit: int(amount)})
            return now + delta if sign == "+" else now - delta
        except OverflowError:
            raise invalid(name, f"时间超出范围：{value}", f"{value!r} is out of range") from None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise invalid(name, f"无法识别的时间：{value}", f"cannot read the date or time {value!r}") from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _clause(name: str, sign: str, fname: str, raw: str, now: dt.datetime) -> Clause:
    canonical = FIELDS[fname]
    clause = Clause(canonical, negate=sign == "-")
    if raw[0] in "[{":
        found = _RANGE.match(raw)
        if not found or canonical not in ("metadata_modified", "metadata_created"):
            raise invalid(name, f"无法识别的范围：{fname}:{raw}", f"cannot read the range {fname}:{raw}")
        opening, low, high, closing = found.groups()
        clause.ranged = True
        clause.low, clause.high = _instant(name, low, now), _instant(name, high, now)
        clause.strict = (opening == "{", closing == "}")
        return clause
    clause.values = [v for v in _values(raw) if v != ""]
    if not clause.values:
        raise invalid(name, f"{fname} 缺少取值", f"{fname} has no value")
    if canonical in ("metadata_modified", "metadata_created") and clause.values != ["*"]:
        clause.ranged, clause.strict = True, (False, False)
        clause.low = clause.high = _instant(name, clause.values[0], now)
    return clause


def parse_fq(fq: str, name: str = "fq") -> list[list[Clause]]:
    """A filter query as clauses that must all hold, each a list of alternatives (`a:1 OR b:2`); anything
    unreadable is a Validation Error."""
    now, out, pos = utcnow(), [], 0
    negate_next = either_next = False
    while True:
        while pos < len(fq) and fq[pos].isspace():
            pos += 1
        if pos >= len(fq):
            if either_next:
                raise invalid(name, "OR 之后缺少条件", "OR needs a term after it")
            return out
        word = re.match(r"(AND|&&|NOT|OR|\|\|)(?=\s)", fq[pos:])
        if word:
            if word.group(1) in ("OR", "||"):
                if not out or negate_next:
                    raise invalid(name, "OR 之前缺少条件", "OR needs a term before it")
                either_next = True
            negate_next = negate_next or word.group(1) == "NOT"
            pos += word.end()
            continue
        found = _TERM.match(fq, pos)
        if not found:
            raise invalid(name, f"无法识别：{fq[pos : pos + 40]}", f"cannot read {fq[pos : pos + 40]!r}")
        sign, fname, raw = found.groups()
        if fname not in FIELDS:
            raise invalid(name, f"不支持的字段：{fname}", f"unknown field {fname!r}; known: {sorted(FIELDS)}")
        clause = _clause(name, "-" if negate_next else sign, fname, raw, now)
        if either_next:
            out[-1].append(clause)
        else:
            out.append([clause])
        pos, negate_next, either_next = found.end(), False, False


def split_q(q: str) -> tuple[str, list[list[Clause]]]:
    """`q` as CKAN clients send it: free text, `*:*` for everything, and maybe `field:value` terms among the
    words (those with a field we know are filters; anything else stays text)."""
    q = q.strip()
    if q in ("*:*", "*"):
        return "", []
    clauses, kept, now = [], [], utcnow()
    for found in re.finditer(rf"(?:{_TERM.pattern})|(\S+)", q):
        sign, fname, raw, word = found.groups()
        if word is None and fname in FIELDS:
            clauses.append([_clause("q", sign, fname, raw, now)])
        elif word is None and fname in ("text", "title", "notes"):
            kept.append(" ".join(_values(raw)))
        elif found.group(0) not in ("AND", "&&"):
            kept.append(found.group(0))
    return " ".join(kept), clauses


def parse_sort(value: str) -> list[tuple[str, bool]]:
    """`field dir, field dir` → [(field, descending)]."""
    out = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        words = part.split()
        if (
            len(words) > 2
            or words[0] not in SORTS
            or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
        ):
            raise invalid("sort", f"无法排序：{part}", f"cannot sort by {part!r}; fields: {sorted(SORTS)}")
        out.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return out


def sort_rows(rows: list[Row], order: list[tuple[str, bool]]) -> list[Row]:
    rows = sorted(rows, key=lambda r: r.id)  # ties in catalogue order
    for name, descending in reversed(order):
        rows.sort(key=SORTS[name], reverse=descending)
    return rows


@dataclass
class Filters:
    """Clauses turned into SQL conditions on catalog_resource, and the tag tests that run on the rows."""

    conditions: list[Any] = field(default_factory=list)
    tests: list[Callable[[Row], bool]] = field(default_factory=list)

    def keep(self, row: Row) -> bool:
        return all(test(row) for test in self.tests)


def filters(clauses: list[list[Clause]], org_id: Callable[[str], int | None]) -> Filters:
    """Each entry must hold; its alternatives are OR-ed. Tags are tested on the rows, so they may be OR-ed
    only with tags. `org_id` resolves an organization name (or id) to the org's id, None when none."""
    out = Filters()
    for either in clauses:
        tags = [c for c in either if c.field == "tags"]
        if tags and len(tags) != len(either):
            raise invalid("fq", "tags 只能与 tags 取“或”", "tags can be OR-ed only with tags")
        if tags:
            tests = [_tag_test(c) for c in tags]
            out.tests.append(tests[0] if len(tests) == 1 else lambda r, ts=tests: any(t(r) for t in ts))
            continue
        conds = [not_(_condition(c, org_id)) if c.negate else _condition(c, org_id) for c in either]
        out.conditions.append(or_(*conds) if len(conds) > 1 else conds[0])
    return out


def _tag_test(c: Clause) -> Callable[[Row], bool]:
    wanted = set(c.values)
    test = (lambda r: bool(r.keywords)) if "*" in wanted else _has_tag(wanted)
    return (lambda r: not test(r)) if c.negate else test


def _has_tag(wanted: set[str]) -> Callable[[Row], bool]:
    return lambda r: any(tag_name(k) in wanted for k in r.keywords or [])


def _condition(c: Clause, org_id: Callable[[str], int | None]) -> Any:
    if c.ranged:
        column = R.updated_at if c.field == "metadata_modified" else R.created_at
        conds = []
        if c.low is not None:
            conds.append(column > c.low if c.strict[0] else column >= c.low)
        if c.high is not None:
            conds.append(column < c.high if c.strict[1] else column <= c.high)
        return true() if not conds else conds[0] if len(conds) == 1 else conds[0] & conds[1]
    if "*" in c.values:
        return false() if c.field == "groups" else true()
    return or_(*(_equals(c.field, v, org_id) for v in c.values))


def _equals(name: str, value: str, org_id: Callable[[str], int | None]) -> Any:
    if name in VOCABS:
        key = vocab_key(VOCABS[name], value)
        column = R.format if name == "res_format" else R[name]
        return column == key if key else false()
    if name in ("organization", "owner_org"):
        found = org_id(value)
        return R.provider_org_id == found if found is not None else false()
    if name == "class":
        return R.class_code.startswith(value, autoescape=True) if value.isdigit() else false()
    if name == "id":
        number = small_int(value)
        return R.id == number if number is not None else false()
    if name == "name":
        return R.code.in_({value, value.replace("-", "/")})
    if name == "code":
        return R.code == value
    if name == "capacity":
        return {"public": R.open_type.in_(OPEN), "private": R.open_type.not_in(OPEN)}.get(value, false())
    fixed = {"state": "active", "dataset_type": "dataset", "license_id": LICENSE[0], "groups": None}
    if name in fixed:
        return true() if value == fixed[name] else false()
    return true()  # site_id: one site here


def vocab_key(options: dict[str, str], value: str) -> str | None:
    """A stored key from a key (any case) or its Chinese label."""
    return vocab.key_for(options, value) or vocab.key_for(options, value.strip().lower())


# --- facets -------------------------------------------------------------------------------------------------


def facet_values(name: str, row: Row, orgs: dict[int, Org]) -> list[str]:
    if name == "organization":
        org = orgs.get(row.provider_org_id)
        return [org_name(org)] if org else []
    if name == "tags":
        return list(dict.fromkeys(tag_name(k) for k in row.keywords or []))
    if name == "res_format":
        return [row.format]
    if name == "class":
        return [row.class_code[:1]]
    if name == "license_id":
        return [LICENSE[0]]
    if name == "groups":
        return []
    return [getattr(row, name)]


def facets(
    rows: list[Row],
    wanted: list[str],
    orgs: dict[int, Org],
    classes: dict[str, CatalogClass],
    limit: int,
    mincount: int,
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, Any]]]:
    """CKAN's `facets` ({field: {value: count}}) and `search_facets` (with display names), most frequent
    first; `limit` < 0 means all values."""
    by_name = {org_name(o): o.name for o in orgs.values()}
    plain: dict[str, dict[str, int]] = {}
    shown: dict[str, dict[str, Any]] = {}
    for name in wanted:
        counts = Counter(v for row in rows for v in facet_values(name, row, orgs))
        ordered = sorted(((v, n) for v, n in counts.items() if n >= mincount), key=lambda vn: (-vn[1], vn[0]))
        if limit >= 0:
            ordered = ordered[:limit]
        plain[name] = dict(ordered)
        items = [
            {"name": v, "display_name": _display(name, v, by_name, classes), "count": n} for v, n in ordered
        ]
        shown[name] = {"title": name, "items": items}
    return plain, shown


def _display(name: str, value: str, orgs: dict[str, str], classes: dict[str, CatalogClass]) -> str:
    if name == "organization":
        return orgs.get(value, value)
    if name == "class":
        return classes[value].name if value in classes else value
    if name == "license_id":
        return LICENSE[1]
    return VOCABS.get(name, {}).get(value, value)
