"""Benchmarks: scripts run as `.venv/bin/python bench/<name>.py`; not tests, not run by CI."""
