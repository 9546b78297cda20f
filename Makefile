# mailtool developer entry points. Each target creates .venv itself when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help serve test lint fuzz docs completions bench bench-all clean stress

help:
	@echo "make serve        set up .venv and run 'mailtool serve' (data in ./data;"
	@echo "                  as root: installed in /var/lib/mailtool/venv, data in /var/lib/mailtool/data)"
	@echo "make test         set up .venv and run ruff + the whole test suite"
	@echo "make lint         ruff check"
	@echo "make fuzz         run every atheris fuzz target for FUZZ_SECONDS (default 60) each, FUZZ_JOBS at once"
	@echo "make docs         build the mkdocs site (strict)"
	@echo "make completions  regenerate completions/ from the click commands"
	@echo "make bench        SMTP, POP3 and IMAP side by side with Postfix and Dovecot, then the"
	@echo "                  table of every figure as mailtool / peer (bench/summary.py, < 30 min)"
	@echo "make bench-all    every script in bench/, each at its full size (hours)"
	@echo "make stress       the IMAP multi-client stress run with state tracking, against mailtool"
	@echo "                  and Dovecot: STRESS_CLIENTS (10) for STRESS_SECONDS (60), STRESS_SEED to replay"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "mailtool needs Python 3.11 or newer"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# As root, serve binds its ports and then runs as the service user ([server] user), which
# must reach the interpreter, the installed package and the data dir: a clone under /root (or
# a 0700 home) is out of its reach, so root's serve runs from a copy in $(SYSTEM_HOME).
SYSTEM_HOME   ?= /var/lib/mailtool
SYSTEM_PYTHON ?= /usr/bin/python3
SYSTEM_VENV   := $(SYSTEM_HOME)/venv
SYSTEM_STAMP  := $(SYSTEM_VENV)/.installed

ifeq ($(shell id -u),0)
serve: $(SYSTEM_STAMP)
	$(SYSTEM_VENV)/bin/mailtool --data-dir $(SYSTEM_HOME)/data serve
else
serve: $(STAMP)
	$(BIN)/mailtool --data-dir ./data serve
endif

$(SYSTEM_STAMP): pyproject.toml $(shell find mailtool -name '*.py' -o -name '*.tcss')
	@$(SYSTEM_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "$(SYSTEM_PYTHON): mailtool needs Python 3.11 or newer (set SYSTEM_PYTHON=...)"; exit 1; }
	@install -d -m 0755 $(SYSTEM_HOME)
	@$(SYSTEM_PYTHON) -m venv $(SYSTEM_VENV) || { echo "venv failed: on Debian run 'apt-get install python3-venv'"; exit 1; }
	@chmod -R go+rX $(SYSTEM_VENV)
	$(SYSTEM_VENV)/bin/pip install --quiet --upgrade pip
	@# a copy, not an editable install: the service user cannot read the clone
	umask 022 && $(SYSTEM_VENV)/bin/pip install --quiet --force-reinstall --no-deps . && \
	  $(SYSTEM_VENV)/bin/pip install --quiet .
	@touch $(SYSTEM_STAMP)

# the server-side suites run on each store backend listed (issue 17: both, not a sample)
MAILTOOL_STORE_BACKENDS ?= sqlite,postgresql
export MAILTOOL_STORE_BACKENDS

test: $(STAMP)
	$(BIN)/ruff check mailtool tests bench
	@# pytest exits 5 when it collected nothing: say so and fail
	@# 3 workers on 2 cores: most tests wait on servers and sockets, not the CPU
	@# (both backends, fresh clone: 16:37 with -n 3 in session 9; 21:35 with -n 2 in session 8)
	@$(BIN)/pytest -n 3 $(PYTEST_ARGS); code=$$?; \
	  if [ $$code -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$code

STRESS_CLIENTS ?= 10
STRESS_SECONDS ?= 60
STRESS_SEED ?=
stress: $(STAMP)
	STRESS_CLIENTS=$(STRESS_CLIENTS) STRESS_SECONDS=$(STRESS_SECONDS) STRESS_SEED=$(STRESS_SEED) \
	  $(BIN)/pytest -s -p no:xdist --timeout 0 tests/stress

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
	$(BIN)/python bench/summary.py

bench-all: $(STAMP)
	@for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) site .pytest_cache .ruff_cache
