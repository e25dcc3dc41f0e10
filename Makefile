# gateway-contour: every target installs what it needs on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test unit e2e lint golden bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The standalone quickstart: demo backends + controller + a real Envoy on 127.0.0.1.
run: install
	$(BIN)/gateway-contour quickstart

# Every test tier that runs by default (unit, golden, e2e with a real Envoy).
test: install
	$(BIN)/pytest -q

unit: install
	$(BIN)/pytest -q tests/unit tests/golden

e2e: install
	$(BIN)/pytest -q tests/e2e

lint: install
	$(BIN)/ruff check gateway_contour tests
	$(BIN)/ruff format --check gateway_contour tests
	$(BIN)/mypy

# Rewrite golden outputs from the current code; read the diff before committing it.
golden: install
	$(BIN)/pytest -q tests/golden --update-golden

bench: install
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build *.egg-info
