"""Who may see and act on a request or grant: its consumer, its provider, or the data authority (which
must hold sharing.review over both departments). Shared by the API and the console."""

from __future__ import annotations

from sqlalchemy.orm import Session

from zhicheng.core.auth.principal import Principal
from zhicheng.core.errors import Forbidden
from zhicheng.sharing import queries
from zhicheng.sharing.models import SharingGrant, SharingRequest
from zhicheng.sharing.permissions import SHARING_DECIDE, SHARING_REQUEST, SHARING_REVIEW


def org_paths(s: Session, obj: SharingRequest | SharingGrant) -> tuple[str, str]:
    return queries.org_path(s, obj.consumer_org_id), queries.org_path(s, obj.provider_org_id)


def is_authority(me: Principal, s: Session, obj: SharingRequest | SharingGrant) -> bool:
    return all(me.can(SHARING_REVIEW, p) for p in org_paths(s, obj))


def require_authority(me: Principal, s: Session, obj: SharingRequest | SharingGrant) -> None:
    if not is_authority(me, s, obj):
        raise Forbidden("无权审核该申请", "no data-authority permission over both departments")


def is_party(me: Principal, s: Session, obj: SharingRequest | SharingGrant) -> bool:
    consumer, provider = org_paths(s, obj)
    return me.can(SHARING_REQUEST, consumer) or me.can(SHARING_DECIDE, provider) or is_authority(me, s, obj)
