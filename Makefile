# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist workers ("auto": one per CPU; 0 runs everything in one process).
PYTEST_WORKERS ?= auto
# What git says about the working tree, to check that a test run leaves it as it found it.
TREE_STATE = { git status --porcelain --untracked-files=all; git diff --no-ext-diff | cksum; } 2>/dev/null

.PHONY: run test lint fmt typecheck pytest install clean bench browser-deps screenshots import-graph

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

## lint: ruff, the import contracts in pyproject.toml, and a warning if docs/architecture.md's graph is stale
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	@$(BIN)/python docs/import_graph.py --check || true

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

# Tests run in parallel (PostgreSQL schemas and SQLite files are per test, servers take free ports);
# the browser tests share one worker and one Chromium (xdist_group "browser", --dist loadgroup).
# A run must not change the tree: screenshots and caches go to temporary or ignored folders.
pytest: $(STAMP)
	@$(TREE_STATE) > $(VENV)/.tree-before
	$(BIN)/pytest -q -rs -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	@$(TREE_STATE) | diff -u $(VENV)/.tree-before - >/dev/null || { \
		echo "pytest: the test run changed the working tree:"; git status --short; exit 1; }

## screenshots: the README images (docs/dashboard.png, docs/simulator.png and the phone views
## docs/*-phone.png), from the browser tests
screenshots: $(STAMP) browser-deps
	SHELI_SCREENSHOTS=docs $(BIN)/pytest -q -rs -n 0 \
		tests/browser/test_dashboard_browser.py tests/browser/test_simulator_browser.py \
		tests/browser/test_every_page.py

## import-graph: redraw the import graph in docs/architecture.md
import-graph: $(STAMP)
	$(BIN)/python docs/import_graph.py

bench: $(STAMP)
	$(BIN)/python bench/webhook_bench.py --db sqlite
	$(BIN)/python bench/webhook_bench.py --db postgres
	$(BIN)/python bench/scale_bench.py
	$(BIN)/python bench/nlu_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache

include nlu/rasa/rasa.mk
