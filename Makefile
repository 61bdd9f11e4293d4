# Two commands a newcomer needs: `make repro` and `make test`. Each creates or
# reuses .venv and installs what it needs.
VENV := .venv
# Windows (GNU make under Git Bash, as in .github/workflows/ci.yml): venvs keep
# their programs in Scripts/, and the interpreter is `python`.
ifeq ($(OS),Windows_NT)
PYTHON ?= python
VBIN := Scripts
EXE := .exe
else
PYTHON ?= python3
VBIN := bin
EXE :=
endif
BIN := $(VENV)/$(VBIN)
STAMP := $(VENV)/.installed

.PHONY: install repro test lint format bench clean conformance-venvs mutation mutation-counts

# pytest 7.4, 8.x and 9.x with the plugins real suites use, for tests/conformance:
# filled here, at install time, so the tests never reach a package index.
CONFORMANCE := .venv-conformance
CONFORMANCE_STAMPS := $(foreach v,7.4 8 9,$(CONFORMANCE)/pytest-$(v)/.installed)

$(CONFORMANCE)/pytest-%/.installed: tests/conformance/requirements-pytest%.txt
	@test -x $(@D)/$(VBIN)/python$(EXE) || $(PYTHON) -m venv $(@D)
	$(@D)/$(VBIN)/python -m pip install --quiet --disable-pip-version-check -r $<
	@touch $@

conformance-venvs: $(CONFORMANCE_STAMPS)

# pytest and its dependencies as wheels, for the tests that install a lock offline
# (repro replay): `--find-links .wheelhouse --no-index`.
WHEELHOUSE := .wheelhouse
$(WHEELHOUSE)/.filled: $(STAMP)
	$(BIN)/python -m pip download --quiet --disable-pip-version-check --dest $(WHEELHOUSE) \
		"pytest==$$($(BIN)/python -c 'import pytest; print(pytest.__version__)')"
	@touch $@

$(STAMP): pyproject.toml
	@test -x $(BIN)/python$(EXE) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The main job bundles this project's own suite, so it needs what the suite needs: the
# conformance venvs and the wheelhouse, as `make test` does.
repro: $(STAMP) $(CONFORMANCE_STAMPS) $(WHEELHOUSE)/.filled
	$(BIN)/repro bundle

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	# The package as Windows and macOS see it: no machine of either runs here, so their
	# code paths are at least type-checked (a POSIX-only call would break `import repro`).
	$(BIN)/mypy --platform win32 repro
	$(BIN)/mypy --platform darwin repro

test: $(STAMP) lint $(CONFORMANCE_STAMPS) $(WHEELHOUSE)/.filled
	$(BIN)/python -m pytest -n auto

# Mutation testing, one module at a time (docs/testing.md): `make mutation MODULE=status`.
# Niced and on one worker by default: the machine is shared. The real runs the read-side
# fixtures make are kept in .mutation-runs/ (keyed by the code's digest) and copied for
# each mutant instead of being made again.
MODULE ?= status
MUTATION_CHILDREN ?= 1
mutation: $(STAMP)
	REPRO_TEST_RUN_CACHE=$(CURDIR)/.mutation-runs nice -n 10 $(BIN)/mutmut run \
		--max-children $(MUTATION_CHILDREN) "repro.$(MODULE).*"
	$(BIN)/mutmut results --all true > mutants/results-$(MODULE).txt || true

# Per module: how many mutants ended in each state (killed, survived, timeout, not checked...).
mutation-counts: $(STAMP)
	@$(BIN)/mutmut results --all true | sed 's/^ *repro\.\([a-z_]*\)\.[^:]*: /\1 /' | sort | uniq -c

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) $(CONFORMANCE) $(WHEELHOUSE) outputs/runs outputs/bundles outputs/latest
