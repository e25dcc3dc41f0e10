"""`gateway-contour translate`: what `run` would make of YAML files, printed, nothing served.

The files are read by the files provider's `load_paths` (the checks `run` applies to its
directory) and built by the pipeline's `build` (translation, then the Envoy resources of each
fleet), as a rebuild of `run` does; no Envoy is started and no port opened. The output is a
stream of YAML documents, each after a `--- # NAME` line: `ir`, then `xds FLEET KIND` for each
fleet's listeners, routes, clusters, endpoints and secrets (secret material redacted), then
`status`. Each document is the text of the golden file of that stage (tests/golden:
ir.yaml, xds/FLEET/KIND.yaml, status.yaml), so `translate` shows what a golden case holds.

Exit status 1 when anything would be refused or is unhealthy (`failures`), else 0.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gateway_contour.envoy.dump import fleet_to_yaml
from gateway_contour.ir.serialize import dump_yaml, ir_to_yaml
from gateway_contour.pipeline import BuildResult, build
from gateway_contour.providers.files import load_paths
from gateway_contour.status.console import failing_conditions
from gateway_contour.status.hints import foreign_class_hint, foreign_gateway_classes
from gateway_contour.status.report import StatusReport
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions

OUTPUTS = ("ir", "xds", "status", "all")


@dataclass(frozen=True, slots=True)
class Translation:
    result: BuildResult  # its report carries the problems of reading the files first
    hints: list[str]  # GatewayClasses of another controller, named with ours


def translate_paths(paths: Sequence[Path], options: TranslateOptions) -> Translation:
    loaded = load_paths(paths)
    snapshot = Snapshot.of(loaded.objects)
    result = build(snapshot, options)
    result.report.problems[:0] = loaded.problems
    hints = [
        foreign_class_hint(name, theirs, options.controller_name)
        for name, theirs in foreign_gateway_classes(snapshot, options.controller_name)
    ]
    return Translation(result, hints)


def documents(result: BuildResult, output: str) -> list[tuple[str, str]]:
    """(name, YAML text) of each document `output` asks for, in pipeline order."""
    docs = []
    if output in ("ir", "all"):
        docs.append(("ir", ir_to_yaml(result.ir)))
    if output in ("xds", "all"):
        for fleet in sorted(result.resources):
            for kind, text in fleet_to_yaml(result.resources[fleet]).items():
                docs.append((f"xds {fleet} {kind}", text))
    if output in ("status", "all"):
        docs.append(("status", dump_yaml(result.report.to_data())))
    return docs


def render(docs: list[tuple[str, str]]) -> str:
    return "".join(f"--- # {name}\n{text}" for name, text in docs)


def failures(report: StatusReport) -> list[str]:
    """What makes the exit status 1: every problem (a document that is not a valid object,
    an object defined twice, a part of an object Envoy would refuse, ...) and every
    condition in its bad state (Accepted, Programmed, ResolvedRefs, SupportedVersion or Valid
    not True, Conflicted True) of an object, a listener or a route parent."""
    out = [f"{p.source}: {p.reason}" for p in report.problems]
    for key in sorted(report.statuses):
        bad = failing_conditions(report.statuses[key])
        if bad:
            out.append(f"{key}: " + "; ".join(bad))
    return out


def run(
    paths: Sequence[Path],
    options: TranslateOptions,
    output: str,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print the documents to `out`, the hints and failures to `err` (default: stdout, stderr
    as they are at the call); the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    translation = translate_paths(paths, options)
    out.write(render(documents(translation.result, output)))
    failed = failures(translation.result.report)
    for hint in translation.hints:
        print(f"gateway-contour translate: hint: {hint}", file=err)
    for line in failed:
        print(f"gateway-contour translate: {line}", file=err)
    return 1 if failed else 0
