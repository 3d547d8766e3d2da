# zonewatch — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
ZW_CACHE ?= $(HOME)/.cache/zonewatch
# One venv per checkout (outside it), so two clones never import each other's code.
VENV ?= $(ZW_CACHE)/venvs/$(notdir $(CURDIR))-$(shell echo $(CURDIR) | md5sum | cut -c1-8)
PY := $(VENV)/bin/python
SERVICES := deploy/local/services
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)

.PHONY: install services demo test test-faults test-fast lint down bench

$(STAMP): pyproject.toml
	@echo "[make] Python environment in $(VENV)"
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)
	@$(PY) -m pip install -q --no-deps -e . >/dev/null

services: install
	@$(SERVICES) up

demo: services
	@e=$$($(SERVICES) env) && eval "$$e" && $(VENV)/bin/zonewatch demo

test: services
	@deploy/local/browser.sh
	@deploy/docker/install-compose.sh
	@e=$$($(SERVICES) env) && eval "$$e" && $(PY) -m pytest -ra -m "not faults"
	@echo "[make] fault and scale-out tests (they restart the services; last, on their own)"
	@e=$$($(SERVICES) env) && eval "$$e" && $(PY) -m pytest -ra -m faults

test-faults: services
	@e=$$($(SERVICES) env) && eval "$$e" && $(PY) -m pytest -ra -s -m faults

test-fast: install
	@$(PY) -m pytest -m "not integration" -q

lint: install
	@$(VENV)/bin/ruff check .

bench: services
	@e=$$($(SERVICES) env) && eval "$$e" && $(PY) -m bench

down:
	@$(SERVICES) down
