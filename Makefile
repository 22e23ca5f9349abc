# The two commands of the README's quick start. Each creates its own virtualenv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench

$(BIN)/seller-sentinel: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/seller-sentinel
	$(BIN)/seller-sentinel demo

test: $(BIN)/seller-sentinel
	$(BIN)/python -m pytest -q -n auto

bench: $(BIN)/seller-sentinel
	$(BIN)/python -m bench.run
