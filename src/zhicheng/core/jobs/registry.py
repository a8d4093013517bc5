"""Which function runs each kind of job, and which kinds run periodically.

Modules register in their `jobs.py`:

    @handler("cases.remind")
    def remind(ctx: JobContext, payload: dict) -> None:
        services.remind(ctx.uow, payload["case_id"])      # audited like any other write

    @periodic("audit.seal", seconds=1, own_transactions=True)
    def seal(ctx: JobContext, payload: dict) -> None: ...

A handler runs inside ONE transaction (`ctx.uow`) that also marks the job done, so its effects are
committed exactly once. `own_transactions=True` is for infrastructure tasks that open their own
transactions (sealing the audit chain): they must be idempotent, because a worker that dies after
their commit but before the job's bookkeeping commits makes them run again.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from zhicheng.core.db import Database, UnitOfWork
    from zhicheng.settings import Settings

log = logging.getLogger("zhicheng.jobs")
KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
PERIODIC_PREFIX = "periodic:"


@dataclass
class JobContext:
    """What a handler gets besides its payload."""

    uow: UnitOfWork
    db: Database
    settings: Settings
    job_id: int
    kind: str
    attempt: int  # 1 on the first run

    @property
    def session(self) -> Session:
        return self.uow.session

    def record(self, tag: str, subject: str, change: dict[str, Any] | None = None) -> None:
        self.uow.record(tag, subject, change)


Handler = Callable[[JobContext, dict[str, Any]], None]


@dataclass(frozen=True)
class Spec:
    kind: str
    fn: Handler
    own_transactions: bool = False
    every: float | None = None  # seconds between runs, for periodic kinds

    @property
    def periodic_key(self) -> str:
        return PERIODIC_PREFIX + self.kind


@dataclass
class Registry:
    specs: dict[str, Spec] = field(default_factory=dict)

    def add(self, spec: Spec) -> None:
        if not KIND.match(spec.kind) or len(spec.kind) > 80:
            raise ValueError(f"job kind must look like 'module.task', got {spec.kind!r}")
        old = self.specs.get(spec.kind)
        if old is not None and old.fn is not spec.fn and _name(old.fn) != _name(spec.fn):
            twice = f"{_name(old.fn)}, {_name(spec.fn)}"
            raise ValueError(f"job kind {spec.kind!r} is registered twice ({twice})")
        self.specs[spec.kind] = spec

    def handler(self, kind: str, own_transactions: bool = False) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.add(Spec(kind, fn, own_transactions))
            return fn

        return register

    def periodic(
        self, kind: str, seconds: float, own_transactions: bool = False
    ) -> Callable[[Handler], Handler]:
        if seconds <= 0:
            raise ValueError("a periodic task needs a positive interval")

        def register(fn: Handler) -> Handler:
            self.add(Spec(kind, fn, own_transactions, every=float(seconds)))
            return fn

        return register

    def get(self, kind: str) -> Spec | None:
        return self.specs.get(kind)

    @property
    def kinds(self) -> list[str]:
        return sorted(self.specs)

    @property
    def periodic_specs(self) -> list[Spec]:
        return [s for s in self.specs.values() if s.every is not None]

    def only(self, kinds: Iterable[str]) -> Registry:
        """A registry with just these kinds (tests run workers that ignore everything else)."""
        return Registry({k: self.specs[k] for k in kinds})


def _name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


REGISTRY = Registry()
handler = REGISTRY.handler
periodic = REGISTRY.periodic


def extra_modules(settings: Any = None) -> list[str]:
    """Modules named in ZHICHENG_JOB_MODULES (comma separated), e.g. test-only handlers."""
    raw = settings.job_modules if settings is not None else os.environ.get("ZHICHENG_JOB_MODULES", "")
    return [m.strip() for m in raw.split(",") if m.strip()]


def load_modules(settings: Any = None) -> Registry:
    """Import `<module>.jobs` of every module in app.MODULES, then the extra modules; returns REGISTRY."""
    from zhicheng.app import MODULES

    for name in [f"{m}.jobs" for m in MODULES]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but something it imports is missing: say so
                raise
    for name in extra_modules(settings):
        importlib.import_module(name)
    log.debug("job kinds: %s", ", ".join(REGISTRY.kinds))
    return REGISTRY
