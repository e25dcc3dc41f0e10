"""Per-case translation options for golden tests: a case directory may hold options.yaml, a
mapping of TranslateOptions fields (e.g. `fallback_certificate: certs/fallback`, or
`http: {merge_slashes: false}` for the HTTPSettings); without one the defaults apply."""

from __future__ import annotations

from pathlib import Path

import yaml

from gateway_contour.ir.model import Compression, HTTPSettings
from gateway_contour.translate import TranslateOptions


def options_of(case_dir: Path) -> TranslateOptions:
    path = case_dir / "options.yaml"
    if not path.is_file():
        return TranslateOptions()
    fields = yaml.safe_load(path.read_text()) or {}
    if "http" in fields:
        http = dict(fields["http"])
        if "compression" in http:
            http["compression"] = Compression(http["compression"])
        fields["http"] = HTTPSettings(**http)
    return TranslateOptions(**fields)
