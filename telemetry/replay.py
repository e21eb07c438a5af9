"""Replay quarantined messages (``POST /v1/rejects/replay``), without the HTTP.

:func:`replay_rejects` finds the named rejects and the other entries of their messages,
replays each message once: a reject that came over HTTP (topic ``http:...``) is decoded and
written again directly (:func:`replay_http_record`: the registry or contract may have
changed); any other message's raw payload is handed to ``publish(topic, payload)``, which
republishes it on its original topic (the API's ``app.state.publisher``: MQTT 5, QoS 1) so
it passes through the gateway again. With ``delete`` the message's entries leave the
quarantine only after ``publish`` returned (the broker confirmed with reason code Success);
a refusal (:class:`mqttlink.PublishRefused`, 135 "Not authorized" ...), a broker that cannot
be reached (``ConnectionError``), a record still refused or a store failure while replaying
keeps them and is reported in ``failed``. Store failures while finding or deleting the
rejects propagate as :class:`~telemetry.store.StoreError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sitetime import clock
from telemetry.contract import ContractError, age_limit_of, decode_event
from telemetry.records import HTTP_DEVICE
from telemetry.store import StoredReject

#: republishes one raw payload on a topic; returns once the broker confirmed, raises otherwise
Publisher = Callable[[str, bytes], None]


@dataclass(frozen=True)
class ReplayResult:
    """The named ids replayed, those not in the quarantine, and why the others were kept."""

    replayed: list[str]
    not_found: list[str]
    failed: dict[str, str] = field(default_factory=dict)


def replay_rejects(
    store: Any, ids: Sequence[str], publish: Publisher, *, delete: bool = True
) -> ReplayResult:
    """Replay the messages of the rejects ``ids`` once each (see the module docstring)."""
    wanted = list(dict.fromkeys(ids))
    want = set(wanted)
    # by key: the named rejects and the other entries of their messages (deleted with them)
    scanned: list[StoredReject] = store.rejects_by_id(wanted, whole_messages=True)
    found = {r.id: r for r in scanned if r.id in want}
    # a message is replayed once, however many of its item rejects were named
    messages: dict[str, list[str]] = {}
    for rid in wanted:
        if rid in found:
            messages.setdefault(found[rid].message or rid, []).append(rid)
    replayed: list[str] = []
    done_messages: set[str] = set()
    failed: dict[str, str] = {}
    for message, named in messages.items():
        rej = found[named[0]]
        try:
            why = rej.replay_problem()
            if why:
                raise ContractError("payload_too_large", why)
            if rej.topic.startswith("http:"):
                replay_http_record(store, rej)
            else:
                publish(rej.topic, rej.payload)  # raises unless the broker said Success
        except ContractError as exc:
            failed.update({rid: f"{exc.reason}: {exc.detail}" for rid in named})
            continue
        except Exception as exc:  # refused, broker down, store down: keep the reject
            failed.update({rid: f"{type(exc).__name__}: {exc}" for rid in named})
            continue
        replayed += named
        done_messages.add(message)
    if delete and replayed:
        # every entry of a replayed message goes: the gateway quarantines anew what is still bad
        gone = [r.id for r in scanned if (r.message or r.id) in done_messages]
        store.delete_rejects(sorted(set(gone) | set(replayed)))
    return ReplayResult(
        replayed=replayed, not_found=[r for r in wanted if r not in found], failed=failed
    )


def replay_http_record(store: Any, rej: StoredReject) -> None:
    """Decode a record that came over HTTP again (the registry or contract may have changed)
    and write it; raises :class:`~telemetry.contract.ContractError` if it is still refused."""
    doc = json.loads(rej.payload)
    if not isinstance(doc, dict) or rej.entity is None:
        raise ContractError("payload_not_object", "the quarantined record is not a JSON object")
    limit = age_limit_of(store)
    event = decode_event(
        rej.entity, rej.device or HTTP_DEVICE, doc, clock.now_ms(), limit.ms, limit.text
    )
    store.write(events=[event])
