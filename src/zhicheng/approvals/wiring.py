"""Approvals' hooks connected to the certificate and notification modules (imported once by hooks.py).

A decision on an item whose result is a certificate type in the catalogue issues that certificate, signed,
with the form fields the type lists; every step of a case leaves the applicant a site message. Both happen
in the step's own transaction."""

from __future__ import annotations

import datetime as dt

from zhicheng.approvals import hooks
from zhicheng.certificates import services as certificates
from zhicheng.core.db import UnitOfWork
from zhicheng.core.notify import services as notify
from zhicheng.core.notify import templates

STEP = templates.register("approvals.case.step", "办件 {case_number}", "{text}")


def issue(uow: UnitOfWork, d: hooks.Decision) -> str | None:
    kind = certificates.find_type(uow, d.certificate_type)
    if kind is None:
        return None  # not a type the certificate catalogue knows: nothing to issue here
    keys = [f["key"] for f in kind.fields]
    return certificates.issue(
        uow,
        type_code=kind.code,
        holder_name=d.holder_name,
        holder_id=d.holder_id_number,
        issuer_org_id=d.issuing_org_id,
        content={k: d.form[k] for k in keys if k in d.form},
        source=f"approvals:case:{d.case_id}",
        issued_on=d.decided_on,
    ).number


def tell(uow: UnitOfWork, n: hooks.Notice) -> None:
    notify.enqueue(uow, channel="site", template=STEP, **_message(n))


def message_row(n: hooks.Notice, now: dt.datetime | None = None) -> dict:
    """The row `tell` enqueues, for approvals' group commit (which inserts a batch's messages together, at the
    time of their commit: `now`; a site message has no address, and the party is the case's own)."""
    data = _message(n)
    title, body = templates.render(STEP, data["data"])
    return notify.row(channel="site", template=STEP, title=title, body=body, now=now, **data)


def _message(n: hooks.Notice) -> dict:
    return {
        "data": {"case_number": n.case_number, "text": n.text_zh, "event": n.event},
        "recipient_party_id": n.party_id,
        "source": f"approvals:case:{n.case_id}",
    }


hooks.ISSUERS.append(issue)
hooks.NOTIFIERS.append(tell)
