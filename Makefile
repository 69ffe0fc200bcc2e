# Topology: `make run` starts the product, `make test` checks it. Both set up what is missing.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# make run and make test are for development: DEBUG defaults to on, with a dev SECRET_KEY kept
# in var/. A deployment sets DEBUG=0 and its own SECRET_KEY (see compose/).
DEBUG ?= 1
export PORT DEBUG

.PHONY: run test setup packages services lint format bench stop

run: setup
	@$(PY) manage.py ensure_admin
	@echo "Topology on http://127.0.0.1:$(PORT)/ (Ctrl-C stops every process)"
	@exec $(VENV)/bin/honcho --no-colour start --procfile Procfile

test: export TOPOLOGY_OFFLINE = 1
test: setup lint
	@set +e; $(VENV)/bin/pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no test"; fi; exit $$status

setup: packages $(STAMP) node_modules/.package-lock.json services
	@$(PY) manage.py migrate --noinput -v 0
	@$(PY) manage.py collectstatic --noinput -v 0

packages:
	@scripts/provision.sh packages

services:
	@scripts/provision.sh services

stop:
	@scripts/provision.sh stop

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,postgres]'
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
	@for script in bench/*.py; do [ "$$(basename $$script)" = harness.py ] && continue; echo "== $$script"; $(PY) $$script || exit 1; done
