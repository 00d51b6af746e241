# Two commands are all the set-up: `make lab` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=
PYTEST_ARGS ?=
# nbgrader shells out to alembic, which lives in the venv's bin/.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: lab test release run benchmarks clean-venv

$(VENV)/.runtime: binder/requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r binder/requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

lab: $(VENV)/.runtime
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/lessons $(ARGS)

test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

release: $(VENV)/.runtime
	$(VENV)/bin/mesakit release

run: $(VENV)/.runtime
	$(VENV)/bin/mesakit run --solutions

benchmarks: $(VENV)/.runtime
	$(PY) benchmarks/course_budget.py

clean-venv:
	rm -rf $(VENV)
