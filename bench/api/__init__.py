"""API benchmark: balance lookups and statement listings over 10,000 accounts (docs/benchmarks.md)."""
