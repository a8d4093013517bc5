"""Uploads into a hosted resource: CSV in UTF-8 and GBK, Excel, JSON; the row-by-row report with the rows the
user sees; files refused whole; the previous rows kept; who may upload (the provider's catalogue clerk) and
who may not (the consumer system, a clerk without exchange.manage, the data authority, an outsider)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests import personas
from tests.exchange.conftest import ME, grant, make_resource, people
from zhicheng.catalog.models import Resource
from zhicheng.core.audit.chain import sm3_hex
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Database, unit_of_work
from zhicheng.exchange import loading, services
from zhicheng.exchange.models import DataLoad, Dataset

HEADER = ["姓名", "公民身份号码", "联系电话", "现住址", "出生日期", "所属区县", "家庭人口"]
RECORDS = "/api/v1/exchange/resources/{}/records"
UPLOADS = "/api/v1/exchange/resources/{}/uploads"


def provider_clerk(
    db: Database, username: str = "provclerk", org: str = "market", role: str = "catalog_clerk"
):  # noqa: ANN201
    """A catalogue clerk of the provider department (市场监管局), or of another org to be refused."""
    w = personas.WORLD
    org_id = getattr(w, org)
    with unit_of_work(db, ME) as uow:
        user = auth.create_user(
            uow, UserIn(username=username, display_name="钱编目", password=personas.PASSWORD, org_id=org_id)
        )
        auth.grant_role(uow, user.id, GrantIn(role=role, org_id=org_id))
    return username


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig", header: list[str] = HEADER) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def person_rows(n: int, start: int = 0) -> list[list]:
    return [[p[h] for h in HEADER] for p in people(start + n)[start:]]


def upload(client, code: str, name: str, data: bytes, mode: str = "full"):  # noqa: ANN001, ANN201
    return client.send("POST", UPLOADS.format(code), files={"file": (name, data)}, data={"mode": mode})


def state(db: Database, dataset_id: int) -> tuple[int, int]:
    """(rows in the dataset, loads recorded)."""
    with db.read() as s:
        ds = s.get(Dataset, dataset_id)
        loads = s.scalar(select(func.count()).select_from(DataLoad).where(DataLoad.dataset_id == dataset_id))
        return ds.row_count, loads


def test_csv_upload_reports_bad_rows_and_loads_the_good(as_user, as_system, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(provider_clerk(db))
    rows = person_rows(5)
    rows[1][6] = "两口"  # row 3 of the sheet: 家庭人口 is not an integer
    rows[3][4] = "1990-02-30"  # row 5: no such date
    header = [*HEADER, "备用列"]
    data = csv_bytes([[*r, "x"] for r in rows], header=header)
    r = upload(clerk, hosted["code"], "人口.csv", data)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_read"], body["rows_loaded"], body["rows_rejected"]) == (5, 3, 2)
    assert body["format"] == "csv" and body["mode"] == "full" and body["dataset_rows"] == 3
    assert body["digest"] == sm3_hex(data)
    report = body["report"]
    assert {"row": 1, "item": "备用列"}.items() <= report[0].items() and "已忽略" in report[0]["zh"]
    assert any(p["item"] == "内部备注" and p["row"] == 1 for p in report)  # no column: left empty
    bad = [(p["row"], p["item"]) for p in report if p["row"] and p["row"] > 1]
    assert bad == [(3, "家庭人口"), (5, "出生日期")]
    # the report is kept with the load, for the provider only
    again = clerk.get(f"/api/v1/exchange/resources/{hosted['code']}/loads/{body['id']}")
    assert again.status_code == 200 and again.json()["report"] == report
    assert as_system.get(f"/api/v1/exchange/resources/{hosted['code']}/loads/{body['id']}").status_code == 403
    # the consumer now reads the three good rows
    read = as_system.get(RECORDS.format(hosted["code"]))
    assert read.status_code == 200 and read.json()["total"] == 3
    with db.read() as s:
        tags = list(s.scalars(select(AuditRecord.tag).where(AuditRecord.tag == "exchange:dataset:load")))
    assert len(tags) == 2  # the fixture's load and this one


def test_gbk_csv_from_chinese_excel_loads_and_garbage_is_refused_whole(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(provider_clerk(db))
    data = csv_bytes(person_rows(4), encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    r = upload(clerk, hosted["code"], "export.csv", data, mode="incremental")
    assert r.status_code == 201, r.text
    assert r.json()["rows_loaded"] == 4 and r.json()["rows_rejected"] == 0
    assert r.json()["dataset_rows"] == 30  # incremental by the key item: the same four people replaced
    with db.read() as s:
        ds = s.get(Dataset, hosted["dataset_id"])
    before = state(db, hosted["dataset_id"])
    # bytes that are neither UTF-8 nor GB18030: refused, nothing loaded, no load recorded
    garbage = "姓名,所属区县\n".encode() + b"\xff\xfe\x80\x80\xff,\x80\n"
    r = upload(clerk, hosted["code"], "broken.csv", garbage)
    assert r.status_code == 422 and "编码" in r.json()["messages"]["zh"]
    assert state(db, hosted["dataset_id"]) == before and ds.row_count == 30


def test_xlsx_first_sheet_typed_cells_and_sheet_row_numbers(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(provider_clerk(db))
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(
        [
            "孙小红",
            "320102199001011234",
            13912345678,
            "南京市玄武区北京东路1号",
            dt.date(1990, 1, 1),
            "玄武区",
            3,
        ]
    )
    sheet.append([None] * 7)  # a blank row in the middle: skipped, but it keeps its number
    sheet.append(
        [
            "周小白",
            "320102199102021234",
            "13912345679",
            "南京市秦淮区",
            dt.datetime(1991, 2, 2),
            "秦淮区",
            2.0,
        ]
    )
    sheet.append(["吴小黑", "320102199203031234", "13912345670", "南京市鼓楼区", "不详", "鼓楼区", 1])
    book.create_sheet("说明").append(["这张表不读"])
    buf = io.BytesIO()
    book.save(buf)
    r = upload(clerk, hosted["code"], "人口.xlsx", buf.getvalue())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["format"] == "xlsx" and (body["rows_read"], body["rows_loaded"]) == (3, 2)
    assert [(p["row"], p["item"]) for p in body["report"] if p["row"] and p["row"] > 1] == [(5, "出生日期")]
    recs = clerk.get(RECORDS.format(hosted["code"]))  # the clerk may not read without a grant
    assert recs.status_code == 403
    with db.read() as s:
        ds = s.get(Dataset, hosted["dataset_id"])
        from zhicheng.exchange import datastore

        t = datastore.table(ds.table_name, ds.columns)
        phones = sorted(v for (v,) in s.execute(select(t.c.c3)))
        births = sorted(v for (v,) in s.execute(select(t.c.c5)))
    assert phones == ["13912345678", "13912345679"]  # a number cell is the phone's text, no ".0"
    assert births == [dt.date(1990, 1, 1), dt.date(1991, 2, 2)]


def test_json_records_and_shapes_refused(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(provider_clerk(db))
    recs = [{k: v for k, v in p.items() if k != "内部备注"} for p in people(3)]
    recs[2]["家庭人口"] = "很多"
    recs[0]["来源"] = {"系统": "人口库"}
    r = upload(clerk, hosted["code"], "p.json", json.dumps({"records": recs}, ensure_ascii=False).encode())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["format"] == "json" and (body["rows_loaded"], body["rows_rejected"]) == (2, 1)
    assert (3, "家庭人口") in [(p["row"], p["item"]) for p in body["report"]]
    assert any(p["item"] == "来源" and p["row"] == 1 for p in body["report"])
    plain = json.dumps(recs[:2], ensure_ascii=False).encode()
    assert upload(clerk, hosted["code"], "p.json", plain, "incremental").status_code == 201
    for bad in (b"[1, 2]", b'{"rows": []}', b"{not json", b"[]", json.dumps([{"无关": 1}]).encode()):
        r = upload(clerk, hosted["code"], "p.json", bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


def test_files_refused_whole_keep_the_previous_rows(as_user, hosted, db, monkeypatch) -> None:  # noqa: ANN001
    clerk = as_user(provider_clerk(db))
    code, before = hosted["code"], state(db, hosted["dataset_id"])
    cases = [
        ("a.csv", "编号,备注\n1,x\n".encode(), 422, "信息项"),  # no column is an item
        ("a.csv", csv_bytes([]), 422, "数据行"),  # a header and nothing else
        ("a.csv", "姓名,姓名\n张三,李四\n".encode(), 422, "两列"),
        ("a.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, 422, ".xls"),
        ("a.xlsx", b"PK\x03\x04 not really a zip", 422, ".xlsx"),
        ("a.csv", b"", 422, "空"),
    ]
    for name, data, status, words in cases:
        r = upload(clerk, code, name, data)
        assert r.status_code == status, (name, r.text)
        assert words in r.json()["messages"]["zh"], r.json()
    # a full load in which every row is wrong would empty the resource: refused, with the report
    rows = person_rows(3)
    for row in rows:
        row[6] = "不详"
    r = upload(clerk, code, "all-bad.csv", csv_bytes(rows))
    assert r.status_code == 422 and "保留" in r.json()["messages"]["zh"]
    assert [p["row"] for p in r.json()["report"] if p["item"] == "家庭人口"] == [2, 3, 4]
    monkeypatch.setattr(loading, "MAX_BYTES", 1000)
    r = upload(clerk, code, "big.csv", csv_bytes(person_rows(30)))
    assert r.status_code == 413 and "MB" in r.json()["messages"]["zh"]
    assert state(db, hosted["dataset_id"]) == before


def test_mode_and_proxied_resources(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(provider_clerk(db))
    assert (
        upload(clerk, hosted["code"], "a.csv", csv_bytes(person_rows(1)), mode="replace").status_code == 422
    )
    rid = make_resource(db, name="代理的人口资源")
    with unit_of_work(db, ME) as uow:
        services.proxy(uow, rid, "http://127.0.0.1:9/records")
        code = uow.session.get(Resource, rid).code
    assert upload(clerk, code, "a.csv", csv_bytes(person_rows(1))).status_code == 409
    nothing = make_resource(db, name="未挂接的人口资源")
    with db.read() as s:
        code = s.get(Resource, nothing).code
    assert upload(clerk, code, "a.csv", csv_bytes(person_rows(1))).status_code == 404


def test_who_may_upload(as_user, as_system, hosted, db) -> None:  # noqa: ANN001
    data = csv_bytes(person_rows(2))
    code, before = hosted["code"], state(db, hosted["dataset_id"])
    other = provider_clerk(db, "otherclerk", org="data_bureau")  # a catalogue clerk of another department
    authority = provider_clerk(db, "authority", org="city", role="data_authority")
    for who in ("outsider", "clerk", other, authority):
        r = upload(as_user(who), code, "a.csv", data)
        assert r.status_code == 403, (who, r.text)
    r = as_system.post(UPLOADS.format(code), files={"file": ("a.csv", data)})
    assert r.status_code == 403
    assert state(db, hosted["dataset_id"]) == before
    assert upload(as_user(provider_clerk(db)), code, "a.csv", data).status_code == 201


def test_a_large_csv_streams_in(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(provider_clerk(db))
    rows = [
        [f"张{i}", f"3201021990{i:08d}", f"138{i:08d}", f"南京市玄武区{i}号", "1990-01-01", "玄武区", i % 9]
        for i in range(20_000)
    ]
    rows[12_345][6] = "x"
    r = upload(clerk, hosted["code"], "big.csv", csv_bytes(rows))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["rows_read"], body["rows_loaded"], body["dataset_rows"]) == (20_000, 19_999, 19_999)
    assert [p["row"] for p in body["report"] if p["row"] and p["row"] > 1] == [12_347]


def test_cli_load(fresh_url: str, tmp_path) -> None:  # noqa: ANN001
    from zhicheng.exchange.cli import app

    db = Database(fresh_url)
    try:
        rid = make_resource(db)
        with unit_of_work(db, ME) as uow:
            services.host(uow, rid, key_item="公民身份号码")
            code = uow.session.get(Resource, rid).code
        grant(db, rid)
    finally:
        db.dispose()
    good = tmp_path / "people.csv"
    good.write_bytes(csv_bytes(person_rows(6), encoding="gbk"))
    env = {**os.environ, "ZHICHENG_DATABASE_URL": fresh_url, "ZHICHENG_ENV": "test"}
    runner = CliRunner()
    r = runner.invoke(app, ["load", code, str(good)], env=env)
    assert r.exit_code == 0, r.output
    assert "导入 6 行" in r.output and "loaded 6" in r.output
    rows = person_rows(3)
    rows[0][6] = "很多"
    bad = tmp_path / "people2.csv"
    bad.write_bytes(csv_bytes(rows))
    r = runner.invoke(app, ["load", code, str(bad), "--mode", "incremental", "--json"], env=env)
    assert r.exit_code == 1
    out = json.loads(r.stdout)
    assert (out["rows_loaded"], out["rows_rejected"]) == (2, 1) and out["report"][-1]["row"] == 2
    r = runner.invoke(app, ["load", code, str(tmp_path / "missing.csv")], env=env)
    assert r.exit_code != 0
