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

.PHONY: run test venv lint peers bench bench-detectors bench-policy bench-usage clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

venv: $(UV)
	$(UV) sync --frozen --inexact --python $(VENV)/bin/python --extra local --group dev

run: $(UV)
	$(UV) sync --frozen --inexact --python $(VENV)/bin/python --extra local
	$(VENV)/bin/sekisho serve $(ARGS)

# Lint and type checks run first: CI must not pass code the house style rejects.
test: lint peers
	@scripts/ensure-services.sh
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Real protocol peers the identity tests talk to: an OpenID provider (Node.js, from the lock file)
# and xmlsec1, which pysaml2 signs and verifies SAML with.
peers: tests/peers/oidc/node_modules/.package-lock.json
	@command -v xmlsec1 >/dev/null || (apt-get update -qq && apt-get install -y -qq xmlsec1)

tests/peers/oidc/node_modules/.package-lock.json: tests/peers/oidc/package-lock.json
	npm ci --prefix tests/peers/oidc --no-audit --no-fund

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

# 10 million usage events on the local PostgreSQL: dashboard queries from roll-ups and from raw events.
bench-usage: venv
	$(VENV)/bin/python benchmarks/usage_scale/run.py $(ARGS)

clean:
	rm -rf $(VENV)
