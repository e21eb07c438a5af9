"""The suite's answers do not depend on the day it runs (issue 9, item 1).

Representative date-sensitive test modules run again in a subprocess whose whole clock
(``time.time``, ``datetime.now``, child servers) is moved by Debian's ``faketime`` to just
after and just before the turn of the year in the site's zone (Asia/Shanghai, UTC+8). Skipped
when ``faketime`` is not installed (``scripts/test.sh`` installs it).

Under faketime the monotonic clock is shifted too but keeps its rate; it must not be left
unshifted (``FAKETIME_DONT_FAKE_MONOTONIC=1`` makes Python's ``time.sleep`` fail with EINVAL).
Browser and broker tests are not run here (minutes of Chromium; a live MQTT publisher stalls
under faketime's timed waits); their results do not depend on the date (docs/time.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKETIME = shutil.which("faketime")
#: modules whose fixtures place data in local days, months and years and close them
MODULES = ("tests/ledger/test_closing.py", "tests/api/test_savings.py")
#: faketime instants (UTC) and the local date the site calendar must see there
INSTANTS = {
    "00:30 on 1 January, local": ("@2026-12-31 16:30:00", "2027-01-01"),
    "23:30 on 31 December, local": ("@2026-12-31 15:30:00", "2026-12-31"),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(FAKETIME is None, reason="faketime (Debian package) is not installed"),
    pytest.mark.skipif("FAKETIME" in os.environ, reason="already under faketime"),
]


def _faketime(instant: str, *argv: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    env.update(TZ="UTC", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [str(FAKETIME), "-f", instant, sys.executable, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("when", list(INSTANTS))
def test_date_sensitive_modules_pass_at_the_turn_of_the_year(when: str) -> None:
    instant, local_day = INSTANTS[when]
    seen = _faketime(
        instant,
        "-c",
        "from sitetime.calendar import site_calendar; print(site_calendar().today())",
        timeout=60,
    )
    assert seen.stdout.strip() == local_day, seen.stdout + seen.stderr
    run = _faketime(
        instant,
        "-m",
        "pytest",
        *MODULES,
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not servers and not browser",
        timeout=900,
    )
    assert run.returncode == 0, f"on {when}:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
