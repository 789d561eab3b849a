# Two entry points for a fresh clone: `make demo` and `make test`.
# Both create .venv when missing and install the project into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench install clean system-deps train

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ledgergate demo --workdir demo-output

# Debian's chromium renders the HTML reports in the browser test; installed
# once when missing (root here), otherwise that one test says why it skips.
system-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  ( [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) ) || \
	  echo "chromium not installed: the report browser test will skip"

# The official AsyncAPI parser (npm) validates schemas/asyncapi.yaml in the tests;
# without npm that one test says why it skips.
ASYNCAPI_TOOLS := tools/asyncapi/node_modules/.installed

$(ASYNCAPI_TOOLS): tools/asyncapi/package.json tools/asyncapi/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  cd tools/asyncapi && npm ci --no-audit --no-fund --ignore-scripts --silent && touch node_modules/.installed; \
	else echo "npm not installed: the AsyncAPI validation test will skip"; fi

test: $(STAMP) system-deps $(ASYNCAPI_TOOLS)
	$(BIN)/python -m pytest -q

# ruff (pyflakes, import order, bugbear, pyupgrade, line length) and mypy (strict on
# schemas, ledger, streams/policy). mypy sees the repo root as the package through
# .mypy-src/ledgergate -> .. (the root *is* the package `ledgergate`).
lint: $(STAMP)
	$(BIN)/ruff check .
	@mkdir -p .mypy-src && ln -sfn .. .mypy-src/ledgergate
	$(BIN)/mypy

# Retrain the MNPI / prompt-injection models from the committed corpus (train/data/MANIFEST.json),
# then prove the rebuild is byte-for-byte: git sees no change in the committed artefacts.
train: $(STAMP)
	$(BIN)/pip install -q -e '.[train]'
	$(BIN)/python train/train.py
	git diff --exit-code --stat -- streams/classify/models && echo "artefacts rebuilt byte-for-byte (hashes equal the committed ones)"

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) demo-output build *.egg-info .mypy-src .mypy_cache .ruff_cache tools/asyncapi/node_modules
