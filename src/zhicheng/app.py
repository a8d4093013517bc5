"""create_app(settings): one process serving the JSON API and the server-rendered console."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from zhicheng import __version__
from zhicheng.core.db import Database
from zhicheng.settings import Settings, load
from zhicheng.web import errors
from zhicheng.web.security import guard

# Each entry is a package whose `api`, `*_api` and `views` modules (where present) expose `router`.
# Later systems (catalog, services, cityops, ...) add themselves here.
MODULES = [
    "zhicheng.web",
    "zhicheng.core.health",
    "zhicheng.core.auth",
    "zhicheng.core.orgs",
    "zhicheng.core.audit",
    "zhicheng.core.calendar",
    "zhicheng.core.jobs",
    "zhicheng.core.notify",
    "zhicheng.catalog",
    "zhicheng.sharing",
    "zhicheng.exchange",
    "zhicheng.quality",
    "zhicheng.approvals",
    "zhicheng.certificates",
    "zhicheng.cityops",
]
STATIC = Path(__file__).resolve().parent / "web" / "static"
VENDOR = {  # npm package → the folder of it that the console serves
    "htmx": "htmx.org/dist",
    "echarts": "echarts/dist",
}


def _optional(name: str):  # noqa: ANN202
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def _router_parts(package: str) -> list[str]:
    """A module's routes live in `api.py`, further API surfaces in `*_api.py`, console pages in `views.py`
    and, where a module has more than one screen family, `*_views.py`."""
    pkg = importlib.import_module(package)
    names = [m.name for m in pkgutil.iter_modules(pkg.__path__)]
    return sorted(n for n in names if n == "api" or n.endswith("_api")) + sorted(
        n for n in names if n == "views" or n.endswith("_views")
    )


def import_models() -> None:
    """Import every module's tables and permissions, so that Base.metadata and the role
    definitions are complete (Alembic, `db upgrade`, tests)."""
    importlib.import_module("zhicheng.core.cache")  # core's own table outside the module packages
    for name in MODULES:
        _optional(f"{name}.models")
        _optional(f"{name}.permissions")


def include_name(name: str | None, type_: str, parents: Any = None) -> bool:
    """Alembic's include_name hook: leave out tables that live outside the models (the search index kept
    by raw SQL, hosted datasets made at run time)."""
    from zhicheng.catalog.search import include_name as search_tables
    from zhicheng.exchange.datastore import include_name as hosted_tables

    return search_tables(name, type_, parents) and hosted_tables(name, type_, parents)


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or load()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = FastAPI(
        title="zhicheng 智城 API",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(guard)],
        # FastAPI would otherwise look for a configured OpenTelemetry provider on every request
        telemetry=None if settings.otel else {"tracing": False, "metrics": False, "logs": False},
    )
    import_models()
    app.state.settings = settings
    app.state.db = db or Database.from_settings(settings)
    errors.install(app)
    for name in MODULES:
        for part in _router_parts(name):
            app.include_router(importlib.import_module(f"{name}.{part}").router)
    from zhicheng.exchange.lane import FastLane

    app.add_middleware(FastLane)  # the records call with a token, answered before routing (exchange/lane.py)
    from zhicheng.cityops.lane import IntakeLane

    app.add_middleware(IntakeLane)  # single reports with a token, group-committed (cityops/lane.py)
    from zhicheng.web.limits import BodyLimit

    app.add_middleware(BodyLimit, max_mb=settings.max_request_mb)  # outermost: before the lanes read bodies
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for alias, sub in VENDOR.items():
        folder = settings.node_modules / sub
        if folder.is_dir():
            app.mount(f"/vendor/{alias}", StaticFiles(directory=folder), name=f"vendor-{alias}")
    return app
