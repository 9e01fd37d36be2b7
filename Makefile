# The book's two front doors: `make lab` opens it, `make test` tests it. Both build the same
# virtual environment in .venv/ first, and skip that step when it is already up to date.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test unit notebooks lock bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lab: $(STAMP)  ## open the book in JupyterLab on its start page
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb

test: $(STAMP)  ## every test: unit tests, nbval over every notebook, the browser tests where chromium exists
	$(BIN)/python -m pytest

unit: $(STAMP)  ## unit tests only (fast; no notebooks)
	$(BIN)/python -m pytest tests -p no:nbval -o addopts=-ra

notebooks: $(STAMP)  ## re-execute every notebook in place, as a clean Restart & Run All
	$(BIN)/python -m selfattn.tools.execute notebooks/*.ipynb

lock:  ## re-resolve requirements.in into exact pins in requirements.txt
	rm -rf /tmp/selfattn-lock && $(PYTHON) -m venv /tmp/selfattn-lock
	/tmp/selfattn-lock/bin/pip install --quiet -r requirements.in
	/tmp/selfattn-lock/bin/pip freeze | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.txt.new
	mv requirements.txt.new requirements.txt

bench: $(STAMP)  ## the attention benchmark: prints a table, writes JSON under benchmarks/results/
	$(BIN)/python -m selfattn.bench

clean:
	rm -rf $(VENV) build *.egg-info
