"""Case photos: type by content, size by setting, who may add which."""

from __future__ import annotations

from tests.cityops.conftest import JPEG, ME, PNG, report_body
from zhicheng.cityops import intake
from zhicheng.cityops.schemas import ReportIn
from zhicheng.core.db import unit_of_work


def _case(db) -> int:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        return intake.report(uow, ReportIn(**report_body()), channel="grid").case_id


def _url(case_id: int) -> str:
    return f"/api/v1/cityops/reports/{case_id}/photos"


def test_types_and_sizes(db, city, as_user, app) -> None:  # noqa: ANN001
    case_id = _case(db)
    agent = as_user("gridder")
    r = agent.send("POST", _url(case_id), files={"file": ("p.png", PNG, "image/png")})
    assert r.status_code == 201 and r.json()["media_type"] == "image/png" and len(r.json()["sm3"]) == 64
    fake = agent.send("POST", _url(case_id), files={"file": ("x.jpg", b"MZ\x90\x00" * 50, "image/jpeg")})
    assert fake.status_code == 422 and fake.headers["content-type"] == "application/problem+json"
    app.state.settings.cityops_photo_max_mb = 0.0001  # about 100 bytes
    big = agent.send("POST", _url(case_id), files={"file": ("b.jpg", JPEG, "image/jpeg")})
    assert big.status_code == 422 and "MB" in big.json()["detail"] + big.text
    shown = agent.get(f"/api/v1/cityops/cases/{case_id}/photos/{r.json()['id']}")
    assert shown.status_code == 200 and shown.content == PNG


def test_who_may_add(db, city, as_user) -> None:  # noqa: ANN001
    case_id = _case(db)
    files = {"file": ("a.jpg", JPEG, "image/jpeg")}
    assert (
        as_user("handler").send("POST", _url(case_id), files=files, data={"stage": "after"}).status_code
        == 403
    )
    assert as_user("citizen").send("POST", _url(case_id), files=files).status_code == 403
    assert as_user("outsider").send("POST", _url(case_id), files=files).status_code == 403
    assert as_user("agent").send("POST", _url(case_id), files=files, data={"stage": "odd"}).status_code == 422
