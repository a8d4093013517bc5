"""Where approvals hands work to other modules without importing them: the certificate a decision issues and
the messages an applicant receives. Both run inside the unit of work of the step that causes them, so the
certificate and the notification commit (or roll back) with the decision.

Wiring (done once at import time by whoever owns the other side, e.g. approvals/wiring.py):

    from zhicheng.approvals import hooks
    hooks.ISSUERS.append(lambda uow, d: certificates.services.issue(uow, ...).number)
    hooks.NOTIFIERS.append(lambda uow, n: notify.services.enqueue(uow, ...))

With no issuer wired, an approved case carries no certificate number; with no notifier, nobody is told."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zhicheng.core.db import UnitOfWork


@dataclass(frozen=True)
class Decision:
    """What a certificate issuer needs of an approved case."""

    case_id: int
    case_number: str
    item_code: str
    item_name: str
    certificate_type: str  # 电子证照类型 (GB/T 36902 catalog)
    result_name: str
    holder_kind: str  # citizen | enterprise
    holder_id_number: str
    holder_name: str
    issuing_org_id: int  # the implementing organization (the bureau's seal, in bureau mode)
    deciding_org_id: int  # the department that really decided
    decided_on: dt.date
    form: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """One message to an applicant about a step of their case."""

    case_id: int
    case_number: str
    party_id: int
    event: str  # submitted | accepted | refused | correction | supplied | ... (the timeline's kind)
    text_zh: str
    text_en: str
    data: dict[str, Any] = field(default_factory=dict)


# issue(uow, decision) → the certificate number, or None when the issuer does not handle this type
CertificateIssuer = Callable[[UnitOfWork, Decision], "str | None"]
# notify(uow, notice) → None
ApplicantNotifier = Callable[[UnitOfWork, Notice], None]

ISSUERS: list[CertificateIssuer] = []
NOTIFIERS: list[ApplicantNotifier] = []


def issue_certificate(uow: UnitOfWork, decision: Decision) -> str | None:
    """The number of the certificate the first willing issuer made (None: no issuer wired or willing)."""
    for issuer in ISSUERS:
        number = issuer(uow, decision)
        if number:
            return number
    return None


def notify_applicant(uow: UnitOfWork, notice: Notice) -> None:
    for notifier in NOTIFIERS:
        notifier(uow, notice)


# the certificate and notification modules' side, connected once this module exists
from zhicheng.approvals import wiring  # noqa: E402, F401
