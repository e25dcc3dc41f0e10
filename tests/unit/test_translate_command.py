"""`gateway-contour translate` on directories a user writes: what it reads, what it prints,
its exit status and its hints (the golden cases' output: tests/golden/test_golden_translate)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from gateway_contour.cli import main
from gateway_contour.pipeline import Pipeline
from gateway_contour.providers.files import load_text
from gateway_contour.status.hints import ForeignClassHints
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache

GOOD = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: contour}
spec: {controllerName: gateway-contour.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: contour
  listeners: [{name: http, port: 8080, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
"""
FOREIGN = """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: other}
spec: {controllerName: example.com/other}
"""
STRING_SPEC = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken}
spec: "not a mapping"
"""


def translate(
    capsys: pytest.CaptureFixture[str], *argv: str | Path
) -> tuple[int, list[dict], list[str]]:
    code = main(["translate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, list(yaml.safe_load_all(captured.out)), captured.err.splitlines()


def test_a_good_directory_exits_0_with_every_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.yaml").write_text(GOOD)
    code, docs, err = translate(capsys, tmp_path)
    assert (code, err) == (0, [])
    ir, listeners, routes, clusters, endpoints, status = docs
    assert ir["gateways"][0]["name"] == "default/gw"
    assert [r["name"] for r in routes] == [listeners[0]["name"]]  # one route config a listener
    assert ir["gateways"][0]["listeners"][0]["address"] == "127.0.0.1"  # run's --address
    assert [c["name"] for c in clusters] == [endpoints[0]["cluster_name"]]
    assert {s["object"] for s in status["statuses"]} == {
        "GatewayClass contour",
        "Gateway default/gw",
        "HTTPRoute default/web",
    }


def test_one_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.yaml").write_text(GOOD)
    code = main(["translate", str(tmp_path / "app.yaml"), "--output", "status"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("--- # status\nstatuses:\n")
    assert out.count("--- #") == 1


def test_a_bad_document_is_named_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.yaml").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "broken.yaml").write_text(STRING_SPEC)
    code, docs, err = translate(capsys, tmp_path, "--output", "status")
    assert code == 1
    # named relative to the directory, as `run --config-dir` names it
    assert docs[0]["problems"] == [
        {"source": "sub/broken.yaml#0", "reason": "spec is a str, not a mapping"}
    ]
    assert err == ["gateway-contour translate: sub/broken.yaml#0: spec is a str, not a mapping"]


def test_an_unhealthy_condition_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "app.yaml").write_text(GOOD.replace("name: web, port: 80", "name: nope, port: 80"))
    code, _, err = translate(capsys, tmp_path, "--output", "ir")
    assert code == 1
    assert len(err) == 1
    assert err[0].startswith("gateway-contour translate: HTTPRoute default/web: parent ")
    assert "ResolvedRefs=False (BackendNotFound)" in err[0]


def test_a_foreign_gateway_class_is_a_hint_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "app.yaml").write_text(GOOD)
    (tmp_path / "other.yaml").write_text(FOREIGN)
    code, _, err = translate(capsys, tmp_path, "--controller-name", "example.com/mine")
    assert code == 0  # neither class is ours now: their objects are not counted
    assert err[:2] == [
        "gateway-contour translate: hint: GatewayClass contour is not ours: its controllerName "
        "is 'gateway-contour.dev/gateway-controller', we answer to 'example.com/mine'; its "
        "Gateways and their routes are not served",
        "gateway-contour translate: hint: GatewayClass other is not ours: its controllerName "
        "is 'example.com/other', we answer to 'example.com/mine'; its Gateways and their "
        "routes are not served",
    ]


def test_the_same_object_twice_is_reported_as_run_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    code, _, err = translate(capsys, tmp_path / "a.yaml", tmp_path, "--output", "ir")
    assert code == 1
    assert len(err) == 4  # every object of the file, read again from the directory
    assert err[0] == (
        "gateway-contour translate: a.yaml#0: GatewayClass /contour is defined again; "
        f"{tmp_path}/a.yaml#0 kept"
    )


def test_foreign_classes_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    classes = [yaml.safe_load(FOREIGN)]
    hints = ForeignClassHints()
    with caplog.at_level(logging.WARNING, "gateway_contour.status"):
        hints.publish(Snapshot.of(classes), "ours")
        hints.publish(Snapshot.of(classes), "ours")  # the next rebuild: nothing new to say
        assert len(caplog.records) == 1
        assert "'example.com/other', we answer to 'ours'" in caplog.records[0].getMessage()
        hints.publish(Snapshot.of([]), "ours")
        hints.publish(Snapshot.of(classes), "ours")  # back again: said again
        assert len(caplog.records) == 2


async def test_every_mode_logs_a_foreign_class_once(caplog: pytest.LogCaptureFixture) -> None:
    """The hint is given by the pipeline's rebuild, which `run` and `serve` share."""
    snapshot = Snapshot.of(load_text(GOOD + "---\n" + FOREIGN, "app.yaml").objects)
    pipeline = Pipeline(SnapshotCache(), TranslateOptions())
    with caplog.at_level(logging.WARNING, "gateway_contour.status"):
        for _ in range(3):
            assert await pipeline.rebuild(snapshot) is not None
    hints = [r.getMessage() for r in caplog.records if "is not ours" in r.getMessage()]
    assert hints == [
        "GatewayClass other is not ours: its controllerName is 'example.com/other', we answer "
        "to 'gateway-contour.dev/gateway-controller'; its Gateways and their routes are not "
        "served"
    ]
