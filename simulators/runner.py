"""Running a fleet: back-fill, live, or back-fill then live (what ``tanzhang run`` needs).

:func:`run_fleet` is the one place that strings :meth:`Fleet.messages` and
:func:`simulators.publisher.publish` together; the command line and ``tanzhang run`` both
call it. Retained ``online`` goes out before the first message of a run and ``offline``
after the last one, also when ``stop`` is set.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from simulators.fleet import Fleet
from simulators.messages import Message, now_ms
from simulators.publisher import PublishStats, publish

MODES = ("backfill", "live", "demo")
DAY_MS = 86_400_000


@dataclass
class RunStats:
    """What a run published: the back-fill's and the live phase's statistics."""

    backfill: PublishStats | None = None
    live: PublishStats | None = None
    backfill_end_ms: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


def run_fleet(
    fleet: Fleet,
    mqtt_url: str,
    *,
    mode: str = "demo",
    start_ms: int | None = None,
    days: float | None = None,
    step_s: int | None = None,
    live_step_s: int = 10,
    speed: float = 1.0,
    faults: str | Iterable[str] = (),
    batch: bool = True,
    stop: threading.Event | None = None,
    progress: Callable[[str, float, int], None] | None = None,
    on_backfilled: Callable[[int], None] | None = None,
    publish_fn: Callable[..., PublishStats] = publish,
) -> RunStats:
    """Publish ``fleet`` over MQTT.

    mode : ``backfill`` [start, start + days) at full speed as batches; ``live`` from
        ``start_ms`` (default now) for ``days`` (default: until ``stop``) paced at ``speed``
        but never ahead of the wall clock (start in the past to replay it accelerated);
        ``demo`` back-fills the ``days`` (default 365) before now, then goes live
    step_s : back-fill interval [s] (default 3600; live: ``live_step_s``, default 10)
    progress : ``progress(phase, fraction, messages)`` with phase ``backfill`` or ``live``
        and fraction of the simulated window done [0-1] (live without end: 0)
    on_backfilled : called with the back-fill's end [epoch ms] once it is acknowledged
    publish_fn : :func:`simulators.publisher.publish` or a stand-in with its signature
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    stop = stop or threading.Event()
    now = now_ms()
    out = RunStats()
    online = fleet.status_messages("online")
    offline = fleet.status_messages("offline")

    def reporter(phase: str, lo: int, hi: int | None) -> Callable[[int, int | None], None] | None:
        if progress is None:
            return None

        def report(sent: int, ts: int | None) -> None:
            if ts is None:
                frac = 1.0
            elif hi is None:
                frac = 0.0
            else:
                frac = min(max((ts - lo) / max(hi - lo, 1), 0.0), 1.0)
            progress(phase, frac, sent)

        return report

    # the window of each phase [epoch ms] (live: no end until ``stop``) and its messages
    lo: int
    hi: int | None
    msgs: Iterator[Message]
    if mode in ("backfill", "demo"):
        span = int((days if days is not None else 365.0) * DAY_MS)
        if mode == "backfill" and start_ms is not None:
            lo, hi = start_ms, start_ms + span
        else:
            lo, hi = now - span, now
        msgs = itertools.chain(
            fleet.record_book(lo),
            fleet.messages(lo, hi, step_s or 3600, faults=faults, batch=batch),
        )
        out.backfill = publish_fn(
            msgs,
            mqtt_url,
            initial=online,
            final=offline if mode == "backfill" else (),
            progress=reporter("backfill", lo, hi),
            stop=stop,
        )
        out.backfill_end_ms = hi
        if mode == "demo" and stop.is_set():
            publish_fn([], mqtt_url, final=offline)
            return out
        if on_backfilled:
            on_backfilled(hi)
    if mode in ("live", "demo"):
        if mode == "demo":
            lo = out.backfill_end_ms or now
            hi = None
            step = live_step_s
        else:
            lo = start_ms if start_ms is not None else now
            hi = lo + int(days * DAY_MS) if days else None
            step = step_s or live_step_s
        msgs = fleet.messages(lo, hi, step, faults=faults)
        out.live = publish_fn(
            msgs,
            mqtt_url,
            speed=speed,
            # demo: the readings since the back-fill ended are due at once, then real time
            start_ms=now_ms() if mode == "demo" else lo,
            initial=online if mode == "live" else (),
            final=offline,
            progress=reporter("live", lo, hi),
            stop=stop,
        )
    return out
