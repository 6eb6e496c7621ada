# Hiroba: `make demo` runs the hub with demo data; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HIROBA := $(VENV)/bin/hiroba
VENDOR := hub/static/vendor
export HIROBA_INSTANCE_DIR ?= $(CURDIR)/instance

.PHONY: setup assets translations demo test lint format pytest pytest-postgres bench clean

setup: $(VENV)/.installed assets translations

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Third-party front-end files come from the npm registry at set-up; git ignores the copies.
assets: node_modules/.installed
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/@picocss/pico/css/pico.classless.min.css $(VENDOR)/pico.classless.min.css

translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d hub/translations

demo: setup
	$(HIROBA) init
	$(HIROBA) demo
	$(HIROBA) serve

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check hub mailbridge tests bench
	$(VENV)/bin/ruff format --check hub mailbridge tests bench
	$(VENV)/bin/mypy

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix hub mailbridge tests bench
	$(VENV)/bin/ruff format hub mailbridge tests bench

pytest: setup
	$(PY) -m pytest -q

# The whole suite again on PostgreSQL when HIROBA_TEST_POSTGRES_URL is set (CI sets it).
pytest-postgres: setup
	@if [ -n "$$HIROBA_TEST_POSTGRES_URL" ]; then \
		HIROBA_TEST_DB=postgres $(PY) -m pytest -q; \
	else \
		echo "HIROBA_TEST_POSTGRES_URL is not set: the PostgreSQL run is skipped"; \
		if [ "$$CI" = "true" ]; then exit 1; fi; \
	fi

test: lint pytest pytest-postgres

bench: setup
	$(PY) bench/inbound.py --floor
	$(PY) bench/fanout.py
	$(PY) bench/digest.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) build dist *.egg-info
