"""Delivering certificates: online, at the window, by mail with a tracking number; every step on the
delivery's timeline, the holder told through the outbox, and steps that no longer apply refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.certificates.conftest import ME, issue

from zhicheng.certificates import delivery, services
from zhicheng.certificates.models import CertificateDeliveryEvent
from zhicheng.certificates.schemas import DeliveryIn, DeliveryStepIn
from zhicheng.core.db import Database, unit_of_work
from zhicheng.core.errors import Conflict, Invalid
from zhicheng.core.notify.models import Notification

API = "/api/v1/certificates"
MAIL = {
    "method": "mail",
    "recipient_name": "张三",
    "phone": "13812345678",
    "address": "南京市玄武区中山路 1 号",
}


def events(db: Database, delivery_id: int) -> list[str]:
    with db.read() as s:
        q = select(CertificateDeliveryEvent.status).where(CertificateDeliveryEvent.delivery_id == delivery_id)
        return list(s.scalars(q.order_by(CertificateDeliveryEvent.id)))


def messages(db: Database, party_id: int) -> list[tuple[str, str, str]]:
    with db.read() as s:
        q = select(Notification).where(Notification.recipient_party_id == party_id).order_by(Notification.id)
        return [(n.channel, n.template, n.body) for n in s.scalars(q)]


def test_mail_with_a_tracking_number_and_a_return(as_user, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    officer = as_user("officer")
    started = officer.send("POST", f"{API}/{cert.number}/deliveries", json=MAIL)
    assert started.status_code == 201, started.text
    d = started.json()
    assert (d["method"], d["status"], d["version"]) == ("mail", "pending", 1)
    step = f"{API}/{cert.number}/deliveries/{d['id']}/steps"
    no_tracking = officer.send("POST", step, json={"status": "shipped"})
    assert no_tracking.status_code == 422
    shipped = officer.send(
        "POST", step, json={"status": "shipped", "carrier": "EMS", "tracking_number": "1180012345678"}
    )
    assert shipped.json()["tracking_number"] == "1180012345678"
    assert officer.send("POST", step, json={"status": "ready"}).status_code == 409  # not a mail step
    officer.send("POST", step, json={"status": "returned", "note": "地址不详"})
    again = officer.send(
        "POST", step, json={"status": "shipped", "carrier": "EMS", "tracking_number": "1180099999999"}
    )
    assert again.json()["status"] == "shipped"
    done = officer.send("POST", step, json={"status": "delivered"}).json()
    assert done["status"] == "delivered" and done["delivered_at"] and done["version"] == 5
    assert [e["status"] for e in done["events"]] == ["pending", "shipped", "returned", "shipped", "delivered"]
    assert done["events"][3]["tracking_number"] == "1180099999999"
    assert officer.send("POST", step, json={"status": "cancelled"}).status_code == 409  # final
    # the holder (a party with a phone) heard of each shipment and the return, in the inbox and by SMS
    told = messages(db, world["citizen"])
    assert [t for _, t, _ in told] == [
        "certificates.delivery.shipped",
        "certificates.delivery.shipped",
        "certificates.delivery.returned",
        "certificates.delivery.returned",
        "certificates.delivery.shipped",
        "certificates.delivery.shipped",
    ]
    assert {c for c, _, _ in told} == {"site", "sms"}
    assert "运单号 1180099999999" in told[-1][2]
    # the holder sees the timeline on the certificate
    seen = as_user("zhangsan").get(f"{API}/{cert.number}").json()["deliveries"]
    assert seen[0]["status"] == "delivered"


def test_mail_needs_an_address_and_one_delivery_at_a_time(db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    with pytest.raises(Invalid), unit_of_work(db, ME) as uow:
        delivery.start(uow, cert, DeliveryIn(method="mail", recipient_name="张三"))
    with unit_of_work(db, ME) as uow:
        delivery.start(uow, cert, DeliveryIn(method="window", window="市民中心 3 号窗口"))
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        delivery.start(uow, cert, DeliveryIn(method="online"))


def test_window_pickup(db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    with unit_of_work(db, ME) as uow:
        d = delivery.start(uow, cert, DeliveryIn(method="window", window="市民中心 3 号窗口"))
        delivery.advance(uow, cert, d.id, DeliveryStepIn(status="ready"))
        delivery.advance(uow, cert, d.id, DeliveryStepIn(status="delivered", note="本人领取"))
    assert events(db, d.id) == ["pending", "ready", "delivered"]
    ready = [b for c, t, b in messages(db, world["citizen"]) if c == "site"]
    assert ready == ["您的教师资格证（编号 " + cert.number + "）已可到市民中心 3 号窗口领取。"]


def test_online_delivery_ends_when_the_holder_downloads(as_user, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    with unit_of_work(db, ME) as uow:
        d = delivery.start(uow, cert, DeliveryIn(method="online"))
    assert d.status == "ready"
    assert "已可在网上下载" in messages(db, world["citizen"])[0][2]
    as_user("officer").get(f"{API}/{cert.number}/document")  # the issuer's copy does not count
    assert events(db, d.id) == ["ready"]
    as_user("zhangsan").get(f"/certificates/{cert.number}/download")
    assert events(db, d.id) == ["ready", "delivered"]
    as_user("zhangsan").get(f"{API}/{cert.number}/document")  # again: nothing more to record
    assert events(db, d.id) == ["ready", "delivered"]


def test_revoking_cancels_the_delivery_under_way(db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    with unit_of_work(db, ME) as uow:
        d = delivery.start(uow, cert, DeliveryIn(**MAIL))
    with unit_of_work(db, ME) as uow:
        services.revoke(uow, cert.number, "颁发机关依法撤销")
    assert events(db, d.id) == ["pending", "cancelled"]
    assert messages(db, world["citizen"])[-2][1] == "certificates.revoked"
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        delivery.start(uow, cert, DeliveryIn(method="online"))


def test_a_step_from_a_stale_page_is_a_conflict(as_user, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    with unit_of_work(db, ME) as uow:
        d = delivery.start(uow, cert, DeliveryIn(method="window"))
    with unit_of_work(db, ME) as uow:  # another clerk moves it on …
        delivery.advance(uow, cert, d.id, DeliveryStepIn(status="ready", version=1))
    # … while this clerk's page still shows version 1: even a step that would apply now is refused
    with pytest.raises(Conflict), unit_of_work(db, ME) as uow:
        delivery.advance(uow, cert, d.id, DeliveryStepIn(status="cancelled", version=1))
    assert events(db, d.id) == ["pending", "ready"]
    step = f"{API}/{cert.number}/deliveries/{d.id}/steps"
    stale = as_user("officer").send("POST", step, json={"status": "delivered", "version": 1})
    assert stale.status_code == 409 and "someone else" in stale.json()["messages"]["en"]
    assert (
        as_user("officer").send("POST", step, json={"status": "delivered", "version": 2}).status_code == 200
    )


def test_the_console_delivery_forms(as_user, db, world) -> None:  # noqa: ANN001
    cert = issue(db)
    officer = as_user("officer")
    started = officer.form(
        f"/certificates/{cert.number}/deliveries", {"method": "mail", "recipient_name": "张三"}
    )
    assert started.status_code == 422 and "邮寄送达须填写" in started.text
    ok = officer.form(f"/certificates/{cert.number}/deliveries", {**MAIL})
    assert ok.status_code == 303
    page = officer.get(f"/certificates/{cert.number}")
    d_id = int(page.text.split('data-testid="step-')[1].split("-")[0])
    assert f'data-testid="step-{d_id}-shipped"' in page.text
    shipped = officer.form(
        f"/certificates/{cert.number}/deliveries/{d_id}/steps",
        {"status": "shipped", "carrier": "EMS", "tracking_number": "1180012345678"},
    )
    assert shipped.status_code == 303
    assert "1180012345678" in officer.get(f"/certificates/{cert.number}").text
    bad = officer.form(f"/certificates/{cert.number}/deliveries/{d_id}/steps", {"status": "ready"})
    assert bad.status_code == 409
    assert as_user("zhangsan").form(f"/certificates/{cert.number}/deliveries", MAIL).status_code == 403
