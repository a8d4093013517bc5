"""The console intake forms: a 12345 agent's work order (caller, phone, work order number, category, point in
a declared coordinate system) and a grid worker's report with a photo. After submitting, the case page: a
new case, or "merged into case N" for a duplicate; readable errors for a point outside the city, an unknown
category, an oversized or wrong-type photo, with the form filled in again and nothing written."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.cityops.conftest import JPEG, MANHOLE, SHED, centre
from zhicheng.cityops.models import Case, Photo, Reporter
from zhicheng.core.geo import crs as C


def alert(html: str) -> str:
    return html.split('role="alert"')[1].split("</div>")[0] if 'role="alert"' in html else ""


def flash(client, response) -> str:  # noqa: ANN001
    html = client.get(response.headers["location"]).text
    return html.split('data-testid="flash">')[1].split("</div>")[0]


def hotline(**kw: str) -> dict[str, str]:
    x, y = centre(2, 2)
    return {
        "work_order_no": "GD20261009001",
        "caller_name": "王来电",
        "caller_phone": "13800000001",
        "category": SHED,
        "address": "成贤街 12 号门口",
        "lng": f"{x:.7f}",
        "lat": f"{y:.7f}",
        "crs": "wgs84",
        "description": "路边搭建了铁皮棚子",
        **kw,
    }


def count(db, model) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_the_hotline_form_offers_categories_and_coordinate_systems(city, as_user) -> None:  # noqa: ANN001
    r = as_user("agent").get("/cityops/hotline")
    assert r.status_code == 200
    assert "热线受理" in r.text and "网格上报" in r.text  # nav entries
    select_html = r.text.split('data-testid="category"')[1].split("</select>")[0]
    assert 'label="部件 · 公用设施"' in select_html and 'label="事件 · 市容环境"' in select_html
    assert f'value="{MANHOLE}"' in select_html and "0101 私搭乱建" in select_html
    for system in ("wgs84", "cgcs2000", "gcj02", "bd09"):
        assert f'<option value="{system}"' in r.text
    assert 'name="work_order_no"' in r.text and 'name="caller_phone"' in r.text
    assert "Hotline intake" in as_user("agent").get("/cityops/hotline", params={"lang": "en"}).text
    for who in ("outsider", "citizen", "handler"):
        assert as_user(who).get("/cityops/hotline").status_code == 403, who
        assert as_user(who).form("/cityops/hotline", hotline()).status_code == 403, who


def test_a_work_order_opens_a_case_and_a_duplicate_is_merged(db, city, as_user) -> None:  # noqa: ANN001
    agent = as_user("agent")
    r = agent.form("/cityops/hotline", hotline())
    assert r.status_code == 303
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    with db.read() as s:
        case = s.get(Case, case_id)
        assert (case.channel, case.work_order_no, case.caller_name) == ("hotline", "GD20261009001", "王来电")
        assert case.routed_department_id == city["urban"] and case.status == "reported"
    assert flash(agent, r) == f"已立卷：新案卷 {case.number}"
    page = agent.get(f"/cityops/cases/{case_id}").text
    reporters = page.split('data-testid="reporters"')[1].split("</table>")[0]
    assert "王来电" in reporters and "13800000001" in reporters  # an intake holder sees who called
    # the same problem 20 m away, given in GCJ-02 (AMap): merged into the first case
    x, y = centre(2, 2)
    gx, gy = C.convert(x + 0.0002, y, "wgs84", "gcj02")
    again = hotline(work_order_no="GD20261009002", caller_name="李来电", lng=f"{gx:.8f}", lat=f"{gy:.8f}")
    r2 = agent.form("/cityops/hotline", {**again, "crs": "gcj02"})
    assert r2.status_code == 303 and r2.headers["location"] == f"/cityops/cases/{case_id}"
    assert flash(agent, r2) == f"该问题已有人上报，本次上报已合并到案卷 {case.number}"
    page = agent.get(f"/cityops/cases/{case_id}").text
    assert 'data-testid="report-count">2<' in page and "李来电" in page
    with db.read() as s:
        lngs = sorted(s.scalars(select(Reporter.lng).where(Reporter.case_id == case_id)))
    assert abs(lngs[1] - (x + 0.0002)) < 1e-6  # normalised from GCJ-02 to WGS-84
    # the English message
    en = agent.form("/cityops/hotline?lang=en", hotline(lng=f"{x + 0.0001:.7f}"))
    assert en.status_code == 303 and f"merged into case {case.number}" in flash(agent, en)


def test_a_resubmitted_form_files_one_report(db, city, as_user) -> None:  # noqa: ANN001
    agent = as_user("agent")
    key = re.search(r'name="idem" value="(\w+)"', agent.get("/cityops/hotline").text).group(1)
    first = agent.form("/cityops/hotline", {**hotline(), "idem": key})
    second = agent.form("/cityops/hotline", {**hotline(), "idem": key})
    assert first.headers["location"] == second.headers["location"]
    assert count(db, Reporter) == 1 and count(db, Case) == 1


def test_refused_input_is_explained_and_the_form_kept(db, city, as_user) -> None:  # noqa: ANN001
    agent = as_user("agent")
    outside = agent.form("/cityops/hotline", hotline(lng="116.397", lat="39.909"))  # Beijing
    assert outside.status_code == 422
    assert "不在本市任何网格内" in alert(outside.text)
    assert 'value="GD20261009001"' in outside.text and "铁皮棚子" in outside.text  # kept
    unknown = agent.form("/cityops/hotline", hotline(category="event:9999"))
    assert unknown.status_code == 422 and "未知的案件类别：event:9999" in alert(unknown.text)
    bad = agent.form("/cityops/hotline", hotline(lng="东经118度"))
    assert bad.status_code == 422 and "经度应为数字" in alert(bad.text)
    no_order = agent.form("/cityops/hotline", hotline(work_order_no=" "))
    assert no_order.status_code == 422 and "请填写 12345 工单号" in alert(no_order.text)
    en = agent.form("/cityops/hotline?lang=en", hotline(lng="116.397", lat="39.909"))
    assert "outside the city" in alert(en.text)
    assert count(db, Case) == 0


def test_a_grid_worker_reports_with_a_photo(db, city, as_user) -> None:  # noqa: ANN001
    worker = as_user("gridder")
    form = worker.get("/cityops/report")
    assert form.status_code == 200
    assert 'accept="image/*" capture="environment"' in form.text
    assert "navigator.geolocation" in form.text and 'data-testid="locate"' in form.text
    fields = {k: v for k, v in hotline(category=MANHOLE).items() if not k.startswith(("work", "caller"))}
    r = worker.form("/cityops/report", fields, files={"photo": ("well.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 303, r.text
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    with db.read() as s:
        case = s.get(Case, case_id)
        assert case.channel == "grid" and case.routed_department_id == city["street"]
        photo = s.scalar(select(Photo).where(Photo.case_id == case_id))
        assert (photo.stage, photo.media_type, photo.filename) == ("report", "image/jpeg", "well.jpg")
    page = worker.get(r.headers["location"])
    assert "郑网格" in page.text.split('data-testid="reporters"')[1].split("</table>")[0]  # the worker's name
    assert f'src="/api/v1/cityops/cases/{case_id}/photos/{photo.id}"' in page.text
    assert worker.get(f"/api/v1/cityops/cases/{case_id}/photos/{photo.id}").content == JPEG
    # no photo at all is fine too
    r = worker.form("/cityops/report", {**fields, "category": SHED}, files={"photo": ("", b"", "")})
    assert r.status_code == 303
    assert as_user("outsider").get("/cityops/report").status_code == 403


def test_oversized_and_wrong_type_photos_are_refused(db, city, settings, as_user) -> None:  # noqa: ANN001
    worker = as_user("gridder")
    fields = {k: v for k, v in hotline().items() if not k.startswith(("work", "caller"))}
    gif = worker.form(
        "/cityops/report", fields, files={"photo": ("a.gif", b"GIF89a" + b"\0" * 50, "image/gif")}
    )
    assert gif.status_code == 422 and "只能上传 JPEG、PNG 或 WebP 照片" in alert(gif.text)
    assert "路边搭建了铁皮棚子" in gif.text  # the form is kept
    settings.cityops_photo_max_mb = 0.5
    big = worker.form("/cityops/report", fields, files={"photo": ("a.jpg", JPEG * 3000, "image/jpeg")})
    assert big.status_code == 422 and "照片超过 0.5 MB 的上限" in alert(big.text)
    en = worker.form("/cityops/report?lang=en", fields, files={"photo": ("a.jpg", JPEG * 3000, "image/jpeg")})
    assert "larger than 0.5 MB" in alert(en.text)
    assert count(db, Case) == 0 and count(db, Photo) == 0  # nothing written
