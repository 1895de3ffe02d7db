# Smart Labeling: `make demo` runs the main job, `make test` runs every check.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell scripts/find-python)
HA_VENV := .venv-ha
ML_VENV := .venv-ml
HA_PY := $(HA_VENV)/bin/python
ML_PY := $(ML_VENV)/bin/python
PIP_FLAGS := --quiet --disable-pip-version-check
TEST_OUTPUT := test-output

.PHONY: help
help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# Environments ---------------------------------------------------------------

$(HA_VENV)/.installed: requirements/ha.lock
	@test -n "$(PYTHON)" || { echo "Python 3.13 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(HA_VENV)
	$(HA_PY) -m pip install $(PIP_FLAGS) -r requirements/ha.lock
	touch $@

$(ML_VENV)/.installed: requirements/ml.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.13 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(ML_VENV)
	$(ML_PY) -m pip install $(PIP_FLAGS) -r requirements/ml.lock
	$(ML_PY) -m pip install $(PIP_FLAGS) --no-deps --no-build-isolation -e .
	touch $@

.PHONY: venvs
venvs: $(HA_VENV)/.installed $(ML_VENV)/.installed  ## Create both virtual environments

.PHONY: lock
lock:  ## Re-resolve requirements/*.in into the lock files
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install $(PIP_FLAGS) -r requirements/ha.in -c requirements/ha-constraints.txt
	.venv-lock/bin/pip freeze --exclude-editable > requirements/ha.lock
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install $(PIP_FLAGS) -r requirements/ml.in
	.venv-lock/bin/pip freeze --exclude-editable > requirements/ml.lock
	rm -rf .venv-lock

.PHONY: browser
browser:  ## Install Debian's chromium for the dashboard's browser test
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Main job -------------------------------------------------------------------

.PHONY: demo
demo: venvs  ## Run a simulated node, Home Assistant and the dashboard
	scripts/demo

.PHONY: node
node: $(ML_VENV)/.installed  ## Run only a simulated node on 127.0.0.1:8765
	$(ML_PY) -m node --simulate --host 127.0.0.1 --data-dir .demo/node --no-zeroconf

.PHONY: models
models: $(ML_VENV)/.installed  ## Train the default models from the simulation
	$(ML_PY) -m trainer defaults --output models

.PHONY: check-models
check-models: $(ML_VENV)/.installed  ## Retrain the defaults and compare with the committed metrics
	$(ML_PY) -m trainer defaults --check models

# Checks ---------------------------------------------------------------------

.PHONY: lint
lint: venvs  ## ruff check and format check
	$(ML_VENV)/bin/ruff check .
	$(ML_VENV)/bin/ruff format --check .

.PHONY: typecheck
typecheck: venvs  ## mypy (strict) in both environments
	$(ML_VENV)/bin/mypy node trainer dashboard demo scripts/*.py
	$(ML_VENV)/bin/mypy --explicit-package-bases benchmarks
	for tests in tests/node tests/trainer tests/dashboard; do \
		$(ML_VENV)/bin/mypy $$tests || exit 1; done
	$(HA_VENV)/bin/mypy custom_components
	for tests in tests/ha tests/e2e; do $(HA_VENV)/bin/mypy $$tests || exit 1; done

.PHONY: test-node
test-node: $(ML_VENV)/.installed  ## Node tests with coverage (at least 90 %)
	mkdir -p $(TEST_OUTPUT)
	COVERAGE_FILE=$(TEST_OUTPUT)/.coverage.node $(ML_PY) -m pytest tests/node -q -p no:cacheprovider \
		--cov=node --cov-report=term-missing:skip-covered --cov-fail-under=90

.PHONY: test-trainer
test-trainer: $(ML_VENV)/.installed  ## Trainer tests with coverage (at least 90 %)
	mkdir -p $(TEST_OUTPUT)
	COVERAGE_FILE=$(TEST_OUTPUT)/.coverage.trainer $(ML_PY) -m pytest tests/trainer -q -p no:cacheprovider \
		--cov=trainer --cov-report=term-missing:skip-covered --cov-fail-under=90

.PHONY: test-dashboard
test-dashboard: $(ML_VENV)/.installed browser  ## Dashboard tests, headless Chromium included
	$(ML_PY) -m pytest tests/dashboard -q -p no:cacheprovider

.PHONY: test-ha
test-ha: $(HA_VENV)/.installed  ## Home Assistant integration tests (coverage at least 95 %)
	mkdir -p $(TEST_OUTPUT)
	COVERAGE_FILE=$(TEST_OUTPUT)/.coverage.ha $(HA_PY) -m pytest tests/ha -q -p no:cacheprovider \
		--cov=custom_components.smart_labeling --cov-report=term-missing:skip-covered \
		--cov-fail-under=95

.PHONY: test-e2e
test-e2e: venvs  ## A real node and a real Home Assistant, in a network namespace
	scripts/netns-run $(HA_PY) -m pytest tests/e2e -q -p no:cacheprovider

.PHONY: test
test:  ## Every check (the environments and the browser are set up in parallel first)
	$(MAKE) -j2 venvs browser
	$(MAKE) lint typecheck test-node test-trainer test-dashboard test-ha test-e2e

.PHONY: benchmarks
benchmarks: venvs  ## Print the benchmark figures
	$(ML_PY) benchmarks/node_latency.py
	$(ML_PY) benchmarks/trainer.py
	$(ML_PY) benchmarks/dashboard.py
	scripts/netns-run $(HA_PY) benchmarks/ha_latency.py

.PHONY: clean
clean:  ## Remove the environments, the demo's data and test output
	rm -rf $(HA_VENV) $(ML_VENV) .demo $(TEST_OUTPUT) .pytest_cache .mypy_cache .ruff_cache
