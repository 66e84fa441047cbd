"""Benchmarks: each prints its figures last, on one line, as key=value pairs (see README.md)."""
