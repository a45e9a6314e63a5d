# The two commands: `make run` (install, materialize, start the Dagster UI) and `make test` (install, lint, validate the
# Dagster definitions, run every test).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster
DAGSTER_HOST ?= 127.0.0.1
DAGSTER_PORT ?= 3000

.PHONY: install run test lint bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and alone, so the resolver never reaches for a CUDA build.
	$(BIN)/pip install "torch==2.13.0"
	$(BIN)/pip install -e ".[dev]"
	touch $@

run: install
	mkdir -p $(DAGSTER_HOME)
	cp -n pipelines/dagster.yaml $(DAGSTER_HOME)/dagster.yaml || true
	# What needs no model first: the curated base and a team-only response cache (seconds).
	$(BIN)/python -m pipelines.bootstrap
	# The chat server answers from here on; LLAMA's work is queued as runs in the Dagster UI. One Ctrl-C stops all.
	exec $(BIN)/python -m pipelines.supervise \
		-- $(BIN)/python -m serving \
		-- $(BIN)/python -m pipelines.bootstrap --enqueue --host $(DAGSTER_HOST) --port $(DAGSTER_PORT) \
		-- $(BIN)/dagster dev -w workspace.yaml -h $(DAGSTER_HOST) -p $(DAGSTER_PORT)

test: install lint
	mkdir -p $(DAGSTER_HOME)
	cp -n pipelines/dagster.yaml $(DAGSTER_HOME)/dagster.yaml || true
	$(BIN)/dagster definitions validate -w workspace.yaml
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench.retrieval
	$(BIN)/python -m bench.generation
	$(BIN)/python -m bench.server_load
	$(BIN)/python -m bench.analysis
	$(BIN)/python -m bench.cache_matching
	$(BIN)/python -m bench.languages
	$(BIN)/python -m bench.first_answer
	$(BIN)/python -m bench.nightly
	$(BIN)/python -m bench.persistence
