"""The `gateway-contour migrate` subcommand: its arguments and what it runs.

Reads YAML files/directories (or, with --from-cluster, a cluster), writes the Gateway API
YAML to stdout or --output, and the notes to stderr (and, with --notes, as YAML to a file).
Exit status: 0, or 1 with --strict when anything was not migrated exactly (a document that
could not be read, or that the API server would refuse, included); 2 when nothing could be
read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway_contour.migrate.model import INVALID, SKIPPED, MigrateOptions, Note


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "migrate",
        help="convert Ingress and HTTPProxy objects into Gateway API YAML",
    )
    p.add_argument("paths", nargs="*", type=Path, help="YAML files or directories to read")
    p.add_argument("--from-cluster", action="store_true", help="read the objects from a cluster")
    p.add_argument("--kubeconfig", type=Path, help="with --from-cluster (default: $KUBECONFIG)")
    p.add_argument("--context", help="with --from-cluster")
    p.add_argument("-o", "--output", type=Path, help="write the YAML here (default: stdout)")
    p.add_argument("--notes", type=Path, help="also write the notes here, as YAML")
    p.add_argument("--gateway-name", default=MigrateOptions.gateway_name)
    p.add_argument("--gateway-namespace", default=MigrateOptions.gateway_namespace)
    p.add_argument("--gateway-class", default=MigrateOptions.gateway_class)
    p.add_argument("--http-port", type=int, default=MigrateOptions.http_port)
    p.add_argument("--https-port", type=int, default=MigrateOptions.https_port)
    p.add_argument(
        "--ingress-class-name",
        default="",
        help="comma-separated Ingress classes to migrate (default: as the controller serves)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when anything was not migrated exactly, or the API server would refuse "
        "an object of the output (checked against the CRDs)",
    )


def run(args: argparse.Namespace) -> int:
    # here, not above: the parser is built by every command (add_parser); and the cluster
    # client (aiohttp, ~0.5 s of imports) only when reading a cluster
    from gateway_contour.migrate.convert import check_output, migrate, render, render_notes
    from gateway_contour.providers.files import Loaded, load_paths

    loaded: Loaded
    if args.from_cluster:
        import anyio

        from gateway_contour.migrate.sources import load_cluster

        loaded = anyio.run(load_cluster, args.kubeconfig, args.context)
    elif args.paths:
        loaded = load_paths(args.paths)
    else:
        print("gateway-contour migrate: give YAML paths or --from-cluster", file=sys.stderr)
        return 2
    if not loaded.objects and loaded.problems:
        for problem in loaded.problems:
            print(f"gateway-contour migrate: {problem.source}: {problem.reason}", file=sys.stderr)
        return 2
    options = MigrateOptions(
        gateway_name=args.gateway_name,
        gateway_namespace=args.gateway_namespace,
        gateway_class=args.gateway_class,
        http_port=args.http_port,
        https_port=args.https_port,
        ingress_class_names=tuple(c.strip() for c in args.ingress_class_name.split(",") if c),
    )
    migration = migrate(loaded.objects, options)
    # what could not be read, or would be refused, is not migrated: noted first
    migration.notes[:0] = [
        Note(p.source, INVALID, f"{p.reason}; not migrated") for p in loaded.problems
    ]
    if args.strict:
        check_output(migration)
    text = render(migration)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    if args.notes:
        args.notes.write_text(render_notes(migration))
    for note in migration.notes:
        print(f"[{note.kind}] {note.source}: {note.message}", file=sys.stderr)
    inexact = [n for n in migration.notes if n.kind != SKIPPED]
    return 1 if args.strict and inexact else 0
