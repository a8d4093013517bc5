"""The exchange demo: four base-library resources hosted with valid rows (check digits and all), their loads
with a row report, masking that shows, a provider login that sees them, governed calls by the demo token
counted into the usage table, an intact audit chain, and a second load that writes nothing."""

from __future__ import annotations

import datetime as dt
import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stdnum.cn import ric, uscc

from tests.conftest import count_rows
from zhicheng.app import create_app
from zhicheng.catalog import demo as catalog_demo
from zhicheng.catalog import queries as catalog
from zhicheng.catalog.demo import data_type
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.audit.services import seal_all, verify
from zhicheng.core.auth.models import RoleGrant, User
from zhicheng.demo import city, load
from zhicheng.exchange import datastore, demo, demo_data, queries
from zhicheng.exchange.models import DataLoad, Dataset, RollupMark, Usage

TABLES = (Dataset, DataLoad, Usage, RollupMark, User, RoleGrant, AuditRecord)
PYTHON_TYPES = {"string": str, "date": dt.date, "decimal": float, "integer": int}


def _login(c: TestClient, username: str, password: str) -> int:
    page = c.get("/login")
    token = page.text.split('name="login_csrf" value="')[1].split('"')[0]
    data = {"username": username, "password": password, "login_csrf": token, "next": "/"}
    return c.post("/login", data=data, follow_redirects=False).status_code


def _rows(s, resource_id: int) -> tuple[list[str], list[tuple]]:  # noqa: ANN001
    ds = queries.dataset(s, resource_id)
    table = datastore.table(ds.table_name, ds.columns)
    cols = [table.c[c["column"]] for c in ds.columns]
    return [c["item"] for c in ds.columns], s.execute(select(*cols)).all()


def test_demo_hosts_valid_data_and_makes_calls(demo_db) -> None:  # noqa: ANN001
    db, settings = demo_db
    info = load(db, settings, progress=False)
    json.dumps(info)  # `demo load --json` prints it
    ex = info["exchange"]
    by_name = {r["name"]: r for r in ex["resources"]}
    assert ex["datasets"] == len(demo.HOSTED) == 4 and set(by_name) == {h.resource for h in demo.HOSTED}
    assert by_name["全市实有人口基础信息"]["rows"] == demo_data.RESIDENTS + demo.NEWCOMERS
    assert by_name["企业登记注册信息"]["rows"] == demo_data.ENTERPRISES
    assert ex["rows"] == sum(r["rows"] for r in ex["resources"]) > 6000
    # what the README and docs promise is still there
    readable = info["sharing"]["readable_resource"]
    assert info["tokens"][0]["usable"] and readable["name"] == "全市实有人口基础信息"
    assert readable["id"] == by_name["全市实有人口基础信息"]["id"]

    with db.read() as s:
        for h in demo.HOSTED:
            rid = by_name[h.resource]["id"]
            items = {i.name: i for i in catalog.items(s, rid)}
            names, rows = _rows(s, rid)
            assert names == list(items) and len(rows) == by_name[h.resource]["rows"]
            for n, name in enumerate(names):  # every item has a value, of its type
                want = PYTHON_TYPES[items[name].data_type]
                assert all(isinstance(r[n], want) for r in rows), (h.resource, name)
            if "公民身份号码" in names:
                at = names.index("公民身份号码")
                assert all(ric.is_valid(r[at]) for r in rows)
                assert len({r[at] for r in rows}) == len(rows)
                sex = names.index("性别")
                assert all(r[sex] == ("男" if int(r[at][16]) % 2 else "女") for r in rows)
                assert all(r[names.index("联系电话")].isdigit() for r in rows)
            if "统一社会信用代码" in names:
                at = names.index("统一社会信用代码")
                assert all(uscc.is_valid(r[at]) for r in rows) and len({r[at] for r in rows}) == len(rows)
            if h.resource == "全市标准地址信息":
                lon, lat = names.index("经度"), names.index("纬度")
                assert all(118.3 < r[lon] < 119.3 and 31.1 < r[lat] < 32.7 for r in rows)
        people_id = by_name["全市实有人口基础信息"]["id"]
        # masking shows: the people's items carry the sensitivities the standard profile masks
        sens = {i.name: i.sensitivity for i in catalog.items(s, people_id)}
        assert {sens["姓名"], sens["公民身份号码"], sens["联系电话"], sens["居住地址"]} == {
            "name", "id_number", "phone", "address"
        }
        sample = queries.sample(s, people_id)
        raw_names, raw_rows = _rows(s, people_id)
        first = dict(zip(raw_names, raw_rows[0], strict=True))
        shown = sample["rows"][0]
        assert shown["联系电话"] == first["联系电话"][:3] + "****" + first["联系电话"][7:]
        assert shown["公民身份号码"] == first["公民身份号码"][:6] + "********" + first["公民身份号码"][-4:]
        assert shown["居住地址"].endswith("***") and shown["姓名"][1:] == "*" * (len(first["姓名"]) - 1)
        # the loads: one per file format, the people's second one incremental with its row report
        loads = {
            ld.filename: ld
            for ld in s.scalars(select(DataLoad).where(DataLoad.dataset_id.in_(select(Dataset.id))))
        }
        update = loads[demo.UPDATE]
        assert update.mode == "incremental" and update.rows_rejected == 2 and update.rows_loaded == 30
        bad = [p for p in update.report if p.get("item") == "出生日期"]
        assert [p["row"] for p in bad] == [12, 33]  # as the file shows them
        assert all("不是日期" in p["zh"] for p in bad)
        formats = {loads[h.filename].format for h in demo.HOSTED}
        assert formats == {"csv", "xlsx", "json"}
        assert all(loads[h.filename].rows_rejected == 0 and loads[h.filename].digest for h in demo.HOSTED)
        # the calls: on the audit trail, none refused, counted into the usage table
        calls = s.scalar(select(func.count()).where(AuditRecord.tag == "exchange:records:read"))
        refused = s.scalar(select(func.count()).where(AuditRecord.tag == "exchange:records:refused"))
        counted = s.scalar(select(func.sum(Usage.calls)))
    assert 30 <= ex["calls"] == calls == counted == info["created"]["exchange_calls"] and refused == 0

    # the provider's catalogue clerk logs in and finds the data and its use
    (login,) = [lg for lg in info["logins"] if lg["username"] == demo.PROVIDER[0]]
    assert login["role"] == "catalog_clerk" and login["org"] == "南京市大数据中心"
    app = create_app(settings, db=db)
    with TestClient(app) as c:
        assert _login(c, login["username"], login["password"]) == 303
        page = c.get(f"/exchange/resources/{people_id}")
        assert page.status_code == 200 and demo.UPDATE in page.text
        assert shown["联系电话"] in page.text and first["联系电话"] not in page.text  # masked, never raw
        assert c.get("/exchange/resources").text.count('data-testid="datasets"') == 1
        used = c.get("/exchange/usage")
        assert used.status_code == 200 and "南京市数据局" in used.text and "全市实有人口基础信息" in used.text
        # another provider's dataset is not its to manage
        firms = by_name["企业登记注册信息"]["id"]
        assert c.get(f"/exchange/resources/{firms}").status_code == 403

    # on the chain; a second load writes nothing, not even an audit record
    seal_all(db)
    assert verify(db).ok
    before = count_rows(db, TABLES)
    again = load(db, settings, progress=False)
    assert seal_all(db) == 0 and count_rows(db, TABLES) == before
    assert [again["created"][f"exchange_{k}"] for k in ("datasets", "calls", "accounts")] == [0, 0, 0]
    assert again["exchange"] == ex
    assert [lg["username"] for lg in again["logins"]].count(demo.PROVIDER[0]) == 1


def test_demo_rows_fit_the_demo_catalog() -> None:
    """Without a database: every hosted resource is one its provider catalogues, and the generated rows give
    every catalogued item (later versions' items too) a value of the item's type."""
    orgs = {d.key: d.key for d in city.CITY_DEPARTMENTS}
    orgs["districts"] = {
        key: {"name": name, **{k: f"{key}.{k}" for k, _p, _l in city.DISTRICT_DEPARTMENTS}}
        for _code, (name, key, _streets) in city.DISTRICTS.items()
    }
    specs = {(provider, spec.name): spec for provider, listed in catalog_demo._plan(orgs) for spec in listed}
    retired = {name for name, _reason in catalog_demo.RETIRED}
    added = {name: changes.get("+items", "").split() for name, changes, _note in catalog_demo.UPDATES}
    rows = demo.Rows()
    for h in demo.HOSTED:
        spec = specs[(h.provider, h.resource)]
        items = [w.rstrip("!") for w in spec.items.split()] + added.get(h.resource, [])
        assert h.resource not in retired and h.key_item in items
        generated = h.rows(rows)
        for name in items:
            want = PYTHON_TYPES[data_type(name)]
            assert all(isinstance(r[name], want) and r[name] != "" for r in generated), (h.resource, name)
        keys = [r[h.key_item] for r in generated]
        assert len(set(keys)) == len(keys), h.resource
    # the same rows every run: the generators are seeded
    assert demo_data.residents(20) == demo_data.residents(20)
