"""Who may see and act on a case, after the route's own permission. Shared by the API and the console.

- the applicant: a login linked to the case's party (User.party_id);
- the window: approvals.accept over the case's window organization;
- a department: approvals.review / approvals.decide over the organization of one of the case's tasks;
- supervisors: approvals.supervise over the window or a task's organization.
A stage whose definition names `roles` admits only holders of one of them (administrators always)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhicheng.approvals import flows
from zhicheng.approvals.models import Case, Task
from zhicheng.approvals.permissions import ACCEPT, DECIDE, REVIEW, SUPERVISE
from zhicheng.approvals.queries import org_path
from zhicheng.core.auth.models import User
from zhicheng.core.auth.permissions import ALL
from zhicheng.core.auth.principal import Principal
from zhicheng.core.errors import Forbidden


def own_party(s: Session, me: Principal) -> int | None:
    """The party a login acts for (a citizen's or enterprise's own account), else None."""
    if me.actor.kind != "user" or me.actor.user_id is None:
        return None
    return s.scalar(select(User.party_id).where(User.id == me.actor.user_id))


def is_applicant(s: Session, me: Principal, case: Case) -> bool:
    return own_party(s, me) == case.party_id


def task_paths(s: Session, case: Case) -> list[str]:
    ids = set(s.scalars(select(Task.org_id).where(Task.case_id == case.id)))
    return [org_path(s, i) for i in sorted(ids)]


def is_staff(s: Session, me: Principal, case: Case) -> bool:
    window = org_path(s, case.window_org_id)
    if me.can(ACCEPT, window) or me.can(SUPERVISE, window):
        return True
    return any(me.can(p, path) for path in task_paths(s, case) for p in (REVIEW, DECIDE, SUPERVISE))


def require_view(s: Session, me: Principal, case: Case) -> bool:
    """Staff or the applicant may see the case; returns whether the caller is staff."""
    if is_staff(s, me, case):
        return True
    if is_applicant(s, me, case):
        return False
    raise Forbidden("无权查看该办件", "no access to this case")


def _roles_ok(me: Principal, s: Session, case: Case, stage_id: str) -> None:
    stage = flows.parsed(flows.flow_of(s, case)).stage(stage_id)
    if stage.roles and not me.can(ALL) and not set(stage.roles) & set(me.roles):
        raise Forbidden(
            f"“{stage.name}”环节只能由 {'、'.join(stage.roles)} 办理",
            f"stage {stage.id} is for roles {list(stage.roles)}",
        )


def require_window(s: Session, me: Principal, case: Case) -> None:
    if not me.can(ACCEPT, org_path(s, case.window_org_id)):
        raise Forbidden("只有受理窗口可以办理此操作", "only the case's window may do this")
    _roles_ok(me, s, case, case.stage)


def require_task(s: Session, me: Principal, task: Task, permission: str) -> None:
    if not me.can(permission, org_path(s, task.org_id)):
        raise Forbidden("该任务不属于您所在的部门", "this task belongs to another department")
    _roles_ok(me, s, s.get(Case, task.case_id), task.stage)


def require_stage(s: Session, me: Principal, case: Case, permission: str) -> None:
    """The caller acts for one of the organizations of the current stage's open tasks (pauses, corrections
    during review)."""
    paths = [
        org_path(s, o)
        for o in s.scalars(
            select(Task.org_id).where(
                Task.case_id == case.id, Task.stage == case.stage, Task.status == "open"
            )
        )
    ]
    if not any(me.can(permission, p) for p in paths):
        raise Forbidden(
            "只有当前环节的办理部门可以办理此操作", "only the current stage's departments may do this"
        )
    _roles_ok(me, s, case, case.stage)
