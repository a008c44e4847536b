# madoguchi developer commands. `make run` and `make test` are the README's two commands.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test install lint format bench clean-var check-deploy loadtest loadtest-short

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

## Set everything up on the embedded default (SQLite, ./var) and start http://127.0.0.1:8000/
run: install
	$(BIN)/madoguchi migrate --noinput
	$(BIN)/madoguchi collectstatic --noinput -v0
	$(BIN)/madoguchi seed_demo --sample-cases
	@bash tools/ensure-fonts.sh || true
	$(BIN)/madoguchi link_base --serving 127.0.0.1:8000
	$(BIN)/madoguchi runserver 127.0.0.1:8000

## The whole test suite: SQLite, then PostgreSQL (DATABASE_URL_PG), browser tests included.
test: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports
	bash tools/run-tests.sh

lint:
	$(BIN)/ruff check src tests bench tools

format:
	$(BIN)/ruff format src tests bench tools

## Benchmarks (figures printed, never asserted in unit tests)
bench: install
	$(BIN)/python bench/run.py

## The cluster load test with faults (bench/load/cluster.py): 2 app servers behind HAProxy,
## 2 Celery workers, beat, PostgreSQL, Redis, S3; 1,000,000 generated applications. Prints
## submissions/s, p50/p95/p99 per request, errors; exit 1 when a check after the faults fails.
loadtest: install
	$(BIN)/python bench/load/cluster.py --sweep 4,8,16

## The same, short (a few minutes, faults included): what CI runs.
loadtest-short: install
	$(BIN)/python bench/load/cluster.py --short

## Deployment artifacts: render the Kustomize overlays and check them (schemas, checkov,
## hadolint), without a cluster or Docker.
check-deploy:
	bash tools/check-deploy.sh
