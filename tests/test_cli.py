"""The operator's command line, run as the real `zhicheng` executable against a database of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from tests import personas
from zhicheng.core.db import Database

ZHICHENG = str(Path(sys.executable).with_name("zhicheng"))


def run(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZHICHENG_DATABASE_URL": url, "ZHICHENG_ENV": "test"}
    return subprocess.run(
        [ZHICHENG, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_user_and_token_lifecycle(fresh_url: str) -> None:
    w = personas.WORLD
    made = run(
        fresh_url,
        "user",
        "create",
        "ops1",
        "--name",
        "运维值班",
        "--password",
        "Night-shift-42",
        "--org",
        str(w.city),
        "--role",
        "auditor",
    )
    assert made.returncode == 0, made.stderr
    again = run(fresh_url, "user", "create", "ops1", "--name", "重复", "--password", "Night-shift-42")
    assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1 and "ops1" in again.stderr
    token = run(
        fresh_url, "token", "create", "夜间巡检系统", "--org", str(w.city), "--role", "auditor", "--json"
    )
    assert token.returncode == 0, token.stderr
    info = json.loads(token.stdout)
    assert info["token"].startswith("zc_")
    assert run(fresh_url, "token", "revoke", str(info["id"])).returncode == 0
    assert run(fresh_url, "token", "revoke", "99999").returncode == 2


def test_bad_input_is_one_line_and_non_zero(fresh_url: str) -> None:
    for args in (
        ["token", "create", "x", "--org", "abc", "--role", "clerk"],
        ["user", "create", "Bad Name", "--name", "x", "--password", "short"],
        ["no-such-command"],
        ["audit", "verify", "--anchor", "12"],
    ):
        r = run(fresh_url, *args)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_audit_verify_names_the_tampered_record(fresh_url: str) -> None:
    ok = run(fresh_url, "audit", "verify")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ")
    head = run(fresh_url, "audit", "head").stdout.strip()
    seq, digest = head.split(":")
    assert int(seq) > 10 and len(digest) == 64
    assert run(fresh_url, "audit", "verify", "--anchor", head).returncode == 0

    db = Database(fresh_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_record SET subject = 'user:999' WHERE seq = 7"))
    db.dispose()
    broken = run(fresh_url, "audit", "verify", "--json")
    assert broken.returncode == 1
    finding = json.loads(broken.stdout)["finding"]
    assert finding["seq"] == 7 and finding["problem"] == "changed"
    plain = run(fresh_url, "audit", "verify")
    assert plain.returncode == 1 and "seq 7" in plain.stderr


def test_cut_tail_fails_against_the_anchor(fresh_url: str) -> None:
    head = run(fresh_url, "audit", "head").stdout.strip()
    db = Database(fresh_url)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_record WHERE seq = :s"), {"s": int(head.split(":")[0])})
    db.dispose()
    assert run(fresh_url, "audit", "verify").returncode == 0
    assert run(fresh_url, "audit", "verify", "--anchor", head).returncode == 1


def test_db_upgrade_is_repeatable(fresh_url: str) -> None:
    r = run(fresh_url, "db", "upgrade")
    assert r.returncode == 0 and "head" in r.stdout
