"""``tanzhang report verify FILE``: is a carbon credit report authentic, and was the account
restated after it was issued? ``tanzhang report keygen FILE``: the programme's key.

The trusted key is the programme's (the configured key file, or in development the data
folder's), or ``--public-key`` (a PEM file, e.g. saved from ``GET /v1/reports/public-key``).
The restatement check reads the accounts database of the settings; ``--no-ledger`` skips it.
Exit 0: authentic and not restated; 1: not authentic; 3: authentic but restated after issue
(or the ledger could not be checked); 2: bad usage or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _trusted(settings: Any, pem: str | None) -> Ed25519PublicKey:
    from reports.signing import SigningKeyError, key_path, load_signing_key

    if pem:
        key = serialization.load_pem_public_key(Path(pem).read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{pem} is not an Ed25519 public key")
        return key
    if not key_path(settings).is_file():
        raise SigningKeyError(
            f"no programme key at {key_path(settings)}: pass --public-key FILE (the PEM of "
            "GET /v1/reports/public-key)"
        )
    return load_signing_key(settings).public_key()


def main(settings: Any, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tanzhang report", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    v = sub.add_parser("verify", help="verify a credit report (JSON file, - for stdin)")
    v.add_argument("file")
    v.add_argument("--public-key", help="PEM of the programme's public key")
    v.add_argument("--no-ledger", action="store_true", help="skip the restatement check")
    v.add_argument("--json", action="store_true", help="print the full result as JSON")
    k = sub.add_parser("keygen", help="write a new Ed25519 signing key (PEM, mode 0600)")
    k.add_argument("file")
    ns = parser.parse_args(argv)
    from reports.signing import SigningKeyError, generate_key_file, key_id

    if ns.action == "keygen":
        try:
            key = generate_key_file(Path(ns.file))
        except FileExistsError:
            print(f"tanzhang report: {ns.file} exists; not overwritten", file=sys.stderr)
            return 2
        print(f"wrote {ns.file} (key id {key_id(key.public_key())}); set "
              "TANZHANG_REPORT_SIGNING_KEY to it")  # fmt: skip
        return 0
    from reports.verify import verify_report

    try:
        text = sys.stdin.read() if ns.file == "-" else Path(ns.file).read_text("utf-8")
        report = json.loads(text)
        trusted = _trusted(settings, ns.public_key)
    except (OSError, ValueError, SigningKeyError) as exc:
        print(f"tanzhang report: {exc}", file=sys.stderr)
        return 2
    session = None
    if not ns.no_ledger:
        from ledger.db import make_engine, make_session_factory

        engine = make_engine(settings.accounts_url)
        session = make_session_factory(engine)()
    try:
        result = verify_report(report, trusted, session)
    finally:
        if session is not None:
            session.close()
            engine.dispose()
    if ns.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"entity {result.get('entity_id')} · issued {result.get('issued_at')} · "
              f"digest {result.get('digest')}")  # fmt: skip
        print("AUTHENTIC: signed by the programme's key" if result["authentic"]
              else "NOT AUTHENTIC: " + "; ".join(result.get("problems", [])))  # fmt: skip
        led = result["ledger"]
        if not led.get("checked"):
            print(f"ledger not checked: {led.get('reason')}")
        elif led["restated_after_issue"]:
            print(f"RESTATED AFTER ISSUE: {len(led['restatements'])} statement version(s)")
            for r in led["restatements"]:
                print(f"  {r['period_kind']} {r['period_start']} v{r['version']} at "
                      f"{r['created_at']}: {r['reason']}")  # fmt: skip
        else:
            print("not restated after issue")
    if not result["authentic"]:
        return 1
    if ns.no_ledger:
        return 0
    return 0 if result["valid"] else 3
