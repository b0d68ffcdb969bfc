# Two entry points: `make run` (the example backend) and `make check` (everything CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run check lint typecheck typings test docs bench

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	cd docs/examples && PYTHONPATH=. ../../$(BIN)/di-backend start --config app-config.yaml

check: install lint typecheck test docs

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy --strict and pyright strict over di_backend/, tests/ and typings/ (pyproject.toml).
typecheck:
	$(BIN)/mypy
	$(BIN)/pyright

test:
	$(BIN)/pytest

docs:
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site

# The peers (every library of ../shared/bench/peer_baselines.md, pinned in the `bench`
# extra) run beside di_backend.
bench: install
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/test_backend.py
	$(BIN)/python bench/http_serving.py
	$(BIN)/python bench/http_in_memory.py
	$(BIN)/python bench/data_services.py
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m compileall -q di_backend
	cd /tmp && $(abspath $(BIN))/python $(CURDIR)/bench/imports.py
