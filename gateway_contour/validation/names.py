"""The name formats of k8s.io/apimachinery's validation package, with its messages.

Each check returns the problem as the API server words it, or None when the text is fine.
"""

from __future__ import annotations

import re

DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN = DNS1123_LABEL + r"(\." + DNS1123_LABEL + ")*"
DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
LABEL_VALUE = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
CONFIG_KEY = "[-._a-zA-Z0-9]+"

_LABEL = re.compile(DNS1123_LABEL)
_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN)
_DNS1035 = re.compile(DNS1035_LABEL)
_LABEL_VALUE = re.compile(LABEL_VALUE)
_QUALIFIED = re.compile(QUALIFIED_NAME)
_CONFIG_KEY = re.compile(CONFIG_KEY)
_IANA = re.compile("[-a-z0-9]+")


def dns1123_label(text: str) -> str | None:
    if len(text) > 63:
        return "must be no more than 63 characters"
    if not _LABEL.fullmatch(text):
        return (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
            f"'123-abc', regex used for validation is '{DNS1123_LABEL}')"
        )
    return None


def dns1123_subdomain(text: str) -> str | None:
    if len(text) > 253:
        return "must be no more than 253 characters"
    if not _SUBDOMAIN.fullmatch(text):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. "
            f"'example.com', regex used for validation is '{DNS1123_SUBDOMAIN}')"
        )
    return None


def dns1035_label(text: str) -> str | None:
    if len(text) > 63:
        return "must be no more than 63 characters"
    if not _DNS1035.fullmatch(text):
        return (
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start "
            "with an alphabetic character, and end with an alphanumeric character (e.g. "
            f"'my-name',  or 'abc-123', regex used for validation is '{DNS1035_LABEL}')"
        )
    return None


def wildcard_subdomain(text: str) -> str | None:
    """A host that may start with `*.` (Ingress rules and TLS hosts)."""
    return dns1123_subdomain(text[2:] if text.startswith("*.") else text)


def label_value(text: str) -> str | None:
    if len(text) > 63:
        return "must be no more than 63 characters"
    if not _LABEL_VALUE.fullmatch(text):
        return (
            "a valid label must be an empty string or consist of alphanumeric characters, '-', "
            "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',"
            f"  or 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE}')"
        )
    return None


def qualified_name(text: str) -> str | None:
    """A label or annotation key: an optional DNS subdomain prefix and `/`, then a name."""
    prefix, slash, name = text.rpartition("/")
    if slash and (not prefix or dns1123_subdomain(prefix)):
        return "prefix part " + (dns1123_subdomain(prefix) or "must be non-empty")
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not _QUALIFIED.fullmatch(name):
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
            "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
            f"'123-abc', regex used for validation is '{QUALIFIED_NAME}')"
        )
    return None


def config_key(text: str) -> str | None:
    """A Secret's or ConfigMap's data key."""
    if len(text) > 253:
        return "must be no more than 253 characters"
    if not _CONFIG_KEY.fullmatch(text):
        return (
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
            f"(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
            f"'{CONFIG_KEY}')"
        )
    return None


def iana_service_name(text: str) -> str | None:
    """A named port (a Service's targetPort, an Ingress backend's port name)."""
    if len(text) > 15:
        return "must be no more than 15 characters"
    if not _IANA.fullmatch(text):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if "--" in text:
        return "must not contain consecutive hyphens"
    if not any(c.isalpha() for c in text):
        return "must contain at least one letter (a-z)"
    if text.startswith("-") or text.endswith("-"):
        return "must not begin or end with a hyphen"
    return None
