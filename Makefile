# One entry point per job. Each target creates the venv and installs the pinned Python and
# npm packages by itself, so a fresh clone needs only python3, npm and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_PY := $(VENV)/.installed
STAMP_NPM := node_modules/.installed

.PHONY: setup demo test lint types unit integration compile clean

$(STAMP_PY): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

$(STAMP_NPM): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP_PY) $(STAMP_NPM)

## The main job: simulator + anvil + contracts + node, until Ctrl-C.
demo: setup
	$(BIN)/oracle-node demo

## Everything CI runs: lint, types, the whole test suite (unit + integration).
test: setup lint types
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q -m "not integration"

integration: setup
	$(BIN)/pytest -q -m integration

## Recompile the feed contract with the pinned solc and rewrite the committed artifact.
compile: setup
	$(BIN)/python -m publisher.compile

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache
