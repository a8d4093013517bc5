"""The approvals hooks wired to the real certificate and notification modules: an approved case whose
result is a catalogued certificate type gets a signed certificate that verifies, and the applicant is told of
each step in the site inbox."""

from __future__ import annotations

from sqlalchemy import select

from tests.approvals.conftest import ME, URL, W, item_body
from tests.approvals.test_review import REVIEWERS, accepted
from zhicheng.certificates import services as certificates
from zhicheng.certificates.schemas import FieldIn, TypeIn
from zhicheng.core.db import unit_of_work
from zhicheng.core.notify.models import Notification


def test_an_approved_case_gets_a_certificate_that_verifies(db, world: W, as_user, client) -> None:  # noqa: ANN001
    with unit_of_work(db, ME) as uow:
        certificates.define_type(
            uow,
            TypeIn(
                code="JZSGXK",
                name="建筑工程施工许可证",
                holder_kind="any",
                validity_years=3,
                fields=[FieldIn(key="project"), FieldIn(key="investment")],
            ),
        )
    admin = as_user("admin")
    r = admin.send("PUT", f"{URL}/items/{world.joint_item}", json=item_body(world, certificate_type="JZSGXK"))
    assert r.status_code == 200, r.text
    case = accepted(as_user, world)
    for who, task in zip(REVIEWERS, case["tasks"], strict=True):
        done = as_user(who).send("POST", f"{URL}/tasks/{task['id']}/conclude", json={"approve": True})
        assert done.status_code == 200, done.text
    r = as_user("decider").send("POST", f"{URL}/cases/{case['id']}/decide", json={"approve": True})
    assert r.status_code == 200, r.text
    number = r.json()["certificate_no"]
    assert number and number.startswith("JZSGXK-")
    verdict = client.get(f"/api/v1/certificates/{number}/verify").json()
    assert verdict["valid"] is True, verdict
    with db.read() as s:
        told = s.scalars(
            select(Notification.template).where(Notification.source == f"approvals:case:{case['id']}")
        )
        assert list(told).count("approvals.case.step") >= 3  # submitted, accepted, …, approved
