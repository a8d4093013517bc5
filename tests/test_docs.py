"""Nothing a user can set or type goes undocumented (a habit from datasette)."""

from __future__ import annotations

from pathlib import Path

import typer

from zhicheng.cli import app as cli_app
from zhicheng.settings import Settings

DOCS = Path(__file__).parents[1] / "docs"


def _all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")) + (
        Path(__file__).parents[1] / "README.md"
    ).read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    ops = (DOCS / "operations.md").read_text(encoding="utf-8")
    missing = [n for n in Settings.model_fields if f"`ZHICHENG_{n.upper()}`" not in ops]
    assert missing == []


def _commands(group: object, prefix: str = "zhicheng") -> list[str]:
    out = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):  # a group (typer carries its own click)
            out += _commands(cmd, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def test_every_cli_command_is_documented() -> None:
    text = _all_docs()
    commands = _commands(typer.main.get_command(cli_app))
    assert len(commands) >= 8
    missing = [c for c in commands if c not in text]
    assert missing == []


def test_every_api_route_is_documented() -> None:
    from zhicheng.app import create_app
    from zhicheng.web.security import api_routes

    app = create_app(Settings(env="test", database_url="sqlite://"))
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    routes = [
        f"`{m} {r.path}`" for r in api_routes(app) if r.path.startswith("/api/") for m in r.methods - {"HEAD"}
    ]
    assert len(routes) >= 20
    assert [r for r in routes if r not in api] == []
