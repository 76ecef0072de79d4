# DigiOne broker. `make run` starts it and the example services on the embedded default;
# `make test` runs ruff, the import layering contract and the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install run test lint format translations clean bench bench-quick

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

# Everything the broker and its tests need, without serving: .venv with the package (the
# `digione` command in .venv/bin) and the npm packages the tests drive.
install: $(STAMP) $(NODE_STAMP)

# The broker on $(PORT) and the example services on 5001 and 5002 (examples/run_all.py prints the
# addresses and the demo sign-in; Ctrl-C stops all of them).
run: $(STAMP)
	$(BIN)/digione db upgrade
	$(BIN)/digione demo seed
	PORT=$(PORT) $(BIN)/python examples/run_all.py

# ruff, and the layering contract of pyproject.toml ([tool.importlinter]): a package imports
# only the layers below it (core < keys < federation < idp < consent < composition root).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

# The npm packages the tests drive (oidc-provider, openid-client, axe-core), from the lock file.
# Without npm those tests skip (and fail under CI=true, which .ci/run sets after installing it).
$(NODE_STAMP): package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund && touch $(NODE_STAMP); \
	else echo "npm is missing: the tests that need the npm packages will not run"; fi

test: lint $(NODE_STAMP)
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-extract the page texts and compile the fi/sv catalogues after editing them.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext --no-location -o idp/translations/messages.pot .
	$(BIN)/pybabel update -i idp/translations/messages.pot -d idp/translations --width 100
	$(BIN)/pybabel compile -d idp/translations

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

# Benchmarks: installs wrk and the bench extras, runs every scenario and the
# oidc-provider peer, writes bench/results/*.json and docs/benchmarks.md. BENCH_ARGS passes
# options to bench/run.py (e.g. BENCH_ARGS="--only cc_rs256 --backends sqlite").
bench: $(STAMP)
	bash bench/setup.sh
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: $(STAMP)
	bash bench/setup.sh
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)
