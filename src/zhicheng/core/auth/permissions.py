"""The permission vocabulary and the built-in roles. Modules add theirs with `register` and `role`."""

from __future__ import annotations

from dataclasses import dataclass

PERMISSIONS: dict[str, tuple[str, str]] = {}
ROLES: dict[str, tuple[str, str, tuple[str, ...]]] = {}
ALL = "*"


def register(code: str, zh: str, en: str) -> str:
    PERMISSIONS[code] = (zh, en)
    return code


def role(code: str, zh: str, en: str, *permissions: str) -> None:
    unknown = [p for p in permissions if p != ALL and p not in PERMISSIONS]
    if unknown:
        raise ValueError(f"role {code} names unknown permissions {unknown}")
    ROLES[code] = (zh, en, permissions)


ORGS_READ = register("orgs.read", "查看机构与区划", "view organizations and divisions")
ORGS_MANAGE = register("orgs.manage", "管理机构与区划", "manage organizations and divisions")
PARTIES_MANAGE = register(
    "parties.manage", "登记与核验自然人、法人", "register and verify citizens and enterprises"
)
USERS_READ = register("users.read", "查看用户", "view users")
USERS_MANAGE = register("users.manage", "管理用户与角色", "manage users and roles")
TOKENS_MANAGE = register("tokens.manage", "管理系统令牌", "manage API tokens")
AUDIT_READ = register("audit.read", "查阅审计记录", "read the audit trail")
CALENDAR_MANAGE = register("calendar.manage", "维护工作日历", "maintain the working-day calendar")
JOBS_READ = register("jobs.read", "查看后台任务", "view background jobs")
JOBS_MANAGE = register("jobs.manage", "管理后台任务", "retry and manage background jobs")
SELF = register("self", "使用控制台", "use the console")

role("admin", "系统管理员", "Administrator", ALL)
role(
    "org_admin",
    "机构管理员",
    "Organization administrator",
    SELF,
    ORGS_READ,
    ORGS_MANAGE,
    USERS_READ,
    USERS_MANAGE,
    TOKENS_MANAGE,
    PARTIES_MANAGE,
)
role("auditor", "审计员", "Auditor", SELF, ORGS_READ, USERS_READ, AUDIT_READ, JOBS_READ)
role("calendar_keeper", "日历维护员", "Calendar keeper", SELF, CALENDAR_MANAGE)
role("clerk", "业务经办人", "Clerk", SELF, ORGS_READ)


def extend(code: str, *permissions: str) -> None:
    """A module adds its permissions to a built-in role (synced into the database at `db upgrade`)."""
    zh, en, held = ROLES[code]
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown:
        raise ValueError(f"role {code} extended with unknown permissions {unknown}")
    ROLES[code] = (zh, en, held + tuple(p for p in permissions if p not in held))


@dataclass(frozen=True)
class Scope:
    """A permission held over the org subtree rooted at `path`."""

    permission: str
    path: str
