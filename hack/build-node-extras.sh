#!/usr/bin/env bash
# Build (once) the two programs a real node needs beyond kubelet and kube-proxy, with no Docker,
# into the control plane's cache:
#
#   coredns  cluster DNS, from hack/coredns (CoreDNS release and plugin list pinned there)
#   pause    the Pod sandbox's PID 1, from hack/pause (this project's own, standard library)
#
#   .cache/control-plane/bin/coredns-v1.15.0-<hash>/coredns
#   .cache/control-plane/bin/pause-<PAUSE_VERSION>-<hash>/pause
#   .cache/control-plane/node-extras.env    (what hack/image/build.py and tests read)
#
# <hash> is 8 hex digits of the wrapper module's go.mod, go.sum and *.go, so editing either
# module rebuilds it; what is already built is not rebuilt (a warm run needs no Go at all).
# Static (CGO off), -trimpath, -ldflags "-s -w", exactly what go.mod/go.sum pin.
#
# Takes the same lock as hack/build-control-plane.sh ($CACHE_DIR/.lock). When that script runs
# this one while holding the lock, the inherited descriptor 9 is the lock and is reused as is.
#
# Environment: CONTROL_PLANE_CACHE overrides the cache directory (as for the control plane).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
hack="$repo/hack"
CACHE_DIR=${CONTROL_PLANE_CACHE:-$repo/.cache/control-plane}
# The pause image's tag; bump it when hack/pause/main.go changes behaviour.
PAUSE_VERSION=1.0
# shellcheck source=hack/lib.sh
source "$hack/lib.sh"

# module_pin DIR KEY: the toolchain ("toolchain goX") or a required module's version, read
# from DIR/go.mod without running Go.
module_pin() {
    awk -v key="$2" '$1 == key { print $2; exit } $1 == "require" && $2 == key { print $3; exit }' \
        "$1/go.mod"
}

# module_key DIR VERSION: VERSION-<8 hex digits of the module's sources>.
module_key() {
    local sum
    sum=$(find "$1" -maxdepth 1 -type f \( -name 'go.*' -o -name '*.go' \) -print0 |
        LC_ALL=C sort -z | xargs -0 cat | sha256sum)
    echo "$2-${sum:0:8}"
}

coredns_version=$(module_pin "$hack/coredns" github.com/coredns/coredns)
coredns="$CACHE_DIR/bin/coredns-$(module_key "$hack/coredns" "$coredns_version")/coredns"
pause="$CACHE_DIR/bin/pause-$(module_key "$hack/pause" "$PAUSE_VERSION")/pause"

# compile MODULE_DIR OUTPUT: `go build` the module's main package to OUTPUT, unless it is there.
compile() {
    local module=$1 output=$2 started
    if [[ -x $output ]]; then
        echo ">>> cached: $output"
        return
    fi
    use_go "$(module_pin "$module" toolchain | sed 's/^go//')"
    echo ">>> building $module -> $output"
    started=$(date +%s)
    mkdir -p "$(dirname "$output")"
    (cd "$module" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
        go build -trimpath -ldflags "-s -w" -o "$output.tmp" .)
    mv "$output.tmp" "$output"  # only a finished binary counts as cached
    echo ">>> built $output in $(($(date +%s) - started)) s ($(du -h "$output" | cut -f1))"
}

mkdir -p "$CACHE_DIR"
if ! [[ /proc/self/fd/9 -ef $CACHE_DIR/.lock ]]; then
    exec 9>"$CACHE_DIR/.lock"
fi
if ! flock --nonblock 9; then
    echo ">>> another build holds $CACHE_DIR/.lock; waiting for it"
    flock 9
fi

echo ">>> node extras: CoreDNS $coredns_version, pause $PAUSE_VERSION; cache $CACHE_DIR"
compile "$hack/coredns" "$coredns"
compile "$hack/pause" "$pause"

cat >"$CACHE_DIR/node-extras.env.tmp" <<ENV
COREDNS_VERSION=${coredns_version#v}
PAUSE_VERSION=$PAUSE_VERSION
COREDNS=$coredns
PAUSE=$pause
ENV
mv "$CACHE_DIR/node-extras.env.tmp" "$CACHE_DIR/node-extras.env"
echo ">>> ready: $CACHE_DIR/node-extras.env"
