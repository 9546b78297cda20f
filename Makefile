# mailtool developer entry points. Each target creates .venv itself when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help serve test lint fuzz docs completions bench clean

help:
	@echo "make serve        set up .venv and run 'mailtool serve' (data in ./data)"
	@echo "make test         set up .venv and run ruff + the whole test suite"
	@echo "make lint         ruff check"
	@echo "make fuzz         run every atheris fuzz target for FUZZ_SECONDS (default 60) each, FUZZ_JOBS at once"
	@echo "make docs         build the mkdocs site (strict)"
	@echo "make completions  regenerate completions/ from the click commands"
	@echo "make bench        run the benchmarks in bench/ (needs Postfix and Dovecot)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "mailtool needs Python 3.11 or newer"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/mailtool --data-dir ./data serve

test: $(STAMP)
	$(BIN)/ruff check mailtool tests bench
	@# pytest exits 5 when it collected nothing: say so and fail
	@$(BIN)/pytest -n 2 $(PYTEST_ARGS); code=$$?; \
	  if [ $$code -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$code

lint: $(STAMP)
	$(BIN)/ruff check mailtool tests bench

FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
FUZZ_TARGETS ?=
fuzz: $(STAMP)
	$(BIN)/pip install --quiet -e '.[fuzz]'
	@# every target instrumented, on its seeds + .fuzz/corpus/<target>, FUZZ_JOBS at a time;
	@# libFuzzer's cov:/ft: lines go to .fuzz/logs/<target>.log, one summary line per target here
	$(BIN)/python -m tests.fuzz.run_all --seconds $(FUZZ_SECONDS) -j $(FUZZ_JOBS) $(FUZZ_TARGETS)

docs: $(STAMP)
	$(BIN)/mailtool config docs > docs/configuration.md
	$(BIN)/python -m mailtool.cli.reference > docs/cli.md
	$(BIN)/mkdocs build --strict

completions: $(STAMP)
	$(BIN)/python -m mailtool.cli.completions completions

bench: $(STAMP)
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) site .pytest_cache .ruff_cache
