"""Benchmarks of tanzhang (see docs/benchmarks.md)."""
