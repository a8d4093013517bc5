"""The `zhicheng` command. Each module adds its subcommands; a failure prints one line and exits non-zero."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from zhicheng.core.db import Actor, Database, unit_of_work
from zhicheng.core.errors import DomainError
from zhicheng.settings import Settings, load

app = typer.Typer(help="智城 zhicheng: operate the platform.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Console users.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for systems.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit chain.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(demo_app, name="demo")
# modules that bring their own command groups: (module path, command name)
MODULE_COMMANDS = [
    ("zhicheng.core.calendar.cli", "calendar"),
    ("zhicheng.core.jobs.cli", "jobs"),
    ("zhicheng.catalog.cli", "catalog"),
    ("zhicheng.exchange.cli", "exchange"),
    ("zhicheng.cityops.cli", "cityops"),
]
CLI_ACTOR = Actor(kind="cli", name="operator")


def _settings() -> Settings:
    return load()


def _db() -> Database:
    return Database.from_settings(_settings())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes (PostgreSQL only; SQLite wants 1)")] = 1,
) -> None:
    """Serve the console and the API (with the worker loop inside, unless ZHICHENG_EMBEDDED_WORKER=false)."""
    import uvicorn

    settings = _settings()
    if settings.embedded_worker:
        from zhicheng.core.jobs.worker import start_embedded

        start_embedded(settings)
    typer.echo(f"zhicheng serving on http://{host}:{port}  ({settings.database_url.split('@')[-1]})")
    uvicorn.run(
        "zhicheng.asgi:app", host=host, port=port, workers=workers, log_level="info", proxy_headers=True
    )


@app.command()
def worker() -> None:
    """Run a worker: claims due jobs and timers until stopped."""
    from zhicheng.core.jobs.worker import run

    run(_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations up to the latest, then sync built-in roles and the calendar seed."""
    from zhicheng.core.migrate import upgrade

    db = _db()
    upgrade(db)
    typer.echo(f"database at head ({db.dialect})")


@demo_app.command("load")
def demo_load(
    as_json: Annotated[
        bool, typer.Option("--json", help="print logins and tokens as one JSON object")
    ] = False,
) -> None:
    """Load the demo city (idempotent) and print its logins."""
    from zhicheng.demo import load as load_demo

    info = load_demo(_db(), _settings(), progress=not as_json)
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        typer.echo("Demo logins (user / password):")
        for login in info["logins"]:
            role = login["role"] or "(无角色 no role)"
            typer.echo(f"  {login['username']:<16} {login['password']:<14} {role:<16} {login['org']}")
        for token in info["tokens"]:
            typer.echo(f"API token ({token['name']}, {token['org']}, roles {','.join(token['roles'])}):")
            typer.echo(f"  {token['token']}")
        typer.echo(f"Console: {info['url']}  (details: docs/demo.md)")


@user_app.command("create")
def user_create(
    username: str,
    display_name: Annotated[str, typer.Option("--name", help="display name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="at least 8 characters")],
    org: Annotated[int | None, typer.Option(help="organization id")] = None,
    role: Annotated[list[str] | None, typer.Option(help="role code, granted over --org; repeatable")] = None,
) -> None:
    """Create a console user, optionally granting roles over their organization."""
    from zhicheng.core.auth import services
    from zhicheng.core.auth.schemas import GrantIn, UserIn

    if role and org is None:
        raise DomainError("授予角色需要 --org", "--role needs --org")
    with unit_of_work(_db(), CLI_ACTOR) as uow:
        user = services.create_user(
            uow, UserIn(username=username, display_name=display_name, password=password, org_id=org)
        )
        for code in role or []:
            services.grant_role(uow, user.id, GrantIn(role=code, org_id=org))  # type: ignore[arg-type]
    typer.echo(f"user {user.id} {username} created")


@token_app.command("create")
def token_create(
    name: str,
    org: Annotated[int, typer.Option(help="organization the system belongs to")],
    role: Annotated[list[str], typer.Option(help="role code; repeatable")],
    days: Annotated[int, typer.Option(help="days until it expires")] = 365,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API token; the secret is printed once."""
    from zhicheng.core.auth import services
    from zhicheng.core.auth.schemas import TokenIn

    with unit_of_work(_db(), CLI_ACTOR) as uow:
        token, raw = services.create_token(uow, TokenIn(name=name, org_id=org, roles=role, days=days))
    if as_json:
        typer.echo(json.dumps({"id": token.id, "token": raw, "expires_at": token.expires_at.isoformat()}))
    else:
        typer.echo(raw)


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke an API token at once."""
    from zhicheng.core.auth import services

    with unit_of_work(_db(), CLI_ACTOR) as uow:
        services.revoke_token(uow, token_id)
    typer.echo(f"token {token_id} revoked")


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH noted earlier with `audit head`")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Walk the chain; exit 1 naming the first record changed, removed or inserted."""
    from rich.progress import Progress

    from zhicheng.core.audit.services import seal_all, verify

    db = _db()
    pin = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise DomainError("锚点格式应为 序号:哈希", "anchor must be SEQ:HASH")
        pin = (int(seq), digest)
    seal_all(db)
    with Progress(transient=True, disable=as_json or not sys.stderr.isatty()) as bar:
        task = bar.add_task("verifying", total=None)
        verdict = verify(db, pin, progress=lambda n: bar.advance(task, n))
    f = verdict.finding
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": verdict.ok,
                    "checked": verdict.checked,
                    "head_seq": verdict.head_seq,
                    "head_hash": verdict.head_hash,
                    "pending": verdict.pending,
                    "finding": f.__dict__ if f else None,
                }
            )
        )
    elif f is None:
        typer.echo(f"ok: {verdict.checked} records, head {verdict.head_seq}:{verdict.head_hash}")
    if f is not None:
        if not as_json:
            typer.echo(f"audit chain broken at seq {f.seq} (id {f.id}): {f.problem}: {f.detail}", err=True)
        raise typer.Exit(1)


@audit_app.command("head")
def audit_head() -> None:
    """Print SEQ:HASH of the chain's head; keep it elsewhere and pass it to `audit verify --anchor`."""
    from zhicheng.core.audit.services import seal_all, verify

    db = _db()
    seal_all(db)
    v = verify(db)
    typer.echo(f"{v.head_seq}:{v.head_hash}")
    if not v.ok:
        raise typer.Exit(1)


def _add_module_commands() -> None:
    for path, name in MODULE_COMMANDS:
        try:
            mod = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        app.add_typer(mod.app, name=name)


_add_module_commands()


def main() -> None:
    try:
        # without standalone mode click hands a typer.Exit back as the return value, not as an exception
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except (DomainError, ValidationError, ValueError) as exc:
        message = (
            exc.message("zh") + " / " + exc.message("en") if isinstance(exc, DomainError) else _one_line(exc)
        )
        typer.echo(f"zhicheng: {message}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("zhicheng: aborted", err=True)
        sys.exit(130)
    except Exception as exc:  # usage errors (typer's own click) and the unexpected: one line, non-zero
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            typer.echo(f"zhicheng: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code or 2)
        typer.echo(f"zhicheng: {type(exc).__name__}: {_one_line(exc)}", err=True)
        sys.exit(1)


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return " ".join(str(exc).split())
