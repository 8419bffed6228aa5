# policy-tables: `make refresh` builds the warehouse from raw/, `make test` runs the tests.
# Every target here is run by a test (tests/test_makefile.py), so none can rot unnoticed.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
RAW ?= raw
WAREHOUSE ?= warehouse/policy.duckdb
STAGING ?= staging
REPORTS ?= reports
BENCH_ARGS ?=
# OFFLINE=1 builds from raw/ only (CI and tests: no network); otherwise refresh fetches the sources register first.
OFFLINE ?=
PYTEST_ARGS ?=
# make site SITE_ARGS="--port 8002" (or "--check": build, start, answer one request, stop)
SITE_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv browser office refresh test bench report dictionary site gate-stop clean

help: ## List the targets and what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the pinned dependencies (requirements.lock)

refresh: $(STAMP) office ## Fetch new notices (unless OFFLINE=1), build $(WAREHOUSE) from $(RAW), publish atomically
	$(PYTHON) -m pipeline refresh --raw $(RAW) --warehouse $(WAREHOUSE) --staging $(STAGING) $(if $(OFFLINE),--offline,)

browser: ## Install Debian's chromium + CJK fonts (report tests open the report in it); no-op when present
	@{ command -v chromium && fc-list :lang=zh | grep -q . ; } >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk; }

office: ## Install Debian's headless LibreOffice (converts DOC/WPS/ODT/RTF for reading); no-op when present
	@command -v soffice >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  libreoffice-writer-nogui libreoffice-calc-nogui; }

test: $(STAMP) browser office ## Run the test suite
	$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: $(STAMP) office ## Time our stages against the peers (pandas.read_html/read_excel, pdfplumber) and LibreOffice conversions
	$(PYTHON) -m pipeline.bench $(BENCH_ARGS)

report: $(STAMP) ## Write the QA report (GX Data Docs + findings) to $(REPORTS)/index.html
	$(PYTHON) -m pipeline report --warehouse $(WAREHOUSE) --out $(REPORTS)

dictionary: $(STAMP) ## Regenerate docs/data_dictionary.md from the schema
	$(PYTHON) -m pipeline dictionary --out docs/data_dictionary.md

site: $(STAMP) ## Browse $(WAREHOUSE) read-only at http://127.0.0.1:8001 (datasette over a SQLite mirror, rebuilt when older)
	$(PYTHON) -m pipeline serve --warehouse $(WAREHOUSE) $(SITE_ARGS)

gate-stop: ## Stop the warm gate a refresh leaves up (GX kept loaded for POLICY_GATE_KEEP seconds; 0 = none kept)
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m pipeline stop-gate --staging $(STAGING); fi

clean: gate-stop ## Remove what a refresh rebuilds (staging, warehouse, reports); raw/ and history/ are never touched
	rm -rf $(STAGING) $(dir $(WAREHOUSE)) $(REPORTS)
