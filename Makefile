# PAG Reporting: `make run` serves the app on http://127.0.0.1:8050, `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
PYTEST_ARGS ?=

.PHONY: run test test-postgres lint bench loadtest clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(FLASK) prepare-demo
	$(FLASK) demo-accounts
	$(FLASK) run --host 127.0.0.1 --port 8050

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check dashboard data_access security tests wsgi.py

bench: $(STAMP)
	$(BIN)/python -m tests.bench.run $(BENCH_ARGS)

loadtest: $(STAMP)
	$(BIN)/python -m tests.load.run $(LOAD_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
