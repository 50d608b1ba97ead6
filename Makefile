# Floorlink: two commands do all set-up on a fresh Debian / Raspberry Pi OS box.
#   make demo   the daemon with a simulated restaurant (private Mosquitto, SQLite, pty pager);
#               runtime dependencies only (.venv-demo), so it builds on a 32-bit Raspberry Pi too
#   make test   lint, then the whole suite against real parts (.venv, with the dev tools)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed
WHEELHOUSE ?= build/wheelhouse
TYPECHECK := build/typecheck/floorlink
CODE := daemon drivers bridge paging tests bench

.PHONY: all demo test lint fmt docs bench soak system-deps demo-deps venv demo-venv wheelhouse clean install uninstall screenshots fuzz

all: test

## System packages: installed with apt when running as root and something is missing.
## The demo needs Mosquitto and venv; the tests also need Chromium and systemd-analyze.
demo-deps:
	@$(MAKE) -s --no-print-directory _apt NEED_TEST=

system-deps:
	@$(MAKE) -s --no-print-directory _apt NEED_TEST=1

_apt:
	@missing=""; \
	command -v mosquitto >/dev/null || missing="$$missing mosquitto mosquitto-clients"; \
	if [ -n "$(NEED_TEST)" ]; then \
	  command -v chromium >/dev/null || missing="$$missing chromium chromium-driver"; \
	  command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	fi; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing  (run 'sudo apt-get install$$missing' or run make as root)"; exit 1; \
	  fi; \
	fi

## The venv with pinned dependencies, rebuilt when the pins change.
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v -i warning || true
	@touch $@

venv: system-deps $(STAMP)

## The demo's venv: requirements.lock and the package, nothing from the dev lock.
$(DEMO_STAMP): requirements.lock pyproject.toml
	@test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	$(DEMO_VENV)/bin/pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v -i warning || true
	@touch $@

demo-venv: demo-deps $(DEMO_STAMP)

## Wheels for a box with no route to a package index: run on a connected machine of the same
## architecture and Python, copy the folder over, then `sudo systemd/install.sh --wheelhouse DIR`.
wheelhouse:
	@mkdir -p $(WHEELHOUSE)
	$(PYTHON) -m pip download -q --disable-pip-version-check -d $(WHEELHOUSE) -r requirements.lock
	$(PYTHON) -m pip wheel -q --disable-pip-version-check --no-deps -w $(WHEELHOUSE) .
	@ls $(WHEELHOUSE)/floorlink-*.whl

## mypy does not follow setuptools' editable import hook, so it reads the package through a link tree.
$(TYPECHECK):
	@mkdir -p $@
	@for d in daemon drivers bridge paging; do ln -sfn ../../../$$d $@/$$d; done

lint: venv $(TYPECHECK)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	MYPYPATH=build/typecheck $(BIN)/mypy -p floorlink
	MYPYPATH=build/typecheck:tests $(BIN)/mypy tests $(wildcard bench/*.py)

fmt: venv
	$(BIN)/ruff check --fix $(CODE)
	$(BIN)/ruff format $(CODE)

test: lint
	$(BIN)/pytest -q

demo: demo-venv
	$(DEMO_VENV)/bin/python -m floorlink.daemon.demo

## Documents generated from the code (docs/table-rules.md from daemon/core/rules.py).
docs: venv
	$(BIN)/python -m floorlink.daemon.docgen

## Speed and memory beside their floors (bench/run.py, about 10 minutes on an idle machine;
## FLOORLINK_BENCH_QUICK=1 for a one-minute smoke run): bench/results.json, docs/bench-latency.png.
bench: venv
	$(BIN)/python bench/run.py

## A compressed week of dinner services (bench/soak.py), then the crash/broker/power-loss tests
## with many more cycles than `make test` runs.
HOURS ?= 1
soak: venv
	FLOORLINK_SOAK_HOURS=$(HOURS) $(BIN)/python bench/soak.py
	@if [ -f tests/integration/test_what_held.py ]; then \
	  FLOORLINK_SOAK_CYCLES=200 $(BIN)/pytest -q tests/integration/test_what_held.py; \
	else \
	  echo "tests/integration/test_what_held.py is not in this tree: the long crash, broker and power-loss cycles were not run"; \
	fi

install:
	./systemd/install.sh

uninstall:
	./systemd/install.sh --uninstall

clean:
	rm -rf build $(VENV) $(DEMO_VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info

## The README's and docs/ screenshots, from the real example floor in real Chromium.
screenshots: venv
	FLOORLINK_SCREENSHOTS=docs $(BIN)/pytest -q tests/http/test_layout.py -k example

## Many more Hypothesis examples for the hostile-input tests than `make test` runs.
fuzz: venv
	FLOORLINK_FUZZ_EXAMPLES=5000 $(BIN)/pytest -q tests/drivers/test_pos_fuzz.py tests/http/test_hostile.py
