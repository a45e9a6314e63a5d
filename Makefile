# The two commands: `make run` (install, materialize, start the Dagster UI) and `make test` (install, lint, validate the
# Dagster definitions, run every test).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/data/dagster
DAGSTER_HOST ?= 127.0.0.1
DAGSTER_PORT ?= 3000

.PHONY: install run test lint bench FORCE

# llama.cpp is compiled for the machine it is installed on, without -march=native: a native build picks up every
# kernel the CPU advertises, AMX's included, and those fault on some machines of this kind (ggml-org/llama.cpp#20824).
# The portable baseline (AVX2, FMA, F16C) runs on any x86-64 machine of the last decade; bench/llama_builds.py measured
# it against the AVX-512 and native builds here. Override for a GPU box or a known-good CPU, e.g.
#   make install LLAMA_CMAKE_ARGS="-DGGML_CUDA=ON -DLLAVA_BUILD=OFF"
# Changing the flags rebuilds llama-cpp-python on the next install; pip's wheel cache is never used for it, because
# pip keys a built wheel by name and version only, not by the flags or the CPU it was built for.
LLAMA_VERSION := $(shell sed -n 's/^ *"llama-cpp-python==\([^"]*\)",.*/\1/p' pyproject.toml)
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
# make test refuses a build compiled with these kernels (a native build on an AMX machine would have them).
LLAMA_FORBID ?= AMX
LLAMA_BUILD_ID := llama-cpp-python==$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)

install: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and alone, so the resolver never reaches for a CUDA build.
	$(BIN)/pip install "torch==2.13.0"

# Rewritten only when the build differs, so an unchanged build leaves everything after it alone.
$(VENV)/.llama-build: $(BIN)/python FORCE
	@if [ "$$(cat $@ 2>/dev/null)" != "$(LLAMA_BUILD_ID)" ]; then \
		echo "Building $(LLAMA_BUILD_ID) (about 5 minutes on 2 cores)"; \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
			$(BIN)/pip install --no-cache-dir --no-binary llama-cpp-python --force-reinstall --no-deps \
			"llama-cpp-python==$(LLAMA_VERSION)" && echo "$(LLAMA_BUILD_ID)" > $@; \
	fi

$(VENV)/.installed: pyproject.toml $(VENV)/.llama-build
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
	# The built llama.cpp's features and a generation in a child process, before anything depends on them.
	$(BIN)/python -m jiwa.llm.probe --forbid $(LLAMA_FORBID)
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Every module of bench/, model-free ones first and the llama.cpp builds (minutes of compiling each) last; each
# writes bench/results/<name>.json. BENCH_ARGS=--smoke runs each at its smallest, into bench/results/smoke/.
BENCHMARKS := retrieval retrieval_quality languages cache_matching cache_coverage persistence server_load claude_cost \
	week first_answer generation analysis nightly llama_contention llama_builds
BENCH_ARGS ?=

bench: install
	@set -e; for name in $(BENCHMARKS); do \
		echo "== bench.$$name"; $(BIN)/python -m bench.$$name $(BENCH_ARGS); \
	done
