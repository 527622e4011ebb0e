"""Benchmarks against the real stack and the Express peer. Run with `make bench`; results go to docs/benchmarks.md."""
