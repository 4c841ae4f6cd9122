"""The SQLite stores, the only place with SQL text: the row gateway (rows),
the station's store (station), the hub's store (hub), the hub registry's tables
(registry), frozen migrations (migrations), typed queries (queries), and an
in-process hub peer for tests and benchmarks (local_hub)."""
