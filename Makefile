# Two commands on a fresh machine:
#   make smoke   # set up, then run the whole DAG on synthetic data (the quick start here)
#   make test    # set up, then run the test suite
# `make full` runs the write-ups' real settings (needs the datasets' hosts or a mirror).
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2
SNAKEMAKE := $(VENV)/bin/snakemake

.PHONY: setup system-deps smoke full test lint format report clean-smoke

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

setup: $(VENV)/.installed

# Debian packages for the browser and Slurm tests (root; skipped when already there).
system-deps:
	bash .ci/install-system-deps.sh

smoke: setup
	$(SNAKEMAKE) --cores $(CORES) --config preset=smoke

full: setup
	$(SNAKEMAKE) --cores $(CORES) --resources gpu=1

report: setup
	$(SNAKEMAKE) --cores $(CORES) --config preset=smoke --report results/smoke-report.zip

# The suite on TEST_WORKERS pytest-xdist workers (tests/conftest.py keeps the tests that share
# a fixture on one worker: the smoke build, the Slurm cluster, a module's); 0: one process.
TEST_WORKERS ?= 2
test: setup system-deps
	$(VENV)/bin/pytest -q -rs --durations=30 -n $(TEST_WORKERS)

# snakemake --lint, and the Snakefile and rules/ formatted by snakefmt (pinned).
lint: setup
	$(SNAKEMAKE) --lint
	$(VENV)/bin/snakefmt --check Snakefile rules/

format: setup
	$(VENV)/bin/snakefmt Snakefile rules/
