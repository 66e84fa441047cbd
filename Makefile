# The two commands of the README. Each installs what it needs first, so both work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app competition
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: demo test install install-test browser catalogue screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pybabel compile --statistics -d competition/translations

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pybabel compile --statistics -d competition/translations

# Debian's Chromium for the browser tests (test tools cannot download their own browser here),
# and axe-core from npm (tests/e2e/package-lock.json), whose rules the accessibility tests run.
browser:
	npm ci --prefix tests/e2e --no-audit --no-fund --silent
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; \
	fi

## 1. Install, create the embedded database, seed the demo competition and serve it.
demo: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	@echo
	@echo "  Open http://$(HOST):$(PORT) and log in as:"
	@$(FLASK) demo logins
	@echo
	$(FLASK) run --host $(HOST) --port $(PORT)

## 2. Install everything and run the whole test suite (PostgreSQL, Redis, a worker, a browser).
test: install-test browser
	$(BIN)/ruff check competition workers config tests bench
	$(BIN)/ruff format --check competition workers config tests bench
	$(BIN)/mypy competition/core competition/berlin.py competition/workflow.py
	$(BIN)/python -m pytest


## After marking texts for translation: bring the German catalogue up to date, then translate
## every new entry in competition/translations/de/LC_MESSAGES/messages.po (the tests check).
catalogue: $(BIN)/python
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l -k N_ -k Nn_:1,2 -o competition/translations/messages.pot \
	  --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i competition/translations/messages.pot -d competition/translations \
	  --no-fuzzy-matching --ignore-obsolete --width 100 --ignore-pot-creation-date

## The screenshots in docs/screenshots/: the seeded demo on a fresh SQLite database, main pages
## in English and German. Run again after changing a page, and commit the images.
screenshots: install-test browser
	$(BIN)/python docs/screenshots.py
