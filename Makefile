# SoundClone Studio. `make run` starts the app; `make test` runs every test. Both set up what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CHROMIUM ?= /usr/bin/chromium
# Test processes per pass (pytest-xdist): most of a test's time is waiting (the simulator, a subprocess, the
# browser), so 4 share 2 cores well. `make test PYTEST_WORKERS=0` runs each pass in one process.
PYTEST_WORKERS ?= 4

.PHONY: run test lint format chromium espeak bench mutation clean

# A first set-up takes a minute or two: one line per step, so that the wait never looks like a hang.
# pip compiles every module as it installs it: with PYTHONDONTWRITEBYTECODE set (as on our machines) nothing
# else would, and each of the many processes the tests start would compile Django again from source.
$(STAMP): pyproject.toml
	@echo "Setting up the Python environment in $(VENV) (once; a minute or two) …"
	@test -x $(PY) || { echo "  Creating the virtual environment …"; $(PYTHON) -m venv $(VENV); }
	@echo "  Updating pip …"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "  Installing the studio's packages (Django, gunicorn, the test tools) …"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)
	@echo "  Done."

run: $(STAMP)
	@$(PY) manage.py run_studio

# Every test on SQLite (one server), then on a throwaway PostgreSQL (several servers) the tests that use the
# database: tests/conftest.py keeps only those there, and the browser, image-build and `once` tests (decoding
# sound, enumerating every URL: the same on any database) run on SQLite only. The test
# order is random (pytest-randomly prints the seed; `--randomly-seed=N` repeats it, `-p no:randomly` turns it
# off), spread over PYTEST_WORKERS processes; an idle process takes tests from a busy one's queue (worksteal),
# so one long browser test does not leave the others waiting at the end. The 100,000-task list is in
# `make bench`.
test: $(STAMP) chromium espeak lint
	@echo "== Every test on SQLite =="
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal
	@echo "== The tests that use the database, again on PostgreSQL =="
	@scripts/with-postgres $(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not browser and not slow and not once"

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
	@$(PY) -m pytest -p no:randomly -q bench/test_a_hundred_thousand_tasks.py
	@scripts/with-postgres $(PY) -m pytest -p no:randomly -q bench/test_a_hundred_thousand_tasks.py
	@$(PY) -m bench.run

# Mutation testing of the form, the client and the services with the fast tests (configured in pyproject's
# [tool.mutmut]), then the share of mutants the tests kill in each file. Long (see the README); never part of
# `make test`. Results are kept in mutants/ so a second run only redoes what changed; `make clean` drops them.
mutation: $(STAMP)
	@test -f $(STAMP).mutation || { $(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,mutation]' \
		&& touch $(STAMP).mutation; }
	@$(VENV)/bin/mutmut run "clones.forms*" "clones.client*" "clones.services*"
	@$(PY) scripts/mutation_scores.py

# Browser tests drive Debian's Chromium: Playwright's own browser download cannot work on our machines.
chromium:
	@test -x $(CHROMIUM) || { echo "Installing Chromium from Debian's packages ..."; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The test clips' speech is spoken by espeak-ng when the tests run (tests/clips.py), in English and Chinese.
espeak:
	@test -x /usr/bin/espeak-ng || { echo "Installing espeak-ng from Debian's packages ..."; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq espeak-ng >/dev/null; }

clean:
	rm -rf $(VENV) staticfiles *.egg-info mutants
