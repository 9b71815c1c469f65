# genpipe — `make help` lists the targets. Every target sets itself up: a fresh
# clone needs only `make run` (or `make test`).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0

# Nothing may prompt or phone home (CI has no stdin and no network).
export DO_NOT_TRACK := true
export KEDRO_DISABLE_TELEMETRY := 1
export MLFLOW_DISABLE_TELEMETRY := true
export PYTHONHASHSEED := 0

.PHONY: help install run test test-fast repro mlflow-ui lint bench lock clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-11s\033[0m %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install genpipe (torch first; idempotent)

# torch goes in before the project: `torch==2.13.0` takes this machine's CPU
# wheel. A GPU user who installed a CUDA build of 2.13 into .venv keeps it.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -c "import torch" 2>/dev/null || \
	  $(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	@touch $@

run: install ## Ingest all datasets and train everything: `kedro run` (base env)
	$(BIN)/kedro run

test: install ## Run the test suite (unit + `ci`-env pipeline runs)
	$(BIN)/pytest

test-fast: install ## Unit tests only (skips end-to-end pipeline runs)
	$(BIN)/pytest -m "not slow"

repro: install ## Reproduce the DVC stages (`dvc repro`), each one a `kedro run`
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro  # stages call `kedro`

mlflow-ui: install ## Open the MLflow UI on http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db \
	  --host 127.0.0.1 --port 5000

lint: install ## ruff
	$(BIN)/ruff check src tests benchmarks

bench: install ## Print the benchmark tables (benchmarks/; needs `make repro` outputs)
	$(BIN)/python benchmarks/bench_ingestion.py
	$(BIN)/python benchmarks/bench_evaluation.py
	$(BIN)/python benchmarks/bench_gnn.py
	$(BIN)/python benchmarks/bench_rl.py

lock: ## Re-pin constraints.txt from the current .venv
	$(BIN)/python -m pip freeze --exclude-editable | \
	  grep -v -E '^(genpipe|-e )' | \
	  sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/' > constraints.txt  # any torch build

clean: ## Remove caches and checkpoints (keeps data outputs, runs and .venv)
	rm -rf .pytest_cache .ruff_cache data/06_models/checkpoints
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
