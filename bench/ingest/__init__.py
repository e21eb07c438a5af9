"""Ingest benchmark: MQTT → gateway → InfluxDB against the raw limits of the same servers.

Run ``python -m bench.ingest.run --help``; results go to docs/benchmarks.md (## Ingest).
"""
