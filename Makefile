# Two commands do all the set-up: `make report` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test test-fast lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[helm,test]'
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/toolman-kit report

test: $(STAMP)
	$(BIN)/python -m pytest

# Everything but the tests marked slow (kernels, papermill, Chromium, a Dask cluster).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check toolman_kit tests bench

bench: $(STAMP)
	$(BIN)/python bench/run.py

docs: $(STAMP)
	$(BIN)/python -m toolman_kit.present.docs > docs/checks.md
	rm -rf docs/api && $(BIN)/python -m toolman_kit.present.docs --api docs/api

clean:
	rm -rf $(VENV) reports/*/ build *.egg-info
