"""SM2 signatures (GB/T 32918, used as GM/T 0009 prescribes) and the sealing of private keys at rest.

The arithmetic is gmssl's (pure Python). What we add around it:
- random numbers from `secrets`: gmssl's own `random_hex` uses the `random` module, and a predictable
  nonce k gives the private key away;
- the public key is set on gmssl's object after construction: its constructor strips a leading "04" with
  `str.lstrip`, which also eats any leading 0 and 4 digits of the x coordinate;
- a signature is the DER `SEQUENCE { r INTEGER, s INTEGER }` of GM/T 0009, checked strictly (r and s in
  [1, n-1]) before gmssl sees it, so a malformed signature is a failed check, never an exception.

Signing: e = SM3(Z_A ‖ M) with the default distinguishing identifier 1234567812345678 (GM/T 0009), M the
message bytes. The same signature verifies with OpenSSL 3:
`openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -digest sm3 -pkeyopt distid:1234567812345678`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict

from Cryptodome.Util.asn1 import DerInteger, DerSequence
from gmssl.sm2 import CryptSM2, default_ecc_table
from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

from zhicheng.core.audit.chain import sm3_hex

N = int(default_ecc_table["n"], 16)
P = int(default_ecc_table["p"], 16)
A = int(default_ecc_table["a"], 16)
B = int(default_ecc_table["b"], 16)
ALGORITHM = "SM2-with-SM3 (GB/T 32918, GM/T 0009; ID 1234567812345678; DER signature)"
SEALED_PREFIX = "sm4-cbc+hmac-sm3:"
CACHE_SIZE = 4096
_cache: OrderedDict[tuple[str, str, str], bool] = OrderedDict()
_lock = threading.Lock()


class BadKey(ValueError):
    """A key that is not an SM2 key (bad hex, out of range, not on the curve)."""


def _crypt(private_hex: str, public_xy: str) -> CryptSM2:
    c = CryptSM2(private_key=private_hex, public_key="00" * 64)
    c.public_key = public_xy  # after construction: see the module docstring
    return c


def check_private(private_hex: str) -> int:
    try:
        d = int(private_hex, 16)
    except (TypeError, ValueError):
        raise BadKey("SM2 private key must be 64 hex digits") from None
    if len(private_hex) != 64 or not 1 <= d <= N - 2:
        raise BadKey("SM2 private key must be 64 hex digits in [1, n-2]")
    return d


def check_public(public_hex: str) -> str:
    """An uncompressed public key "04" ‖ x ‖ y (130 hex digits) on the SM2 curve; returns x ‖ y."""
    if len(public_hex) != 130 or not public_hex.startswith("04"):
        raise BadKey("SM2 public key must be 04 followed by 128 hex digits")
    try:
        x, y = int(public_hex[2:66], 16), int(public_hex[66:], 16)
    except ValueError:
        raise BadKey("SM2 public key must be hex") from None
    if not (x < P and y < P and (y * y - (x * x * x + A * x + B)) % P == 0):
        raise BadKey("the point is not on the SM2 curve")
    return public_hex[2:]


def public_of(private_hex: str) -> str:
    d = check_private(private_hex)
    return "04" + _crypt(private_hex, "00" * 64)._kg(d, default_ecc_table["g"])


def generate() -> tuple[str, str]:
    """A fresh key pair: (private hex, public "04" ‖ x ‖ y hex)."""
    private_hex = f"{secrets.randbelow(N - 2) + 1:064x}"
    return private_hex, public_of(private_hex)


def key_id(public_hex: str) -> str:
    """The key's name: the first 16 hex digits of SM3 over the uncompressed public key."""
    return sm3_hex(bytes.fromhex(public_hex))[:16]


def sign(private_hex: str, public_hex: str, message: bytes) -> str:
    """The DER signature (hex) of `message`."""
    check_private(private_hex)
    c = _crypt(private_hex, check_public(public_hex))
    for _ in range(16):  # r = 0 or r + k = n happen with negligible probability; draw again then
        k = f"{secrets.randbelow(N - 1) + 1:064x}"
        raw = c.sign_with_sm3(message, k)
        if raw:
            r, s = int(raw[:64], 16), int(raw[64:], 16)
            return DerSequence([DerInteger(r), DerInteger(s)]).encode().hex()
    raise RuntimeError("SM2 signing failed repeatedly")  # pragma: no cover


def _rs(signature_hex: str) -> tuple[int, int] | None:
    try:
        der = bytes.fromhex(signature_hex)
        seq = DerSequence()
        seq.decode(der, strict=True, nr_elements=2, only_ints_expected=True)
        r, s = int(seq[0]), int(seq[1])
    except (ValueError, TypeError, IndexError, EOFError):
        return None
    if not (1 <= r < N and 1 <= s < N):
        return None
    return r, s


def verify(public_hex: str, signature_hex: str, message: bytes) -> bool:
    """True if `signature_hex` is a valid signature of `message` under the key; never raises. Answers are
    cached per process by (key, signature, SM3 of the message): the public verification page must not
    spend ten milliseconds of arithmetic on every repeated scan of the same QR code."""
    key = (public_hex, signature_hex, sm3_hex(message))
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    ok = _verify(public_hex, signature_hex, message)
    with _lock:
        _cache[key] = ok
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return ok


def _verify(public_hex: str, signature_hex: str, message: bytes) -> bool:
    rs = _rs(signature_hex)
    if rs is None:
        return False
    try:
        c = _crypt("", check_public(public_hex))
        return bool(c.verify_with_sm3(f"{rs[0]:064x}{rs[1]:064x}", message))
    except (ValueError, TypeError, IndexError):
        return False


# --- private keys at rest --------------------------------------------------------------------------------
def _derive(secret: bytes, label: bytes) -> bytes:
    algo = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
    return hmac.new(secret, b"zhicheng/certificates/" + label, algo).digest()


def _mac(key: bytes, data: bytes) -> bytes:
    algo = "sm3" if "sm3" in hashlib.algorithms_available else "sha256"
    return hmac.new(key, data, algo).digest()


def seal(secret: bytes, private_hex: str) -> str:
    """Encrypt a private key under keys derived from the instance secret (ZHICHENG_SECRET_KEY):
    SM4-CBC, then HMAC-SM3 over IV ‖ ciphertext (encrypt-then-MAC)."""
    iv = secrets.token_bytes(16)
    sm4 = CryptSM4()
    sm4.set_key(_derive(secret, b"sm4")[:16], SM4_ENCRYPT)
    body = iv + sm4.crypt_cbc(iv, bytes.fromhex(private_hex))
    return SEALED_PREFIX + (body + _mac(_derive(secret, b"mac"), body)).hex()


def unseal(secret: bytes, sealed: str) -> str | None:
    """The private key, or None when it cannot be opened (the instance secret changed, or the value was
    altered): the caller then rotates to a fresh key."""
    if not sealed.startswith(SEALED_PREFIX):
        return None
    try:
        raw = bytes.fromhex(sealed[len(SEALED_PREFIX) :])
    except ValueError:
        return None
    body, tag = raw[:-32], raw[-32:]
    if len(body) < 32 or not hmac.compare_digest(tag, _mac(_derive(secret, b"mac"), body)):
        return None
    sm4 = CryptSM4()
    sm4.set_key(_derive(secret, b"sm4")[:16], SM4_DECRYPT)
    try:
        private_hex = sm4.crypt_cbc(body[:16], body[16:]).hex()
        check_private(private_hex)
    except (ValueError, IndexError):
        return None
    return private_hex
