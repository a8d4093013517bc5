"""The exchange demo (`zhicheng demo load`): four base-library resources hosted with rows, the loads that
filled them (with a row report), a catalogue clerk of the provider to see them, and a few dozen governed
calls by the demo token so that the usage page has something to chart.

Runs after the catalog and sharing demos (app.MODULES order) and writes only through the exchange's own
paths as `cli:demo`: services.host, then loading.load_file with a file made in memory (CSV in UTF-8 and in
GBK, Excel, JSON: what departments really send), one transaction per dataset. The calls go through
api.read_records, the path of the records API, so each is masked, rate-limited and on the audit chain;
usage.roll_up then counts them, as the worker's `exchange.usage` job would within a minute.

Idempotent: a resource that has a dataset is left alone (whatever happened to it since), and the calls are
made only when the trail holds no call of the demo token yet. A second load writes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from openpyxl import Workbook
from sqlalchemy import func, or_, select

from zhicheng.catalog import queries as catalog
from zhicheng.catalog.models import Resource
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.models import User
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import DomainError
from zhicheng.core.orgs.models import Org
from zhicheng.demo import people
from zhicheng.exchange import api, demo_data, loading, queries, services, usage
from zhicheng.settings import Settings

ACTOR = Actor(kind="cli", name="demo")
PROVIDER = ("datacenter", "钱晓峰", "data_center")  # a catalogue clerk of 南京市大数据中心
CALL_TAGS = ("exchange:records:read", "exchange:records:refused")


class Rows:
    """The generated rows, made once per load and only when a dataset is missing."""

    def __init__(self) -> None:
        self.places = demo_data.addresses()
        self.residents = demo_data.residents(places=self.places)
        self.firms = demo_data.enterprises(places=self.places)


@dataclass(frozen=True)
class Hosting:
    provider: str  # key in info["orgs"]
    resource: str
    key_item: str
    filename: str
    rows: Callable[[Rows], list[dict[str, Any]]]


HOSTED = (
    Hosting(
        "data_center", "全市实有人口基础信息", "公民身份号码", "全市实有人口基础信息.csv",
        lambda r: r.residents,
    ),
    Hosting(
        "data_center", "法人单位基础信息", "统一社会信用代码", "法人单位基础信息.xlsx",
        lambda r: demo_data.legal_units(r.firms),
    ),
    Hosting(
        "market_regulation", "企业登记注册信息", "统一社会信用代码", "企业登记注册信息_GBK.csv",
        lambda r: r.firms,
    ),
    Hosting(
        "data_center", "全市标准地址信息", "地址编码", "标准地址库.json",
        lambda r: demo_data.address_rows(r.places),
    ),
)  # fmt: skip
# after the full load of the people: a week's changes of residence, two newcomers and two rows whose birth
# date is no date, so the dataset page shows an incremental load with its row report
UPDATE = "居住登记变更_第47周.csv"
NEWCOMERS = 2
BAD_DATES = ("1988-02-30", "19900431")


def load(db: Database, settings: Settings, info: dict[str, Any]) -> None:
    orgs = info["orgs"]
    login, made_logins = _provider(db, orgs)
    info["logins"].append(login)
    with db.read() as s:
        ids = {h.resource: _resource(s, orgs[h.provider], h.resource) for h in HOSTED}
        have = queries.with_data(s, ids.values())
    todo = [h for h in HOSTED if ids[h.resource] not in have]
    rows = Rows() if todo else None
    for h in todo:
        assert rows is not None
        with unit_of_work(db, ACTOR) as uow:
            _host(uow, ids[h.resource], h, h.rows(rows))
        if h is HOSTED[0]:
            with unit_of_work(db, ACTOR) as uow:
                _update(uow, ids[h.resource], rows)
    calls = _calls(db, settings, info)
    if calls:
        with unit_of_work(db, ACTOR) as uow:
            while usage.roll_up(uow) == usage.BATCH:
                pass
    created = info.setdefault("created", {})
    created["exchange_datasets"], created["exchange_calls"] = len(todo), calls
    created["exchange_accounts"] = made_logins
    info["exchange"] = summary(db, ids)


def _resource(s: Any, provider: int, name: str) -> int:
    found = s.scalar(
        select(Resource.id).where(
            Resource.provider_org_id == provider, Resource.name == name, Resource.status == "published"
        )
    )
    if found is None:  # the demo catalog and this demo are out of step: a bug to fix, not to skip
        raise LookupError(f"demo resource {name!r} of org {provider} is not in the catalog")
    return found


def _host(uow: Any, resource_id: int, h: Hosting, rows: list[dict[str, Any]]) -> None:
    items = [i.name for i in catalog.items(uow.session, resource_id)]
    missing = [i for i in items if i not in rows[0]]
    if missing:  # every item gets a value of its type; a new catalog item needs a generator here
        raise LookupError(f"no demo values for items {missing} of {h.resource!r}")
    ds = services.host(uow, resource_id, key_item=h.key_item)
    data = _file(h.filename, items, rows)
    loading.load_file(uow, ds.id, io.BytesIO(data), h.filename, "full")


def _update(uow: Any, resource_id: int, rows: Rows) -> None:
    items = [i.name for i in catalog.items(uow.session, resource_id)]
    changed = demo_data.moves(rows.residents, rows.places)
    fresh = demo_data.residents(len(rows.residents) + NEWCOMERS, rows.places)[-NEWCOMERS:]
    bad = [{**r, "出生日期": day} for r, day in zip(changed[:2], BAD_DATES, strict=True)]
    update = [*changed[2:12], bad[0], *changed[12:], *fresh, bad[1]]
    ds = queries.dataset(uow.session, resource_id)
    assert ds is not None
    loading.load_file(uow, ds.id, io.BytesIO(_file(UPDATE, items, update)), UPDATE, "incremental")


def _file(filename: str, items: list[str], rows: list[dict[str, Any]]) -> bytes:
    """The rows as the file a department would upload: CSV (UTF-8 with BOM, or GBK), .xlsx or JSON."""
    if filename.endswith(".json"):
        return orjson.dumps({"records": [{i: r[i] for i in items} for r in rows]})
    if filename.endswith(".xlsx"):
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(items)
        for r in rows:
            sheet.append([r[i] for i in items])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(items)
    writer.writerows([_text(r[i]) for i in items] for r in rows)
    return text.getvalue().encode("gbk" if "GBK" in filename else "utf-8-sig")


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _provider(db: Database, orgs: dict[str, Any]) -> tuple[dict[str, str], int]:
    """The provider's catalogue clerk, brought back to the printed password, active, with the role, like the
    other demo users. Returns its login and how many changes that took."""
    username, display, org_key = PROVIDER
    with unit_of_work(db, ACTOR) as uow:
        user = uow.session.scalar(select(User).where(User.username == username))
        if user is None:
            data = UserIn(
                username=username, display_name=display, password=people.DEMO_PASSWORD, org_id=orgs[org_key]
            )
            user = auth.create_user(uow, data)
        else:
            if not auth.check_password(user.password_hash, people.DEMO_PASSWORD):
                auth.set_password(uow, user.id, people.DEMO_PASSWORD)
            if not user.active:
                auth.set_active(uow, user.id, True)
        auth.grant_role(uow, user.id, GrantIn(role="catalog_clerk", org_id=orgs[org_key]))
        org = uow.session.get(Org, user.org_id) if user.org_id else None
        login = {
            "username": username,
            "password": people.DEMO_PASSWORD,
            "role": "catalog_clerk",
            "org": org.name if org else "",
        }
        return login, uow.audited


# --- calls by the demo token --------------------------------------------------------------------------


def _calls(db: Database, settings: Settings, info: dict[str, Any]) -> int:
    """What the exchange system of 南京市数据局 asks in a morning: identity checks of applicants by ID
    number, a page or two of floating residents, an address search, company checks by credit code."""
    me = auth.principal_for_token(db, people.TOKEN.raw, None)
    if me is None:  # revoked, or ZHICHENG_SECRET_KEY changed since the first load (info says "usable")
        return 0
    with db.read() as s:
        earlier = s.scalar(
            select(func.count()).where(AuditRecord.tag.in_(CALL_TAGS), AuditRecord.actor == me.actor.label)
        )
        codes = {
            name: code
            for name, code in s.execute(
                select(Resource.name, Resource.code).where(
                    or_(*(Resource.provider_org_id == info["orgs"][h.provider] for h in HOSTED)),
                    Resource.name.in_([h.resource for h in HOSTED]),
                )
            )
        }
    if earlier:
        return 0
    people_code, firms_code = codes["全市实有人口基础信息"], codes["企业登记注册信息"]
    asks: list[tuple[str, dict[str, Any]]] = []
    checked = ["姓名", "公民身份号码", "居住地址", "联系电话"]
    for p in people.citizens()[:24]:
        asks.append((people_code, {"filters": {"公民身份号码": p.id_number}, "fields": checked}))
    for firm in people.enterprises()[:6]:
        asks.append((firms_code, {"filters": {"统一社会信用代码": firm.id_number}}))
    asks.append((people_code, {"q": {"居住地址": "中山路"}, "limit": 20}))
    asks.append((firms_code, {"filters": {"登记状态": "存续"}, "sort": "成立日期 desc", "limit": 100}))
    for code, raw in asks:
        _read(db, settings, me, code, raw)
    made = len(asks)
    # the floating residents, page by page with the cursor, as a sync job would read them
    raw: dict[str, Any] = {"filters": {"人口类型": "流动人口"}, "limit": 50, "include_total": "false"}
    for _ in range(3):
        page = _read(db, settings, me, people_code, raw)
        made += 1
        if not page or not page["next_cursor"]:
            break
        raw = {**raw, "cursor": page["next_cursor"]}
    return made


def _read(db: Database, settings: Settings, me: Any, code: str, raw: dict[str, Any]) -> dict | None:
    try:
        return api.read_records(db, settings, me, code, raw)
    except DomainError:  # a grant an operator revoked since: the refusal is on the trail, the demo goes on
        return None


def summary(db: Database, ids: dict[str, int]) -> dict[str, Any]:
    with db.read() as s:
        hosted = []
        for h in HOSTED:
            res = s.get_one(Resource, ids[h.resource])
            ds = queries.dataset(s, res.id)
            if ds is not None:
                hosted.append(
                    {"id": res.id, "code": res.code, "name": res.name, "mode": ds.mode, "rows": ds.row_count}
                )
        me = people.TOKEN.name
        calls = s.scalar(
            select(func.count()).where(
                AuditRecord.tag == CALL_TAGS[0], AuditRecord.actor == Actor(kind="system", name=me).label
            )
        )
    return {
        "datasets": len(hosted),
        "rows": sum(h["rows"] for h in hosted),
        "resources": hosted,
        "calls": calls,
        "provider_login": PROVIDER[0],
    }
