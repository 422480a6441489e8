# The README's commands. Each installs what it needs, idempotently, from Python, Node/npm and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
export UV_PYTHON := $(PYTHON)
export UV_PROJECT_ENVIRONMENT := $(VENV)
# ape finds the pinned vyper and npm's anvil on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help install demo test fuzz bench lint clean

help:
	@echo "make demo    run the keeper's main job on a local devnet"
	@echo "make test    run the test suite (installs what it needs)"
	@echo "make fuzz    the long fuzz profiles: contract state machine, venue faults, planner properties"
	@echo "make lint    ruff over the code and tests"
	@echo "make bench   run the benchmarks (ONLY=name for one); writes bench/results.json"

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found: install Python 3.11+ and re-run"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(PY_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	@touch $@

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found: install Node.js 20+ with npm and re-run"; exit 1; }
	npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

install: $(PY_STAMP) $(NPM_STAMP)

demo: install
	$(VENV)/bin/keeper demo

test: install
	$(VENV)/bin/pytest

fuzz: install
	KEEPER_FUZZ_PROFILE=release KEEPER_PROPERTY_EXAMPLES=1500 $(VENV)/bin/pytest -p no:cacheprovider \
		tests/stateful tests/e2e/test_fault_injection.py tests/property

bench: install
	$(VENV)/bin/python -m bench $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) $(TOOLS) node_modules .devnet .build .pytest_cache .hypothesis bench/results.json

lint: install
	$(VENV)/bin/ruff check keeper bench tests scripts
