# Keystage: two commands. `make run` sets everything up and serves the app; `make test` sets up
# what the tests need and runs them on SQLite and then PostgreSQL.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The PostgreSQL pass uses DATABASE_URL when it names PostgreSQL, else the local server.
PG_URL ?= $(if $(findstring postgres,$(DATABASE_URL)),$(DATABASE_URL),postgres://postgres@127.0.0.1:5432/test)
PYTEST_WORKERS ?= 2

.PHONY: run setup test test-sqlite test-postgres lint chromium bench clean

run: setup var/secret_key
	$(BIN)/keystage migrate --noinput
	$(BIN)/keystage demo --if-empty
	$(BIN)/keystage serve --port $(PORT)

setup: $(VENV)/.installed node_modules/.installed var

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Keystage needs Python 3.11 (set PYTHON=/path/to/python3.11)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

var:
	mkdir -p var

# The local copy's own signing key, made once and kept (settings read var/secret_key when the
# SECRET_KEY environment variable is unset; outside DEBUG and tests there is no built-in key).
var/secret_key: | var
	umask 077 && $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $@

# Debian's Chromium drives the browser tests; install it when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: setup
	$(BIN)/ruff check keystage bench

test: setup chromium lint test-sqlite test-postgres

test-sqlite: setup
	DATABASE_URL=sqlite:///var/test.sqlite3 $(BIN)/pytest -n $(PYTEST_WORKERS) -q

# On CI the PostgreSQL pass must run; elsewhere it is skipped with a warning when no server answers.
test-postgres: setup
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$(PG_URL)" 2>/dev/null; then \
	  DATABASE_URL="$(PG_URL)" $(BIN)/pytest -n $(PYTEST_WORKERS) -q; \
	elif [ -n "$$CI" ]; then \
	  echo "PostgreSQL at $(PG_URL) does not answer: the PostgreSQL pass must run on CI."; exit 1; \
	else \
	  echo "WARNING: PostgreSQL at $(PG_URL) does not answer; PostgreSQL pass skipped."; \
	fi

# Benchmarks use scratch var folders, so they are given the key through the environment.
bench: setup var/secret_key
	SECRET_KEY="$$(cat var/secret_key)" $(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules var/static
