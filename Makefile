# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test test-fast install install-test lint format

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

install: $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements/base.txt

install-test: $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements/dev.txt
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null; }

# Install and run Parley (embedded SQLite and Redis unless DATABASE_URL / REDIS_URL are set).
run: install
	$(PY) manage.py runparley

# Install the test dependencies and run the whole suite (PostgreSQL and Redis on 127.0.0.1).
test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

# The fast tier: no browser, no live server.
test-fast:
	$(PY) -m pytest -m "not browser and not live"

lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format:
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .
