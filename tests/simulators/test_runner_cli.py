"""run_fleet phases and the command line, with a recording stand-in for publish (no broker)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from simulators.cli import main
from simulators.fleet import demo_fleet
from simulators.messages import message_time_ms, now_ms
from simulators.publisher import PublishStats
from simulators.runner import run_fleet
from sitetime.clock import OffsetClock, use_clock


class Recorder:
    """Stands in for simulators.publisher.publish: keeps every call's messages and options."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[dict] = []
        self.stop_after = stop_after

    def __call__(self, messages, mqtt_url, **kw) -> PublishStats:
        stop = kw.get("stop")
        sent = list(kw.get("initial", ()))
        for i, m in enumerate(messages):
            if self.stop_after is not None and i >= self.stop_after and stop is not None:
                stop.set()
            if stop is not None and stop.is_set():
                break
            sent.append(m)
            if len(sent) > 200_000:
                break
        sent += list(kw.get("final", ()))
        self.calls.append({"messages": sent, **kw})
        return PublishStats(messages=len(sent))


@pytest.fixture(autouse=True)
def new_year() -> Iterator[object]:
    """Every test here on the product's clock from 00:30 on 1 January (local), running: the
    fleet's interventions and the back-fill windows are placed from it."""
    with use_clock(OffsetClock(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))) as c:
        yield c


def test_demo_backfills_then_goes_live_with_status_around() -> None:
    fleet = demo_fleet(5)
    rec = Recorder()
    stop = threading.Event()
    ends = []
    before = now_ms()
    run_fleet(fleet, "mqtt://x", mode="demo", days=2, live_step_s=60, stop=stop,
              on_backfilled=ends.append, publish_fn=_stop_live_after(rec, stop, 500))  # fmt: skip
    backfill, live = rec.calls
    assert backfill["messages"][0].payload == "online"
    assert all(m.payload != "offline" for m in backfill["messages"])
    start = before - 2 * 86_400_000
    # the orchards' record books come first: earlier surveys and practices only
    book = [m for m in backfill["messages"] if (message_time_ms(m) or start) < start]
    assert book and {m.payload["type"] for m in book} <= {"tree_survey", "practice"}
    assert all(m.topic.endswith("-ft/event") for m in book)
    times = [message_time_ms(m) for m in backfill["messages"] if message_time_ms(m)]
    history = [t for t in times if t >= start]
    assert len(history) == len(times) - len(book)  # nothing else from before the start
    # a batch's message time is its newest reading: the history's first day is in the oldest
    # reading of any batch (whether an event flushed a batch early depends on the date)
    oldest = min(_oldest_ms(m) for m in backfill["messages"] if (message_time_ms(m) or 0) >= start)
    assert start <= oldest < start + 86_400_000 and max(history) <= ends[0]
    # live continues where the back-fill ended; the readings since then are due at once
    assert live["speed"] == 1.0 and live["start_ms"] >= ends[0]
    live_times = [message_time_ms(m) for m in live["messages"] if message_time_ms(m)]
    assert ends[0] <= min(live_times) < ends[0] + 60_000
    assert live["messages"][-1].payload == "offline"
    assert sum(m.payload == "offline" for m in live["messages"]) == len(fleet.devices())


def _oldest_ms(m) -> int:
    """The oldest timestamp a message carries [ms] (a batch's first reading)."""
    p = m.payload
    if isinstance(p, dict) and isinstance(p.get("batch"), list) and p["batch"]:
        return min(r["ts"] for r in p["batch"])
    return message_time_ms(m)


def _stop_live_after(rec, stop, n):
    def fn(messages, url, **kw):
        if kw.get("speed"):
            rec.stop_after = n
        return rec(messages, url, **kw)

    return fn


def test_stop_during_backfill_still_marks_devices_offline() -> None:
    fleet = demo_fleet(5)
    rec = Recorder(stop_after=10)
    run_fleet(fleet, "mqtt://x", mode="demo", days=30, publish_fn=rec)
    assert len(rec.calls) == 2  # the interrupted back-fill, then the offline statuses
    assert [m.payload for m in rec.calls[1]["messages"]] == ["offline"] * len(fleet.devices())


def test_backfill_window_from_start() -> None:
    fleet = demo_fleet(5, today=date(2026, 3, 3))
    rec = Recorder()
    start = 1_767_196_800_000  # 2026-01-01T00:00:00+08:00
    run_fleet(fleet, "mqtt://x", mode="backfill", start_ms=start, days=1, publish_fn=rec)
    (call,) = rec.calls
    batches = [m for m in call["messages"] if isinstance(m.payload, dict) and "batch" in m.payload]
    stamps = {r["ts"] for b in batches for r in b.payload["batch"]}
    assert stamps == {start + h * 3_600_000 for h in range(24)}


def test_cli_dry_run_prints_contract_lines(capsys) -> None:
    assert main(["--mode", "backfill", "--start", "2026-01-05", "--days", "1", "--dry-run",
                 "--quiet"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    topics = [line.split("\t", 1)[0] for line in lines]
    assert topics[0].endswith("/status") and topics[-1].endswith("/status")
    assert any(t.endswith("line-a3-em/data") for t in topics)


def test_cli_writes_a_registry(tmp_path) -> None:
    out = tmp_path / "registry.toml"
    assert main(["--registry-out", str(out), "--mode", "backfill", "--days", "0.01",
                 "--dry-run", "--quiet"]) == 0  # fmt: skip
    assert "[[devices]]" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "argv", [["--faults", "dup,nonsense"], ["--mode", "demo", "--start", "2026-01-01"]]
)
def test_cli_refuses_bad_options(argv) -> None:
    assert main([*argv, "--dry-run", "--quiet"]) == 2
