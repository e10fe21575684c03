# accessctl: `make run` starts the product, `make test` passes the tests. Both start from a
# fresh machine with only Python 3.11+.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint format install bench check-package clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "accessctl needs Python 3.11 or newer (PYTHON=$(PYTHON))")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/accessctl migrate --noinput
	$(BIN)/accessctl bootstrap_admin
	$(BIN)/accessctl collectstatic --noinput --verbosity 0
	@echo "accessctl: dashboard at http://$${ACCESSCTL_BIND:-127.0.0.1:8000}/admin/ (Ctrl-C stops it)"
	$(BIN)/gunicorn -c accessctl/gunicorn.conf.py

# Throwaway CA and certificates for auth.localhost, gunicorn and nginx (when installed) on
# loopback, and the two curl commands to try; Ctrl-C stops and cleans up (DEMO_ARGS=--help).
demo: $(STAMP)
	$(BIN)/accessctl demo $(DEMO_ARGS)

# pytest exits 5 when it collected no test: that is a failure here, never a pass.
test: $(STAMP)
	@$(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest ran no test" >&2; exit 1; fi; exit $$rc

# ruff, mypy, and the one-way app layers of docs/architecture.md (import-linter).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Each bench/*.py is a script that prints its measurements and ratios (and fails on a
# regression it can detect). `make bench` is the full run docs/performance.md comes from;
# `make bench QUICK=1` (CI) gives every script --quick: seconds, failing on gross regressions.
bench: $(STAMP)
	@set -e; for script in bench/*.py; do \
		[ -e "$$script" ] || { echo "make bench: no benchmark in bench/"; break; }; \
		case "$$(basename $$script)" in _*|conftest.py) continue;; esac; \
		echo "--- $$script"; $(BIN)/python "$$script" $(if $(QUICK),--quick); \
	done

# pip install . into a throwaway venv and serve the dashboard from it.
check-package:
	PYTHON=$(PYTHON) .ci/check-package

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build dist *.egg-info
