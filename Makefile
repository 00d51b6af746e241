# Two commands are all the set-up: `make lab` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=
PYTEST_ARGS ?=
# nbgrader shells out to alembic, which lives in the venv's bin/.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: lab test check lint format release run benchmarks pretrained clean-venv system-deps

# Debian packages the test suite needs (real-browser tests, grading sandbox); installed with apt
# when missing and we are root (CI), else we say what to install.
SYSTEM_PACKAGES := chromium bubblewrap

TORCH_INDEX := https://download.pytorch.org/whl/cpu

# binder/requirements.txt names PyTorch's CPU wheel index (Binder and laptops need it). Where that
# index is unreachable (an offline mirror, a CI sandbox) pip would retry it for every package, so we
# install the same pinned torch from the local wheels pip is configured with instead — and never
# fall back to PyPI's multi-GB CUDA build.
$(VENV)/pins.txt: binder/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@if $(PY) -c "import urllib.request as u; u.urlopen('$(TORCH_INDEX)/', timeout=5)" >/dev/null 2>&1; then \
		cp binder/requirements.txt $@; \
	else \
		echo "PyTorch's CPU index is unreachable: installing $$(grep '^torch==' binder/requirements.txt) from local wheels"; \
		$(PY) -m pip install --quiet --no-index --no-deps "$$(grep '^torch==' binder/requirements.txt)" \
		  || { echo "error: cannot reach $(TORCH_INDEX) and found no local CPU wheel of torch"; exit 1; }; \
		grep -v '^--extra-index-url' binder/requirements.txt > $@; \
	fi

$(VENV)/.runtime: $(VENV)/pins.txt pyproject.toml
	$(PY) -m pip install --quiet -r $(VENV)/pins.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	@grep -v '^-r ' requirements-dev.txt > $(VENV)/dev-pins.txt
	$(PY) -m pip install --quiet -r $(VENV)/dev-pins.txt
	@touch $@

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(VENV)/.runtime
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/lessons $(ALLOW_ROOT) $(ARGS)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "warning: please install these Debian packages for the full test suite:$$missing"; fi

test: $(VENV)/.dev system-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast tier for contributors (under 2 minutes on 2 cores, see CONTRIBUTING.md): lint, library,
# checks both ways, release sync; no notebook runs, long training, kernels or grading sandbox.
# `make test` stays the whole suite and is what CI runs. One torch thread per pytest worker;
# CHECK_WORKERS=0 runs it in one process.
CHECK_WORKERS ?= auto
check: $(VENV)/.dev lint
	OMP_NUM_THREADS=1 $(PY) -m pytest -m "not slow" -q -n $(CHECK_WORKERS) --maxprocesses=4 $(PYTEST_ARGS)

# Style (ruff, configured in pyproject.toml): part of `make check` and `make test`. `make format`
# applies the formatter and the safe fixes.
lint: $(VENV)/.dev
	$(VENV)/bin/ruff format --check --quiet . || { echo "lint: run 'make format'"; exit 1; }
	$(VENV)/bin/ruff check --quiet .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format --quiet .
	$(VENV)/bin/ruff check --fix --quiet .

release: $(VENV)/.runtime
	$(VENV)/bin/mesakit release

run: $(VENV)/.runtime
	$(VENV)/bin/mesakit run --solutions

# Rebuild every shipped checkpoint from its recipe (tools/pretrained.py); CHECK=1 compares fresh
# builds with the shipped files instead of overwriting them.
pretrained: $(VENV)/.runtime
	$(PY) tools/pretrained.py $(if $(CHECK),--check) $(ARGS)

benchmarks: $(VENV)/.runtime
	$(PY) benchmarks/course_budget.py

clean-venv:
	rm -rf $(VENV)
