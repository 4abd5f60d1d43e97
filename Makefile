# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: venv data demo test lint typecheck clean

venv: $(STAMP)

# torch goes first, pinned: its CPU wheel lies on this machine's disk, while an
# unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Fashion-MNIST comes from ../shared/datasets when present, else Debian's package.
SHARED_DATA := $(abspath ../shared/datasets)
DATA_ENV := $(if $(wildcard $(SHARED_DATA)/fashion-mnist),PIPETUNE_DATA=$(SHARED_DATA),)

data:
	@if [ -z "$(DATA_ENV)" ] && [ ! -d /usr/share/datasets/fashion-mnist ] && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; fi

# Headless Chromium for the report's browser tests (pytest -m browser); they skip without it.
.PHONY: chromium
chromium:
	@if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; } && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; fi

demo: $(STAMP) data
	cd examples/fashion-mnist && $(DATA_ENV) ../../$(BIN)/pipetune tune config.yaml

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/ruff format --check src tests examples benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck data chromium
	$(DATA_ENV) $(BIN)/python -m pytest

# The documentation site: reference pages generated from the code, then mkdocs build --strict.
.PHONY: docs
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
