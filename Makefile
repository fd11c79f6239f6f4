# Two commands do all the set-up on a fresh machine:
#   make demo   the local demo on embedded defaults (emulated AWS, Redis, worker, terminal chat)
#   make test   the whole test suite (starts its own redis-server, emulator, Synapse...)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean system-deps venv

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11+ is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# System packages the tests run for real: redis-server, pebble (the ACME test CA
# Let's Encrypt publishes), busybox (the stats sidecar's shell command runs under
# its applets, as in the task's busybox image), and a Compose CLI to check
# docker-compose.yml (the docker client here has no compose plugin).
# Installed when missing (as root, or via sudo).
APT_NEEDS := $(if $(shell command -v redis-server),,redis-server) \
	$(if $(shell command -v pebble),,pebble) \
	$(if $(shell command -v busybox),,busybox) \
	$(if $(shell docker compose version 2>/dev/null || command -v docker-compose),,docker-compose)
system-deps:
	@if [ -n "$(strip $(APT_NEEDS))" ]; then \
		echo "Installing $(strip $(APT_NEEDS))..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $(APT_NEEDS) >/dev/null; fi

demo: $(STAMP) system-deps
	$(VENV)/bin/jitsi-bot demo

test: $(STAMP) system-deps
	$(VENV)/bin/ruff check bot adapters infra tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -p no:cacheprovider -n auto --maxprocesses 4 --dist loadfile; rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check bot adapters infra tests bench
	$(VENV)/bin/ruff format --check bot adapters infra tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP) system-deps
	$(PY) bench/ack_latency.py
	$(PY) bench/lifecycle.py
	$(PY) bench/footprint.py
	$(PY) bench/outages.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
