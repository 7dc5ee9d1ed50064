"""Benchmarks: `python -m bench.NAME` prints figures; none of them asserts a time."""
