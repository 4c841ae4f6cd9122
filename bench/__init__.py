"""Benchmarks of vetsync and the seeded county dataset generator (``bench.generate``)."""
