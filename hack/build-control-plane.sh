#!/usr/bin/env bash
# Build (once) the control plane the tests in tests/k8s run against, with no Docker:
#
#   kube-apiserver, kube-controller-manager  from hack/kube (Kubernetes release pinned there)
#   kube-scheduler, kubelet, kube-proxy,     the node of tests/node, from the same module
#   kubectl
#   etcd                                     from hack/etcd (etcd release pinned there)
#   Gateway API CRDs                         from the sigs.k8s.io/gateway-api module
#
# Everything lands in a git-ignored cache keyed by version (plus a short hash of the wrapper
# module's files, so that editing hack/etcd/main.go or re-pinning rebuilds):
#
#   .cache/control-plane/bin/kube-apiserver-v1.37.1-<hash>/kube-apiserver
#   .cache/control-plane/bin/kube-controller-manager-v1.37.1-<hash>/kube-controller-manager
#   .cache/control-plane/bin/{kube-scheduler,kubelet,kube-proxy,kubectl}-v1.37.1-<hash>/...
#   .cache/control-plane/bin/etcd-v3.7.3-<hash>/etcd
#   .cache/control-plane/gateway-api-v1.6.1/{standard,experimental}/*.yaml
#   .cache/control-plane/paths.env          (what the test fixture reads)
#
# What is already there is not rebuilt, so a second run takes well under a second. Measured on
# 2 cores: a cold build takes ~8 min (etcd 45 s, kube-apiserver 5.5 min, kube-controller-manager
# 2 min) with 2.7 GB peak RSS (the kube-apiserver link) and leaves ~3.7 GB in GOCACHE; with a
# warm GOCACHE, all three rebuild in ~20 s.
#
# Environment: CONTROL_PLANE_CACHE overrides the cache directory; GATEWAY_API_VERSION the CRDs.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
hack="$repo/hack"
CACHE_DIR=${CONTROL_PLANE_CACHE:-$repo/.cache/control-plane}
GATEWAY_API_VERSION=${GATEWAY_API_VERSION:-v1.6.1}
# shellcheck source=hack/lib.sh
source "$hack/lib.sh"
# For every build below: keep encoding/json v1 even if a newer Go turns v2 on by default
# (kube-apiserver's OpenAPI breaks with it); Go 1.26 already defaults to v1.
export GOEXPERIMENT=nojsonv2

kube_version=$(go_mod_value "$hack/kube/go.mod" k8s.io/kubernetes)
kube_go=$(go_mod_value "$hack/kube/go.mod" toolchain)
etcd_version=$(go_mod_value "$hack/etcd/go.mod" go.etcd.io/etcd/server/v3)
etcd_go=$(go_mod_value "$hack/etcd/go.mod" toolchain)

kube_key="$kube_version-$(content_hash "$hack/kube")"
etcd_key="$etcd_version-$(content_hash "$hack/etcd")"

apiserver="$CACHE_DIR/bin/kube-apiserver-$kube_key/kube-apiserver"
controller_manager="$CACHE_DIR/bin/kube-controller-manager-$kube_key/kube-controller-manager"
# The node of tests/node (and kubectl for the install it runs), from the same release.
scheduler="$CACHE_DIR/bin/kube-scheduler-$kube_key/kube-scheduler"
kubelet="$CACHE_DIR/bin/kubelet-$kube_key/kubelet"
kube_proxy="$CACHE_DIR/bin/kube-proxy-$kube_key/kube-proxy"
kubectl="$CACHE_DIR/bin/kubectl-$kube_key/kubectl"
etcd="$CACHE_DIR/bin/etcd-$etcd_key/etcd"
crds="$CACHE_DIR/gateway-api-$GATEWAY_API_VERSION"

# kube_ldflags: what `kubectl version` and /version report, as Kubernetes' own build stamps
# it; otherwise they say v0.0.0-master. Commit and date come from the module proxy's record of
# the release tag, so the binaries are reproducible.
kube_ldflags() {
    local info commit date pkg
    info=$(cd / && GOFLAGS='' go mod download -json "k8s.io/kubernetes@$kube_version")
    commit=$(json_field Hash <<<"$info")
    date=$(json_field Time <<<"$info")
    [[ $kube_version =~ ^v([0-9]+)\.([0-9]+)\. ]]
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        printf -- '-X %s ' \
            "$pkg.gitVersion=$kube_version" \
            "$pkg.gitMajor=${BASH_REMATCH[1]}" \
            "$pkg.gitMinor=${BASH_REMATCH[2]}" \
            "$pkg.gitCommit=$commit" \
            "$pkg.gitTreeState=clean" \
            "$pkg.buildDate=$date"
    done
}

lock_cache

echo ">>> control plane: Kubernetes $kube_version (Go ${kube_go#go}), etcd $etcd_version," \
    "Gateway API $GATEWAY_API_VERSION; cache $CACHE_DIR"

if [[ ! -x $etcd ]]; then need_go "$etcd_go"; fi
build "$hack/etcd" . "$etcd"

for binary in "$apiserver" "$controller_manager" "$scheduler" "$kubelet" "$kube_proxy" "$kubectl"; do
    ldflags=""
    if [[ ! -x $binary ]]; then
        need_go "$kube_go"
        ldflags=$(kube_ldflags)
    fi
    build "$hack/kube" "k8s.io/kubernetes/cmd/$(basename "$binary")" "$binary" "$ldflags"
done

if [[ -f $crds/.complete ]]; then
    echo ">>> cached: $crds"
else
    need_go "$kube_go"
    echo ">>> fetching sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION CRDs into $crds"
    # Outside any module (cd /), `go mod download` just fills the module cache (checked
    # against the checksum database) and prints where the module's files are.
    module_dir=$(cd / && GOFLAGS='' go mod download -json \
        "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | json_field Dir)
    [[ -d $module_dir/config/crd ]] || { echo "no config/crd in $module_dir" >&2; exit 1; }
    rm -rf "$crds" && mkdir -p "$crds"
    for channel in standard experimental; do
        mkdir -p "$crds/$channel"
        # Module cache files are read-only; copies need not be.
        install -m 0644 "$module_dir/config/crd/$channel/"*.yaml "$crds/$channel/"
    done
    touch "$crds/.complete"
fi

# The single source of paths for tests/k8s/conftest.py (and for anyone starting it by hand).
cat >"$CACHE_DIR/paths.env.tmp" <<ENV
KUBE_VERSION=$kube_version
ETCD_VERSION=$etcd_version
GATEWAY_API_VERSION=$GATEWAY_API_VERSION
ETCD=$etcd
KUBE_APISERVER=$apiserver
KUBE_CONTROLLER_MANAGER=$controller_manager
KUBE_SCHEDULER=$scheduler
KUBELET=$kubelet
KUBE_PROXY=$kube_proxy
KUBECTL=$kubectl
GATEWAY_API_CRDS=$crds
ENV
mv "$CACHE_DIR/paths.env.tmp" "$CACHE_DIR/paths.env"
echo ">>> ready: $CACHE_DIR/paths.env"
