"""Request-scoped things routes ask for: the database, the settings, the caller and a unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from zhicheng.core.auth.principal import Principal
from zhicheng.core.db import Database
from zhicheng.core.errors import Forbidden
from zhicheng.settings import Settings
from zhicheng.web.security import principal


# async, though nothing here awaits: FastAPI runs a plain `def` dependency in its thread pool, and a
# hop to another thread per dependency per request costs more than the lookup itself
async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_principal(request: Request) -> Principal:
    return principal(request)


def read_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.read() as s:
        yield s


DB = Annotated[Database, Depends(get_db)]
Conf = Annotated[Settings, Depends(get_settings)]
Me = Annotated[Principal, Depends(get_principal)]
Reader = Annotated[Session, Depends(read_session)]


def require(me: Principal, permission: str, org_path: str | None) -> None:
    """A per-object check, after the route's own: the permission must hold over this org."""
    if not me.can(permission, org_path):
        raise Forbidden("无权操作该机构的数据", "no permission over this organization")
