"""The exchange console: the provider's catalogue clerk hosts a resource, uploads a file and reads its row
report; the dataset page and the catalog page show a masked sample, never raw values; usage statistics for
the provider, the consumer ("my calls") and the data authority; errors as readable pages; the outsider, a
clerk without exchange.manage and another district's administrator refused."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from tests import personas
from tests.exchange.conftest import ME, make_resource, people
from zhicheng.catalog import queries as catalog
from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.auth import services as auth
from zhicheng.core.auth.permissions import Scope
from zhicheng.core.auth.principal import Principal
from zhicheng.core.auth.schemas import GrantIn, UserIn
from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.exchange import pulls, queries, services, usage
from zhicheng.exchange.models import Dataset

HEADER = ["姓名", "公民身份号码", "联系电话", "现住址", "出生日期", "所属区县", "家庭人口"]
RECORDS = "/api/v1/exchange/resources/{}/records"


def user(db: Database, username: str, org: str, *roles: str) -> str:
    """A console user of a persona org (market: the provider; data_bureau: the consumer) with roles there."""
    org_id = getattr(personas.WORLD, org)
    with unit_of_work(db, ME) as uow:
        u = auth.create_user(
            uow, UserIn(username=username, display_name="钱编目", password=personas.PASSWORD, org_id=org_id)
        )
        for role in roles:
            auth.grant_role(uow, u.id, GrantIn(role=role, org_id=org_id))
    return username


def csv_file(rows: list[list]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def person_rows(start: int, n: int) -> list[list]:
    return [[p[h] for h in HEADER] for p in people(start + n)[start:]]


def upload(client, resource_id: int, data: bytes, mode: str = "incremental", name: str = "人口.csv", **kw):  # noqa: ANN001, ANN003, ANN201
    return client.http.post(
        f"/exchange/resources/{resource_id}/uploads",
        data={"mode": mode, "csrf_token": client.csrf},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
        **kw,
    )


def main(html: str) -> str:
    return html.split("<main>", 1)[1]


def test_provider_clerk_uploads_and_reads_the_row_report(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(user(db, "provclerk", "market", "catalog_clerk"))
    rid = hosted["resource_id"]

    listed = clerk.get("/exchange/resources")
    assert listed.status_code == 200
    row = re.search(rf'<tr data-resource="{rid}">(.*?)</tr>', listed.text, re.S).group(1)
    assert "平台托管" in row and ">30<" in row
    page = clerk.get(f"/exchange/resources/{rid}")
    assert page.status_code == 200 and 'data-mode="hosted"' in page.text
    assert 'data-testid="form-upload"' in page.text and "p.csv" in page.text  # the fixture's load

    rows = person_rows(30, 4)  # four new people, the second with a household size that is no number
    rows[1][6] = "两口"
    r = upload(clerk, rid, csv_file(rows))
    assert r.status_code == 303
    m = re.fullmatch(rf"/exchange/resources/{rid}/loads/(\d+)", r.headers["location"])
    assert m
    report = clerk.get(r.headers["location"])
    assert report.status_code == 200
    assert "读取 4 行，导入 3 行，拒绝 1 行" in report.text  # the one-shot message after the redirect
    assert re.search(r'data-testid="rows-rejected">1<', report.text)
    bad = re.search(r'<tr data-row="3">(.*?)</tr>', report.text, re.S)  # the sheet's row 3 (header is 1)
    assert bad and "家庭人口" in bad.group(1) and "“两口”不是整数" in bad.group(1)
    with db.read() as s:
        assert s.get(Dataset, hosted["dataset_id"]).row_count == 33
        loads = select(AuditRecord).where(AuditRecord.tag == "exchange:dataset:load")
        record = s.scalar(loads.order_by(AuditRecord.id.desc()))
    assert record.actor == "user:provclerk" and json.loads(record.change)["rejected"] == 1

    english = clerk.get(r.headers["location"], params={"lang": "en"}).text
    assert "Load report" in english and "&#39;两口&#39; is not an integer" in english


def test_dataset_page_shows_a_masked_sample_never_raw_values(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(user(db, "provclerk", "market", "catalog_clerk"))
    page = main(clerk.get(f"/exchange/resources/{hosted['resource_id']}").text)
    sample = page.split('data-testid="sample-rows"', 1)[1].split("</table>", 1)[0]
    first = people(1)[0]
    assert "138****0000" in sample and first["联系电话"] not in page  # phone: first 3, last 4
    assert first["公民身份号码"][:6] + "********" + first["公民身份号码"][-4:] in sample
    assert first["公民身份号码"] not in page
    assert "张**" in sample and "张小明" not in page  # names: the surname only
    assert "南京市玄武区中山路***" in sample  # addresses cut after the road
    assert "内部备注" not in sample and "不予共享的信息项不展示：内部备注" in page
    assert sample.count("<tr>") == 1 + 5  # the header and the first five rows


def test_upload_errors_are_readable_pages(as_user, hosted, db) -> None:  # noqa: ANN001
    clerk = as_user(user(db, "provclerk", "market", "catalog_clerk"))
    rid = hosted["resource_id"]
    nothing = clerk.http.post(
        f"/exchange/resources/{rid}/uploads", data={"mode": "full", "csrf_token": clerk.csrf}
    )
    assert nothing.status_code == 422 and "请选择要导入的文件" in nothing.text

    wrong = upload(clerk, rid, "甲,乙\n1,2\n".encode(), mode="full", name="其他.csv")
    assert wrong.status_code == 422 and "表头中没有该资源的任何信息项" in wrong.text
    assert 'data-testid="form-upload"' in wrong.text  # the page again, with the form

    rows = person_rows(0, 2)
    rows[0][4] = rows[1][4] = "1990-02-30"
    emptying = upload(clerk, rid, csv_file(rows), mode="full")
    assert emptying.status_code == 422 and "原有 30 行数据保留" in emptying.text
    refused = emptying.text.split('data-testid="refused-report"', 1)[1].split("</table>", 1)[0]
    assert '<tr data-row="2">' in refused and '<tr data-row="3">' in refused
    in_english = upload(clerk, rid, csv_file(rows), mode="full", params={"lang": "en"})
    assert in_english.status_code == 422 and "the previous 30 rows are kept" in in_english.text
    with db.read() as s:
        assert s.get(Dataset, hosted["dataset_id"]).row_count == 30  # nothing of it was loaded


def test_provider_hosts_a_resource_from_the_console(as_user, db) -> None:  # noqa: ANN001
    rid = make_resource(db, name="流动人口居住登记信息")
    clerk = as_user(user(db, "provclerk", "market", "catalog_clerk"))
    page = clerk.get(f"/exchange/resources/{rid}")
    assert 'data-mode="none"' in page.text and 'data-testid="form-host"' in page.text
    bad = clerk.form(f"/exchange/resources/{rid}/host", {"key_item": "不存在的项"})
    assert bad.status_code == 422 and "主键信息项“不存在的项”不存在" in bad.text
    r = clerk.form(f"/exchange/resources/{rid}/host", {"key_item": "公民身份号码"})
    assert r.status_code == 303 and r.headers["location"] == f"/exchange/resources/{rid}"
    hosted_page = clerk.get(r.headers["location"]).text
    assert 'data-mode="hosted"' in hosted_page and "已挂接" in hosted_page
    assert 'data-testid="form-upload"' in hosted_page and 'data-testid="pull-none"' in hosted_page
    again = clerk.form(f"/exchange/resources/{rid}/host", {"key_item": ""})
    assert again.status_code == 409 and "该资源的数据已挂接" in again.text
    r = upload(clerk, rid, csv_file(person_rows(0, 3)), mode="full")
    assert r.status_code == 303
    with db.read() as s:
        ds = queries.dataset(s, rid)
        assert ds.key_item == "公民身份号码" and ds.row_count == 3


@pytest.mark.parametrize(
    ("who", "status"),
    [("outsider", 403), ("clerk", 403), ("district_admin", 403), ("auditor", 403)],
)
def test_others_may_not_see_or_load_the_providers_data(as_user, hosted, who, status) -> None:  # noqa: ANN001
    """The outsider holds nothing; the market bureau's clerk reads but does not manage its data; the 玄武区
    administrator manages data only in its district; the auditor reads the catalog only."""
    c = as_user(who)
    rid = hosted["resource_id"]
    assert c.get(f"/exchange/resources/{rid}").status_code == status
    assert c.get(f"/exchange/resources/{rid}/loads/1").status_code == status
    assert upload(c, rid, csv_file(person_rows(0, 1))).status_code == status
    assert c.form(f"/exchange/resources/{rid}/host", {}).status_code == status
    if who == "district_admin":  # it may open the list, which holds only its own district's resources
        assert f'data-resource="{rid}"' not in c.get("/exchange/resources").text


def test_anonymous_is_sent_to_the_login_page(client, hosted) -> None:  # noqa: ANN001
    for url in (f"/exchange/resources/{hosted['resource_id']}", "/exchange/usage", "/exchange/calls"):
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def _chart(html: str) -> dict:
    return json.loads(html.split('id="usage-data">', 1)[1].split("</script>", 1)[0])


def test_usage_for_consumer_provider_and_authority(as_user, as_system, hosted, db) -> None:  # noqa: ANN001
    for limit in (1, 2, 3):
        assert as_system.get(RECORDS.format(hosted["code"]), params={"limit": limit}).status_code == 200
    with unit_of_work(db, ME) as uow:
        assert usage.roll_up(uow) == 3

    # the consumer department's clerk: its own calls, on the page and in the chart
    consumer = as_user(user(db, "dataclerk", "data_bureau", "clerk"))
    mine = consumer.get("/exchange/calls")
    assert mine.status_code == 200 and "<h1>我的调用</h1>" in mine.text
    row = re.search(rf'<tr data-resource="{re.escape(hosted["code"])}">(.*?)</tr>', mine.text, re.S).group(1)
    assert "南京市数据局" in row and 'data-testid="calls">3<' in row
    chart = _chart(mine.text)
    assert len(chart["days"]) == len(chart["calls"]) == 30
    assert sum(chart["calls"]) == 3 and sum(chart["rows"]) == 6  # 3 calls of 1 + 2 + 3 rows
    assert '<script src="/vendor/echarts/echarts.min.js">' in mine.text

    # the provider's catalogue clerk sees its resource's use; as a consumer it made no calls
    provider = as_user(user(db, "provclerk", "market", "catalog_clerk", "clerk"))
    seen = provider.get("/exchange/usage")
    assert 'data-testid="calls">3<' in seen.text and "南京市数据局" in main(seen.text)
    none = provider.get("/exchange/calls")
    assert none.status_code == 200 and "统计期间没有调用" in none.text
    assert sum(_chart(none.text)["calls"]) == 0

    # the data authority over the city sees both sides; another district's administrator sees nothing
    authority = as_user(user(db, "authority", "city", "data_authority"))
    assert 'data-testid="calls">3<' in authority.get("/exchange/usage").text
    assert authority.get("/exchange/calls").status_code == 403  # it calls nothing itself
    other = as_user("district_admin").get("/exchange/usage")
    assert other.status_code == 200 and "统计期间没有调用" in other.text
    assert as_user("outsider").get("/exchange/usage").status_code == 403

    # a resource filter and a period
    filtered = consumer.get("/exchange/calls", params={"resource": "no/such", "days": 7})
    assert "统计期间没有调用" in filtered.text and len(_chart(filtered.text)["days"]) == 7
    english = consumer.get("/exchange/calls", params={"lang": "en"}).text
    assert "<h1>My calls</h1>" in english and _chart(english)["names"] == ["Calls", "Rows returned"]


def test_nav_entries_follow_permissions(as_user, db) -> None:  # noqa: ANN001
    def entries(username: str) -> set[str]:
        nav = as_user(username).get("/").text.split('<nav class="side">', 1)[1].split("</nav>", 1)[0]
        return set(re.findall(r'href="(/exchange/[a-z]+)"', nav))

    provider = user(db, "provclerk", "market", "catalog_clerk")
    assert entries(provider) == {"/exchange/resources", "/exchange/usage"}
    assert entries("clerk") == {"/exchange/usage", "/exchange/calls"}
    assert entries("district_admin") == {"/exchange/resources", "/exchange/usage", "/exchange/calls"}
    assert entries(user(db, "authority", "city", "data_authority")) == {"/exchange/usage"}


def test_sample_and_catalog_panel(hosted, db) -> None:  # noqa: ANN001
    """queries.sample masks by the standard profile and leaves out items never shared; the catalog page's
    panel offers the dataset page only to the provider."""
    with db.read() as s:
        found = queries.sample(s, hosted["resource_id"])
        market = queries.org_path(s, personas.WORLD.market)
        reader = Principal(Actor(kind="user", name="r"), (Scope("catalog.read", market),))
        manager = Principal(Actor(kind="user", name="m"), (Scope("exchange.manage", market),))
        resource = catalog.resource(s, hosted["resource_id"])
        as_reader = queries.catalog_panel(s, reader, resource)
        as_manager = queries.catalog_panel(s, manager, resource)
    assert [i["name"] for i in found["items"]] == HEADER and found["withheld"] == ["内部备注"]
    assert {i["name"]: i["rule"] for i in found["items"]}["公民身份号码"] == "id_6_4"
    assert len(found["rows"]) == 5 and found["rows"][0]["联系电话"] == "138****0000"
    assert as_reader["mode"] == "hosted" and as_reader["row_count"] == 30 and not as_reader["can_manage"]
    assert as_reader["sample"] == found and as_manager["can_manage"]


def test_catalog_page_shows_the_data_panel(as_user, hosted, db) -> None:  # noqa: ANN001
    """The catalog's resource page (catalog.views passes exchange.queries.catalog_panel as `exchange`): how
    the data is held and the masked sample for every catalog reader, the dataset page for the provider, a
    link to the quality page; no sample of a resource that is not shared at all."""
    rid, first = hosted["resource_id"], people(1)[0]
    reader = main(as_user("clerk").get(f"/catalog/{rid}").text)
    panel = reader.split('data-testid="sample"', 1)[1].split("</table>", 1)[0]
    assert 'data-mode="hosted"' in panel and ">30<" in panel
    assert "138****0000" in panel and first["联系电话"] not in reader and first["公民身份号码"] not in reader
    assert 'data-testid="manage-data"' not in reader and f'href="/quality/resources/{rid}"' in reader
    provider = main(as_user(user(db, "provclerk", "market", "catalog_clerk")).get(f"/catalog/{rid}").text)
    assert f'href="/exchange/resources/{rid}" data-testid="manage-data"' in provider

    closed = make_resource(db, name="内部核查信息", share_type="不予共享")
    with unit_of_work(db, ME) as uow:
        ds = services.host(uow, closed)
        services.load_rows(uow, ds.id, people(3), mode="full", source="upload", fmt="csv")
    page = main(as_user("clerk").get(f"/catalog/{closed}").text)
    assert 'data-testid="no-sample"' in page and "138****0000" not in page
    assert 'data-testid="sample-rows"' not in page
    empty = make_resource(db, name="尚无数据的资源")
    assert "暂无托管数据" in as_user("clerk").get(f"/catalog/{empty}").text


def test_pull_settings_and_proxied_resources_are_shown(as_user, hosted, db) -> None:  # noqa: ANN001
    """The scheduled pull read-only, its secrets hidden; a proxied resource shows its API and no sample."""
    with unit_of_work(db, ME) as uow:
        pulls.configure(
            uow,
            hosted["dataset_id"],
            kind="http",
            url="https://rk.example.gov.cn/api/people?area=320100&token=s3cret",
            mode="incremental",
            cursor_item="出生日期",
            every_minutes=90,
        )
    clerk = as_user(user(db, "provclerk", "market", "catalog_clerk"))
    page = clerk.get(f"/exchange/resources/{hosted['resource_id']}").text
    pull = page.split('data-testid="pull"', 1)[1].split("</table>", 1)[0]
    assert "rk.example.gov.cn" in pull and "s3cret" not in page and "***" in pull
    assert "90 分钟" in pull and "出生日期" in pull and "增量" in pull

    proxied = make_resource(db, name="不动产登记信息")
    with unit_of_work(db, ME) as uow:
        services.proxy(uow, proxied, "https://bdc.example.gov.cn/records", "secret-token")
    page = clerk.get(f"/exchange/resources/{proxied}").text
    assert 'data-mode="proxied"' in page and "https://bdc.example.gov.cn/records" in page
    assert "secret-token" not in page and "不展示样例" in page and 'data-testid="form-upload"' not in page
    r = upload(clerk, proxied, csv_file(person_rows(0, 1)))
    assert r.status_code == 409 and "不能导入" in r.text  # a proxied resource takes no loads
