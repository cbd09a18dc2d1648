"""Benchmarks that print figures (`make bench`); tests never assert timings."""
