# `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PORT ?= 8000

export PORT

.PHONY: run test lint format setup axe worker beat bench demo clean soak chaos

# axe-core (npm) for the browser tests' accessibility checks, in git-ignored var/axe.
AXE_VERSION := 4.10.3
AXE := var/axe/node_modules/axe-core/axe.min.js

$(STAMP): requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

$(AXE):
	@if command -v npm >/dev/null; then \
		mkdir -p var/axe && npm install --silent --no-audit --no-fund --prefix var/axe axe-core@$(AXE_VERSION); \
	else echo "npm not found: the accessibility checks will skip (CI=true fails them)"; fi

axe: $(AXE)

# Embedded defaults: SQLite, in-memory channel layer, eager Celery, the simulator.
run: export DEBUG ?= true
run: export SIMULATOR_ENABLED ?= true
run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: setup
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo ""
	@echo "  Admin:         http://127.0.0.1:$(PORT)/admin/"
	@echo "  Agent Desktop: http://127.0.0.1:$(PORT)/agent/"
	@echo "  Simulator:     http://127.0.0.1:$(PORT)/simulator/"
	@echo "  Health:        http://127.0.0.1:$(PORT)/healthz"
	@echo ""
	exec $(PY) -m contactcenter.server -b 127.0.0.1 -p $(PORT) contactcenter.asgi:application

demo: export DEBUG ?= true
demo: export SIMULATOR_ENABLED ?= true
demo: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup lint axe
	./scripts/run-tests.sh $(PYTEST_ARGS)

# The production shape: REDIS_URL and DATABASE_URL must be set.
worker: setup
	$(VENV)/bin/celery -A contactcenter worker --loglevel=INFO

beat: setup
	$(VENV)/bin/celery -A contactcenter beat --loglevel=INFO

# Own database (contactcenter_bench, dropped after) and Redis db 14; BENCH_QUICK=1 for a
# run of seconds. wrk drives the closed-loop peaks (installed from Debian when missing).
bench: setup
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "make bench needs wrk (apt-get install wrk)"; exit 1; }
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# Reliability (issue 12): load on both shapes, and faults on the production shape. Not in `make test`.
soak: setup
	$(PY) -m reliability.soak

chaos: setup
	$(PY) -m reliability.chaos
