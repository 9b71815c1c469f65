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

# auto-sklearn needs Python 3.9 (pyenv's 3.9.18 here; AUTOML_PYTHON=... to override)
AUTOML_VENV := .venv-automl
AUTOML_STAMP := $(AUTOML_VENV)/.installed
AUTOML_CONSTRAINTS := src/genpipe/automl/constraints.txt
AUTOML_PYTHON ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.9.18/bin/python \
  $(HOME)/.pyenv/versions/3.9.18/bin/python) python3.9)
export GENPIPE_AUTOSKLEARN_PYTHON ?= $(CURDIR)/$(AUTOML_VENV)/bin/python

.PHONY: help install automl-env postgres run test test-fast repro pull mlflow-ui viz \
  optuna-dashboard lint bench lock clean results-doc

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}'

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

automl-env: $(AUTOML_STAMP) ## Create .venv-automl: Python 3.9 + auto-sklearn 0.15 (automl pipeline)

# pyrfr (SMAC's random forest) compiles with swig; installed with apt when missing.
$(AUTOML_STAMP): $(AUTOML_CONSTRAINTS)
	@command -v swig >/dev/null || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq swig) >/dev/null; \
	  else echo "automl-env: swig is missing; install it (apt-get install swig," \
	    "brew install swig) and run make automl-env again" >&2; exit 1; fi; }
	@$(AUTOML_PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 9)' 2>/dev/null || { \
	  echo "automl-env: auto-sklearn needs Python 3.9; '$(AUTOML_PYTHON)' is not one." \
	    "Install it (e.g. pyenv install 3.9.18) or pass AUTOML_PYTHON=/path/to/python3.9" >&2; \
	  exit 1; }
	@test -x $(AUTOML_VENV)/bin/python || $(AUTOML_PYTHON) -m venv $(AUTOML_VENV)
	$(AUTOML_VENV)/bin/python -m pip install -q --upgrade "pip>=24"
	$(AUTOML_VENV)/bin/python -m pip install -q -c $(AUTOML_CONSTRAINTS) \
	  "setuptools<70" wheel "Cython<3" "numpy<1.24"
	$(AUTOML_VENV)/bin/python -m pip install -q -c $(AUTOML_CONSTRAINTS) auto-sklearn
	$(AUTOML_VENV)/bin/python -c "import autosklearn; print('auto-sklearn', autosklearn.__version__)"
	@touch $@

# The tests of shared Optuna studies and of an MLflow server start a throw-away
# PostgreSQL server (tests/helpers/postgres.py); Debian's package is installed
# with apt when missing, without its default cluster (the tests make their own).
PG_INITDB = $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb) \
  $(shell command -v initdb 2>/dev/null))
postgres: ## Install PostgreSQL (apt) for the shared Optuna / MLflow store tests
	@test -n "$(PG_INITDB)" || { \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    (apt-get update -qq && apt-get install -y -qq postgresql-common && \
	     sed -i 's/^#*\s*create_main_cluster.*/create_main_cluster = false/' \
	       /etc/postgresql-common/createcluster.conf && \
	     apt-get install -y -qq postgresql) >/dev/null; \
	  else echo "postgres: PostgreSQL is missing; install it (apt-get install" \
	    "postgresql, brew install postgresql) and run make postgres again" >&2; \
	    exit 1; fi; }
	@ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null || command -v initdb

run: install automl-env ## Ingest all datasets and train everything: `kedro run` (base env)
	$(BIN)/kedro run

# Without PostgreSQL (and no root to install it) its tests skip, saying why;
# under CI (CI=true) they fail instead.
test: install automl-env ## Run the test suite (unit + `ci`-env pipeline runs)
	@$(MAKE) --no-print-directory postgres || echo "test: PostgreSQL is missing;" \
	  "the tests of shared Optuna / MLflow stores will skip" >&2
	$(BIN)/pytest

test-fast: install ## Unit tests only (skips end-to-end pipeline runs)
	$(BIN)/pytest -m "not slow"

repro: install automl-env ## Reproduce the DVC stages (`dvc repro`), each one a `kedro run`
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro  # stages call `kedro`

# `dvc pull` without its remote prints ~140 "Checkout failed" lines and never
# says why: the remote is checked first, in one line.
pull: install ## Restore the DVC-tracked outputs from the default remote (`dvc pull`)
	@name="$$($(BIN)/dvc config core.remote 2>/dev/null)"; \
	url="$$($(BIN)/dvc config "remote.$$name.url" 2>/dev/null)"; \
	if [ -z "$$name" ] || [ -z "$$url" ]; then \
	  echo "pull: no default DVC remote is configured (dvc remote add -d NAME URL);" \
	    "or rebuild every output with 'make repro'" >&2; exit 1; fi; \
	case "$$url" in *://*) ;; *) \
	  case "$$url" in /*) dir="$$url";; *) dir=".dvc/$$url";; esac; \
	  if [ ! -d "$$dir" ]; then \
	    echo "pull: the default DVC remote '$$name' ($$dir) does not exist; put that" \
	      "folder there, or rebuild every output with 'make repro'" >&2; \
	    exit 1; fi;; esac; \
	$(BIN)/dvc pull

mlflow-ui: install ## Open the MLflow UI on http://127.0.0.1:5000
	@echo "Runs of model training (MLflow 3 opens experiments in its GenAI view):" \
	  "http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db \
	  --host 127.0.0.1 --port 5000

# One family's DAG reads at a glance; the default pipeline (every node) does not.
VIZ_PIPELINE ?= vae
VIZ_PORT ?= 4141
viz: install ## Kedro-Viz on http://127.0.0.1:4141, one pipeline (VIZ_PIPELINE=vae)
	$(BIN)/kedro viz run --host 127.0.0.1 --port $(VIZ_PORT) --pipeline $(VIZ_PIPELINE)

# Any study storage: the embedded SQLite file by default, or a shared server,
# e.g. OPTUNA_STORAGE=postgresql://user@host:5432/optuna (docs/tracking.md).
OPTUNA_STORAGE ?= sqlite:///$(CURDIR)/data/07_model_output/optuna.db
OPTUNA_PORT ?= 8080
optuna-dashboard: install ## Optuna Dashboard on http://127.0.0.1:8080 (OPTUNA_STORAGE=url)
	$(BIN)/optuna-dashboard --host 127.0.0.1 --port $(OPTUNA_PORT) "$(OPTUNA_STORAGE)"

ENV ?= base
REPORT := $(if $(filter base,$(ENV)),data,data/$(ENV))/08_reporting/report
# RUN_COMMIT: the commit the run was made at (its MLflow tag
# mlflow.source.git.commit; default: HEAD). The recipe reads it from the
# environment, never spliced into its command line: backticks in it are
# printed, not run.
results-doc: ## Copy the generated trilemma report into docs/results.md (ENV=ci|base)
	@test -f $(REPORT)/trilemma.md || { echo "results-doc: $(REPORT)/trilemma.md" \
	  "is missing: run \`kedro run --env $(ENV)\` (or make run) first" >&2; exit 1; }
	@mkdir -p docs/img
	@{ echo "# Results: the trilemma report ($(ENV))"; echo; \
	  echo "Generated by \`kedro run --env $(ENV)\` at commit" \
	    "$${RUN_COMMIT:-$$(git rev-parse --short HEAD)}, copied verbatim from" \
	    "\`$(REPORT)/trilemma.md\` by \`make results-doc ENV=$(ENV)\` on $$(date -u +%F)."; \
	  echo "Nothing here is typed by hand; see [evaluation.md](evaluation.md) for" \
	    "what each column means."; echo; \
	  echo "![the trilemma](img/trilemma.png)"; echo; \
	  cat $(REPORT)/trilemma.md; } > docs/results.md
	@cp $(REPORT)/trilemma.png docs/img/trilemma.png
	@echo "wrote docs/results.md and docs/img/trilemma.png"

lint: install ## ruff
	$(BIN)/ruff check src tests benchmarks

bench: install ## Print the benchmark tables (benchmarks/; needs `make repro` outputs)
	$(BIN)/python benchmarks/bench_ingestion.py
	$(BIN)/python benchmarks/bench_evaluation.py
	$(BIN)/python benchmarks/bench_gnn.py
	$(BIN)/python benchmarks/bench_tabular.py --autosklearn
	$(BIN)/python benchmarks/bench_rl.py
	$(BIN)/python benchmarks/bench_likelihood.py
	$(BIN)/python benchmarks/bench_sampling.py
	$(BIN)/python benchmarks/bench_training.py --threads 1

lock: ## Re-pin constraints.txt from the current .venv
	$(BIN)/python -m pip freeze --exclude-editable | \
	  grep -v -E '^(genpipe|-e )' | \
	  sed -E 's/^torch==([0-9.]+)\+.*/torch==\1/' > constraints.txt  # any torch build

clean: ## Remove caches and checkpoints (keeps data outputs, runs and .venv)
	rm -rf .pytest_cache .ruff_cache data/06_models/checkpoints data/*/06_models/checkpoints
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
