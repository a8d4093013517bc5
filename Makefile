# zhicheng 智城 — `make help` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export ZHICHENG_DATABASE_URL ?= sqlite:///var/zhicheng.db
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help demo serve install test test-sqlite test-pg lint bench bench-deps browser-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed ## create .venv, install Python and front-end packages

demo: install ## install, migrate, load the demo city and serve on http://127.0.0.1:8000
	@mkdir -p var
	$(VENV)/bin/zhicheng db upgrade
	$(VENV)/bin/zhicheng demo load
	$(VENV)/bin/zhicheng serve --host $(HOST) --port $(PORT)

serve: install ## serve without reloading the demo
	$(VENV)/bin/zhicheng serve --host $(HOST) --port $(PORT)

browser-deps: ## Debian's chromium and CJK fonts for the browser tests (when apt is available)
	@if dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-noto-cjk >/dev/null) || \
	   echo "could not install chromium: browser tests will be skipped (required under CI=true)"); \
	else echo "no chromium and no apt: browser tests will be skipped (required under CI=true)"; fi

test: install browser-deps lint ## lint, then the whole suite on SQLite and on PostgreSQL, browser tests included
	$(MAKE) test-sqlite
	$(MAKE) test-pg

test-sqlite:
	ZHICHENG_TEST_DB=sqlite $(PY) -m pytest -q $(PYTEST_ARGS)

test-pg:
	ZHICHENG_TEST_DB=$(PG_TEST_URL) $(PY) -m pytest -q $(PYTEST_ARGS)

lint: install ## ruff
	$(VENV)/bin/ruff check src tests bench

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e '.[test,bench]'
	@touch $@

bench-deps: $(VENV)/.bench-installed ## Datasette (PyPI) and wrk (Debian) for the side-by-side benchmarks
	@command -v wrk >/dev/null || (apt-get install -y -q wrk >/dev/null 2>&1 || \
	  (apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null)) || echo "could not install wrk"

bench: install bench-deps ## benchmarks with their figures (see bench/README.md)
	$(PY) bench/run.py $(BENCH_ARGS)

clean: ## remove the virtualenv, node_modules and local data
	rm -rf $(VENV) node_modules var
