"""Verify a carbon credit report: authentic (digest and the programme's signature) and
whether the account was restated after it was issued.

A restatement after issue is a statement version of the account, for a period the report
covers (its booking period or a year), created after the report's ``issued_at`` with
version > 1; a version 1 created after issue (a period closed late) is listed too, as
``closed_after_issue``. Either means the report's figures may no longer be the ledger's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.models import Account, PostedStatement
from reports.signing import check_signature


def _when(v: Any) -> datetime | None:
    try:
        d = datetime.fromisoformat(str(v))
    except (TypeError, ValueError):
        return None
    return d if d.tzinfo is not None else None


def ledger_changes_after(session: Session, report: dict[str, Any]) -> dict[str, Any]:
    """Statement versions of the report's account and periods created after it was issued."""
    ent = (report.get("entity") or {}).get("entity_id")
    period = report.get("period") or {}
    issued, lo, hi = (
        _when(report.get("issued_at")),
        _when(period.get("start")),
        _when(period.get("end")),
    )
    if not ent or issued is None or lo is None or hi is None:
        return {"checked": False, "reason": "the report names no entity, period or issue time"}
    acct = session.scalar(select(Account).where(Account.entity_id == ent))
    if acct is None:
        return {"checked": False, "reason": f"no account {ent!r} in this ledger"}
    kinds = sorted({acct.booking_period, "year"})
    rows = session.scalars(
        select(PostedStatement)
        .where(
            PostedStatement.account_id == acct.id,
            PostedStatement.period_kind.in_(kinds),
            PostedStatement.period_start >= lo,
            PostedStatement.period_start < hi,
            PostedStatement.created_at > issued,
        )
        .order_by(PostedStatement.created_at)
    ).all()
    items: list[dict[str, Any]] = [
        {
            "period_kind": s.period_kind,
            "period_start": s.period_start.isoformat(),
            "version": s.version,
            "reason": s.reason,
            "created_at": s.created_at.isoformat(),
            "booked": s.booked,
        }  # fmt: skip
        for s in rows
    ]
    restated = [i for i in items if i["version"] > 1]
    return {
        "checked": True,
        "restated_after_issue": bool(restated),
        "restatements": restated,
        "closed_after_issue": [i for i in items if i["version"] == 1],
    }


def verify_report(
    report: Any, trusted: Ed25519PublicKey, session: Session | None = None
) -> dict[str, Any]:
    """``authentic`` (digest and signature), the signature details, and — with a ledger
    session — whether the account was restated after issue. ``valid`` is authentic and not
    restated."""
    if not isinstance(report, dict):
        return {"authentic": False, "valid": False, "problems": ["not a JSON object"]}
    sig = check_signature(report, trusted)
    authentic = sig["digest_ok"] and sig["signature_ok"] and sig["key_matches"]
    out: dict[str, Any] = {
        "authentic": authentic,
        **sig,
        "entity_id": (report.get("entity") or {}).get("entity_id"),
        "issued_at": report.get("issued_at"),
        "report_id": (report.get("report") or {}).get("id"),
        "digest": (report.get("verification") or {}).get("digest"),
    }
    if session is not None and authentic:
        out["ledger"] = ledger_changes_after(session, report)
    else:
        out["ledger"] = {"checked": False,
                         "reason": "not authentic" if not authentic else "no ledger to check"}  # fmt: skip
    led = out["ledger"]
    out["restated_after_issue"] = led.get("restated_after_issue") if led.get("checked") else None
    out["valid"] = bool(authentic and led.get("checked") and not led.get("restated_after_issue"))
    return out
