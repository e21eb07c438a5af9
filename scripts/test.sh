#!/usr/bin/env bash
# Run the test suite on a fresh machine (Debian, Python 3.11, root): installs the real servers
# the integration tests start (mosquitto, influxd, PostgreSQL, Chromium) when they are missing,
# creates .venv with the project and its dev tools, type-checks with mypy, then runs pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v influxd >/dev/null 2>&1 || need+=(influxdb)
command -v influx >/dev/null 2>&1 || need+=(influxdb-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# A CJK font, so the dashboards' Chinese labels render in the browser tests' screenshots.
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
# faketime: tests/sitetime/test_any_date.py reruns date-sensitive tests at the turn of the year.
command -v faketime >/dev/null 2>&1 || need+=(faketime)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian starts packaged services on install; the tests start their own on free ports.
for svc in mosquitto influxdb; do
  (command -v systemctl >/dev/null 2>&1 && systemctl stop "$svc" >/dev/null 2>&1) || true
done

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
# The dependency rules of docs/architecture.md (import-linter contracts in pyproject.toml).
.venv/bin/lint-imports --no-cache
# Type check first: mypy with no arguments checks the packages listed in pyproject.toml
# ([tool.mypy] packages); a type error fails the run before any test starts.
.venv/bin/python -m mypy
exec .venv/bin/python -m pytest "$@"
