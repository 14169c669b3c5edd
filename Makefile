# PixelsCleared — the two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONFIG ?= config.example.yaml
# Flags for the demo, e.g. make run DEMO_ARGS='--port 8081 --shop-port 3001 --tiktok-port 9301'
DEMO_ARGS ?=

# Find a Python >= 3.12 (mitmproxy 12 needs it): PYTHON (make variable or environment),
# python3.13/3.12/python3 on PATH, then pyenv. $(PYTHON), not $$PYTHON: a variable given on make's
# command line (as .ci/run does) does not reach $(shell ...) through the environment.
find_python = $(shell \
  for c in "$(PYTHON)" python3.13 python3.12 python3 \
      $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
    [ -n "$$c" ] || continue; \
    p=$$(command -v "$$c" 2>/dev/null) || continue; \
    "$$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$$p"; break; }; \
  done)

.PHONY: help venv run test lint bench check-config clean

help:
	@echo "make run    - create .venv, install, start the demo (shop + sidecar + TikTok stand-in)"
	@echo "              other ports: make run DEMO_ARGS='--port 8081 --shop-port 3001 --tiktok-port 9301'"
	@echo "make test   - type-check and lint (make lint), then run the test suite"
	@echo "make bench  - run the benchmarks (figures go in README)"

$(STAMP): pyproject.toml
	@if [ ! -x "$(PY)" ]; then \
	  py="$(find_python)"; \
	  if [ -z "$$py" ]; then \
	    echo "error: PixelsCleared needs Python >= 3.12 (mitmproxy 12 requires it) and none was found." >&2; \
	    echo "       Install one (e.g. 'apt-get install python3.12 python3.12-venv', or 'pyenv install 3.12')," >&2; \
	    echo "       or point to it: make run PYTHON=/path/to/python3.12" >&2; \
	    exit 1; \
	  fi; \
	  echo "creating $(VENV) with $$py ($$($$py --version))"; \
	  "$$py" -m venv "$(VENV)" || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pixelscleared demo $(DEMO_ARGS)

test: lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

# mypy (strict, pydantic plugin) over src/ and ruff's small rule set; settings in pyproject.toml
lint: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff check src tests bench addon

bench: $(STAMP)
	$(PY) bench/run.py

check-config: $(STAMP)
	$(VENV)/bin/pixelscleared check-config -c $(CONFIG)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache build *.egg-info src/*.egg-info
