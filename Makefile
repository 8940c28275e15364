# One command does the whole set-up on a fresh machine: each target creates .venv and installs
# what it needs (runtime for run/demo, runtime + dev tools for test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: test demo run bot bench chaos lint install clean node-deps

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(DEV)

# tests/pine runs the Pine scripts under pinets (Node.js, test-only): its packages are installed
# locally, exactly as package-lock.json pins them, whenever the lockfile is newer than the install.
PINE := tests/pine
PINE_INSTALLED := $(PINE)/node_modules/.package-lock.json

node-deps:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm not found: the Pine runtime parity tests (tests/pine) will be skipped; install Node.js >= 18 and npm (apt-get install nodejs npm) to run them"; \
	elif [ ! -f $(PINE_INSTALLED) ] || [ $(PINE)/package-lock.json -nt $(PINE_INSTALLED) ] \
		|| [ $(PINE)/package.json -nt $(PINE_INSTALLED) ]; then \
		cd $(PINE) && npm ci --no-audit --no-fund --silent; \
	fi

test: $(DEV) node-deps
	$(PY) -m pytest -q

demo: $(RUNTIME)
	$(PY) -m webhook_app demo

run: $(RUNTIME)
	$(PY) -m webhook_app serve

bot: $(RUNTIME)
	$(PY) -m discord_bot

# Benchmarks (not part of make test): the alert path beside its limits, as ratios in one run.
bench: $(DEV)
	$(PY) -m bench.run

# The slow half of the adversarial campaign (crash, venue storm, soak); make test runs the rest.
chaos: $(DEV)
	$(PY) -m pytest -q -m slow tests/adversarial

lint: $(DEV)
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
