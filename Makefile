# The three commands of the README, and the fast tier. Each is self-sufficient on a fresh machine
# with Python 3.11 and Node 20: it creates .venv and installs the pinned lock first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml package-lock.json | sha256sum | cut -c1-12)
DEMO_ORG := .revcert/demo-org
DEMO_SHOPS := .revcert/demo-shops

.PHONY: run test unit lint ui install

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	npm ci --no-audit --no-fund --silent
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# Both pipelines on the demo data: the certified MRR bridge, then the certified shop revenue.
run: $(STAMP)
	$(BIN)/revcert generate-org --out $(DEMO_ORG) --if-missing
	$(BIN)/revcert run --snapshot $(DEMO_ORG)
	$(BIN)/revcert generate-shops --out $(DEMO_SHOPS) --if-missing
	$(BIN)/revcert shop run --snapshot $(DEMO_SHOPS)

# The whole suite: linters, then every test (PostgreSQL, stand-ins, Airflow processes, the browser).
test: lint
	$(BIN)/python -m pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=15

# The fast tier: no PostgreSQL, no Airflow process; under 30 seconds.
unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration" -q

lint: $(STAMP)
	$(BIN)/ruff check include dags plugins tests
	$(BIN)/sqlfluff lint sql benchmarks --processes 2 --disable-progress-bar

ui: $(STAMP)
	$(BIN)/revcert ui
