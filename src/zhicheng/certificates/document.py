"""What is signed: a certificate's payload and its canonical bytes.

The payload holds everything a holder or verifier relies on (not the status: revocation is the registry's
word, checked at verification). Canonical JSON: keys sorted, no whitespace, UTF-8, no NaN; content values
are strings, integers, booleans, null, lists and objects only (services refuse floats), so the bytes are the
same after a round trip through SQLite's JSON or PostgreSQL's JSONB.
"""

from __future__ import annotations

import json
from typing import Any

from zhicheng.certificates.models import Certificate

FORMAT = "zhicheng-certificate/1"


def payload(c: Certificate) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "number": c.number,
        "type_code": c.type_code,
        "type_name": c.type_name,
        "holder_kind": c.holder_kind,
        "holder_name": c.holder_name,
        "holder_id": c.holder_id,
        "issuer_org_id": c.issuer_org_id,
        "issuer_name": c.issuer_name,
        "issued_on": c.issued_on.isoformat(),
        "valid_until": c.valid_until.isoformat() if c.valid_until else None,
        "content": c.content,
        "key_id": c.key_id,
    }


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()


def signed_bytes(c: Certificate) -> bytes:
    return canonical(payload(c))
