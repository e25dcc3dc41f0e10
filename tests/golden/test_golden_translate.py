"""`gateway-contour translate` over every golden case: its output is the case's golden files
(ir.yaml, each xds/<fleet>/<kind>.yaml, status.yaml), document for document, to the byte.
The command runs in-process (as `main` would from the shell) for every case, and once as a
user runs it, in a subprocess. A case's options.yaml becomes the command line's flags;
`--address 0.0.0.0` is the goldens' listener address (TranslateOptions' default)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gateway_contour.cli import main
from gateway_contour.envoy.dump import fleet_dir_name

CASES_DIR = Path(__file__).parent
REPO = CASES_DIR.parents[1]
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "in.yaml").is_file())
HEADER = re.compile(r"^--- # (.*)\n", re.MULTILINE)


def flags_of(case_dir: Path) -> list[str]:
    """The command line flags giving the translation options of the case's options.yaml."""
    path = case_dir / "options.yaml"
    fields = yaml.safe_load(path.read_text()) if path.is_file() else {}
    flags = ["--address", "0.0.0.0"]
    for name, value in (fields or {}).items():
        if name == "fallback_certificate":
            flags += ["--fallback-certificate", value]
        elif name == "http":
            flags += [] if value.get("merge_slashes", True) else ["--disable-merge-slashes"]
            flags += ["--compression", value["compression"]] if "compression" in value else []
        else:
            raise AssertionError(f"{path}: no flag known for option {name}")
    return flags


def golden_path(name: str) -> str:
    """The golden file a document of the output is: `xds default/gw listeners` ->
    xds/default_gw/listeners.yaml."""
    if name.startswith("xds "):
        _, fleet, kind = name.split(" ")
        return f"xds/{fleet_dir_name(fleet)}/{kind}.yaml"
    return f"{name}.yaml"


def documents(output: str) -> dict[str, str]:
    """Golden path -> text of each document of the command's output."""
    parts = HEADER.split(output)
    assert parts[0] == "", "the output starts with a document header"
    return {golden_path(name): text for name, text in zip(parts[1::2], parts[2::2], strict=True)}


def golden_files(case_dir: Path) -> dict[str, str]:
    files = [case_dir / "ir.yaml", case_dir / "status.yaml", *case_dir.glob("xds/*/*.yaml")]
    return {str(f.relative_to(case_dir)): f.read_text() for f in files}


def assert_same(case: str, printed: dict[str, str]) -> None:
    golden = golden_files(CASES_DIR / case)
    assert sorted(printed) == sorted(golden), f"{case}: documents differ from the golden files"
    for path, text in golden.items():
        assert printed[path] == text, f"{case}/{path}: translate prints something else"


@pytest.mark.parametrize("case", CASES)
def test_translate_prints_the_golden_files(
    case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(CASES_DIR / case)  # problems name the file as given: in.yaml
    code = main(["translate", "in.yaml", *flags_of(CASES_DIR / case)])
    captured = capsys.readouterr()
    assert_same(case, documents(captured.out))
    status = yaml.safe_load((CASES_DIR / case / "status.yaml").read_text())
    if status.get("problems"):
        assert code == 1, f"{case}: problems, yet exit status {code}"
    assert code in (0, 1)
    assert (code == 1) == any(
        not line.startswith("gateway-contour translate: hint: ")
        for line in captured.err.splitlines()
    ), f"{case}: exit status {code} with stderr {captured.err!r}"


def test_translate_as_a_user_runs_it() -> None:
    case = "basic-http"
    result = subprocess.run(
        [sys.executable, "-m", "gateway_contour", "translate", "in.yaml", "--address", "0.0.0.0"],
        cwd=CASES_DIR / case,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert_same(case, documents(result.stdout))
