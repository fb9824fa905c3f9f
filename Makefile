# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DB ?= $(CURDIR)/.newswatch/newswatch.db

.PHONY: run test lint format bench clean

# constraints.txt pins what the snapshot tests draw with; pyproject.toml keeps the ranges users get.
$(BIN)/newswatch: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -c constraints.txt
	touch $@

# Ingest the bundled sample articles into a local database and open the app on it.
run: $(BIN)/newswatch
	mkdir -p $(dir $(DB))
	$(BIN)/newswatch --db $(DB) ingest
	$(BIN)/newswatch --db $(DB)

test: $(BIN)/newswatch
	$(BIN)/python -m pytest -n 2 -q

# What CI runs besides `make test`: style, formatting, and the import contracts in pyproject.toml.
lint: $(BIN)/newswatch
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/newswatch
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/newswatch
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .newswatch .pytest_cache
