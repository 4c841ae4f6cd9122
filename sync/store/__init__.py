"""The SQLite stores, the only place with SQL text: the row gateway (rows),
the station's store (station), the hub's store (hub), the hub registry's tables
(registry), frozen migrations (migrations), typed queries (queries), scope
checksums (digest), online backup and integrity checks (backup), reading what a
damaged station file still holds (salvage), and an in-process hub peer for
tests and benchmarks (local_hub)."""
