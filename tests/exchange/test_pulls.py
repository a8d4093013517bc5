"""Scheduled pulls from a provider's HTTP API (a real server started here) and from a database (a SQLite file
made here): full and incremental, paging, the provider down or answering badly (previous rows kept), bad rows
reported, the worker's periodic task, the API (provider clerk only) and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests import personas
from tests.exchange.conftest import ME
from tests.exchange.test_loading import provider_clerk
from zhicheng.catalog import services as catalog
from zhicheng.catalog.models import CatalogClass
from zhicheng.catalog.schemas import ClassIn, ResourceIn
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.db import Actor, Database, unit_of_work, utcnow
from zhicheng.core.errors import Invalid
from zhicheng.core.jobs.registry import REGISTRY
from zhicheng.core.jobs.worker import Worker
from zhicheng.exchange import datastore, pulls, services, sources
from zhicheng.exchange.models import Dataset, PullSource

WORKER = Actor(kind="worker", name="test-worker")
PULL = "/api/v1/exchange/resources/{}/pull"


class Provider:
    """A provider's API on a free local port: `answer(method, path, query, body, headers)` returns
    (status, JSON-able or bytes); every request is kept in `seen`."""

    def __init__(self) -> None:
        self.answer: Callable[..., tuple[int, Any]] = lambda *a: (404, {"error": "no route"})
        self.seen: list[dict[str, Any]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                req = {
                    "method": self.command,
                    "path": parts.path,
                    "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                    "body": json.loads(raw) if raw else None,
                    "headers": dict(self.headers),
                }
                provider.seen.append(req)
                status, payload = provider.answer(req)
                data = (
                    payload
                    if isinstance(payload, bytes)
                    else json.dumps(payload, ensure_ascii=False).encode()
                )
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider()
    yield p
    p.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LEDGER_ITEMS = [
    {"name": "统一社会信用代码", "data_type": "字符型"},
    {"name": "企业名称", "data_type": "字符型"},
    {"name": "列入日期", "data_type": "日期型"},
    {"name": "罚款金额", "data_type": "数值型"},
    {"name": "更新时间", "data_type": "日期时间型"},
]


def ledger(db: Database) -> dict:
    """A hosted resource of 市场监管局: the list of companies with irregular operations."""
    w = personas.WORLD
    with unit_of_work(db, ME) as uow:
        for code, name in [("2", "主题信息资源"), ("201", "市场监管"), ("201001", "企业信用")]:
            if not uow.session.get(CatalogClass, code):
                catalog.create_class(uow, ClassIn(code=code, name=name))
        res = catalog.create_resource(
            uow,
            ResourceIn(
                name="企业经营异常名录",
                class_code="201001",
                provider_org_id=w.market,
                format="数据库",
                update_cycle="每日",
                share_type="无条件共享",
                share_basis="《企业信息公示暂行条例》",
                open_type="不予开放",
                items=LEDGER_ITEMS,
            ),
        )
        ds = services.host(uow, res.id, key_item="统一社会信用代码")
        return {"resource_id": res.id, "code": res.code, "dataset_id": ds.id}


def company(i: int, day: int = 1, fine: Any = None) -> dict:
    return {
        "统一社会信用代码": f"91320100MA{i:08d}",
        "企业名称": f"南京第{i}贸易有限公司",
        "列入日期": f"2025-03-{(i % 28) + 1:02d}",
        "罚款金额": fine if fine is not None else 1000 + i,
        "更新时间": f"2026-01-{day:02d}T08:00:{i % 60:02d}",
    }


def configure(db: Database, dataset_id: int, **kw: Any) -> None:
    with unit_of_work(db, ME) as uow:
        pulls.configure(uow, dataset_id, **kw)


def pull_state(db: Database, dataset_id: int) -> tuple[PullSource, Dataset]:
    with db.read() as s:
        return s.scalar(select(PullSource).where(PullSource.dataset_id == dataset_id)), s.get(
            Dataset, dataset_id
        )


def rows(db: Database, dataset_id: int) -> dict[str, dict]:
    """The dataset's rows by credit code."""
    with db.read() as s:
        ds = s.get(Dataset, dataset_id)
        t = datastore.table(ds.table_name, ds.columns)
        names = {c["column"]: c["item"] for c in ds.columns}
        out = {}
        for r in s.execute(select(t)).mappings():
            row = {names[k]: v for k, v in r.items() if k in names}
            out[row["统一社会信用代码"]] = row
        return out


# --- HTTP --------------------------------------------------------------------------------------------------
def test_http_full_pull_follows_pages(db, provider) -> None:  # noqa: ANN001
    d = ledger(db)
    data = [company(i) for i in range(70)]

    def answer(req: dict) -> tuple[int, Any]:
        page = int(req["query"].get("page", 1))
        if page == 1:
            return 200, {"records": data[:50], "links": {"next": "/rows?page=2"}}
        return 200, {"records": data[50:], "links": {}}

    provider.answer = answer
    configure(db, d["dataset_id"], kind="http", url=f"{provider.url}/rows?token=s3cret", every_minutes=30)
    before = utcnow()
    load = pulls.run(db, d["dataset_id"], ME)
    assert (load.source, load.format, load.mode, load.rows_loaded) == ("pull", "http", "full", 70)
    assert len(load.digest) == 64 and "s3cret" not in load.filename
    assert [r["query"].get("page") for r in provider.seen] == [None, "2"]
    assert provider.seen[0]["query"]["token"] == "s3cret"
    src, ds = pull_state(db, d["dataset_id"])
    assert (src.last_status, src.last_error, ds.row_count) == ("ok", None, 70)
    assert src.next_run_at >= before + dt.timedelta(minutes=30)
    got = rows(db, d["dataset_id"])["91320100MA00000069"]
    assert got["罚款金额"] == 1069.0 and got["列入日期"] == dt.date(2025, 3, 14)
    with db.read() as s:
        records = {
            t: c
            for t, c in s.execute(
                select(AuditRecord.tag, AuditRecord.change).where(AuditRecord.tag.like("exchange:%"))
            )
        }
    assert {"exchange:pull:configure", "exchange:pull:run", "exchange:dataset:load"} <= set(records)
    assert "s3cret" not in records["exchange:pull:configure"] and "***" in records["exchange:pull:configure"]


def test_ckan_answers_and_cursor_paging(db, provider) -> None:  # noqa: ANN001
    d = ledger(db)
    data = [company(i) for i in range(25)]

    def ckan(req: dict) -> tuple[int, Any]:
        offset = int(req["query"].get("offset", 0))
        page = data[offset : offset + 10]
        nxt = f"/api/3/action/datastore_search?resource_id=x&offset={offset + 10}"
        return 200, {"success": True, "result": {"records": page, "total": 25, "_links": {"next": nxt}}}

    provider.answer = ckan
    configure(
        db, d["dataset_id"], kind="http", url=f"{provider.url}/api/3/action/datastore_search?resource_id=x"
    )
    assert pulls.run(db, d["dataset_id"], ME).rows_loaded == 25
    assert len(provider.seen) == 3  # stops at the total, not at an empty page

    provider.seen.clear()

    def cursors(req: dict) -> tuple[int, Any]:
        at = int(req["query"].get("cursor", 0))
        return 200, {"records": data[at : at + 10], "next_cursor": str(at + 10) if at + 10 < 25 else None}

    provider.answer = cursors
    assert pulls.run(db, d["dataset_id"], ME).rows_loaded == 25
    assert [r["query"].get("cursor") for r in provider.seen] == [None, "10", "20"]


def test_http_incremental_pull_moves_the_cursor(db, provider) -> None:  # noqa: ANN001
    d = ledger(db)
    data = [company(i, day=1) for i in range(10)]
    provider.answer = lambda req: (200, data)  # a provider that ignores `since`: the platform filters too
    configure(
        db,
        d["dataset_id"],
        kind="http",
        url=f"{provider.url}/rows",
        mode="incremental",
        cursor_item="更新时间",
    )
    assert pulls.run(db, d["dataset_id"], ME).rows_loaded == 10
    src, _ = pull_state(db, d["dataset_id"])
    assert src.cursor_value == "2026-01-01T08:00:09" and "since" not in provider.seen[0]["query"]
    data[3] = company(3, day=2, fine=5)  # changed since
    data.append(company(10, day=2))  # new
    load = pulls.run(db, d["dataset_id"], ME)
    assert provider.seen[-1]["query"]["since"] == "2026-01-01T08:00:09"
    assert (load.mode, load.rows_read, load.rows_loaded) == ("incremental", 2, 2)
    src, ds = pull_state(db, d["dataset_id"])
    assert ds.row_count == 11 and src.cursor_value == "2026-01-02T08:00:10"
    assert rows(db, d["dataset_id"])["91320100MA00000003"]["罚款金额"] == 5.0
    assert pulls.run(db, d["dataset_id"], ME).rows_loaded == 0  # nothing new: nothing changes


def test_provider_down_bad_json_and_timeouts_keep_the_rows(db, provider, monkeypatch) -> None:  # noqa: ANN001
    d = ledger(db)
    provider.answer = lambda req: (200, [company(i) for i in range(5)])
    configure(db, d["dataset_id"], kind="http", url=f"{provider.url}/rows", every_minutes=15)
    pulls.run(db, d["dataset_id"], ME)
    kept = rows(db, d["dataset_id"])
    cases = [
        (lambda req: (200, b"<html>502 Bad Gateway</html>"), 502, "JSON"),
        (lambda req: (500, {"error": "boom"}), 502, "HTTP 500"),
        (lambda req: (200, {"success": False, "error": {"message": "x"}}), 502, "失败"),
        (lambda req: (200, {"data": []}), 502, "记录"),
        (lambda req: (200, []), 422, "保留"),  # a full pull of nothing would empty the resource
        (lambda req: (200, [{"其他": 1}]), 422, "信息项"),
    ]
    for answer, status, words in cases:
        provider.answer = answer
        started = utcnow()
        with pytest.raises(Exception) as exc:
            pulls.run(db, d["dataset_id"], ME)
        assert exc.value.status == status and words in exc.value.detail_zh, exc.value.detail_zh
        src, ds = pull_state(db, d["dataset_id"])
        assert src.last_status == "failed" and words in src.last_error
        assert src.next_run_at >= started + dt.timedelta(minutes=15)
        assert rows(db, d["dataset_id"]) == kept and ds.row_count == 5
    configure(db, d["dataset_id"], kind="http", url=f"http://127.0.0.1:{closed_port()}/rows")
    with pytest.raises(pulls.PullFailed) as exc:
        pulls.run(db, d["dataset_id"], ME)
    assert "无法连接" in exc.value.detail_zh and rows(db, d["dataset_id"]) == kept

    def slow(req: dict) -> tuple[int, Any]:
        time.sleep(1.5)
        return 200, [company(1)]

    provider.answer = slow
    monkeypatch.setattr(sources, "HTTP_TIMEOUT", 0.3)
    configure(db, d["dataset_id"], kind="http", url=f"{provider.url}/rows")
    with pytest.raises(pulls.ProviderTimeout):
        pulls.run(db, d["dataset_id"], ME)
    src, _ = pull_state(db, d["dataset_id"])
    assert src.last_status == "failed" and "超时" in src.last_error and rows(db, d["dataset_id"]) == kept
    with db.read() as s:
        fails = s.scalars(select(AuditRecord.tag).where(AuditRecord.tag == "exchange:pull:fail")).all()
    assert len(fails) == len(cases) + 2


def test_bad_rows_are_reported_and_the_good_loaded(db, provider) -> None:  # noqa: ANN001
    d = ledger(db)
    data = [company(i) for i in range(6)]
    data[2]["罚款金额"] = "一百元"
    data[4]["列入日期"] = "2025-02-30"
    data[5]["备注"] = "多余字段"
    provider.answer = lambda req: (200, {"records": data})
    configure(db, d["dataset_id"], kind="http", url=f"{provider.url}/rows")
    load = pulls.run(db, d["dataset_id"], ME)
    assert (load.rows_read, load.rows_loaded, load.rows_rejected) == (6, 4, 2)
    report = [(p["row"], p["item"]) for p in load.report]
    assert (3, "罚款金额") in report and (5, "列入日期") in report and (6, "备注") in report
    src, _ = pull_state(db, d["dataset_id"])
    assert src.last_status == "partial"


# --- database ----------------------------------------------------------------------------------------------
def source_db(path: str, n: int) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS qy (tyshxydm TEXT, qymc TEXT, lrrq TEXT, fk REAL, gxsj TEXT)")
    for i in range(n):
        c = company(i)
        con.execute(
            "INSERT INTO qy VALUES (?, ?, ?, ?, ?)",
            (c["统一社会信用代码"], c["企业名称"], c["列入日期"], c["罚款金额"], c["更新时间"]),
        )
    con.commit()
    con.close()


QUERY = """
    -- 企业经营异常名录: columns named as the items
    SELECT tyshxydm AS "统一社会信用代码", qymc AS "企业名称", lrrq AS "列入日期", fk AS "罚款金额",
           gxsj AS "更新时间", 'x:y' AS "备注"
      FROM qy;
"""


def test_database_full_and_incremental(db, tmp_path) -> None:  # noqa: ANN001
    d = ledger(db)
    path = str(tmp_path / "provider.db")
    source_db(path, 12)
    configure(db, d["dataset_id"], kind="database", url=f"sqlite:///{path}", query=QUERY)
    load = pulls.run(db, d["dataset_id"], ME)
    assert (load.format, load.rows_loaded) == ("database", 12)
    assert [p["item"] for p in load.report] == ["备注"]  # a column that is not an item: reported, ignored
    configure(
        db, d["dataset_id"], kind="database", url=f"sqlite:///{path}", query=QUERY, mode="incremental",
        cursor_item="更新时间", cursor_value="2026-01-01T08:00:09",
    )  # fmt: skip
    con = sqlite3.connect(path)
    con.execute("UPDATE qy SET fk = 1, gxsj = '2026-01-03T09:00:00' WHERE tyshxydm = '91320100MA00000001'")
    con.execute(
        "INSERT INTO qy VALUES ('91320100MA00000099', '新公司', '2026-01-03', 7, '2026-01-03T10:00:00')"
    )
    con.commit()
    con.close()
    load = pulls.run(db, d["dataset_id"], ME)
    # rows past 08:00:09: 10 and 11 (unchanged since the cursor was set by hand), 1 (changed), 99 (new)
    assert (load.mode, load.rows_read, load.rows_loaded) == ("incremental", 4, 4)
    src, ds = pull_state(db, d["dataset_id"])
    assert ds.row_count == 13 and src.cursor_value == "2026-01-03T10:00:00" and src.last_status == "ok"
    assert rows(db, d["dataset_id"])["91320100MA00000001"]["罚款金额"] == 1.0
    assert pulls.run(db, d["dataset_id"], ME).rows_read == 0


def test_only_one_select_and_never_the_platform_itself(db, tmp_path, base_url) -> None:  # noqa: ANN001
    d = ledger(db)
    url = f"sqlite:///{tmp_path / 'p.db'}"
    refused = [
        "DELETE FROM qy",
        "SELECT 1; DROP TABLE qy",
        "SELECT * INTO copy_qy FROM qy",
        "WITH gone AS (DELETE FROM qy RETURNING *) SELECT * FROM gone",
        "SELECT * FROM qy FOR UPDATE",
        "PRAGMA table_info(qy)",
        "ATTACH DATABASE 'x.db' AS x",
        "SELECT 'unterminated",
        "",
    ]
    for query in refused:
        with pytest.raises(Invalid) as exc:
            configure(db, d["dataset_id"], kind="database", url=url, query=query)
        assert exc.value.extra.get("field") == "query", query
    ok = pulls.check_select("SELECT a AS \"delete\", 'drop; table' FROM t -- ; DELETE\n WHERE b = 'it''s';")
    assert ok.startswith("SELECT") and "DELETE" not in ok and ok.endswith("'it''s'")
    assert pulls.check_select("select updated_at, deleted from t") == "select updated_at, deleted from t"
    for bad_url in (base_url, "sqlite://", "oracle://u:p@h/db", "not a url"):
        with pytest.raises(Invalid) as exc:
            configure(db, d["dataset_id"], kind="database", url=bad_url, query="SELECT 1")
        assert exc.value.extra.get("field") == "url", bad_url
    for bad in ({"kind": "ftp"}, {"mode": "incremental"}, {"mode": "incremental", "cursor_item": "无此项"},
                {"every_minutes": 0}, {"url": "file:///etc/passwd"}):  # fmt: skip
        with pytest.raises(Invalid):
            configure(db, d["dataset_id"], **{"kind": "http", "url": "http://x.example/rows", **bad})


def test_database_source_errors_keep_the_rows(db, tmp_path) -> None:  # noqa: ANN001
    d = ledger(db)
    path = str(tmp_path / "provider.db")
    source_db(path, 3)
    configure(db, d["dataset_id"], kind="database", url=f"sqlite:///{path}", query=QUERY)
    pulls.run(db, d["dataset_id"], ME)
    configure(
        db, d["dataset_id"], kind="database", url=f"sqlite:///{path}", query="SELECT * FROM no_such_table"
    )
    with pytest.raises(pulls.PullFailed) as exc:
        pulls.run(db, d["dataset_id"], ME)
    assert "no_such_table" in exc.value.detail_en
    configure(
        db, d["dataset_id"], kind="database", url=f"sqlite:///{tmp_path / 'absent.db'}", query="SELECT 1"
    )
    with pytest.raises(pulls.PullFailed):
        pulls.run(db, d["dataset_id"], ME)
    assert pull_state(db, d["dataset_id"])[1].row_count == 3
    assert not os.path.exists(tmp_path / "absent.db")  # read-only: a missing file is not created


# --- schedule, API, CLI ------------------------------------------------------------------------------------
def test_the_worker_runs_due_pulls(db, settings, provider) -> None:  # noqa: ANN001
    import zhicheng.exchange.jobs  # noqa: F401 - registers exchange.pull

    d = ledger(db)
    provider.answer = lambda req: (200, [company(i) for i in range(3)])
    configure(db, d["dataset_id"], kind="http", url=f"{provider.url}/rows", every_minutes=60)
    worker = Worker(db, settings, worker_id="w-pull", registry=REGISTRY.only(["exchange.pull"]))
    assert worker.run_once() == 1
    src, ds = pull_state(db, d["dataset_id"])
    assert ds.row_count == 3 and src.last_status == "ok" and len(provider.seen) == 1
    assert pulls.run_due(db, WORKER) == {"ok": 0, "partial": 0, "failed": 0}  # not due for an hour
    later = utcnow() + dt.timedelta(minutes=61)
    assert pulls.run_due(db, WORKER, now=later) == {"ok": 1, "partial": 0, "failed": 0}
    configure(db, d["dataset_id"], kind="http", url=f"{provider.url}/rows", enabled=False)
    assert pulls.run_due(db, WORKER, now=later + dt.timedelta(days=1)) == {"ok": 0, "partial": 0, "failed": 0}


def test_pull_api_for_the_provider_clerk_only(as_user, as_system, db, provider) -> None:  # noqa: ANN001
    d = ledger(db)
    provider.answer = lambda req: (200, {"records": [company(i) for i in range(4)]})
    body = {"kind": "http", "url": f"{provider.url}/rows?appKey=k-123&area=320100", "every_minutes": 5,
            "token": "provider-secret"}  # fmt: skip
    url = PULL.format(d["code"])
    authority = provider_clerk(db, "authority", org="city", role="data_authority")
    assert as_system.put(url, json=body).status_code == 403
    assert as_system.post(url + "/run").status_code == 403
    for who in ("outsider", "clerk", authority):
        client = as_user(who)
        assert client.send("PUT", url, json=body).status_code == 403, who
        assert client.send("POST", url + "/run").status_code == 403, who
    clerk = as_user(provider_clerk(db))
    assert clerk.get(url).status_code == 404  # nothing configured yet
    r = clerk.send("PUT", url, json=body)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["url"].endswith("/rows?appKey=***&area=320100") and shown["has_token"] is True
    assert "k-123" not in json.dumps(shown) and "provider-secret" not in json.dumps(shown)
    basic = {**body, "url": "http://user:pw@127.0.0.1:9/rows"}
    assert clerk.send("PUT", url, json=basic).json()["field"] == "token"  # Basic or Bearer, not both
    assert pulls.redact("http", basic["url"]) == "http://user:***@127.0.0.1:9/rows"
    assert pulls.redact("database", "postgresql://etl:pw@10.0.0.5/rk") == "postgresql://etl:***@10.0.0.5/rk"
    r = clerk.send("POST", url + "/run")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok" and r.json()["load"]["rows_loaded"] == 4
    assert r.json()["pull"]["last_status"] == "ok"
    sent = provider.seen[-1]["headers"]
    assert sent.get("Authorization") == "Bearer provider-secret"
    load_id = r.json()["load"]["id"]
    assert clerk.get(f"/api/v1/exchange/resources/{d['code']}/loads/{load_id}").json()["rows_loaded"] == 4
    provider.answer = lambda req: (503, {"error": "维护中"})
    r = clerk.send("POST", url + "/run")
    assert r.status_code == 502 and r.headers["content-type"].startswith("application/problem+json")
    assert clerk.get(url).json()["last_status"] == "failed"
    assert as_system.get(url).status_code == 403
    bad = clerk.send(
        "PUT", url, json={**body, "kind": "database", "url": "sqlite:///x.db", "query": "DROP TABLE x"}
    )
    assert bad.status_code == 422
    assert clerk.send("DELETE", url).status_code == 204
    assert clerk.get(url).status_code == 404
    assert pull_state(db, d["dataset_id"])[1].row_count == 4  # the rows stay


def test_cli_pull(fresh_url: str, provider) -> None:  # noqa: ANN001
    from zhicheng.exchange.cli import app

    db = Database(fresh_url)
    try:
        d = ledger(db)
        provider.answer = lambda req: (200, [company(i) for i in range(3)])
        configure(db, d["dataset_id"], kind="http", url=f"{provider.url}/rows")
    finally:
        db.dispose()
    env = {**os.environ, "ZHICHENG_DATABASE_URL": fresh_url, "ZHICHENG_ENV": "test"}
    r = CliRunner().invoke(app, ["pull", d["code"]], env=env)
    assert r.exit_code == 0, r.output
    assert "导入 3 行" in r.output
    provider.answer = lambda req: (200, b"not json")
    r = CliRunner().invoke(app, ["pull", d["code"]], env=env)
    assert r.exit_code != 0 and isinstance(r.exception, pulls.PullFailed)


def test_the_source_is_read_only_even_past_the_check(db, tmp_path, dialect) -> None:  # noqa: ANN001
    """The SELECT check is the first lock; the read-only transaction is the second: a write that got past
    the first (here: handed straight to the runner) is refused by the source database itself."""
    from tests.conftest import TARGET

    path = str(tmp_path / "provider.db")
    source_db(path, 1)
    since = sources.Since(None, "string", None)
    write_sql = "INSERT INTO qy (qymc) VALUES ('x')"
    write = sources.Source(
        0, 0, "x", "database", f"sqlite:///{path}", write_sql, "full", None, None, 60, None, None
    )
    with pytest.raises(pulls.PullFailed) as exc:
        with sources.database(write, since, {}, db.engine.url) as (_, records):
            list(records)
    assert "readonly" in exc.value.detail_en, exc.value.detail_en
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM qy").fetchone() == (1,)
    con.close()
    if dialect == "postgresql":  # the server's maintenance database, not the platform's test database
        probe_sql = "SELECT current_setting('transaction_read_only')"
        probe = sources.Source(0, 0, "x", "database", TARGET, probe_sql, "full", None, None, 60, None, None)
        with sources.database(probe, since, {}, db.engine.url) as (_, records):
            assert list(records) == [("on",)]
