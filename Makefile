# The two commands in the README: `make run` and `make test`. Both build .venv from uv.lock.
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
# llama.cpp is compiled for any x86-64/arm64 CPU, not just this one, so the built wheel is portable.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
# This environment sets PYTHONDONTWRITEBYTECODE, so compile at install time or every start pays for it.
export UV_COMPILE_BYTECODE := 1

.PHONY: run test venv lint bench bench-detectors bench-policy clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

venv: $(UV)
	$(UV) sync --frozen --inexact --python $(VENV)/bin/python --extra local --group dev

run: $(UV)
	$(UV) sync --frozen --inexact --python $(VENV)/bin/python --extra local
	$(VENV)/bin/sekisho serve $(ARGS)

# Lint and type checks run first: CI must not pass code the house style rejects.
test: lint
	@scripts/ensure-services.sh
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy

bench: venv
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(VENV)/bin/python benchmarks/gateway_overhead/run.py $(ARGS)

# Detector quality and speed beside Presidio (builds benchmarks/.venv-presidio from PyPI once).
bench-detectors: venv
	$(VENV)/bin/python benchmarks/detectors/run.py $(ARGS)

# Usage-policy routing, crisis detection (and with ARGS=--byo the bring-your-own-policy classifier).
bench-policy: venv
	$(VENV)/bin/python benchmarks/policy/run.py $(ARGS)

clean:
	rm -rf $(VENV)
