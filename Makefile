# Swarm Workshop Kit
#   make lab    set up this host, build the images, bring the lab up, serve the notebooks
#   make test   set up this host, then run every test (unit, lab, notebooks, browser)
# Other targets: setup, engine, status, doctor, down, lint, bench, clean.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JUPYTER_PORT ?= 8888
JUPYTER_ARGS ?=

export VAGRANT_CHECKPOINT_DISABLE := 1
export VAGRANT_BOX_UPDATE_CHECK_DISABLE := 1

.PHONY: lab test setup setup-test host host-test venv engine status doctor down lint bench clean

lab: setup engine
	$(BIN)/workshop up
	$(BIN)/workshop status
	VENV=$(VENV) scripts/jupyter.sh --ServerApp.port=$(JUPYTER_PORT) $(JUPYTER_ARGS)

test: setup-test
	scripts/run-tests.sh

setup: host venv
setup-test: host-test venv

host:
	scripts/host-setup.sh

host-test:
	scripts/host-setup.sh --test

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

engine:
	scripts/engine.sh start

status:
	$(BIN)/workshop status

doctor:
	$(BIN)/workshop doctor

down:
	$(BIN)/workshop down

lint: venv
	$(BIN)/ruff check workshop tests
	$(BIN)/ruff format --check workshop tests
	$(BIN)/mypy workshop

bench: setup engine
	$(BIN)/python -m workshop.bench

clean: down
	rm -rf $(VENV) .workshop build *.egg-info
