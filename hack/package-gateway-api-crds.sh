#!/usr/bin/env bash
# Put the pinned Gateway API CRDs (experimental channel) into the package, for files mode on
# machines with no Go module cache: gateway_contour/validation/crds/ (git-ignored, shipped as
# package data by `pip install .` / a wheel / the image). They come from the
# sigs.k8s.io/gateway-api module through the Go module proxy, checked against the checksum
# database, as hack/build-control-plane.sh fetches them for the k8s tier; never committed.
#
# Also Kubernetes' OpenAPI v3 documents of the built-in kinds files mode reads (Service,
# EndpointSlice, Secret, Ingress, ...), from the k8s.io/kubernetes module at the version
# gateway_contour/validation/builtin_schemas.py pins, into crds/kubernetes-openapi/: their
# field sets refuse a misspelt field as the API server does.
#
# Run before building a wheel or the image; needs `go`. Environment: GATEWAY_API_VERSION
# (default: the version gateway_contour/validation/crd_sources.py pins).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=hack/lib.sh
source "$repo/hack/lib.sh"
pinned=$(sed -n 's/^GATEWAY_API_VERSION = "\(.*\)"$/\1/p' "$repo/gateway_contour/validation/crd_sources.py")
version=${GATEWAY_API_VERSION:-$pinned}
target="$repo/gateway_contour/validation/crds"

# Outside any module (cd /), `go mod download` fills the module cache and prints its directory.
module_dir=$(cd / && GOFLAGS='' go mod download -json "sigs.k8s.io/gateway-api@$version" | json_field Dir)
[[ -d $module_dir/config/crd/experimental ]] || { echo "no config/crd in $module_dir" >&2; exit 1; }
rm -rf "$target" && mkdir -p "$target"
install -m 0644 "$module_dir/config/crd/experimental/"*.yaml "$target/"
rm -f "$target/kustomization.yaml"
echo ">>> Gateway API $version CRDs in $target"

kube=$(sed -n 's/^KUBERNETES_VERSION = "\(.*\)"$/\1/p' "$repo/gateway_contour/validation/builtin_schemas.py")
# the documents KINDS names there
documents=$(grep -o '"api[a-z0-9_.]*_openapi\.json"' "$repo/gateway_contour/validation/builtin_schemas.py" | tr -d '"' | sort -u)
kube_dir=$(cd / && GOFLAGS='' go mod download -json "k8s.io/kubernetes@$kube" | json_field Dir)
mkdir -p "$target/kubernetes-openapi"
for document in $documents; do
  install -m 0644 "$kube_dir/api/openapi-spec/v3/$document" "$target/kubernetes-openapi/"
done
echo ">>> Kubernetes $kube OpenAPI documents (${documents//$'\n'/ }) in $target/kubernetes-openapi"
