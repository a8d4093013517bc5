"""The applicant portal's console pages: the 办事指南 with its filters and an item's guide, 在线申报 with
uploads checked as they arrive and live reminders next to fields and materials, an idempotent submission
(the key is made with the form), 我的办件 and a case page only its applicant sees."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from tests.approvals.conftest import PDF, PNG, W, apply
from zhicheng.approvals.models import Case

HX = {"HX-Request": "true"}


def key_of(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', html).group(1)


def put(c, w: W, code: str, data: bytes = PDF, name: str = "a.pdf", hx: bool = True, keep: str = ""):  # noqa: ANN001, ANN201
    """Upload one material through the form's slot, as htmx does (with the upload the slot holds)."""
    return c.http.post(
        f"/portal/items/{w.joint_item}/upload/{code}",
        data={f"m_{code}": keep} if keep else None,
        files={f"file_{code}": (name, io.BytesIO(data), "application/octet-stream")},
        headers={"X-CSRF-Token": c.csrf, **(HX if hx else {})},
    )


def upload_id(resp) -> str:  # noqa: ANN001
    assert resp.status_code == 200 and 'data-testid="upload-error"' not in resp.text, resp.text
    return re.search(r'name="m_\w+" value="(\d+)"', resp.text).group(1)


def hints_of(html: str, oob: bool = False) -> dict[str, str]:
    """The reminder next to each field (f_<key>) and material (m_<code>)."""
    swap = ' hx-swap-oob="true"' if oob else ""
    badges = r'((?:<span class="badge warn">[^<]*</span> )*)'
    pattern = rf'<span id="hint-(\w+)" class="zc-hint" data-testid="[^"]+"{swap}>{badges}</span>'
    return dict(re.findall(pattern, html))


def good_fields() -> dict[str, str]:
    return {"f_project": "鼓楼区某住宅项目", "f_investment": "12000", "f_phone": "13812345678"}


def cases_of(db, party_id: int) -> int:  # noqa: ANN001
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Case).where(Case.party_id == party_id))


def test_the_guide_lists_filters_and_explains_items(world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    r = c.get("/portal/items")
    assert r.status_code == 200
    assert "建筑工程施工许可证核发" in r.text and "房屋建筑工程竣工验收备案" in r.text
    assert "办事指南" in r.text and 'href="/portal/cases"' in r.text  # the nav entries
    assert "房屋建筑工程竣工验收备案" not in c.get("/portal/items", params={"q": "施工许可"}).text
    by_kind = c.get("/portal/items", params={"kind": "行政确认"}).text
    assert "房屋建筑工程竣工验收备案" in by_kind and "建筑工程施工许可证核发" not in by_kind
    by_bureau = c.get("/portal/items", params={"org_id": world.bureau}).text
    assert "建筑工程施工许可证核发" in by_bureau and "竣工验收备案" not in by_bureau
    assert c.get("/portal/items", params={"kind": "违章"}).status_code == 422

    g = c.get(f"/portal/items/{world.joint_item}")
    assert g.status_code == 200
    guide = g.text.split('data-testid="guide"')[1]
    assert "南京市行政审批局" in guide and "《中华人民共和国建筑法》第七条" in guide
    decided = g.text.split('data-testid="decided-by">')[1].split("</td>")[0]
    assert "南京市城乡建设委员会" in decided  # who really decides, in bureau mode
    mats = g.text.split('data-testid="guide-materials"')[1].split("</table>")[0]
    fire = mats.split('data-code="fire"')[1].split("</tr>")[0]
    assert "可容缺" in fire and "pdf" in fire
    assert "主审要件" in mats.split('data-code="form"')[1].split("</tr>")[0]
    stages = g.text.split('data-testid="stages"')[1].split("</ol>")[0]
    for dept in ("南京市城乡建设委员会", "南京市规划和自然资源局", "南京市消防救援支队", "南京市人防办"):
        assert dept in stages
    assert "15 个工作日" in g.text and "20 个工作日" in g.text
    en = c.get(f"/portal/items/{world.joint_item}", params={"lang": "en"})
    assert en.status_code == 200 and "Deciding authority" in en.text and "Apply online" in en.text


def test_the_portal_refuses_those_without_apply(world: W, as_user) -> None:  # noqa: ANN001
    for who in ("outsider", "clerk", "rv_housing"):
        c = as_user(who)
        assert c.get("/portal/items").status_code == 403, who
        assert c.get(f"/portal/items/{world.joint_item}/apply").status_code == 403, who
        r = c.form(f"/portal/items/{world.joint_item}/apply", {"idempotency_key": "k" * 20})
        assert r.status_code == 403, who


def test_uploads_are_checked_with_readable_messages(world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    ok = put(c, world, "land")
    assert ok.headers.get("HX-Trigger-After-Settle") == "zc-uploaded"
    assert 'data-testid="uploaded-land"' in ok.text
    first = upload_id(ok)
    # a renamed executable: the content does not match the extension
    fake = put(c, world, "form", b"MZ\x90\x00 not a pdf", "申请表.pdf")
    assert fake.status_code == 200 and "文件内容与扩展名 .pdf 不符" in fake.text
    assert "HX-Trigger-After-Settle" not in fake.headers
    # an unknown type, without htmx: a 422 page fragment with the message
    exe = put(c, world, "form", b"#!/bin/sh\n", "run.sh", hx=False)
    assert exe.status_code == 422 and "不支持的文件类型“sh”" in exe.text
    # a PNG where the material accepts PDF and OFD only
    png = put(c, world, "land", PNG, "land.png", keep=first)
    assert "只接受 pdf、ofd 格式" in png.text
    assert f'value="{first}"' in png.text  # the file kept before stays
    # above the material's own limit (1 MB for the application form)
    big = put(c, world, "form", PDF + b"\x00" * (2 * 1024 * 1024), "big.pdf")
    assert "不能超过 1 MB" in big.text and "2.0 MB" in big.text


def test_the_form_reminds_while_it_is_filled_in(world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    page = c.get(f"/portal/items/{world.joint_item}/apply")
    assert page.status_code == 200
    assert 'hx-post="/portal/items/' + world.joint_item + '/check"' in page.text
    land = upload_id(put(c, world, "land"))
    r = c.http.post(
        f"/portal/items/{world.joint_item}/check",
        data={"f_project": "某项目", "f_investment": "一万", "f_phone": "12345", "m_land": land},
        headers={"X-CSRF-Token": c.csrf, **HX},
    )
    assert r.status_code == 200
    assert 'data-testid="check-blocking"' in r.text
    # the reminders come out of band, next to each field and material
    spans = hints_of(r.text, oob=True)
    assert "“联系电话”应为手机号码或固定电话" in spans["f_phone"]
    assert "“合同价格（万元）”应为数字" in spans["f_investment"]
    assert "缺少“建筑工程施工许可申请表”" in spans["m_form"]
    assert "可容缺受理" in spans["m_fire"]
    assert '<span class="badge' not in spans["m_land"] and '<span class="badge' not in spans["f_project"]
    # once everything but the 容缺 material is in, it may be submitted
    mats = {f"m_{code}": upload_id(put(c, world, code)) for code in ("form", "drawings")}
    r = c.http.post(
        f"/portal/items/{world.joint_item}/check",
        data={**good_fields(), "m_land": land, **mats},
        headers={"X-CSRF-Token": c.csrf, **HX},
    )
    assert 'data-testid="check-ok"' in r.text and "受理后补交" in r.text
    # another applicant's upload id is not theirs to attach: it counts as missing
    other = as_user("company")
    r = other.http.post(
        f"/portal/items/{world.joint_item}/check", data={"m_land": land}, headers={"X-CSRF-Token": other.csrf}
    )
    assert "缺少“用地批准手续”" in r.text


def test_submitting_twice_makes_one_case(db, world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    key = key_of(c.get(f"/portal/items/{world.joint_item}/apply").text)
    assert key != key_of(c.get(f"/portal/items/{world.joint_item}/apply").text)  # one key per rendering
    mats = {f"m_{code}": upload_id(put(c, world, code)) for code in ("form", "land", "fire", "drawings")}
    form = {"idempotency_key": key, **good_fields(), **mats}
    first = c.form(f"/portal/items/{world.joint_item}/apply", form)
    again = c.form(f"/portal/items/{world.joint_item}/apply", form)  # a double click, a re-post
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    assert cases_of(db, world.citizen) == 1
    case_page = c.get(first.headers["location"])
    assert case_page.status_code == 200 and "提交申请" in case_page.text
    assert 'data-status="submitted"' in case_page.text
    assert "该申请已提交过" in case_page.text  # the flash of the second post
    number = case_page.text.split('data-testid="case-number">')[1].split("<")[0]
    assert number.startswith("SP")
    listing = c.get("/portal/cases")
    assert number in listing.text and 'data-testid="clock"' in listing.text  # the due macro


def test_a_submission_with_problems_stays_on_the_form(db, world: W, as_user) -> None:  # noqa: ANN001
    c = as_user("zhangsan")
    key = key_of(c.get(f"/portal/items/{world.joint_item}/apply").text)
    land = upload_id(put(c, world, "land"))
    r = c.form(
        f"/portal/items/{world.joint_item}/apply",
        {"idempotency_key": key, **good_fields(), "f_phone": "12345", "m_land": land},
    )
    assert r.status_code == 422
    assert "申请还有" in r.text.split('role="alert"')[1].split("</div>")[0]
    assert key_of(r.text) == key  # the same form, the same key
    assert f'name="m_land" value="{land}"' in r.text  # the upload is kept
    assert "应为手机号码或固定电话" in hints_of(r.text)["f_phone"]
    assert cases_of(db, world.citizen) == 0
    # a stale form without its key is refused readably
    stale = c.form(f"/portal/items/{world.joint_item}/apply", good_fields())
    assert stale.status_code == 422 and "请刷新页面" in stale.text


def test_files_sent_with_the_form_itself_are_checked_too(db, world: W, as_user) -> None:  # noqa: ANN001
    """Without htmx the chosen files travel with the form: stored and checked in the submission."""
    c = as_user("zhangsan")
    key = key_of(c.get(f"/portal/items/{world.joint_item}/apply").text)
    files = {f"file_{code}": (f"{code}.pdf", PDF, "application/pdf") for code in ("form", "land", "drawings")}
    bad = {**files, "file_land": ("land.png", PNG, "image/png")}
    data = {"idempotency_key": key, **good_fields(), "csrf_token": c.csrf}
    r = c.http.post(f"/portal/items/{world.joint_item}/apply", data=data, files=bad, follow_redirects=False)
    assert r.status_code == 422 and "只接受 pdf、ofd 格式" in r.text
    assert cases_of(db, world.citizen) == 0
    r = c.http.post(f"/portal/items/{world.joint_item}/apply", data=data, files=files, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "容缺" not in page.split('data-testid="case-summary"')[1].split("</table>")[0]
    assert page.count('data-testid="download"') == 3


def test_an_applicant_sees_only_their_own_cases(db, world: W, as_user) -> None:  # noqa: ANN001
    mine = apply(as_user("zhangsan"), world)
    other = as_user("company")
    assert other.get(f"/portal/cases/{mine['id']}").status_code == 403
    assert mine["number"] not in other.get("/portal/cases").text
    r = other.http.post(
        f"/portal/cases/{mine['id']}/supply",
        data={"f_project": "冒名补交"},
        headers={"X-CSRF-Token": other.csrf},
        follow_redirects=False,
    )
    assert r.status_code == 403
    # a window clerk has no party: the list says so instead of failing
    assert 'data-testid="not-linked"' in as_user("window").get("/portal/cases").text
    assert as_user("outsider").get(f"/portal/cases/{mine['id']}").status_code == 403
