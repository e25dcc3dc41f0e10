#!/usr/bin/env bash
# Build (once) what the conformance harness runs, from this Go module's pins:
#
#   .cache/conformance/<hash>/conformance.test   the upstream suite (go test -c of this module)
#   .cache/conformance/<hash>/echo-basic         the suite's backend, from its own source
#   .cache/conformance/<hash>/suite-images.txt   every image the suite's manifests name
#   .cache/conformance/current -> <hash>
#
# <hash> covers go.mod, go.sum and the .go files, so re-pinning rebuilds. Warm: instant.
# Cold (empty module and build caches): ~5 min on 2 cores, leaving ~650 MB in GOCACHE and
# ~240 MB of modules. Uses the Go toolchain go.mod names, obtained as hack/ does (hack/lib.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
CACHE_DIR=${CONFORMANCE_CACHE:-$repo/.cache/conformance}
# shellcheck source=hack/lib.sh
source "$repo/hack/lib.sh"

key=$(cd "$here" && find . -maxdepth 1 -type f \( -name 'go.*' -o -name '*.go' \) | LC_ALL=C sort |
    xargs -d '\n' cat | sha256sum | cut -c1-12)
out="$CACHE_DIR/$key"

mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.lock"
flock 9  # one build at a time per cache

if [[ -x $out/conformance.test && -x $out/echo-basic && -s $out/suite-images.txt ]]; then
    echo ">>> cached: $out"
else
    use_go "$(awk '$1 == "toolchain" { sub(/^go/, "", $2); print $2 }' "$here/go.mod")"
    started=$(date +%s)
    mkdir -p "$out.tmp"
    # CGO off: static binaries; -mod=readonly: exactly what go.mod/go.sum pin.
    export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
    (cd "$here" && go test -c -trimpath -o "$out.tmp/conformance.test" .)
    (cd "$here" && go build -trimpath -o "$out.tmp/echo-basic" \
        sigs.k8s.io/gateway-api/conformance/echo-basic)
    # what hack/image/build.py tags the local echo-basic and CoreDNS images as (kubernetes mode)
    suite=$(cd "$here" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api/conformance)
    grep -rhoE '^ *image: *[^ ]+' --include='*.yaml' "$suite/base" "$suite/tests" |
        awk '{ print $2 }' | LC_ALL=C sort -u >"$out.tmp/suite-images.txt"
    rm -rf "$out" && mv "$out.tmp" "$out"
    echo ">>> built $out in $(($(date +%s) - started)) s"
fi
ln -sfn "$key" "$CACHE_DIR/current"
