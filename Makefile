# One command does the whole set-up on a fresh machine: each target creates .venv and installs
# what it needs (runtime for run/demo, runtime + dev tools for test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: test demo run bot bench chaos lint install clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(DEV)

test: $(DEV)
	$(PY) -m pytest -q

demo: $(RUNTIME)
	$(PY) -m webhook_app demo

run: $(RUNTIME)
	$(PY) -m webhook_app serve

bot: $(RUNTIME)
	$(PY) -m discord_bot

lint: $(DEV)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
