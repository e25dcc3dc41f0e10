"""Golden tests for translation: each tests/golden/<case>/in.yaml translates to the IR in
ir.yaml and the statuses in status.yaml (translation options: case_options.py).
`pytest --update-golden` rewrites the outputs.

Case directories may hold other outputs (xds/*.yaml, owned by another test file); this test
reads and writes only its own two files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway_contour.ir.serialize import dump_yaml, ir_to_yaml
from gateway_contour.providers.files import load_text
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import translate
from tests.golden.case_options import options_of

CASES_DIR = Path(__file__).parent
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "in.yaml").is_file())


def render(case_dir: Path) -> dict[str, str]:
    loaded = load_text((case_dir / "in.yaml").read_text(), "in.yaml")
    ir, report = translate(Snapshot.of(loaded.objects), options_of(case_dir))
    report.problems[:0] = loaded.problems
    return {"ir.yaml": ir_to_yaml(ir), "status.yaml": dump_yaml(report.to_data())}


def test_cases_exist() -> None:
    assert len(CASES) >= 14


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str, update_golden: bool) -> None:
    case_dir = CASES_DIR / case
    for name, text in render(case_dir).items():
        path = case_dir / name
        if update_golden:
            path.write_text(text)
            continue
        assert path.is_file(), f"{path} is missing; run pytest --update-golden and review it"
        assert text == path.read_text(), f"{case}/{name} differs; see the diff above"
