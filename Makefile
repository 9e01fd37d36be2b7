# The book's two front doors: `make lab` opens it, `make test` tests it. Both build the same
# virtual environment in .venv/ first, and skip that step when it is already up to date.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node/node_modules/.installed
# make test spreads the work over two processes (CI has two cores): a file's tests stay together (each
# notebook runs in one kernel, in order) except the per-chapter browser and learner tests, and the
# slowest go first (tests/conftest.py says how). `make test PARALLEL=` runs everything in one process.
PARALLEL ?= -n 2 --dist loadfile

.PHONY: setup lab answers test unit browser hub slides notebooks book learner lock bench latency encoder-decoder-weights gpt-weights clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m selfattn.tools.learner --init
	touch $(STAMP)

# Node tools from node/package-lock.json: JupyterHub's proxy (the hub test) and reveal.js (the
# slides). Without npm this says so and the targets that need them skip or stop with a message.
$(NODE_STAMP): node/package.json node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix node --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the JupyterHub test and make slides need Node.js 20+ and npm (apt-get install nodejs npm)"; fi

lab: $(STAMP)  ## open the learner's edition (learner/) in JupyterLab at its start page; prints the URL; works as root
	$(BIN)/python -m selfattn.tools.lab

answers: $(STAMP)  ## open the answer key (notebooks/, every exercise solved) in JupyterLab: for instructors and authors
	$(BIN)/python -m selfattn.tools.lab --answer-key

test: $(STAMP) $(NODE_STAMP)  ## every test, with networking off: unit tests, nbval over every notebook, the static book, the learner build, the browser tests where chromium exists
	$(BIN)/python -m selfattn.tools.offline $(BIN)/python -m pytest $(PARALLEL) --durations=25

unit: $(STAMP)  ## unit tests only (fast; no notebooks, no browser, nothing slow)
	$(BIN)/python -m pytest tests -p no:nbval -o addopts=-ra -m "not browser and not slow"

browser: $(STAMP) $(NODE_STAMP)  ## the browser tests only: every chapter in JupyterLab, the static book, the hub, the slides (needs chromium)
	$(BIN)/python -m pytest tests -p no:nbval -o addopts=-ra -m browser

hub: $(STAMP) $(NODE_STAMP)  ## the workshop on a real JupyterHub: two learners, nbgitpuller links, an update (run it before a class)
	$(BIN)/python -m pytest tests/hub -p no:nbval -o addopts=-ra -s

notebooks: $(STAMP)  ## re-execute every notebook in place, as a clean Restart & Run All
	$(BIN)/python -m selfattn.tools.execute notebooks/*.ipynb

book: $(STAMP)  ## the static book from the stored outputs, offline: build/book/html/index.html
	$(BIN)/python -m selfattn.tools.build_book

slides: $(STAMP) $(NODE_STAMP)  ## the instructor guide's 90-minute and 3-hour paths as reveal.js decks, offline: build/slides/*.html
	$(BIN)/python -m selfattn.tools.slides

learner: $(STAMP)  ## refresh learner/ from notebooks/: rewrites chapters you have not touched, keeps (and names) the rest; FORCE=1 replaces all
	$(BIN)/python -m selfattn.tools.learner $(if $(FORCE),--force)

lock:  ## re-resolve requirements.in into exact pins in requirements.txt
	rm -rf /tmp/selfattn-lock && $(PYTHON) -m venv /tmp/selfattn-lock
	/tmp/selfattn-lock/bin/pip install --quiet -r requirements.in
	/tmp/selfattn-lock/bin/pip freeze | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.txt.new
	mv requirements.txt.new requirements.txt

bench: $(STAMP)  ## the attention benchmark: prints a table, writes JSON under benchmarks/results/
	$(BIN)/python benchmarks/attention_bench.py

encoder-decoder-weights: $(STAMP)  ## retrain chapter 11's date model from its seed and rewrite selfattn/data/encoder_decoder_dates.safetensors
	$(BIN)/python -m selfattn.explore.encoder_decoder.train

gpt-weights: $(STAMP)  ## retrain chapter 10's GPT (about 80 s on two idle cores) and rewrite selfattn/data/gpt_kjv.safetensors
	$(BIN)/python -m selfattn.explore.gpt.train --write

latency: $(STAMP)  ## input-to-pixels latency of every widget in JupyterLab (needs chromium): benchmarks/results/widget_latency.md
	$(BIN)/python benchmarks/widget_latency.py

clean:
	rm -rf $(VENV) build *.egg-info
