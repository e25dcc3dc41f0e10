"""Benchmarks: run with `make bench` (python -m tests.bench); never part of `make test`."""
