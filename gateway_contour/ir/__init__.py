"""The internal route model: `model` defines it (and how each source API maps onto it),
`serialize` turns it into redacted YAML for golden tests and the debug dump."""
