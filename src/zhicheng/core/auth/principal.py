"""Who is calling and what they may do where: built per request from a session or a token."""

from __future__ import annotations

from dataclasses import dataclass, field

from zhicheng.core.auth.permissions import ALL, Scope
from zhicheng.core.db import Actor

ANONYMOUS_ACTOR = Actor(kind="public", name="anonymous")


@dataclass(frozen=True)
class Principal:
    actor: Actor
    scopes: tuple[Scope, ...] = ()
    display_name: str = ""
    csrf: str | None = None  # set for cookie sessions: unsafe requests must echo it
    roles: tuple[str, ...] = field(default=())

    @property
    def authenticated(self) -> bool:
        return self.actor.kind != "public"

    def can(self, permission: str, org_path: str | None = None) -> bool:
        """True if some grant gives `permission` over `org_path` (or anywhere, when no org is named)."""
        for s in self.scopes:
            if s.permission in (permission, ALL) and (org_path is None or org_path.startswith(s.path)):
                return True
        return False

    def paths(self, permission: str) -> list[str]:
        """The subtree roots where `permission` holds, for filtering queries."""
        roots = sorted({s.path for s in self.scopes if s.permission in (permission, ALL)}, key=len)
        return [p for i, p in enumerate(roots) if not any(p.startswith(q) for q in roots[:i])]


ANONYMOUS = Principal(actor=ANONYMOUS_ACTOR)
