"""IR -> Envoy xDS protobuf messages (pure; imports `ir` only).

Entry points: `resources.build_resources(ir)` (every fleet's listeners, routes, clusters,
endpoints and secrets, keyed by type URL and name), `resources.build_endpoints(ir)` (the EDS
fast path), `validate.validate_fleet(...)` (real `envoy --mode validate`), `dump` (YAML for
golden tests) and `bootstrap` (the ADS bootstrap an Envoy of a fleet starts with). Resource
names are defined in `names`; one module per concern builds each kind of message.
"""
