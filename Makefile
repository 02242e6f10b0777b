# The two commands of the README: `make demo` and `make test`.
# Both create .venv with Python 3.11 if needed and install the project into it.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-default test-baseline-simd lint venv install install-test clean bench

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/gep demo

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The numeric tests once more with numpy's run-time SIMD dispatch switched off (baseline code, as
# on the oldest x86-64 CPU numpy supports): float tests must hold on any CPU, not only this one.
NUMERIC_TESTS := tests/services tests/kernels tests/regression tests/scale tests/accounts \
	tests/calibration tests/test_simd_dispatch.py

test: lint test-default test-baseline-simd

# -n auto: one pytest worker per core (pytest-xdist); --dist loadfile keeps each test file's
# module fixtures (a demo run, the sample accounts) in one worker.
test-default: install-test
	$(BIN)/python -m pytest -n auto --dist loadfile

test-baseline-simd: install-test
	NPY_DISABLE_CPU_FEATURES="$$($(BIN)/python -m tests.simd)" GEP_EXPECT_BASELINE_SIMD=1 \
		$(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile $(NUMERIC_TESTS)

bench: install-test
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) gep-demo-output .pytest_cache .mypy_cache .ruff_cache
