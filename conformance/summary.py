"""Read what a conformance run left: the upstream report (YAML) and the `go test -v` output.

`summarize` prints, per profile, core passed/total, extended features passed/claimed and the
failing tests, each with the first lines of its failure output.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

_MARK = re.compile(r"^=== (RUN|CONT|NAME|PAUSE)\s+TestConformance/(\S+)")
_END = re.compile(r"^\s*--- (PASS|FAIL|SKIP): TestConformance/(\S+)")
_EXPECTATION = re.compile(
    r"Response expectation failed for request: .*?Host: ([^,]*),.*?Method: (\w+)"
)
_URL_PATH = re.compile(r"Path:(\S*)")
_TESTIFY = re.compile(r"^\s+(Error|Messages):\s+(.*)")


def _reasons_in(lines: list[str]) -> list[str]:
    """Failure reasons in one test's output: testify's Error/Messages (with the line that
    continues an Error), and each timed-out HTTP expectation with the last mismatch seen."""
    reasons: list[str] = []
    last_expectation = ""
    for index, raw in enumerate(lines):
        testify = _TESTIFY.match(raw)
        if testify:
            text = f"{testify.group(1)}: {testify.group(2).strip()}"
            following = lines[index + 1] if index + 1 < len(lines) else ""
            continues = following.strip() and not re.match(
                r"^\s*([A-Z][\w ]*:\s|===|---)", following
            )
            if testify.group(1) == "Error" and continues:
                text += " " + following.strip()
            reasons.append(text)
            continue
        expectation = _EXPECTATION.search(raw)
        if expectation:
            path = _URL_PATH.search(raw)
            why = raw.split("not ready yet: ", 1)[-1] if "not ready yet: " in raw else ""
            request = f"{expectation.group(2)} {expectation.group(1)}"
            last_expectation = f"{request}{path.group(1) if path else ''}: {why}"
        elif "timeout while waiting" in raw:
            reasons.append(f"{last_expectation or raw.strip()}")
        elif "Request failed, not ready yet" in raw:
            last_expectation = raw.split("Request failed, not ready yet: ", 1)[-1]
    return list(dict.fromkeys(reasons))


def failure_lines(test_log: Path, per_test: int = 3) -> dict[str, list[str]]:
    """Failed test name -> up to `per_test` one-line failure reasons from its output."""
    current: str | None = None
    output: dict[str, list[str]] = defaultdict(list)
    failed: set[str] = set()
    for raw in test_log.read_text(errors="replace").splitlines():
        mark = _MARK.match(raw)
        if mark:
            current = mark.group(2).split("/")[0]
            continue
        end = _END.match(raw)
        if end:
            if end.group(1) == "FAIL" and "/" not in end.group(2):
                failed.add(end.group(2))
            continue
        if current:
            output[current].append(raw)
    return {name: _reasons_in(output[name])[:per_test] for name in failed}


def _feature_passes(profile: dict[str, Any]) -> tuple[int, int]:
    """(supported extended features with no failed test, claimed extended features)."""
    extended = profile.get("extended") or {}
    claimed = extended.get("supportedFeatures") or []
    failed = extended.get("failedTests") or []
    if not claimed:
        return 0, 0
    # The report names failed tests, not failed features: a feature counts as failing when
    # the extended result is not success and one of its tests failed. Tests are named after
    # their feature (HTTPRouteQueryParamMatching...), which is what we match on.
    bad = {f for f in claimed for t in failed if t.startswith(f) or f in t}
    return len(claimed) - len(bad), len(claimed)


def summarize(report_path: Path | None, test_log: Path | None) -> str:
    out = []
    reasons = failure_lines(test_log) if test_log and test_log.exists() else {}
    if report_path is None or not report_path.exists():
        out.append("no report was written (the suite stopped before its end; see the test log)")
        report: dict[str, Any] = {}
    else:
        report = yaml.safe_load(report_path.read_text()) or {}
        impl = report.get("implementation") or {}
        out.append(
            f"Gateway API {report.get('gatewayAPIVersion')} ({report.get('gatewayAPIChannel')}),"
            f" {impl.get('project')} {impl.get('version')}, mode {report.get('mode')},"
            f" {report.get('date')}"
        )
    rows = [("profile", "core passed/total", "extended features passed/claimed", "result")]
    failing: list[str] = []
    for profile in report.get("profiles") or []:
        core = profile.get("core") or {}
        stats = core.get("statistics") or {}
        total = sum(int(stats.get(k, 0)) for k in ("Passed", "Failed", "Skipped"))
        passed_features, claimed = _feature_passes(profile)
        extended = profile.get("extended") or {}
        result = f"core {core.get('result')}, extended {extended.get('result', '-')}"
        rows.append(
            (
                profile["name"],
                f"{stats.get('Passed', 0)}/{total}",
                f"{passed_features}/{claimed}",
                result,
            )
        )
        failing += [f"{profile['name']} core: {t}" for t in core.get("failedTests") or []]
        failing += [f"{profile['name']} extended: {t}" for t in extended.get("failedTests") or []]
    if test_log and test_log.exists():
        ran = [
            m.groups()
            for m in map(_END.match, test_log.read_text(errors="replace").splitlines())
            if m and "/" not in m.group(2) and m.group(1) != "SKIP"
        ]
        passed = sum(1 for result, _ in ran if result == "PASS")
        out.append(f"tests run: {len(ran)} ({passed} passed, {len(ran) - passed} failed)")
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for index, row in enumerate(rows):
        out.append(
            "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        )
        if index == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    if failing:
        out.append("")
        out.append(f"failing tests ({len(failing)}):")
        for entry in failing:
            name = entry.rsplit(": ", 1)[1]
            out.append(f"  - {entry}")
            out.extend(f"      {line[:200]}" for line in reasons.get(name, []))
    elif reasons:  # no report, but the log shows failures
        out.append("")
        out.append("failing tests (from the test log):")
        for name, lines in sorted(reasons.items()):
            out.append(f"  - {name}")
            out.extend(f"      {line[:200]}" for line in lines)
    return "\n".join(out)
