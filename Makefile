# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test test-fast test-slow test-browser test-live test-suites test-js test-embedded install install-test lint format

# Each tier of the suite gets its own test database, ports and data directory, so the
# three can run side by side (`make test`) or beside a developer's other run.
TEST_DB ?= $(or $(PARLEY_TEST_DB_NAME),test_parley)
TEST_PORTS ?= $(or $(PARLEY_TEST_PORT_BASE),8160)
TIER = PARLEY_TEST_DB_NAME=$(TEST_DB)_$(1) PARLEY_TEST_PORT_BASE=$$(( $(TEST_PORTS) + $(2) )) \
  PARLEY_DATA_DIR=$(CURDIR)/var/test-$(1)

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
	@test -x /usr/sbin/haproxy || { \
	  echo "Installing Debian's haproxy for the topology test (deploy/install.sh)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
	@test -x /usr/sbin/pgbouncer || { \
	  echo "Installing Debian's pgbouncer for the transaction-pooling test…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }

# Install and run Parley (embedded SQLite and Redis unless DATABASE_URL / REDIS_URL are set).
run: install
	$(PY) manage.py runparley

# Install the test dependencies and run the whole suite (PostgreSQL and Redis on 127.0.0.1).
test: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(MAKE) test-js
	$(MAKE) test-suites

# The four tiers at once, each tier's output printed whole when it ends (the slow tier's
# two halves side by side: most of their time is spent waiting on servers and browsers).
# The CPU-bound tiers run niced: the browsers and live servers wait on timers and sockets,
# and must not starve behind them (their deadlines are real time, not CPU time).
test-suites:
	$(MAKE) -j4 --output-sync=target --no-print-directory test-browser test-live test-fast test-embedded NICE="nice -n 10"

# The browser protocol client's unit tests (static/parley/client/; tests/js/), in Node
# with vitest, pinned by package-lock.json. Needs node (>= 20.19) and npm.
test-js:
	npm ci --no-audit --no-fund
	npx --no-install vitest run

# The embedded tier: the same suite on SQLite with the in-memory layer and broker, as
# `make run` starts without DATABASE_URL / REDIS_URL (what needs PostgreSQL or a Redis
# server skips and says so; the browser tier needs PostgreSQL). About a minute here.
test-embedded:
	$(call TIER,embedded,200) PARLEY_TEST_EMBEDDED=1 $(NICE) $(PY) -m pytest -p no:cacheprovider -m "not browser" $(PYTEST_ARGS)

# The fast tier: no browser, no live server.
test-fast:
	$(call TIER,fast,100) $(NICE) $(PY) -m pytest -p no:cacheprovider -m "not browser and not live" $(PYTEST_ARGS)

# The slow tier: real Chromium, live servers, worker processes and stress runs, in two
# halves that run side by side.
test-slow:
	$(MAKE) -j2 --output-sync=target --no-print-directory test-browser test-live

test-browser:
	$(call TIER,browser,0) $(PY) -m pytest -p no:cacheprovider -m "browser" $(PYTEST_ARGS)

test-live:
	$(call TIER,live,300) $(PY) -m pytest -p no:cacheprovider -m "live and not browser" $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

format:
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .
