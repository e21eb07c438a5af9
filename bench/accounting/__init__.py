"""Accounting benchmark: closing a day for 10,000 entities and a year for 1,000 (run.py)."""
