"""GET /api/v1/catalog/search: full-text search over the catalog with facets (catalog.read)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from zhicheng.catalog import search, vocab
from zhicheng.catalog.permissions import CATALOG_READ
from zhicheng.catalog.schemas import ResourceOut
from zhicheng.core.errors import Invalid
from zhicheng.web.deps import Reader
from zhicheng.web.security import access

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

VOCABS = {
    "share_type": vocab.SHARE_TYPES,
    "grade": vocab.GRADES,
    "format": vocab.FORMATS,
    "update_cycle": vocab.UPDATE_CYCLES,
    "class": {},
    "provider_org_id": {},
}


class Hit(ResourceOut):
    rank: float


class FacetValue(BaseModel):
    value: str
    label: str
    count: int


class SearchOut(BaseModel):
    total: int
    terms: list[str]
    items: list[Hit]
    facets: dict[str, list[FacetValue]]


def _key(name: str, value: str | None) -> str | None:
    """A vocabulary filter accepts the stored key or its Chinese label, like the rest of the catalog."""
    if value is None or value == "":
        return None
    found = vocab.key_for(VOCABS[name], value)
    if found is None:
        raise Invalid(
            f"{name} 取值无效：{value}", f"{name} must be one of {sorted(VOCABS[name])}: got {value}"
        )
    return found


@router.get("/search", response_model=SearchOut)
@access(CATALOG_READ)
def search_catalog(
    s: Reader,
    q: str = Query("", max_length=200, description="words to find, Chinese or not; empty: browse"),
    provider_org_id: int | None = None,
    class_code: str | None = Query(None, pattern=r"^\d{1,16}$", description="a class code prefix"),
    share_type: str | None = None,
    grade: str | None = None,
    format: str | None = None,  # noqa: A002 - the catalog's field name
    update_cycle: str | None = None,
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0, le=10_000),
) -> dict[str, Any]:
    filters = {
        "provider_org_id": provider_org_id,
        "class_code": class_code,
        "share_type": _key("share_type", share_type),
        "grade": _key("grade", grade),
        "format": _key("format", format),
        "update_cycle": _key("update_cycle", update_cycle),
    }
    found = search.search(s, q, filters, limit=limit, offset=offset)
    names = search.labels(s, found.facets)
    facets = {
        facet: [
            {"value": v, "label": names.get(facet, {}).get(v) or VOCABS[facet].get(v, v), "count": n}
            for v, n in counts
        ]
        for facet, counts in found.facets.items()
    }
    return {"total": found.total, "terms": found.terms, "items": found.hits, "facets": facets}
