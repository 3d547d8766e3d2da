"""Benchmarks on the local services: `make bench` runs them and prints their figures."""
