"""The catalog's console pages: search with facets, the resource page with its history, the cataloguing form
and its readable errors, and who may see and change what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests import personas
from zhicheng.catalog import services
from zhicheng.catalog.models import Resource
from zhicheng.catalog.schemas import ResourceIn
from zhicheng.core.db import Actor, unit_of_work

ME = Actor(kind="cli", name="tester")


def body(**over) -> dict:  # noqa: ANN003
    data = {
        "name": "全市实有人口基础信息",
        "class_code": "101001",
        "provider_org_id": personas.WORLD.market,
        "summary": "全市实有人口的身份与居住信息",
        "format": "database",
        "share_type": "conditional",
        "share_condition": "仅用于政务服务身份核验",
        "update_cycle": "daily",
        "grade": "important",
        "items": [
            {"name": "姓名", "sensitivity": "name"},
            {"name": "公民身份号码", "sensitivity": "id_number"},
            {"name": "联系电话", "sensitivity": "phone", "share_type": "none"},
        ],
    }
    data.update(over)
    return data


@pytest.fixture
def catalogued(db, classes) -> dict[str, int]:  # noqa: ANN001
    """Three resources of two departments in two top-level classes."""
    made = {}
    with unit_of_work(db, ME) as uow:
        for key, over in {
            "people": {},
            "flow": {"name": "流动人口登记信息", "update_cycle": "weekly", "grade": "general"},
            "firms": {
                "name": "企业登记信息",
                "summary": "企业设立、变更、注销登记",
                "class_code": "201001",
                "provider_org_id": personas.WORLD.data_bureau,
                "share_type": "unconditional",
                "share_condition": None,
                "format": "spreadsheet",
                "items": [{"name": "企业名称"}, {"name": "统一社会信用代码"}],
            },
        }.items():
            made[key] = services.create_resource(uow, ResourceIn.model_validate(body(**over))).id
    return made


def form(**over) -> dict:  # noqa: ANN003
    """The cataloguing form as a browser posts it: item rows as repeated fields, blank rows included."""
    data = {
        "name": "南京市户籍人口信息",
        "class_code": "101001",
        "provider_org_id": str(personas.WORLD.market),
        "summary": "户籍登记信息",
        "format": "database",
        "share_type": "conditional",
        "share_condition": "用于身份核验",
        "share_basis": "",
        "share_mode": "api",
        "open_type": "none",
        "update_cycle": "daily",
        "grade": "important",
        "published_on": "2026-01-05",
        "keywords": "户籍, 人口",
        "related_codes": "",
        "note": "",
        "item_name": ["姓名", "公民身份号码", ""],
        "item_data_type": ["string", "string", "string"],
        "item_description": ["", "18 位", ""],
        "item_sensitivity": ["name", "id_number", "none"],
        "item_share_type": ["", "", ""],
    }
    data.update(over)
    return data


def count(db) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Resource))


PAGES = ["/catalog", "/catalog/{people}", "/catalog/{people}/versions/1"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_a_reader_and_refuse_the_outsider(catalogued, as_user, url) -> None:  # noqa: ANN001
    url = url.format(**catalogued)
    r = as_user("clerk").get(url)
    assert r.status_code == 200 and "全市实有人口基础信息" in r.text
    assert 'href="/catalog/new"' not in r.text.split("<main>")[1]  # no cataloguing for a reader
    assert as_user("outsider").get(url).status_code == 403


def test_manage_pages_refuse_a_reader(catalogued, as_user) -> None:  # noqa: ANN001
    clerk = as_user("clerk")
    assert clerk.get("/catalog/new").status_code == 403
    assert clerk.get(f"/catalog/{catalogued['people']}/edit").status_code == 403
    assert clerk.form("/catalog/new", form()).status_code == 403
    assert clerk.form(f"/catalog/{catalogued['people']}/retire", {"reason": "x"}).status_code == 403


def test_list_shows_facets_and_filters_by_them(catalogued, as_user) -> None:  # noqa: ANN001
    c = as_user("clerk")
    page = c.get("/catalog").text
    assert "共 3 条资源" in page
    facets = page.split('data-testid="facets"')[1].split("</aside>")[0]
    assert re.search(r"南京市市场监督管理局</a> <span class=\"muted\">2<", facets)
    assert re.search(r"1 基础信息资源</a> <span class=\"muted\">2<", facets)
    assert re.search(r"有条件共享</a> <span class=\"muted\">2<", facets)
    weekly = c.get("/catalog", params={"update_cycle": "weekly"}).text
    assert "共 1 条资源" in weekly and "流动人口登记信息" in weekly and "企业登记信息" not in weekly
    by_class = c.get("/catalog", params={"class": "2"}).text
    assert "共 1 条资源" in by_class and "企业登记信息" in by_class
    combined = c.get("/catalog", params={"provider_org_id": personas.WORLD.market, "grade": "general"}).text
    assert "共 1 条资源" in combined and "流动人口登记信息" in combined
    found = c.get("/catalog", params={"q": "人口"}).text
    assert "共 2 条资源" in found and "企业登记信息" not in found
    assert c.get("/catalog", params={"provider_org_id": "abc"}).status_code == 422


def test_english_labels(catalogued, as_user) -> None:  # noqa: ANN001
    c = as_user("clerk")
    page = c.get("/catalog", params={"lang": "en"}).text
    assert "Conditional sharing" in page and "Sharing type" in page and "有条件共享" not in page
    detail = c.get(f"/catalog/{catalogued['people']}", params={"lang": "en"}).text
    assert "Information items" in detail and "ID number" in detail and "No hosted data yet" in detail


def test_resource_page_shows_metadata_items_and_history(catalogued, as_user) -> None:  # noqa: ANN001
    page = as_user("clerk").get(f"/catalog/{catalogued['people']}").text
    assert "基础信息资源 › 人口基础信息 › 户籍人口" in page
    assert "南京市市场监督管理局" in page and "101001/000001" in page
    items = page.split('data-testid="items"')[1].split("</table>")[0]
    assert "公民身份号码" in items and "证件号码" in items and "不予共享" in items
    assert "暂无托管数据" in page
    assert f"/catalog/{catalogued['people']}/versions/1" in page


def test_related_resources_are_links(db, catalogued, as_user) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        rid = services.create_resource(
            uow, ResourceIn.model_validate(body(name="人口迁移信息", related_codes=["101001/000001"]))
        ).id
    page = as_user("clerk").get(f"/catalog/{rid}").text
    related = page.split('data-testid="related"')[1].split("</td>")[0]
    assert f'href="/catalog/{catalogued["people"]}"' in related and "全市实有人口基础信息" in related


def test_create_through_the_form(db, classes, as_user) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    assert "101001 户籍人口" in c.get("/catalog/new").text
    r = c.form("/catalog/new", form())
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"]).text
    assert "已编目：101001/000001 南京市户籍人口信息" in page  # the flash, with the generated code
    assert 'data-testid="code">101001/000001<' in page
    items = page.split('data-testid="items"')[1].split("</table>")[0]
    assert "公民身份号码" in items and items.count("<tr>") == 3  # header + 2 items; the blank row dropped
    with db.read() as s:
        res = s.scalar(select(Resource))
        assert res.keywords == ["户籍", "人口"] and str(res.published_on) == "2026-01-05"


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"share_condition": ""}, "有条件共享须写明共享条件"),
        ({"item_name": ["姓名", "姓名", ""]}, "信息项名称重复"),
        ({"share_type": "none", "share_condition": ""}, "不予共享须有法律、行政法规或政策依据"),
        ({"name": ""}, "资源名称：必填"),
        ({"item_name": ["", "", ""], "item_description": ["", "", ""]}, "信息项：至少 1 项"),
        ({"related_codes": "999/000001"}, "关联资源代码不存在"),
        ({"class_code": "9"}, "分类 9 不存在"),
    ],
)
def test_form_errors_rerender_with_the_input(db, classes, as_user, over, message) -> None:  # noqa: ANN001
    r = as_user("cityadmin").form("/catalog/new", form(**over))
    assert r.status_code == 422
    assert message in r.text.split('data-testid="error">')[1].split("</div>")[0]
    sent = form(**over)  # what was typed survives the error
    for name in filter(None, sent["item_name"]):
        assert r.text.count(f'value="{name}"') == sent["item_name"].count(name)
    assert f'value="{sent["name"]}"' in r.text and f">{sent['share_condition']}</textarea>" in r.text
    assert count(db) == 0


def test_form_errors_in_english(db, classes, as_user) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    r = c.form("/catalog/new?lang=en", form(share_condition=""))
    assert r.status_code == 422 and "a conditional resource must state its condition" in r.text
    r = c.form("/catalog/new?lang=en", form(item_data_type=["string", "text", "string"]))
    assert r.status_code == 422 and "item row 2 · Data type" in r.text


def test_district_admin_cannot_catalogue_for_a_city_department(db, classes, as_user) -> None:  # noqa: ANN001
    c = as_user("district_admin")
    choices = c.get("/catalog/new").text.split('id="provider_org_id"')[1].split("</select>")[0]
    assert "玄武区市场监督管理局" in choices and "南京市市场监督管理局" not in choices
    r = c.form("/catalog/new", form())
    assert r.status_code == 403 and "无权操作该机构的数据" in r.text
    assert count(db) == 0
    ok = c.form("/catalog/new", form(provider_org_id=str(personas.WORLD.district_dept)))
    assert ok.status_code == 303


def test_district_admin_cannot_edit_or_retire_a_city_resource(catalogued, as_user) -> None:  # noqa: ANN001
    c = as_user("district_admin")
    rid = catalogued["people"]
    assert 'data-testid="edit"' not in c.get(f"/catalog/{rid}").text
    assert c.get(f"/catalog/{rid}/edit").status_code == 403
    assert c.form(f"/catalog/{rid}/edit", form()).status_code == 403
    assert c.form(f"/catalog/{rid}/retire", {"reason": "不再维护"}).status_code == 403


def test_edit_makes_version_two_and_history_shows_it(catalogued, as_user) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    rid = catalogued["people"]
    edit = c.get(f"/catalog/{rid}/edit").text
    assert 'value="联系电话"' in edit and "仅用于政务服务身份核验" in edit
    same = c.form(f"/catalog/{rid}/edit", _as_form(edit))
    assert same.status_code == 303
    assert "没有改动" in c.get(same.headers["location"]).text
    changed = {**_as_form(edit), "update_cycle": "weekly", "note": "改为每周更新"}
    r = c.form(f"/catalog/{rid}/edit", changed)
    assert r.status_code == 303
    page = c.get(f"/catalog/{rid}").text
    assert "已保存为第 2 版" in page
    history = page.split('data-testid="history"')[1].split("</table>")[0]
    rows = history.split("<tbody>")[1].split("</tr>")
    assert '<td class="mono">2</td>' in rows[0] and "更新周期" in rows[0] and "改为每周更新" in rows[0]
    assert '<td class="mono">1</td>' in rows[1]
    old = c.get(f"/catalog/{rid}/versions/1").text
    assert "这是历史版本" in old and "每日" in old.split('data-testid="meta"')[1]
    assert c.get(f"/catalog/{rid}/versions/3").status_code == 404


def test_edit_errors_rerender_and_keep_the_version(catalogued, as_user) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    rid = catalogued["people"]
    bad = {**_as_form(c.get(f"/catalog/{rid}/edit").text), "share_condition": ""}
    r = c.form(f"/catalog/{rid}/edit", bad)
    assert r.status_code == 422 and "有条件共享须写明共享条件" in r.text
    assert "修改编目" in r.text and 'value="联系电话"' in r.text
    assert c.get(f"/api/v1/catalog/resources/{rid}").json()["version"] == 1


def test_retire(catalogued, as_user) -> None:  # noqa: ANN001
    c = as_user("cityadmin")
    rid = catalogued["flow"]
    empty = c.form(f"/catalog/{rid}/retire", {"reason": " "})
    assert empty.status_code == 422 and "撤销资源须说明理由" in empty.text
    r = c.form(f"/catalog/{rid}/retire", {"reason": "并入全市实有人口基础信息"})
    assert r.status_code == 303
    page = c.get(f"/catalog/{rid}").text
    assert "已撤销" in page and "并入全市实有人口基础信息" in page
    assert 'data-testid="edit"' not in page and 'data-testid="retire"' not in page
    assert "流动人口登记信息" not in c.get("/catalog").text  # the list shows published resources
    assert c.get(f"/catalog/{rid}/edit").status_code == 409


def _as_form(html: str) -> dict:
    """The fields of the edit form as the page filled them in (a tiny stand-in for a browser)."""
    out: dict = {}
    form_html = html.split('data-testid="resource-form"')[1].split("</form>")[0]
    for tag in re.finditer(
        r"<(input|select|textarea)\b([^>]*)>(.*?)(?=<(?:input|select|textarea|/form)\b)", form_html, re.S
    ):
        kind, attrs, rest = tag.groups()
        name = re.search(r'name="([^"]+)"', attrs)
        if not name or name.group(1) == "csrf_token" or "disabled" in attrs:
            continue
        if kind == "input":
            value = re.search(r'value="([^"]*)"', attrs)
            value = value.group(1) if value else ""
        elif kind == "textarea":
            value = rest.split("</textarea>")[0]
        else:
            picked = re.search(r'<option value="([^"]*)" selected', rest)
            value = picked.group(1) if picked else ""
        key = name.group(1)
        if key.startswith("item_"):
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out
