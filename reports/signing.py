"""Digest and Ed25519 signature of a report.

The digest is the SHA-256 of the report's canonical JSON (RFC 8785, JCS: keys sorted, no
whitespace, numbers as ECMAScript writes them, UTF-8) *without* its ``verification`` block,
so a lender can recompute it in any language; the signature is Ed25519 over the digest's 32 bytes.

The programme's key is a PKCS#8 PEM file. In development it is generated on first use at
``{data_dir}/report-signing-key.pem`` (mode 0600); in production it must be configured
(``TANZHANG_REPORT_SIGNING_KEY``): :class:`tanzhang.settings.Settings` refuses to start
without it and :func:`load_signing_key` never generates one there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ALGORITHM = "Ed25519"
DIGEST = "sha256"
DEV_KEY_NAME = "report-signing-key.pem"


class SigningKeyError(RuntimeError):
    """The programme's signing key is missing or unreadable."""


def es_number(x: float | int) -> str:
    """A number as ECMAScript's ``Number.prototype.toString`` writes it (RFC 8785 §3.2.2.3):
    so a verifier in JavaScript or any JCS library hashes the same bytes, and ``1.0`` and
    ``1`` are the same number."""
    if isinstance(x, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(x, int):
        x = float(x) if abs(x) >= 2**53 else x
        if isinstance(x, int):
            return str(x)
    if not math.isfinite(x):
        raise ValueError("NaN and infinities have no JSON form")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    r = repr(abs(x))  # Python's shortest round-trip digits, as ECMAScript's
    mant, _, exp_s = r.partition("e")
    ip, _, fp = mant.partition(".")
    fp = fp.rstrip("0")
    digits = (ip + fp).lstrip("0")
    k0 = len(digits)
    d = digits.rstrip("0")
    k = len(d)
    # value = d * 10**(n - k)
    n = int(exp_s or 0) - len(fp) + (k0 - k) + k
    if k <= n <= 21:
        out = d + "0" * (n - k)
    elif 0 < n <= 21:
        out = d[:n] + "." + d[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + d
    else:
        e = n - 1
        out = (d if k == 1 else d[0] + "." + d[1:]) + ("e+" if e > 0 else "e-") + str(abs(e))
    return sign + out


def _canon(v: Any, out: list[str]) -> None:
    if v is None or isinstance(v, bool):
        out.append("null" if v is None else ("true" if v else "false"))
    elif isinstance(v, int | float):
        out.append(es_number(v))
    elif isinstance(v, str):
        out.append(json.dumps(v, ensure_ascii=False))
    elif isinstance(v, dict):
        out.append("{")
        for i, k in enumerate(sorted(v, key=lambda s: str(s).encode("utf-16-be"))):
            if i:
                out.append(",")
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _canon(v[k], out)
        out.append("}")
    elif isinstance(v, list | tuple):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _canon(x, out)
        out.append("]")
    else:
        raise TypeError(f"{type(v).__name__} has no canonical JSON form")


def canonical_json(doc: Any) -> bytes:
    """The canonical bytes of a JSON document: RFC 8785 (JCS) — keys sorted by UTF-16 code
    units, no whitespace, ECMAScript number form, UTF-8."""
    out: list[str] = []
    _canon(doc, out)
    return "".join(out).encode("utf-8")


def content_digest(report: dict[str, Any]) -> str:
    """SHA-256 (hex) of the report's canonical JSON without its ``verification`` block."""
    body = {k: v for k, v in report.items() if k != "verification"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def key_path(settings: Any) -> Path:
    """The key file: the configured one, else (development) the data folder's."""
    configured = getattr(settings, "report_signing_key", None)
    if configured:
        return Path(configured)
    return Path(settings.data_dir) / DEV_KEY_NAME


def generate_key_file(path: Path) -> Ed25519PrivateKey:
    """A new Ed25519 key written to ``path`` (PKCS#8 PEM, mode 0600); never overwrites."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def load_signing_key(settings: Any) -> Ed25519PrivateKey:
    """The programme's private key; generated (0600) only in development when absent."""
    path = key_path(settings)
    production = getattr(settings, "environment", "production") != "development"
    if not path.is_file():
        if production or getattr(settings, "report_signing_key", None):
            raise SigningKeyError(
                f"report signing key {str(path)!r} does not exist: create one with "
                "`tanzhang report keygen FILE` (or `openssl genpkey -algorithm ed25519 -out "
                "FILE`) and set TANZHANG_REPORT_SIGNING_KEY (never generated in production)"
            )
        try:
            return generate_key_file(path)
        except FileExistsError:  # another process generated it first
            pass
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise SigningKeyError(f"report signing key {str(path)!r} is unreadable: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"report signing key {str(path)!r} is not an Ed25519 key")
    return key


def public_key_b64(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key, base64."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_report(report: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The report with its ``verification`` block: digest, signature, key id and public key."""
    digest = content_digest(report)
    pub = key.public_key()
    sig = key.sign(bytes.fromhex(digest))
    return {
        **{k: v for k, v in report.items() if k != "verification"},
        "verification": {
            "digest_algorithm": DIGEST,
            "canonicalisation": "RFC 8785 (JCS) of the report without its verification block",
            "digest": digest,
            "signature_algorithm": ALGORITHM,
            "signature": base64.b64encode(sig).decode(),
            "key_id": key_id(pub),
            "public_key": public_key_b64(pub),
        },
    }


def check_signature(report: dict[str, Any], trusted: Ed25519PublicKey) -> dict[str, Any]:
    """Whether the report's digest matches its content and its signature is the trusted
    key's. Returns ``{digest_ok, signature_ok, key_matches, problems}``."""
    problems: list[str] = []
    v = report.get("verification")
    if not isinstance(v, dict):
        return {"digest_ok": False, "signature_ok": False, "key_matches": False,
                "problems": ["the report has no verification block"]}  # fmt: skip
    digest = content_digest(report)
    digest_ok = v.get("digest") == digest
    if not digest_ok:
        problems.append("the content does not match its digest: the report was altered")
    key_matches = v.get("key_id") == key_id(trusted)
    if not key_matches:
        problems.append("the report names another key than the programme's")
    signature_ok = False
    try:
        sig = base64.b64decode(str(v.get("signature", "")), validate=True)
        trusted.verify(sig, bytes.fromhex(digest))
        signature_ok = True
    except (InvalidSignature, ValueError):
        problems.append("the signature is not the programme's over this content")
    return {"digest_ok": digest_ok, "signature_ok": signature_ok,
            "key_matches": key_matches, "problems": problems}  # fmt: skip
