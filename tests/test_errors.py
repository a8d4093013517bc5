"""Bad input gets a clear problem+json in Chinese and English; never a 500, a traceback or a partial write."""

from __future__ import annotations

from sqlalchemy import func, select

from zhicheng.core.audit.models import AuditRecord
from zhicheng.core.orgs.models import Division

PROBLEM = "application/problem+json"


def _problem(r) -> dict:  # noqa: ANN001
    assert r.headers["content-type"].startswith(PROBLEM), r.text
    body = r.json()
    assert {"type", "title", "status", "detail", "messages"} <= body.keys()
    assert body["status"] == r.status_code and body["messages"]["zh"] and body["messages"]["en"]
    assert "Traceback" not in r.text
    return body


def test_validation_error_is_problem_json(as_user) -> None:  # noqa: ANN001
    r = as_user("admin").send("POST", "/api/v1/divisions", json={"code": "12ab", "name": ""})
    assert r.status_code == 422
    body = _problem(r)
    assert any("code" in e["loc"] for e in body["errors"])


def test_malformed_json_is_problem_json(as_user) -> None:  # noqa: ANN001
    r = as_user("admin").send(
        "POST", "/api/v1/divisions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    _problem(r)


def test_english_when_asked(as_user) -> None:  # noqa: ANN001
    r = as_user("admin").send(
        "POST",
        "/api/v1/divisions",
        json={"code": "990000", "name": "无"},
        headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    body = _problem(r)
    assert body["title"] == "Invalid input" and "division code" in body["detail"]


def test_unknown_path_and_method(client, as_user) -> None:  # noqa: ANN001
    assert _problem(client.get("/api/v1/no-such-thing"))["status"] in (401, 404)
    assert _problem(as_user("admin").get("/api/v1/no-such-thing"))["status"] in (403, 404)
    r = as_user("admin").get("/api/v1/orgs/999999")
    assert r.status_code == 404 and _problem(r)["code"] == "not-found"


def test_path_param_garbage(as_user) -> None:  # noqa: ANN001
    r = as_user("admin").get("/api/v1/orgs/not-a-number")
    assert r.status_code == 422
    _problem(r)


def test_conflict_writes_nothing(as_user, db) -> None:  # noqa: ANN001
    with db.read() as s:
        before = s.scalar(select(func.count()).select_from(AuditRecord))
    r = as_user("admin").send(
        "POST", "/api/v1/divisions", json={"code": "320102", "name": "玄武区", "parent_code": "320100"}
    )
    assert r.status_code == 409
    _problem(r)
    with db.read() as s:
        # only the admin's login was recorded, nothing for the refused write
        tags = s.scalars(
            select(AuditRecord.tag)
            .order_by(AuditRecord.id.desc())
            .limit(s.scalar(select(func.count()).select_from(AuditRecord)) - before)
        ).all()
        assert set(tags) <= {"auth:session:login"}
        assert s.scalar(select(func.count()).select_from(Division).where(Division.code == "320102")) == 1


def test_console_errors_are_pages_not_json(as_user) -> None:  # noqa: ANN001
    r = as_user("clerk").get("/jobs")  # a page the clerk may not see
    assert r.status_code in (403, 404) and r.headers["content-type"].startswith("text/html")
    assert "Traceback" not in r.text


def test_healthz_reports_database(client) -> None:  # noqa: ANN001
    body = client.get("/healthz").json()
    assert body["database"]["ok"] is True and "worker" in body


def test_oversized_body_is_refused_before_it_is_read(settings, db) -> None:  # noqa: ANN001
    """ZHICHENG_MAX_REQUEST_MB caps every body, the lanes' included: 413 problem+json, nothing written."""
    from fastapi.testclient import TestClient

    from tests import personas
    from zhicheng.app import create_app

    small = create_app(settings.model_copy(update={"max_request_mb": 1}), db=db)
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    with TestClient(small, raise_server_exceptions=False) as c:
        with db.read() as s:
            before = s.scalar(select(func.count()).select_from(AuditRecord))
        token = {"Authorization": f"Bearer {personas.SYSTEM_TOKEN}", "content-type": "application/json"}
        for path in ("/api/v1/divisions", "/api/v1/cityops/reports?channel=sensor"):
            r = c.post(path, content=big, headers=token)
            assert r.status_code == 413, (path, r.status_code, r.text[:200])
            assert _problem(r)["status"] == 413
            # no Content-Length: counted while it streams in (chunked)
            r = c.post(path, content=iter([big[:600_000], big[600_000:]]), headers=token)
            assert r.status_code == 413, (path, r.status_code, r.text[:200])
            assert _problem(r)["status"] == 413
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(AuditRecord)) == before
        # a body under the cap still reaches the route (which refuses this one on its merits)
        r = c.post("/api/v1/divisions", json={"code": "12ab", "name": ""}, headers=token)
        assert r.status_code in (403, 422)
