"""The demo city (`zhicheng demo load`): 江苏省南京市 with its districts, streets, communities, governments,
委办局, citizens, enterprises, a user for every role and a system's API token.

`load` is idempotent and returns what a newcomer needs (logins, tokens, org ids) as a JSON-serialisable dict.
Later modules add their own demo data: after the core city, `load` calls
`<module>.demo.load(db, settings, info)` for every module in `zhicheng.app.MODULES` that has a `demo`
submodule; each adds its entries to `info`.
See docs/demo.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import Invalid
from zhicheng.core.orgs.realname import verifier
from zhicheng.demo import city, people, stages
from zhicheng.settings import Settings

DEMO_ACTOR = Actor(kind="cli", name="demo")
URL = "http://127.0.0.1:8000"


def load(db: Database, settings: Settings, progress: bool = True) -> dict[str, Any]:
    """Load (or complete) the demo city; a second run writes nothing and returns the same logins, tokens."""
    if settings.env == "production":
        raise Invalid(
            "生产环境（ZHICHENG_ENV=production）不能加载演示数据",
            "the demo city cannot be loaded into a production instance (ZHICHENG_ENV=production)",
        )
    info: dict[str, Any] = {"logins": [], "tokens": [], "orgs": {}, "url": URL, "counts": {}, "created": {}}
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not progress,
    )
    with bar:
        with _stage(bar, "行政区划 divisions", len(city.divisions())) as step, _uow(db) as uow:
            info["created"]["divisions"] = stages.divisions(uow, step)
        org_steps = 1 + len(city.CITY_DEPARTMENTS) + len(city.DISTRICTS)
        with _stage(bar, "政府与委办局 governments", org_steps) as step, _uow(db) as uow:
            info["orgs"], info["created"]["orgs"] = stages.governments(uow, step)
        party_steps = people.CITIZENS + len(people.ENTERPRISES)
        with _stage(bar, "自然人与法人 parties", party_steps) as step, _uow(db) as uow:
            counts, info["created"]["parties"] = stages.parties(uow, verifier("demo"), step)
        with _stage(bar, "用户与令牌 users, tokens", len(people.LOGINS) + 1) as step, _uow(db) as uow:
            logins, tokens, info["created"]["accounts"] = stages.accounts(uow, info["orgs"], step)
        info["logins"], info["tokens"] = logins, tokens
        info["counts"] = _counts(counts)
        for name, module in module_demos():
            with _stage(bar, f"{name.rsplit('.', 1)[-1]} demo", 1) as step:
                module.load(db, settings, info)
                step()
    return info


def module_demos() -> list[tuple[str, ModuleType]]:
    """(module name, its demo submodule) for every module of the app that brings demo data, in app order."""
    from zhicheng.app import MODULES

    found = []
    for name in MODULES:
        path = f"{name}.demo"
        try:
            found.append((name, importlib.import_module(path)))
        except ModuleNotFoundError as exc:
            if exc.name != path:  # the demo exists but something it imports does not: a real error
                raise
    return found


def _counts(parties: dict[str, int]) -> dict[str, int]:
    levels: dict[str, int] = {}
    for div in city.divisions():
        level = {6: "county", 9: "street", 12: "community"}[len(div.code)]
        levels[level] = levels.get(level, 0) + 1
    return {
        "districts": len(city.DISTRICTS),
        "streets": levels["street"],
        "communities": levels["community"],
        "city_departments": len(city.CITY_DEPARTMENTS),
        "district_departments": len(city.DISTRICTS) * len(city.DISTRICT_DEPARTMENTS),
        **parties,
        "logins": len(people.LOGINS),
        "tokens": 1,
    }


def _uow(db: Database) -> Any:
    """One transaction per stage: few enough to be quick, each a coherent whole."""
    return unit_of_work(db, DEMO_ACTOR)


@contextmanager
def _stage(bar: Progress, label: str, total: int) -> Iterator[Any]:
    task = bar.add_task(label, total=total)
    yield lambda: bar.advance(task)
    bar.update(task, completed=total)
