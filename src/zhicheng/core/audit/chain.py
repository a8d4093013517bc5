"""The hash arithmetic of the chain, free of any database: SM3 digests and canonical forms."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any

GENESIS = "0" * 64

try:
    hashlib.new("sm3")

    def sm3_hex(data: bytes) -> str:
        return hashlib.new("sm3", data).hexdigest()

except ValueError:  # OpenSSL built without SM3: the pure-Python implementation from gmssl
    from gmssl import sm3 as _gmsm3

    def sm3_hex(data: bytes) -> str:
        return _gmsm3.sm3_hash(list(data))


def keyed_digest(key: bytes, data: str) -> str:
    """HMAC-SM3 (HMAC-SHA256 where OpenSSL lacks SM3): how secrets are stored, so that a copy of the
    database alone cannot be used to recognise a session cookie or an API token."""
    algo = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
    return hmac.new(key, data.encode(), algo).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def record_hash(
    *,
    seq: int,
    id: int,
    at: dt.datetime,
    actor: str,
    org_id: int | None,
    tag: str,
    subject: str,
    change_digest: str,
    prev_hash: str,
) -> str:
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    line = "\x1f".join(
        [str(seq), str(id), stamp, actor, str(org_id or ""), tag, subject, change_digest, prev_hash]
    )
    return sm3_hex(line.encode())
