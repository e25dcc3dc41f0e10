"""Issue 22: `serve` states how xDS is carried. Without --xds-cert-dir it starts only with
--insecure-xds, and the two together are refused; a refusal is argparse's (status 2, one
error line naming the flags) and comes before anything of ServeMode runs. The plaintext
warning says whose identity rests on `node.cluster` alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway_contour import serve
from gateway_contour.cli import main as cli
from gateway_contour.serve import ServeConfig, plaintext_warning


class RecordedServe:
    """Stands in for ServeMode: keeps the config it was given and runs nothing."""

    configs: list[ServeConfig] = []

    def __init__(self, config: ServeConfig) -> None:
        RecordedServe.configs.append(config)

    async def run(self) -> None:
        return None


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[ServeConfig]:
    """The configs ServeMode was started with during the test (none when refused)."""
    RecordedServe.configs = []
    monkeypatch.setattr(serve, "ServeMode", RecordedServe)
    return RecordedServe.configs


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The error line `serve` exits with (status 2) for `argv`."""
    with pytest.raises(SystemExit) as exit_info:
        cli(argv)
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1, errors
    return errors[0]


def test_serve_without_tls_or_insecure_xds_is_refused_before_starting(
    started: list[ServeConfig], capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(["serve", "--kubeconfig", "/nonexistent"], capsys)
    assert line.startswith("gateway-contour serve: error:")
    assert "--xds-cert-dir" in line and "--insecure-xds" in line
    assert started == []


def test_insecure_xds_with_certificates_is_a_contradiction(
    started: list[ServeConfig], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = refusal(["serve", "--xds-cert-dir", str(tmp_path), "--insecure-xds"], capsys)
    assert "--insecure-xds contradicts --xds-cert-dir" in line
    assert started == []


@pytest.mark.parametrize(
    ("transport", "plaintext"),
    [(["--insecure-xds"], True), (["--xds-cert-dir", "/certs"], False)],
    ids=["insecure-xds", "xds-cert-dir"],
)
def test_one_transport_starts_serve(
    started: list[ServeConfig], transport: list[str], plaintext: bool
) -> None:
    assert cli(["serve", "--provision", "host", *transport]) == 0
    (config,) = started
    assert (config.xds_cert_dir is None) == plaintext


def test_plaintext_warning_names_the_fleets_only_node_cluster_identifies() -> None:
    exposed = plaintext_warning(
        ServeConfig(controller_name="example.com/gc", legacy_fleet="projectcontour/contour")
    )
    assert "plaintext on 0.0.0.0:8001" in exposed
    assert "every fleet's identity rests on node.cluster alone" in exposed
    assert "example.com/gc" in exposed and "projectcontour/contour" in exposed
    tokened = plaintext_warning(ServeConfig(provision="host", xds_port=0))
    assert "no fleet's identity rests on node.cluster alone" in tokened
    assert "token" in tokened
