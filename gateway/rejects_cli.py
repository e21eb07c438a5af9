"""``tanzhang rejects list|replay``: the quarantine of refused messages, for an operator.

``list`` prints the newest quarantined messages (reason, time, topic, detail, payload head);
``--json`` prints one JSON document per line with the payload in base64.

``replay`` republishes each selected message's raw payload, once per message, to its original
topic over MQTT 5 (QoS 1), so it runs through the gateway again: after the registry gained a
device, after a device's firmware was fixed, or after a ``store_rejected`` conflict was
resolved. A record that came over HTTP (topic ``http:...``) is decoded and written again
directly. With ``--delete`` the entries of a message leave the quarantine only once the
broker answered its PUBACK with reason code 0 (Success); any other code (135 "Not
authorized" when the MQTT user may not write device topics, 16 "No matching subscribers"
when no gateway session subscribes) keeps them, and the reason is printed. A message kept
only as an excerpt (larger than the gateway's payload limit) is never replayed. Publishing
on device topics needs an MQTT user allowed to write them (the ``gateway`` user of the
generated ACL may not): pass ``--mqtt-url`` (see docs/gateway.md).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from sitetime import clock
from telemetry.contract import ContractError, age_limit_of, decode_event
from telemetry.store import StoredReject, StoreError, TelemetryStore


def _parser(settings: Any) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tanzhang rejects", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="action", required=True)
    for name in ("list", "replay"):
        s = sub.add_parser(name)
        s.add_argument("--reason", help="only this reject reason (e.g. device_unknown)")
        s.add_argument("--since", help="received at or after (ISO 8601, e.g. 2026-11-24T00:00Z)")
        s.add_argument("--limit", type=int, default=100 if name == "list" else 1000)
        if name == "list":
            s.add_argument("--json", action="store_true", help="JSON lines, payload base64")
        else:
            s.add_argument("--id", action="append", dest="ids", help="only these ids (repeat)")
            s.add_argument("--mqtt-url", default=settings.mqtt_url, help="broker and user")
            s.add_argument("--delete", action="store_true", help="remove replayed entries")
            s.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    return p


def _since_ms(text: str | None) -> int | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _open_store(settings: Any) -> TelemetryStore:
    from telemetry.stores import open_store_from_settings

    return open_store_from_settings(settings)


def list_rejects(store: TelemetryStore, ns: argparse.Namespace, out: Any = None) -> int:
    out = out or sys.stdout
    rows = store.rejects(since_ms=_since_ms(ns.since), reason=ns.reason, limit=ns.limit)
    for r in rows:
        if ns.json:
            doc = {
                "id": r.id,
                "reason": r.reason,
                "received": _iso(r.received_ms),
                "topic": r.topic,
                "detail": r.detail,
                "item": r.item,
                "entity": r.entity,
                "device": r.device,
                "payload_b64": base64.b64encode(r.payload).decode(),
                "message": r.message,
                "payload_sha256": r.payload_sha256,
                "payload_size": r.payload_size,
                "truncated": r.truncated,
            }
            print(json.dumps(doc, ensure_ascii=False), file=out)
        else:
            head = r.payload[:60].decode("utf-8", "replace").replace("\n", " ")
            item = "" if r.item is None else f" item={r.item}"
            print(
                f"{_iso(r.received_ms)}  {r.reason:<22} {r.topic}{item}\n"
                f"    {r.detail}\n    payload: {head}{'…' if len(r.payload) > 60 else ''}",
                file=out,
            )
    print(f"{len(rows)} reject(s)", file=sys.stderr)
    return 0


def replay_rejects(
    store: TelemetryStore, ns: argparse.Namespace, settings: Any, out: Any = None
) -> int:
    out = out or sys.stdout
    rows: list[StoredReject] = store.rejects(
        since_ms=_since_ms(ns.since), reason=ns.reason, limit=ns.limit
    )
    if ns.ids:
        wanted = set(ns.ids)
        rows = [r for r in rows if r.id in wanted]
    rows.reverse()  # oldest first: a device's messages keep their order
    # one message may have several item rejects: replay it once
    unique: dict[str, list[StoredReject]] = {}
    for r in rows:
        unique.setdefault(r.message or r.id, []).append(r)
    failed: dict[str, str] = {}
    for key, group in unique.items():
        why = group[0].replay_problem()
        if why:
            failed[key] = why
    mqtt = [k for k in unique if k not in failed and not unique[k][0].topic.startswith("http:")]
    http = [k for k in unique if k not in failed and unique[k][0].topic.startswith("http:")]
    if ns.dry_run:
        for key in [*mqtt, *http]:
            first = unique[key][0]
            print(f"would replay {first.topic} ({len(first.payload)} bytes)", file=out)
        for key, why in failed.items():
            print(f"cannot replay {unique[key][0].topic}: {why}", file=out)
        return 0
    replayed: list[StoredReject] = []
    if mqtt:
        if not ns.mqtt_url:
            print(
                "tanzhang rejects: no MQTT URL (set TANZHANG_MQTT_URL or --mqtt-url)",
                file=sys.stderr,
            )
            return 2
        from mqttlink import publish_confirmed

        results = publish_confirmed(
            ns.mqtt_url,
            [(unique[k][0].topic, unique[k][0].payload) for k in mqtt],
            client_id=f"tanzhang-rejects-{os.getpid()}",
        )
        for key, why in zip(mqtt, results, strict=True):
            if why is None:
                replayed += unique[key]
            else:
                failed[key] = why
    for key in http:
        first = unique[key][0]
        try:
            doc = json.loads(first.payload)
            if not isinstance(doc, dict) or first.entity is None:
                raise ContractError("payload_not_object", "not a JSON object")
            limit = age_limit_of(store)
            event = decode_event(
                first.entity, first.device or "http", doc, clock.now_ms(), limit.ms, limit.text
            )
            store.write(events=[event])
            replayed += unique[key]
        except (ContractError, ValueError) as exc:
            failed[key] = f"still refused: {exc}"
    for key, why in failed.items():
        print(f"kept in the quarantine: {unique[key][0].topic} ({key}): {why}", file=sys.stderr)
    if ns.delete and replayed:
        store.delete_rejects([r.id for r in replayed])
    print(
        f"replayed {len(unique) - len(failed)} message(s) ({len(replayed)} reject entries)"
        + (f", {len(failed)} kept" if failed else ""),
        file=out,
    )
    return 1 if failed else 0


def main(settings: Any, argv: list[str] | None = None) -> int:
    """Entry point of ``tanzhang rejects``; returns the exit code."""
    ns = _parser(settings).parse_args(argv or [])
    store = _open_store(settings)
    try:
        if ns.action == "list":
            return list_rejects(store, ns)
        return replay_rejects(store, ns, settings)
    except StoreError as exc:
        print(f"tanzhang rejects: store: {exc}", file=sys.stderr)
        return 1
    except (ConnectionError, ValueError) as exc:  # broker down or refusing; bad MQTT URL
        print(f"tanzhang rejects: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
