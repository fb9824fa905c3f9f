"""Helpers the tests and the benchmarks share: a local feed server, the CLI as a subprocess argv, a seeded
synthetic database, the story evaluation data and metrics, and the fault-injection suite.

One place both import, so tests/ never imports bench/ and bench/ never puts tests/ on sys.path. Not
shipped: pyproject's package list leaves it out of the wheel.
"""
