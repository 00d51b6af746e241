# Two commands are all the set-up: `make lab` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=
PYTEST_ARGS ?=
# nbgrader shells out to alembic, which lives in the venv's bin/.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: lab test release run benchmarks clean-venv system-deps

# Debian packages the test suite needs (real-browser tests, grading sandbox); installed with apt
# when missing and we are root (CI), else we say what to install.
SYSTEM_PACKAGES := chromium bubblewrap

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

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing$$missing (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "warning: please install these Debian packages for the full test suite:$$missing"; fi

test: $(VENV)/.dev system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

release: $(VENV)/.runtime
	$(VENV)/bin/mesakit release

run: $(VENV)/.runtime
	$(VENV)/bin/mesakit run --solutions

benchmarks: $(VENV)/.runtime
	$(PY) benchmarks/course_budget.py

clean-venv:
	rm -rf $(VENV)
