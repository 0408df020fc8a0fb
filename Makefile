# SoundClone Studio. `make run` starts the app; `make test` runs every test. Both set up what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test lint format chromium bench clean

$(STAMP): pyproject.toml
	@echo "Setting up the Python environment in $(VENV) ..."
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

run: $(STAMP)
	@$(PY) manage.py run_studio

# The whole suite twice: on SQLite (one server) and on a throwaway PostgreSQL (several servers).
test: $(STAMP) chromium lint
	@echo "== Every test on SQLite =="
	@$(PY) -m pytest
	@echo "== Every test again on PostgreSQL =="
	@scripts/with-postgres $(PY) -m pytest

lint: $(STAMP)
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .

format: $(STAMP)
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

# Measures the real stack on 127.0.0.1 (gunicorn, poller, simulator, SQLite and PostgreSQL when it can start
# it) and prints the table the README quotes; see bench/run.py. About 10 minutes; never part of `make test`.
bench: $(STAMP)
	@test -f $(STAMP).bench || { $(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]' \
		&& touch $(STAMP).bench; }
	@$(PY) -m bench.run

# Browser tests drive Debian's Chromium: Playwright's own browser download cannot work on our machines.
chromium:
	@test -x $(CHROMIUM) || { echo "Installing Chromium from Debian's packages ..."; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) staticfiles *.egg-info
