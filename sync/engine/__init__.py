"""The pure engine: hybrid logical clock (hlc), packed clocks (clocks), row
state (rowstate), field-wise merge and conflict detection (merge), scope,
sizes and defaults, record ids, the replicated tables (schema) and the sync
session (replicate.sync_once). No I/O but the session's calls to a store and
a hub peer it is given; imports nothing of sync.store, sync.wire or the domain."""
