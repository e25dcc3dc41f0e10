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

coredns_version=$(go_mod_value "$hack/coredns/go.mod" github.com/coredns/coredns)
coredns="$CACHE_DIR/bin/coredns-$coredns_version-$(content_hash "$hack/coredns")/coredns"
pause="$CACHE_DIR/bin/pause-$PAUSE_VERSION-$(content_hash "$hack/pause")/pause"

lock_cache

echo ">>> node extras: CoreDNS $coredns_version, pause $PAUSE_VERSION; cache $CACHE_DIR"
for module in coredns pause; do
    output=${!module}
    if [[ ! -x $output ]]; then need_go "$(go_mod_value "$hack/$module/go.mod" toolchain)"; fi
    build "$hack/$module" . "$output"
done

cat >"$CACHE_DIR/node-extras.env.tmp" <<ENV
COREDNS_VERSION=${coredns_version#v}
PAUSE_VERSION=$PAUSE_VERSION
COREDNS=$coredns
PAUSE=$pause
ENV
mv "$CACHE_DIR/node-extras.env.tmp" "$CACHE_DIR/node-extras.env"
echo ">>> ready: $CACHE_DIR/node-extras.env"
