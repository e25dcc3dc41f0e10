"""What Envoy would refuse in a value taken from a user, checked before it is sent.

Envoy rejects a whole RouteConfiguration (every route of a listener) for one value it cannot
load, so translators check each such value on the object that wrote it and leave that part
out with a condition instead (DESIGN.md, "Blast radius of one object"):

- `regex`: RE2 syntax and program size against the limit our Envoys run with;
- `header_values`: the substitution-formatter syntax of header values (`%COMMAND%`, `%%`)
  and the commands Envoy knows, plus the characters a header value may not hold.

Each check returns a reason (a sentence naming what is wrong) or None.
"""
