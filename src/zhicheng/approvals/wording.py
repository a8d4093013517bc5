"""What a case's timeline and its applicant's messages say at the common steps, in one place: the services
(cases, acceptance, review) and the group commit (batch_steps) say the same, and tests/approvals/test_batch.py
holds them to it. A message is (Chinese, English)."""

from __future__ import annotations

from collections.abc import Iterable

from zhicheng.approvals.flowdef import Stage
from zhicheng.approvals.vocab import DELIVERY

Message = tuple[str, str]


def with_reason(text: str, reason: str) -> str:
    return text + (f"：{reason.strip()}" if reason.strip() else "")


def submitted(item_name: str) -> str:
    return f"提交申请：{item_name}"


def submitted_message(number: str) -> Message:
    return f"您的申请 {number} 已提交，等待受理", f"application {number} received"


def accepted_message(number: str) -> Message:
    return f"您的申请 {number} 已受理", f"application {number} accepted"


def stage_entered(stage: Stage, org_names: Iterable[str]) -> str:
    return f"进入{stage.name}环节：{'、'.join(org_names)}"


def stage_message(number: str, stage: Stage) -> Message:
    return f"您的办件 {number} 进入{stage.name}环节", f"case {number}: {stage.kind} stage"


def reviewed(org_name: str, approve: bool, reason: str) -> str:
    return with_reason(f"{org_name}{'审查同意' if approve else '审查不同意'}", reason)


def approved(reason: str) -> str:
    return with_reason("准予许可", reason)


def approved_message(number: str) -> Message:
    return f"您的申请 {number} 已准予许可", f"application {number} approved"


def delivered(method: str, tracking_no: str | None, note: str) -> str:
    return DELIVERY[method] + (f"，单号 {tracking_no}" if tracking_no else "") + (f"：{note}" if note else "")


def delivered_message(number: str, method: str) -> Message:
    return f"您的办件 {number} 已办结（{DELIVERY[method]}）", f"case {number} completed ({method})"
