# Exchange — `make help` lists the targets.
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app exchange
HOST ?= 127.0.0.1
PORT ?= 5000

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/activate:
	python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed translations ## Install the app and its development tools into .venv

translations: $(VENV)/.installed ## Compile the message catalogues
	$(BIN)/pybabel -q compile -d exchange/translations

run: install ## Migrate, load the demo college (once) and serve on http://$(HOST):$(PORT) (HOST, PORT)
	$(FLASK) db upgrade
	$(FLASK) seed-demo --address http://$(HOST):$(PORT)
	$(FLASK) run --host $(HOST) --port $(PORT)

serve: install ## Migrate, then serve with gunicorn (gunicorn.conf.py; EXCHANGE_BIND, WEB_CONCURRENCY)
	$(FLASK) db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py

test: install browser verifier ## Run the whole test suite (set TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/pytest

browser: ## Make sure Debian's Chromium is there for the browser tests
	@./scripts/ensure-chromium

verifier: ## Install the independent Open Badges verifier of the tests (npm, pinned, into .verifier/)
	@./scripts/ensure-verifier

lint: install ## ruff check, format check and the import contract (lint-imports)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

fmt: install ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

type: install ## mypy (strict on the pure modules)
	$(BIN)/mypy

messages: install ## Extract marked strings and update the catalogues
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -o exchange/translations/messages.pot .
	$(BIN)/pybabel -q update -i exchange/translations/messages.pot -d exchange/translations

lighthouse: install ## Lighthouse on the main pages as a phone sees them (npm's lighthouse, Debian's Chromium)
	@./scripts/ensure-chromium
	$(BIN)/python bench/lighthouse.py

bench: install ## Figures at province scale (SQLite; also PostgreSQL with BENCH_DATABASE_URL), a staff import and the reports
	@./scripts/ensure-wrk
	env -u BENCH_DATABASE_URL $(BIN)/python bench/province.py
	@if [ -n "$$BENCH_DATABASE_URL" ]; then \
		echo "$(BIN)/python bench/province.py  # on PostgreSQL"; \
		$(BIN)/python bench/province.py; \
	fi
	$(BIN)/python bench/import_users.py
	env -u BENCH_DATABASE_URL $(BIN)/python bench/reports.py
	@if [ -n "$$BENCH_DATABASE_URL" ]; then \
		echo "$(BIN)/python bench/reports.py  # on PostgreSQL"; \
		$(BIN)/python bench/reports.py; \
	fi

load: install ## Load and fault runs under gunicorn -w 4 (SQLite; PostgreSQL too when LOAD_DATABASE_URL is set)
	env -u LOAD_DATABASE_URL $(BIN)/python bench/load.py
	@if [ -n "$$LOAD_DATABASE_URL" ]; then echo; $(BIN)/python bench/load.py; fi

e2e: install browser ## Only the browser tests (phone-sized Chromium)
	$(BIN)/pytest tests/e2e

fuzz: install ## Fuzz the API against its OpenAPI document (schemathesis; teacher, head, admin)
	$(BIN)/python scripts/fuzz-api

.PHONY: help install translations run serve test browser verifier lint fmt type messages bench lighthouse load e2e fuzz
