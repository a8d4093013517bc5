"""Deny by default: every route declares an access rule, and every non-public one refuses the anonymous
caller and the outsider (a user with no role). The public list is documented in docs/api.md."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute  # noqa: F401 - the type routes() yields

from zhicheng.web.security import PUBLIC, api_routes, declared

# The documented public routes (docs/api.md, "Public routes").
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{lang}"),
    # the CKAN action API and the DCAT-AP export serve the open catalog to anonymous harvesters
    ("GET", "/api/3/action/{action}"),
    ("POST", "/api/3/action/{action}"),
    ("GET", "/api/action/{action}"),
    ("POST", "/api/action/{action}"),
    ("GET", "/api/v1/catalog/dcat.jsonld"),
    ("GET", "/api/v1/catalog/dcat.ttl"),
    # anyone holding a certificate (or its QR code) can check it
    ("GET", "/verify"),
    ("GET", "/verify/{number}"),
    ("GET", "/api/v1/certificates/{number}/verify"),
    # Open311 GeoReport v2: public by the standard; the POST checks its api_key itself (cityops.intake)
    ("GET", "/open311/v2/discovery.{format}"),
    ("GET", "/open311/v2/services.{format}"),
    ("GET", "/open311/v2/services/{service_code}.{format}"),
    ("POST", "/open311/v2/requests.{format}"),
    ("GET", "/open311/v2/requests.{format}"),
    ("GET", "/open311/v2/requests/{service_request_id}.{format}"),
    ("GET", "/open311/v2/tokens/{token_id}.{format}"),
}


def routes(app) -> list[tuple[str, str, APIRoute]]:  # noqa: ANN001
    return [(m, r.path, r) for r in api_routes(app) for m in sorted(r.methods - {"HEAD"})]


def fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_declares_access(app) -> None:  # noqa: ANN001
    assert len(routes(app)) >= 20
    undeclared = [(m, p) for m, p, r in routes(app) if declared(r.endpoint) is None]
    assert undeclared == []


def test_public_routes_are_exactly_the_documented_ones(app) -> None:  # noqa: ANN001
    public = {(m, p) for m, p, r in routes(app) if declared(r.endpoint) == PUBLIC}
    assert public == PUBLIC_ROUTES


def test_docs_list_every_public_route() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "api.md").read_text(encoding="utf-8")
    for method, path in PUBLIC_ROUTES:
        assert f"`{method} {path}`" in doc


def test_anonymous_is_refused_everywhere_else(app, client) -> None:  # noqa: ANN001
    checked = 0
    for method, path, r in routes(app):
        if declared(r.endpoint) == PUBLIC:
            continue
        resp = client.request(method, fill(path), follow_redirects=False)
        if path.startswith("/api/"):
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert resp.headers["content-type"].startswith("application/problem+json")
        else:
            assert resp.status_code == 303 and resp.headers["location"].startswith("/login"), (method, path)
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("who", ["outsider"])
def test_outsider_is_refused_everywhere_else(app, as_user, who) -> None:  # noqa: ANN001
    c = as_user(who)
    for method, path, r in routes(app):
        if declared(r.endpoint) == PUBLIC or path == "/logout":
            continue
        resp = c.send(method, fill(path), follow_redirects=False)
        assert resp.status_code == 403, (method, path, resp.status_code)


def test_a_route_without_declaration_is_refused(app, as_user) -> None:  # noqa: ANN001
    @app.get("/api/v1/undeclared-probe")
    def probe() -> dict:
        return {"leak": True}

    resp = as_user("admin").get("/api/v1/undeclared-probe")
    assert resp.status_code == 403
    assert "leak" not in resp.text


@pytest.mark.parametrize("who,role", [("clerk", "clerk"), ("auditor", "auditor")])
def test_wrong_role_is_refused(app, as_user, who, role) -> None:  # noqa: ANN001
    """Each persona is refused every route whose permission its role does not carry."""
    from zhicheng.core.auth.permissions import ROLES

    held = set(ROLES[role][2])
    c = as_user(who)
    refused = 0
    for method, path, r in routes(app):
        perm = declared(r.endpoint)
        if perm == PUBLIC or perm in held:
            continue
        resp = c.send(method, fill(path), follow_redirects=False)
        assert resp.status_code == 403, (who, method, path, resp.status_code)
        refused += 1
    assert refused >= 5
