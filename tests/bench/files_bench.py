"""The files provider on a large directory (issue 22): one file of many small documents
(a Service each, ~135 bytes), loaded cold, then read again after an edit of another small
file (only that file is parsed again). Prints a table, writes JSON.

`cold_s` is the whole way from nothing to a configuration served, as host mode goes: the
directory read (`parse_s`: splitting, YAML, checks, defaults, duplicates), then the snapshot
of the objects and the pipeline's rebuild, published to the xDS cache (`rest_s`).

    python -m tests.bench files [--megabytes 50]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from gateway_contour.pipeline import Pipeline
from gateway_contour.providers.files import DirectoryReader
from gateway_contour.store.objects import Snapshot
from gateway_contour.translate import TranslateOptions
from gateway_contour.xds.cache import SnapshotCache
from tests.bench.k8s_env import dump

DOC = (
    "apiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: ns}\n"
    "spec:\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n"
)


def run(megabytes: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        big = directory / "big.yaml"
        with big.open("w") as out:
            count = 0
            while out.tell() < megabytes * 1e6:
                out.write(DOC % count + "---\n")
                count += 1
        (directory / "small.yaml").write_text(DOC % -1)
        reader = DirectoryReader(directory)
        pipeline = Pipeline(SnapshotCache(), TranslateOptions())
        started = time.perf_counter()
        first = reader.read()
        parse = time.perf_counter() - started
        served = anyio.run(pipeline.rebuild, Snapshot.of(first.objects), first.problems)
        cold = time.perf_counter() - started
        assert served is not None and pipeline.cache.ready
        (directory / "small.yaml").write_text(DOC % -2)
        started = time.perf_counter()
        again = reader.read()
        edit = time.perf_counter() - started
        assert len(first.objects) == len(again.objects) == count + 1
        return {
            "megabytes": round(os.path.getsize(big) / 1e6, 1),
            "documents": count + 1,
            "cold_s": round(cold, 2),
            "parse_s": round(parse, 2),
            "rest_s": round(cold - parse, 2),
            "us_per_document": round(cold / (count + 1) * 1e6, 1),
            "after_edit_of_another_file_s": round(edit, 3),
            "files_parsed": reader.parsed,
        }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m tests.bench files")
    parser.add_argument("--megabytes", type=float, default=50.0)
    row = run(parser.parse_args(argv).megabytes)
    print("files provider: one large file of small documents")
    for key, value in row.items():
        print(f"  {key:<30} {value}")
    print(f"wrote {dump('files', row)}")
    return row


if __name__ == "__main__":
    print(json.dumps(main()))
