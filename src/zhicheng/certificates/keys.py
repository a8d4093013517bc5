"""The instance's signing keys (a service module: it writes, in the caller's unit of work, audited).

Where the key comes from:
- ZHICHENG_CERTIFICATE_SM2_PRIVATE_KEY (64 hex digits) when set: its public key is registered in the key
  table and made active; its private part is read from the settings at each signing and never stored;
- otherwise a key pair generated at first use, its private key sealed with SM4 + HMAC-SM3 under a key
  derived from ZHICHENG_SECRET_KEY (signing.seal). The sealed value is never shown by any API or page.

Rotation retires the active key (its sealed private key is erased) and makes a new one; retired keys keep
their public key, so what they signed still verifies. A sealed key that no longer opens (the instance
secret changed) is retired the same way at the next signing, and a new key takes over.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from zhicheng.certificates import signing
from zhicheng.certificates.models import CertificateKey
from zhicheng.core.db import UnitOfWork, utcnow
from zhicheng.core.errors import Conflict, Invalid


@dataclass(frozen=True)
class Signer:
    key_id: str
    public_key: str
    private_hex: str

    def sign(self, message: bytes) -> str:
        return signing.sign(self.private_hex, self.public_key, message)


def configured_private_key() -> str:
    """The private key named in the settings, or "" (generate and keep one in the database)."""
    from zhicheng.settings import load

    return str(getattr(load(), "certificate_sm2_private_key", "") or "").strip().lower()


def _active(uow: UnitOfWork) -> CertificateKey | None:
    return uow.session.scalar(select(CertificateKey).where(CertificateKey.status == "active"))


def _retire(uow: UnitOfWork, key: CertificateKey, reason: str) -> None:
    key.status, key.active_slot, key.retired_at = "retired", None, utcnow()
    key.retire_reason, key.private_sealed = reason[:200], None
    uow.session.flush()
    uow.record("certificates:key:retire", f"certificate_key:{key.key_id}", {"reason": reason})


def _activate(uow: UnitOfWork, key: CertificateKey) -> CertificateKey | None:
    """Insert (or re-activate) `key` as the active one; None if another transaction made one first."""
    s = uow.session
    try:
        with s.begin_nested():
            if key not in s:
                s.add(key)
            key.status, key.active_slot, key.retired_at, key.retire_reason = "active", 1, None, None
            s.flush()
    except IntegrityError:
        return None
    uow.record(
        "certificates:key:activate",
        f"certificate_key:{key.key_id}",
        {"source": key.source, "public_key": key.public_key},
    )
    return key


def _generate(uow: UnitOfWork) -> tuple[CertificateKey, str]:
    private_hex, public_hex = signing.generate()
    key = CertificateKey(
        key_id=signing.key_id(public_hex),
        public_key=public_hex,
        private_sealed=signing.seal(uow.secret, private_hex),
        source="generated",
        status="active",
        created_at=utcnow(),
    )
    return key, private_hex


def _from_settings(uow: UnitOfWork, private_hex: str) -> Signer:
    try:
        public_hex = signing.public_of(private_hex)
    except signing.BadKey as exc:
        raise Invalid(
            "设置中的 SM2 私钥无效（应为 64 位十六进制数）",
            f"ZHICHENG_CERTIFICATE_SM2_PRIVATE_KEY is not an SM2 private key: {exc}",
        ) from exc
    kid = signing.key_id(public_hex)
    active = _active(uow)
    if active is None or active.key_id != kid:
        if active is not None:
            _retire(uow, active, "replaced by the key named in the settings")
        key = uow.session.get(CertificateKey, kid) or CertificateKey(
            key_id=kid, public_key=public_hex, source="settings", status="active", created_at=utcnow()
        )
        if _activate(uow, key) is None:
            raise Conflict("签名密钥正在切换，请重试", "the signing key is being switched; try again")
    return Signer(kid, public_hex, private_hex)


def signer(uow: UnitOfWork) -> Signer:
    """The active key, ready to sign: the configured one, the stored one, or a new one."""
    configured = configured_private_key()
    if configured:
        return _from_settings(uow, configured)
    for _ in range(3):
        active = _active(uow)
        if active is not None:
            private_hex = signing.unseal(uow.secret, active.private_sealed or "")
            if private_hex and signing.public_of(private_hex) == active.public_key:
                return Signer(active.key_id, active.public_key, private_hex)
            reason = (
                "its sealed private key does not open (ZHICHENG_SECRET_KEY changed?)"
                if active.source == "generated"
                else "the settings no longer name this key"
            )
            _retire(uow, active, reason)
        key, private_hex = _generate(uow)
        if _activate(uow, key) is not None:
            return Signer(key.key_id, key.public_key, private_hex)
        # another transaction activated a key first: use that one
    raise Conflict("签名密钥正在切换，请重试", "the signing key is being switched; try again")


def rotate(uow: UnitOfWork, reason: str) -> CertificateKey:
    """Retire the active generated key and make a new one."""
    if configured_private_key():
        raise Conflict(
            "签名密钥由配置指定，请修改配置项 ZHICHENG_CERTIFICATE_SM2_PRIVATE_KEY 以轮换",
            "the signing key comes from the settings; change ZHICHENG_CERTIFICATE_SM2_PRIVATE_KEY to rotate",
        )
    active = _active(uow)
    if active is not None:
        _retire(uow, active, f"rotated: {reason}")
    key, _ = _generate(uow)
    if _activate(uow, key) is None:
        raise Conflict("签名密钥正在切换，请重试", "the signing key is being switched; try again")
    return key
