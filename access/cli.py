"""``tanzhang keys``: create, list and revoke API keys.

    tanzhang keys create --role R [--entity E ...] [--name N]
    tanzhang keys create --role lender --name "<the lender>"   (a key of that lender)
    tanzhang keys list [--json]
    tanzhang keys revoke ID

``create`` prints the new key once on standard output (only its hash is stored); the other
messages go to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from access.keys import UnknownKey, create_key, list_keys, revoke_key
from access.roles import ROLES, RoleError
from ledger.db import upgrade


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tanzhang keys", description="Manage API keys.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create", help="create a key and print it once")
    c.add_argument("--role", required=True, choices=ROLES)
    c.add_argument("--entity", action="append", default=[], help="entity id (repeatable)")
    c.add_argument(
        "--name", default="", help="who or what the key is for (for --role lender: the lender)"
    )
    ls = sub.add_parser("list", help="list keys (never the keys themselves)")
    ls.add_argument("--json", action="store_true")
    r = sub.add_parser("revoke", help="revoke a key by id")
    r.add_argument("id", type=int)
    return p


def main(argv: Sequence[str] | None = None, *, database_url: str) -> int:
    """Run ``tanzhang keys ...`` against the accounts database; return the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        with Session(engine) as session:
            if args.command == "create":
                try:
                    row, key = create_key(
                        session, role=args.role, entities=args.entity, name=args.name
                    )
                except RoleError as exc:
                    print(f"error: {exc}", file=sys.stderr)
                    return 2
                print(
                    f"created key {row.id} ({row.role}); store it now, it is not shown again:",
                    file=sys.stderr,
                )
                print(key)
                return 0
            if args.command == "list":
                rows = list_keys(session)
                docs: list[dict[str, Any]] = [
                    {
                        "id": r.id,
                        "name": r.name,
                        "role": r.role,
                        "entities": r.entities,
                        "prefix": f"tzk_{r.prefix}_…",
                        "created_at": r.created_at.isoformat(),
                        "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
                        "development_only": r.development_only,
                        "lender_id": r.lender_id,
                    }
                    for r in rows
                ]
                if args.json:
                    print(json.dumps(docs, ensure_ascii=False, indent=2))
                else:
                    for d in docs:
                        state = f"revoked {d['revoked_at']}" if d["revoked_at"] else "active"
                        if d["development_only"]:
                            state += " (development only)"
                        ents = ",".join(d["entities"]) or "-"
                        print(
                            f"{d['id']}\t{d['prefix']}\t{d['role']}\t{ents}\t{state}\t{d['name']}"
                        )
                return 0
            try:
                row = revoke_key(session, args.id)
            except UnknownKey as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"revoked key {row.id} ({row.role}) at {row.revoked_at}", file=sys.stderr)
            return 0
    finally:
        engine.dispose()
