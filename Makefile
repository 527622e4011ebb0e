# One line per habit. `make run` serves on embedded defaults; `make test` runs every check CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
# Everything stays inside the checkout: the tool venv, uv's cache and the project venv.
export UV_CACHE_DIR := $(CURDIR)/.cache/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11

.PHONY: help run serve test check lint fmt migrate bench clean

help:
	@echo "make run      serve WatchParty on embedded defaults (SQLite in ./var) and print its URL"
	@echo "make test     every check CI runs: format, lint, types, import rules, tests on PostgreSQL and SQLite"
	@echo "make lint     format check, ruff, mypy and import-linter only"
	@echo "make fmt      format the code"
	@echo "make migrate  upgrade the database to the latest schema"
	@echo "make bench    run the benchmarks in bench/ (writes docs/benchmarks.md)"

$(UV):
	@python3 -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	@$(UV) sync --frozen --quiet
	@touch $@

# The web client's libraries (hls.js; axe-core for the tests), exactly as package-lock.json pins them. Without
# npm the server still runs; only HLS playback is off, and the page says so.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the web client's libraries are not installed (HLS playback is off)"; fi

run serve: .venv/.synced node_modules/.installed
	@$(UV) run --frozen --no-sync watchparty serve

migrate: .venv/.synced
	@$(UV) run --frozen --no-sync watchparty migrate

lint: .venv/.synced
	$(UV) run --frozen --no-sync ruff format --check .
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync mypy
	$(UV) run --frozen --no-sync lint-imports

test check: lint node_modules/.installed
	$(UV) run --frozen --no-sync pytest
	@# SQLite: every integration test (the unit tests touch no database) but the authorization matrix (its 600
	@# cells are decided in Python, the same on both databases, and run on PostgreSQL above); CI stays within its
	@# half hour
	WATCHPARTY_TEST_DB=sqlite $(UV) run --frozen --no-sync pytest tests/integration \
		--ignore=tests/integration/test_authz_matrix.py

fmt: .venv/.synced
	$(UV) run --frozen --no-sync ruff format .
	$(UV) run --frozen --no-sync ruff check --fix .

bench: .venv/.synced
	$(UV) run --frozen --no-sync python -m bench

clean:
	rm -rf .venv $(TOOLS) .cache .mypy_cache .ruff_cache .pytest_cache
