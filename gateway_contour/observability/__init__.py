"""Operations signals: Prometheus metrics, health and readiness, and debug dumps.

- `metrics.Observed` names the live parts of a running controller (pipeline, xDS server,
  status writer, object snapshot, sync state); `metrics.Metrics` reads them at scrape time,
  plus a rebuild-duration histogram fed by `Pipeline.on_rebuild`.
- `debug` renders the current IR and the xDS resources being served as YAML, with every
  secret replaced by a digest.
- `server.OpsServer` serves /metrics, /healthz, /readyz and (when asked) /debug/ir and
  /debug/xds over plain HTTP on the event loop.

The app and serve modes wire these in; nothing below them imports this package.
"""
