"""Shared by the conformance ratchets (tests/conformance/test_gateway_*.py): run one profile
of the upstream suite through the harness (`python -m conformance.run`) and hold its report
to a ratchet.

A ratchet: the run must produce a valid upstream report, no test may fail beyond the known
failures the caller lists (each with its reason), and core passes may not drop. A known
failure that now passes makes the check demand its removal, so the lists only shrink.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def run_profile(profile: str, tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    """Run `profile` (on a fresh local cluster unless `args`, more harness arguments, say
    otherwise); the report and the harness's output."""
    report_path = tmp_path / "report.yaml"
    log_path = tmp_path / "harness.log"
    with log_path.open("wb") as log:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance.run",
                "--profile",
                profile,
                "--report",
                str(report_path),
                "--workdir",
                str(tmp_path / "run"),
                *args,
            ],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    output = log_path.read_text(errors="replace")
    assert result.returncode == 0, output[-4000:]
    return yaml.safe_load(report_path.read_text()), output


def check_ratchet(
    report: dict[str, Any],
    output: str,
    profile: str,
    known_failures: Mapping[str, str],
    core_tests: int,
    core_passed_at_least: int,
) -> dict[str, Any]:
    """Assert the report of `profile` holds to the ratchet; return the profile's section."""
    assert report["kind"] == "ConformanceReport"
    assert report["gatewayAPIVersion"] == "v1.6.1"
    assert report["implementation"]["project"] == "gateway-contour"
    section = next(p for p in report["profiles"] if p["name"] == profile)
    core, extended = section["core"], section.get("extended") or {}
    failed = set(core.get("failedTests") or []) | set(extended.get("failedTests") or [])
    new_failures = failed - set(known_failures)
    assert not new_failures, (
        f"newly failing conformance tests: {sorted(new_failures)}\n" + (output[-4000:])
    )
    fixed = set(known_failures) - failed
    assert not fixed, f"now passing, remove from KNOWN_FAILURES: {sorted(fixed)}"
    stats = core["statistics"]
    assert stats["Passed"] + stats["Failed"] + stats["Skipped"] == core_tests
    assert stats["Skipped"] == 0
    assert stats["Passed"] >= core_passed_at_least
    # every extended feature we claim was exercised
    assert extended.get("supportedFeatures"), "no extended features claimed"
    return section


def check_every_extended_feature(
    section: dict[str, Any], features: set[str] | frozenset[str], count: int
) -> None:
    """Every extended feature of the profile is claimed (`features`, `count` of them), and
    none was left out of the run."""
    extended = section.get("extended") or {}
    claimed = set(extended.get("supportedFeatures") or [])
    assert claimed == set(features), sorted(set(features) ^ claimed)
    assert len(claimed) == count
    assert not extended.get("unsupportedFeatures"), extended.get("unsupportedFeatures")
    assert extended["statistics"]["Skipped"] == 0
