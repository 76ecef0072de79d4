# DigiOne broker. `make run` starts it on the embedded default; `make test` runs ruff and the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
STAMP  := $(VENV)/.installed

.PHONY: run test lint format translations clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/digione db upgrade
	$(BIN)/digione demo seed
	@echo "Open http://127.0.0.1:$(PORT)/ and sign in, e.g. city espoo, user pupil1, password demo"
	@echo "(demo users in every city: pupil1 pupil2 guardian1 guardian2 guardian3 teacher1 admin1)"
	PORT=$(PORT) $(BIN)/digione serve --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
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
