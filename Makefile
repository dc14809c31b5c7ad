# Wedge: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck pytest bench lock services clean

help:
	@echo "make run    - install, migrate, seed the demo and start web, worker and beat"
	@echo "make test   - lint, type-check and the whole suite on PostgreSQL, Redis and Celery"
	@echo "make bench  - benchmarks on the real stack; prints their figures"
	@echo "make lock   - re-resolve requirements/*.lock from pyproject.toml"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps make reinstalls happen only when a lock file changes.
$(VENV)/.runtime: requirements/runtime.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/runtime.lock
	touch $@

$(VENV)/.dev: requirements/dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements/dev.lock
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	PORT=$(PORT) scripts/run.sh

services:
	scripts/ensure-services.sh

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.dev
	$(BIN)/mypy .

pytest: $(VENV)/.dev services
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.dev services
	scripts/bench.sh

lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --no-header -q -o requirements/runtime.lock
	$(BIN)/uv pip compile pyproject.toml --group dev --python-version 3.11 --no-header -q -o requirements/dev.lock

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
