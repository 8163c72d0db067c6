# kutui — every target creates .venv when it is missing, so `make demo` and `make test` work on a
# fresh machine with only Python 3.11+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-clock-shift lint bench snapshots-update clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

## demo: the TUI on the built-in KuCoin simulator with demo accounts in every state
demo: $(VENV)/.installed
	$(BIN)/kutui demo

## test: the whole suite (the real-keyring tests start their own D-Bus session + gnome-keyring)
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

## test-clock-shift: the whole suite again with kutui's one clock moved 400 days ahead (kutui/clock.py)
test-clock-shift: $(VENV)/.installed-test
	KUTUI_CLOCK_SHIFT_DAYS=400 $(BIN)/python -m pytest -q

## lint: ruff, mypy --strict, bandit, the layer contract (tests/layers.py)
lint: $(VENV)/.installed-test
	$(BIN)/python -m tests.layers
	$(BIN)/ruff check kutui tests bench
	$(BIN)/ruff format --check kutui tests bench
	$(BIN)/mypy
	$(BIN)/bandit -q -c pyproject.toml -r kutui

## bench: speed and memory figures (printed, never asserted)
bench: $(VENV)/.installed-test
	$(BIN)/python bench/vault.py
	$(BIN)/python bench/client.py
	$(BIN)/python bench/checks.py
	$(BIN)/python bench/tui.py
	$(BIN)/python bench/registry.py
	$(BIN)/python bench/yardstick.py --keys 1000 10000 --runs 3 2
	$(BIN)/python bench/openbao.py
	$(BIN)/python bench/completion.py

## snapshots-update: accept new snapshots (review snapshot_report.html first)
snapshots-update: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests -k snapshot --snapshot-update

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
