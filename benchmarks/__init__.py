"""Benchmarks: one script each, run by hand (``python benchmarks/NAME.py``), never by the test suite."""
