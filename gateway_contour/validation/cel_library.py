"""The CEL environment of CRD validation rules, as the API server builds it for `self`.

The engine is cel-expr-python (Google's CEL runtime, cel-cpp underneath) with its strings
extension, which has what the Gateway API rules call beyond the standard library
(`split`, `substring`, ...). Of Kubernetes' own CEL libraries the rules we read use only
`isIP`, which cel-expr-python lacks, so it is written here, with Kubernetes' meaning: an IPv4
or IPv6 address, no zone, no IPv4-mapped IPv6 form (k8s.io/apiserver/pkg/cel/library/ip.go).
Property names that are CEL keywords or hold `.`, `-`, `/`, `__` are escaped for rules as
Kubernetes does (`namespace` is `__namespace__`); `escaped` renames them in a value, for the
nodes whose rules use such a name (map keys are renamed there too: no rule we read indexes a
map by such a key). A rule that calls anything else missing fails to compile and is skipped
with a warning (of the CRDs read, only XBackend's `format.dns1123Label()`, a kind we do not
read).
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext import ext_strings


def is_ip(text: str) -> bool:
    if "%" in text:
        return False
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return not (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None)


RESERVED = frozenset(
    [
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ]
)


def escape(name: str) -> str:
    if name in RESERVED:
        return f"__{name}__"
    return (
        name.replace("__", "__underscores__")
        .replace(".", "__dot__")
        .replace("-", "__dash__")
        .replace("/", "__slash__")
    )


def escaped(value: Any) -> Any:
    """`value` with every mapping's keys escaped as a rule names them."""
    if isinstance(value, dict):
        return {escape(str(k)): escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escaped(v) for v in value]
    return value


_SHIMS = [
    cel.FunctionDecl(
        "isIP", [cel.Overload("is_ip_string", cel.Type.BOOL, [cel.Type.STRING], impl=is_ip)]
    )
]

_lock = threading.Lock()
_env: cel.Env | None = None


def environment() -> cel.Env:
    """The one environment every rule is compiled in (built on first use)."""
    global _env
    with _lock:
        if _env is None:
            _env = cel.NewEnv(
                variables={"self": cel.Type.DYN},
                extensions=[ext_strings.ExtStrings()],
                functions=_SHIMS,
            )
        return _env
