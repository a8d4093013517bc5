"""The catalog as CKAN shapes it: resources as CKAN packages (datasets), provider departments as CKAN
organizations; CKAN's error envelope; and the plain parameters of CKAN actions (`rows`, `start`, booleans,
`facet.field` lists). The search grammar (`q`, `fq`, `sort`, facets) is in `ckan_query`.

Names are CKAN-valid slugs (lowercase letters, digits, `-` and `_`): a package's name is its resource code
with `/` made `-` (`101001/000001` → `101001-000001`); an organization's is its unified social credit code in
lower case, or `org-<id>` for a department without one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from zhicheng.catalog import vocab
from zhicheng.catalog.models import CatalogClass, Resource, ResourceItem
from zhicheng.catalog.public_queries import OPEN
from zhicheng.core.orgs.models import Org

CKAN_VERSION = "2.10.0"  # the CKAN API level these answers follow
ROWS_DEFAULT, ROWS_MAX = 10, 1000
FACET_LIMIT_DEFAULT = 50
LICENSE = ("notspecified", "License not specified")


# --- errors, as CKAN reports them ---------------------------------------------------------------------------


class CkanError(Exception):
    """An error answered in CKAN's envelope: `__type` is what CKAN clients (ckanapi) turn into exceptions."""

    KINDS = {
        404: ("Not Found Error", "Not found"),
        409: ("Validation Error", "Validation error"),
        403: ("Authorization Error", "Access denied"),
        400: (None, "Bad request"),
        429: ("Rate Limit Error", "Too many requests"),
    }

    def __init__(self, status: int, zh: str, en: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(en)
        self.status, self.zh, self.en, self.fields = status, zh, en, fields or {}

    def error(self, lang: str) -> dict[str, Any]:
        kind, title = self.KINDS[self.status]
        text = self.en if lang == "en" else self.zh
        if kind is None:  # CKAN's bad requests carry no __type
            return {"message": f"{title} - {text}"}
        return {"__type": kind, "message": f"{title}: {text}", **self.fields}


def not_found(zh: str, en: str) -> CkanError:
    return CkanError(404, zh, en)


def invalid(name: str, zh: str, en: str) -> CkanError:
    return CkanError(409, f"{name}: {zh}", f"{name}: {en}", {name: [en]})


def denied(zh: str, en: str) -> CkanError:
    return CkanError(403, zh, en)


def bad_request(zh: str, en: str) -> CkanError:
    return CkanError(400, zh, en)


# --- parameters ---------------------------------------------------------------------------------------------


def _one(data: dict[str, Any], key: str) -> Any:
    value = data.get(key)
    if isinstance(value, list):  # a repeated query parameter
        if len(value) != 1:
            raise invalid(key, "只能给一个值", "expects one value")
        value = value[0]
    return value


def integer(data: dict[str, Any], key: str, default: int, low: int | None = 0, cap: int | None = None) -> int:
    """An integer parameter; below `low` is refused, above `cap` is cut to it (as CKAN caps rows)."""
    value = _one(data, key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(key, "须为整数", "Invalid integer")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise invalid(key, "须为整数", "Invalid integer") from None
    if low is not None and number < low:
        raise invalid(key, f"不能小于 {low}", "Must be a natural number")
    return min(number, cap) if cap is not None else number


def boolean(data: dict[str, Any], key: str, default: bool) -> bool:
    value = _one(data, key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "yes", "y", "1", "on"):
        return True
    if text in ("false", "f", "no", "n", "0", "off"):
        return False
    raise invalid(key, "须为 true 或 false", "Value must be one of: true, false")


def text(data: dict[str, Any], key: str, default: str = "", max_length: int = 2000) -> str:
    value = _one(data, key)
    if value is None:
        return default
    if isinstance(value, dict | list | bool):
        raise invalid(key, "须为文本", "Must be a string")
    value = str(value)
    if len(value) > max_length:
        raise invalid(key, f"不能超过 {max_length} 个字符", f"Must be at most {max_length} characters")
    return value


def names(data: dict[str, Any], key: str) -> list[str]:
    """A list of names: a JSON list (`["organization","tags"]`), a list, repeated parameters or one name."""
    value = data.get(key)
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                raise invalid(key, "不是有效的 JSON 列表", "Must be a JSON list of names") from None
        else:
            value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(key, "须为名称列表", "Must be a list of names")
    return value


# --- shaping ------------------------------------------------------------------------------------------------


def package_name(code: str) -> str:
    """A CKAN-valid name from a resource code: `101001/000001` → `101001-000001`."""
    return re.sub(r"[^a-z0-9_-]", "-", code.lower())


def org_name(org: Org) -> str:
    return org.credit_code.lower() if org.credit_code else f"org-{org.id}"


def small_int(value: str) -> int | None:
    """A database id written in digits; None for anything else (or too large for an id column)."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 10 or int(value) > 2**31 - 1:
        return None
    return int(value)


def org_id_from_name(value: str) -> tuple[int | None, str | None]:
    """(org id, credit code) that an organization id or name may stand for."""
    value = value.strip()
    if value.isdigit():
        return small_int(value), None
    found = re.fullmatch(r"org-(\d+)", value)
    if found:
        return small_int(found.group(1)), None
    if re.fullmatch(r"[0-9A-Za-z]{18}", value):
        return None, value.upper()
    return None, None


def tag_name(keyword: str) -> str:
    """A keyword as a CKAN tag name (letters of any script, digits, spaces, `-`, `_`, `.`)."""
    return re.sub(r"[^\w \-.]", "-", keyword.strip())[:100]


def stamp(moment: dt.datetime | None) -> str | None:
    """CKAN's timestamps: ISO 8601 in UTC without a zone."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat()


def exchange_url(base: str, code: str) -> str:
    """Where a resource's rows are read: the governed exchange API."""
    return f"{base}/api/v1/exchange/resources/{code}/records"


def org_dict(org: Org, count: int | None = None) -> dict[str, Any]:
    out = {
        "id": str(org.id),
        "name": org_name(org),
        "title": org.name,
        "display_name": org.name,
        "description": org.short_name or "",
        "image_url": "",
        "image_display_url": "",
        "type": "organization",
        "is_organization": True,
        "approval_status": "approved",
        "state": "active" if org.active else "deleted",
        "num_followers": 0,
    }
    if count is not None:
        out["package_count"] = count
    return out


def org_extras(org: Org) -> list[dict[str, str]]:
    found = {"credit_code": org.credit_code, "division_code": org.division_code, "kind": org.kind}
    return [{"key": k, "value": v} for k, v in found.items() if v]


def package_dict(
    res: Resource,
    org: Org | None,
    items: list[ResourceItem],
    classes: dict[str, CatalogClass],
    base: str,
    datastore_active: bool = False,
) -> dict[str, Any]:
    tags = list(dict.fromkeys(tag_name(k) for k in res.keywords or [] if k.strip()))
    created, modified = stamp(res.created_at), stamp(res.updated_at)
    item_names = "、".join(i.name for i in items)
    resource = {
        "id": res.code,
        "package_id": str(res.id),
        "name": res.name,
        "description": f"数据交换接口（{vocab.FORMATS.get(res.format, res.format)}）。信息项：{item_names}",
        "format": res.format,
        "mimetype": "application/json",
        "url": exchange_url(base, res.code),
        "url_type": None,
        "resource_type": "api",
        "datastore_active": datastore_active,
        "state": "active",
        "position": 0,
        "created": created,
        "last_modified": modified,
    }
    return {
        "id": str(res.id),
        "name": package_name(res.code),
        "title": res.name,
        "notes": res.summary,
        "url": f"{base}/catalog/{res.id}",
        "version": str(res.version),
        "type": "dataset",
        "state": "active" if res.status == "published" else "deleted",
        "private": res.open_type not in OPEN,
        "isopen": res.open_type == "unconditional",
        "license_id": LICENSE[0],
        "license_title": LICENSE[1],
        "author": None,
        "author_email": None,
        "maintainer": org.name if org else None,
        "maintainer_email": None,
        "owner_org": str(res.provider_org_id),
        "organization": org_dict(org) if org else None,
        "metadata_created": created,
        "metadata_modified": modified,
        "tags": [{"name": t, "display_name": t, "state": "active", "vocabulary_id": None} for t in tags],
        "num_tags": len(tags),
        "groups": [],
        "resources": [resource],
        "num_resources": 1,
        "extras": _extras(res, org, classes),
        "relationships_as_object": [],
        "relationships_as_subject": [],
    }


def _extras(res: Resource, org: Org | None, classes: dict[str, CatalogClass]) -> list[dict[str, str]]:
    klass = classes.get(res.class_code)
    found = {
        "resource_code": res.code,
        "class_code": res.class_code,
        "class_name": klass.name if klass else None,
        "format": res.format,
        "share_type": res.share_type,
        "share_type_label": vocab.SHARE_TYPES.get(res.share_type),
        "share_condition": res.share_condition,
        "share_basis": res.share_basis,
        "share_mode": res.share_mode,
        "open_type": res.open_type,
        "open_type_label": vocab.OPEN_TYPES.get(res.open_type),
        "grade": res.grade,
        "grade_label": vocab.GRADES.get(res.grade),
        "update_cycle": res.update_cycle,
        "update_cycle_label": vocab.UPDATE_CYCLES.get(res.update_cycle),
        "published_on": res.published_on.isoformat() if res.published_on else None,
        "related_codes": ",".join(res.related_codes or []),
        "provider_credit_code": org.credit_code if org else None,
    }
    return [{"key": k, "value": v} for k, v in sorted(found.items()) if v]
