"""Certificate/key pairs are parsed before a Secret reaches Envoy (certs.pair), through each
API that names one (Gateway certificateRefs, Ingress tls, HTTPProxy virtualhost.tls), and
each pair is parsed once per process however many rebuilds use it. The statuses themselves
are pinned by the golden case gateway-secret-malformed-pem."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from gateway_contour.certs import pair, self_signed
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import translate

CASE = Path(__file__).parents[2] / "golden" / "gateway-secret-malformed-pem" / "in.yaml"


@cache
def pairs() -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
    return self_signed("a.example.com"), self_signed("b.example.com")


def test_a_matching_pair_is_usable() -> None:
    (cert, key), _ = pairs()
    assert pair.parse_problem(cert, key) is None
    assert pair.parse_problem(cert + pairs()[1][0], key) is None  # leaf first, then the chain


@pytest.mark.parametrize(
    ("cert", "key", "expected"),
    [
        ("garbage", "key", "tls.crt is not a PEM certificate chain"),
        ("fake-block", "key", "tls.crt is not a PEM certificate chain"),
        ("cert", "garbage", "tls.key is not a PEM private key"),
        ("cert", "empty-key-block", "tls.key is not a PEM private key"),
        ("cert", "cert", "tls.key is not a PEM private key"),
        ("cert", "other-key", "tls.key does not match the certificate in tls.crt"),
        ("other-first", "key", "tls.key does not match the certificate in tls.crt"),
        ("cert", "encrypted-key", "tls.key is encrypted"),
        ("latin1-cert", "key", "tls.crt is not UTF-8 text"),
        ("cert", "binary-key", "tls.key is not UTF-8 text"),
    ],
)
def test_an_unusable_pair_says_why(cert: str, key: str, expected: str) -> None:
    (good_cert, good_key), (other_cert, other_key) = pairs()
    loaded = serialization.load_pem_private_key(good_key, password=None)
    values = {
        "cert": good_cert,
        "key": good_key,
        "garbage": b"Hello world\n",
        "fake-block": b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        "empty-key-block": b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
        "other-key": other_key,
        "other-first": other_cert + good_cert,
        "encrypted-key": loaded.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ),
        "latin1-cert": b"# r\xe9seau\n" + good_cert,
        "binary-key": b"\xff\xfe" + good_key,
    }
    problem = pair.parse_problem(values[cert], values[key])
    assert problem is not None and problem.startswith(expected)


def test_each_pair_is_parsed_once_across_rebuilds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pair, "_results", {})
    parsed: list[bytes] = []
    real = pair.parse_problem

    def counting(cert: bytes, key: bytes) -> str | None:
        parsed.append(cert + key)
        return real(cert, key)

    monkeypatch.setattr(pair, "parse_problem", counting)
    objects = load_text(CASE.read_text(), "in.yaml").objects
    translate(Snapshot.of(objects))
    first = len(parsed)
    # the mismatched Secret is named by a listener, the Ingress and the HTTPProxy: one parse
    assert first == len(set(parsed)) >= 4
    for _ in range(3):
        translate(Snapshot.of(objects))
    assert len(parsed) == first
    # the cache is by content: the same bytes under another Secret's name are not parsed again
    (cert, key), _ = pairs()
    assert pair.pair_problem(cert, key) is None
    assert pair.pair_problem(bytes(cert), bytes(key)) is None
    assert len(parsed) == first + 1
