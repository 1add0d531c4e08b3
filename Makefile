# ShopQL developer entry points. `make run` and `make test` work on a fresh Debian machine:
# they create .venv, install the package, and (for tests) install PostgreSQL from Debian.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON3 ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
SHOPQL := $(VENV)/bin/shopql
STAMP := $(VENV)/.installed
RUN_HOST ?= 127.0.0.1
RUN_PORT ?= 8080
PYTEST_ARGS ?=
# Test processes (pytest-xdist): each has its own servers and throwaway PostgreSQL. Work
# stealing keeps both busy to the end (whole modules per process left one running a long
# module alone: 7.0 min against 5.4). TEST_WORKERS=0 runs in-process.
TEST_WORKERS ?= auto
BENCH_ARGS ?=

# Root installs system packages directly; anyone else goes through sudo when it exists.
SUDO := $(shell if [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then echo sudo; fi)
APT_GET = $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: help venv install run test bench schema clients postgres python-system node wrk clean

help: ## List the targets
	@echo "ShopQL make targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "Variables: PYTEST_ARGS='...' and TEST_WORKERS=N for test, BENCH_ARGS='...' for bench, RUN_HOST/RUN_PORT for run"

venv: $(STAMP) ## Create .venv and install the package with its test extra
install: $(STAMP) ## Same as venv

$(PYTHON):
	@if ! command -v $(PYTHON3) >/dev/null 2>&1 || ! $(PYTHON3) -c 'import ensurepip, venv' 2>/dev/null; then \
		$(MAKE) --no-print-directory python-system; \
	fi
	$(PYTHON3) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }
	$(PYTHON) -m pip install --quiet --upgrade pip || { rm -rf $(VENV); exit 1; }

# Re-installs only when pyproject.toml changes (the install is editable, code changes need nothing).
$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install -e '.[test]'
	@touch $@

python-system: ## Install python3 + venv from Debian (used by venv when missing)
	@if [ "$$(id -u)" != 0 ] && [ -z "$(SUDO)" ]; then \
		echo "python3 with venv support is missing and installing it needs root (or sudo)." >&2; exit 1; \
	fi
	$(APT_GET) update
	$(APT_GET) install -y --no-install-recommends python3 python3-venv python3-pip

# Tests and benchmarks start their own throwaway server (tests/support/postgres.py); this only
# makes sure the Debian binaries and pg_trgm are there. No cluster is created or started.
postgres: ## Install PostgreSQL server + contrib (pg_trgm) from Debian if absent
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
			&& ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1; then \
		echo "PostgreSQL present: $$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"; \
	else \
		if [ "$$(id -u)" != 0 ] && [ -z "$(SUDO)" ]; then \
			echo "PostgreSQL is missing and installing it needs root (or sudo): sudo make postgres" >&2; \
			exit 1; \
		fi; \
		echo "Installing PostgreSQL from Debian packages"; \
		$(APT_GET) update; \
		$(APT_GET) install -y --no-install-recommends postgresql-common; \
		$(SUDO) sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*$$/create_main_cluster = false/' \
			/etc/postgresql-common/createcluster.conf; \
		$(APT_GET) install -y --no-install-recommends postgresql postgresql-contrib; \
		ls /usr/lib/postgresql/*/bin/initdb /usr/share/postgresql/*/extension/pg_trgm.control; \
	fi

run: $(STAMP) ## Migrate, load demo data once, serve on http://127.0.0.1:8080 (GraphiQL at /graphql)
	$(SHOPQL) migrate
	$(SHOPQL) seed-demo --if-empty
	$(SHOPQL) serve --host $(RUN_HOST) --port $(RUN_PORT)

test: $(STAMP) postgres ## Run the whole suite on SQLite and PostgreSQL (PYTEST_ARGS=...)
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist worksteal $(PYTEST_ARGS)

bench: $(STAMP) postgres wrk ## Run the benchmarks (BENCH_ARGS=...)
	$(PYTHON) -m bench $(BENCH_ARGS)

schema: $(STAMP) ## Write the GraphQL SDL to schema.graphql
	$(SHOPQL) export-schema > schema.graphql.tmp
	mv schema.graphql.tmp schema.graphql

wrk: ## Install the wrk load generator from Debian if absent (benchmarks)
	@if command -v wrk >/dev/null 2>&1; then echo "wrk present"; else \
		$(APT_GET) update; $(APT_GET) install -y --no-install-recommends wrk; fi

node: ## Install Node.js + npm from Debian if npm is absent
	@if command -v npm >/dev/null 2>&1; then \
		echo "npm present: $$(npm --version)"; \
	else \
		if [ "$$(id -u)" != 0 ] && [ -z "$(SUDO)" ]; then \
			echo "npm is missing and installing it needs root (or sudo): sudo make node" >&2; exit 1; \
		fi; \
		$(APT_GET) update; \
		$(APT_GET) install -y --no-install-recommends nodejs npm; \
	fi

clients: schema node ## Generate and type-check the TypeScript clients in clients/
	npm --prefix clients ci
	npm --prefix clients run codegen
	npm --prefix clients run typecheck

clean: ## Remove .venv, caches, build output and local SQLite databases
	rm -rf $(VENV) .pytest_cache .hypothesis build dist *.egg-info schema.graphql.tmp
	rm -rf clients/node_modules clients/generated
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f shopql.db shopql.db-wal shopql.db-shm shopql.db-journal
