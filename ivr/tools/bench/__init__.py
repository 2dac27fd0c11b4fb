"""Benchmarks run by ``pln123 bench``."""
