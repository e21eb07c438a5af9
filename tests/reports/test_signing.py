"""Canonical JSON (RFC 8785 number form) and the signature, without the app."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from reports.signing import canonical_json, check_signature, content_digest, es_number, sign_report


@pytest.mark.parametrize(
    ("x", "text"),
    [(0.0, "0"), (-0.0, "0"), (1.0, "1"), (1, "1"), (-2.5, "-2.5"), (1e-06, "0.000001"),
     (1e-07, "1e-7"), (123.456, "123.456"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
     (12.871000000000002, "12.871000000000002"), (1.5e-10, "1.5e-10"), (2.0**60, "1152921504606847000")],
)  # fmt: skip
def test_numbers_are_written_as_ecmascript_does(x, text):
    assert es_number(x) == text


def test_canonical_form_is_jcs_and_independent_of_key_order_and_float_spelling():
    a = {"b": [1.0, "碳", None, True], "a": {"y": 1e-06, "x": 2}}
    b = json.loads('{"a": {"x": 2.0, "y": 0.000001}, "b": [1, "碳", null, true]}')
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == '{"a":{"x":2,"y":0.000001},"b":[1,"碳",null,true]}'.encode()


def test_signature_covers_everything_but_the_verification_block():
    key = Ed25519PrivateKey.generate()
    doc = sign_report({"issued_at": "2026-01-01T00:00:00+00:00", "totals": {"net_t": 1.5}}, key)
    assert doc["verification"]["digest"] == content_digest(doc)
    ok = check_signature(doc, key.public_key())
    assert ok["digest_ok"] and ok["signature_ok"] and ok["key_matches"]
    doc["totals"]["net_t"] = 1.6
    assert not check_signature(doc, key.public_key())["digest_ok"]
    other = Ed25519PrivateKey.generate().public_key()
    res = check_signature(sign_report(doc, key), other)
    assert not res["signature_ok"] and not res["key_matches"]


def test_clean_makes_plain_json():
    from datetime import UTC, datetime

    import numpy as np

    from reports.credit_report import clean

    doc = clean({"a": np.bool_(True), "b": np.int64(3), "c": np.float64("nan"), "d": (1.5,),
                 "e": datetime(2026, 1, 1, tzinfo=UTC)})  # fmt: skip
    assert doc == {"a": True, "b": 3, "c": None, "d": [1.5], "e": "2026-01-01T00:00:00+00:00"}
    assert type(doc["a"]) is bool and type(doc["b"]) is int
    canonical_json(doc)
