"""The store: current objects by (kind, namespace, name); `objects` has the identity types and
the immutable Snapshot that translation reads, `store` the mutable Store providers write."""
