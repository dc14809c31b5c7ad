# Wedge: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test e2e lint typecheck pytest bench lock services clean screens

help:
	@echo "make run    - install, migrate, seed the demo and start web, worker and beat"
	@echo "make test   - lint, type-check and the whole suite on PostgreSQL, Redis and Celery"
	@echo "make e2e    - the closed loop alone: HAProxy, Prometheus, the agent, a canary that fails"
	@echo "make bench  - benchmarks on the real stack; prints their figures"
	@echo "make lock   - re-resolve requirements/*.lock from pyproject.toml"
	@echo "make screens - re-take the proposal page screenshots in docs/screens/"

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

# The `wedge` CLI (cli/), editable, for the suite: its dependencies are in
# dev.lock. "strict" links each module of cli/wedge_cli and of wedges/policy
# (as wedge_policy) into cli/build/, so mypy sees the policy's types through
# the CLI too. Edits show at once; an added or removed module changes its
# folder's time, which re-links.
$(VENV)/.cli: $(VENV)/.dev cli/pyproject.toml cli/wedge_cli wedges/policy
	$(BIN)/python -m pip install --quiet --no-deps --config-settings editable_mode=strict -e ./cli
	touch $@

run: $(VENV)/.runtime
	PORT=$(PORT) scripts/run.sh

services:
	scripts/ensure-services.sh

lint: $(VENV)/.cli
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(VENV)/.cli
	$(BIN)/mypy .

# One test process per CPU (pytest-xdist), each with its own databases and
# Celery worker; PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= auto
pytest: $(VENV)/.cli services
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint typecheck pytest

# The closed loop on real traffic (tests/loop/, also part of `make test`): two
# backends behind HAProxy, load, Prometheus, Wedge's worker and the agent; the
# canary fails and its traffic must go back to stable. About 30 s.
e2e: $(VENV)/.cli services
	$(BIN)/python -m pytest tests/loop -q -p no:cacheprovider $(PYTEST_ARGS)

bench: $(VENV)/.cli services
	scripts/bench.sh

# The README's screenshots: the proposal page in each state, desktop and phone,
# taken by the browser test that checks them (tests/e2e/test_every_page.py).
screens: $(VENV)/.dev services
	WEDGE_SCREENS_DIR=$(CURDIR)/docs/screens $(BIN)/python -m pytest tests/e2e/test_every_page.py -k each_state -q $(PYTEST_ARGS)

lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --no-header -q -o requirements/runtime.lock
	$(BIN)/uv pip compile pyproject.toml --group dev --python-version 3.11 --no-header -q -o requirements/dev.lock

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
