"""Benchmarks: `make bench` runs bench.run; docs/benchmarks.md is its report."""
