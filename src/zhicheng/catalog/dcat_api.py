"""GET /api/v1/catalog/dcat.jsonld and /api/v1/catalog/dcat.ttl: the catalog as DCAT-AP.

Public, with the CKAN API's visibility rule and keys (`Authorization: <key>`, `X-CKAN-API-Key`, or `Bearer`):
anonymous callers get the open catalog, holders of `catalog.read` the whole published catalog.
`?provider=` keeps one department's resources (its org id or CKAN organization name).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from rdflib import Graph

from zhicheng.catalog import dcat
from zhicheng.catalog import public_queries as pq
from zhicheng.catalog.ckan_api import caller, org_id_of
from zhicheng.catalog.public_queries import Viewer
from zhicheng.core.errors import Forbidden, NotFound
from zhicheng.web.security import public

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])
PROVIDER = Query(None, max_length=100, description="one department: its org id or CKAN organization name")


def _graph(request: Request, provider: str | None) -> Graph:
    me = caller(request)
    if me is None:
        raise Forbidden("API 密钥无效、已过期或已吊销", "the API key is invalid, expired or revoked")
    viewer = Viewer.of(me)
    base = str(request.base_url).rstrip("/")
    with request.app.state.db.read() as s:
        org_id = None
        if provider:
            org_id = org_id_of(s, provider)
            if org_id is None:
                raise NotFound(f"机构 {provider} 不存在", f"organization {provider} not found")
        resources = pq.visible_resources(s, viewer, provider_org_id=org_id)
        orgs = pq.orgs(s, {r.provider_org_id for r in resources} | ({org_id} if org_id else set()))
        related = pq.codes_to_ids(s, viewer, {c for r in resources for c in r.related_codes or []})
        classes = pq.classes(s)
    return dcat.catalog_graph(base, resources, orgs, classes, related, orgs.get(org_id) if org_id else None)


@router.get("/dcat.jsonld", response_class=Response)
@public
def dcat_jsonld(request: Request, provider: str | None = PROVIDER) -> Response:
    """The catalog as DCAT-AP in JSON-LD."""
    return Response(dcat.jsonld(_graph(request, provider)), media_type="application/ld+json")


@router.get("/dcat.ttl", response_class=Response)
@public
def dcat_turtle(request: Request, provider: str | None = PROVIDER) -> Response:
    """The catalog as DCAT-AP in Turtle."""
    return Response(dcat.turtle(_graph(request, provider)), media_type="text/turtle; charset=utf-8")
