#!/usr/bin/env bash
# Run the whole system on a fresh machine: creates .venv, installs tanzhang, then
# `tanzhang run` (embedded MQTT broker and store, gateway, accounting, API, dashboards and a
# simulated demo fleet unless TANZHANG_MQTT_URL / TANZHANG_INFLUX_URL say otherwise).
# Extra arguments go to `tanzhang run` (e.g. --history-days 200; --no-simulators needs
# TANZHANG_MQTT_URL, a real broker).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/tanzhang run "$@"
