# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint fmt typecheck pytest install clean bench browser-deps

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## run: the service on the embedded default (SQLite in var/, local mode, embedded NLU)
run: $(STAMP)
	$(BIN)/sheli db upgrade
	$(BIN)/sheli serve --host $(HOST) --port $(PORT)

## test: lint, types, then every test
test: $(STAMP) browser-deps lint typecheck pytest

# Debian's Chromium (never a downloaded browser) and a CJK font for the browser tests and screenshots.
# Without root or apt the browser tests are skipped, and say why.
browser-deps:
	@if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi 'cjk\|wqy'; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
		|| echo "browser-deps: could not install chromium; browser tests will be skipped"; \
	else echo "browser-deps: chromium missing and cannot apt-get; browser tests will be skipped"; fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q -rs $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/webhook_bench.py
	$(BIN)/python bench/nlu_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

include nlu/rasa/rasa.mk
