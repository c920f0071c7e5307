# Two commands for a new user: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export RIDECREDIT_WAREHOUSE ?= $(CURDIR)/.warehouse
export RIDECREDIT_LANDING ?= $(RIDECREDIT_WAREHOUSE)/landing
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
# While `make sql-server` runs, every Spark process (dbt, ml.train, ml.query) reaches the catalog
# through its metastore service; empty (the default) is the embedded Derby metastore.
export RIDECREDIT_METASTORE_URIS ?= $(shell cat "$(RIDECREDIT_WAREHOUSE)/run/metastore.uris" 2>/dev/null)

DEMO_USERS ?= 20000
DEMO_MONTHS ?= 6
DEMO_SEED ?= 42
MODEL_CONFIG ?= demo

.PHONY: help install java demo data register build train score test test-cluster lint docs cluster-package clean \
	sql-server sql-server-stop sql-server-status

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

java:  ## Java 17 for Spark (installs openjdk-17-jre-headless with apt when java is missing)
	@if ! command -v java >/dev/null 2>&1; then \
		echo ">> java not found: installing openjdk-17-jre-headless with apt-get (Spark 4 needs Java 17)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq openjdk-17-jre-headless; \
	fi
	@java -version 2>&1 | head -1

$(STAMP): pyproject.toml adapter/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# One resolve for both packages, so dbt-core stays on 1.11 (1.12 cannot build offline).
	# compat mode: dbt.adapters is a pkgutil namespace, which needs a plain path entry.
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e ./adapter -e ".[dev]"
	@grep -q DBT_PROFILES_DIR $(BIN)/activate || echo 'export DBT_PROFILES_DIR="$(CURDIR)/profiles"' >> $(BIN)/activate
	@touch $@

install: java $(STAMP)  ## create .venv with every pinned dependency (reused on reruns)

data: install  ## generate the demo population into the landing zone
	$(BIN)/python -m ml.synth --users $(DEMO_USERS) --months $(DEMO_MONTHS) --seed $(DEMO_SEED) --out $(RIDECREDIT_LANDING)

register: install  ## load seeds and register the landing parquet files as Spark tables (raw, raw_oracle)
	$(BIN)/dbt seed
	$(BIN)/dbt run-operation register_raw_sources

build: install  ## dbt build of the curated tables and their tests (everything but the scores)
	$(BIN)/dbt build --exclude tag:scoring

train: install  ## python -m ml.train --config demo: encoder, credit models, baselines, report, ONNX
	$(BIN)/python -m ml.train --config $(MODEL_CONFIG)

score: install  ## dbt build of the scores (embedding cache, risk/age/income tables, score PSI) with the latest model
	$(BIN)/dbt build --select tag:scoring

demo: install data register build train score  ## install, generate data, build features, train, score
	@$(BIN)/python -m ml.demo_summary

test: install lint  ## install and run the whole suite (sqlfluff, then pytest on real Spark and dbt)
	$(BIN)/python -m pytest

test-cluster: install  ## scoring on a real standalone Spark cluster equals local scoring (about 7 min)
	$(BIN)/python -m pytest tests/cluster -m cluster

lint: install  ## sqlfluff (sparksql, jinja templater) over models and SQL tests
	$(BIN)/sqlfluff lint models tests

docs: install  ## dbt docs generate
	$(BIN)/dbt docs generate

sql-server: install  ## serve the warehouse to SQL clients: metastore service + Spark Thrift server on 127.0.0.1 (SPARK_THRIFT_PORT, default 10000)
	@$(BIN)/python -m ml.sql_server start

sql-server-stop:  ## stop what make sql-server started (both JVMs; the embedded metastore is free again)
	@$(or $(wildcard $(BIN)/python),$(PYTHON)) -m ml.sql_server stop

sql-server-status:  ## is the SQL server running? its JDBC URL, beeline line and PyHive snippet
	@$(or $(wildcard $(BIN)/python),$(PYTHON)) -m ml.sql_server status

cluster-package:  ## zip the ml package for Spark executors (profile target `cluster`)
	@mkdir -p dist && rm -f dist/ridecredit_ml.zip
	@$(or $(wildcard $(BIN)/python),$(PYTHON)) -m zipfile -c dist/ridecredit_ml.zip ml
	@echo "dist/ridecredit_ml.zip"

clean:  ## remove build outputs and the local warehouse (keeps .venv)
	rm -rf target dbt_packages logs dist .warehouse
