# Set-up is part of every target: a fresh machine with Python 3.11 and make needs nothing else.
PYTHON ?= python3.11
POETRY_VERSION := 2.5.1
TOOLS := .poetry
VENV := .venv
PY := $(VENV)/bin/python
SDK_VENV := .xsoar-sdk
SDK_REQUIREMENTS := xsoar_content/requirements-sdk.txt

.PHONY: check test demo format lint typecheck manifests install clean xsoar-pack

$(TOOLS)/bin/poetry:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "poetry==$(POETRY_VERSION)" "poetry-plugin-export>=1.8"

# The locked versions are installed with pip from poetry's export: the registry's
# per-release JSON pages that poetry's own installer needs are not always served.
$(VENV)/.installed: poetry.lock pyproject.toml | $(TOOLS)/bin/poetry
	$(PYTHON) -m venv $(VENV)
	$(TOOLS)/bin/poetry export --with dev --format requirements.txt --output $(VENV)/requirements.txt
	$(VENV)/bin/pip install --quiet --require-hashes --requirement $(VENV)/requirements.txt
	touch $@

install: $(VENV)/.installed

# Workers share nothing but the machine: each starts its own simulators (session fixtures). The tests mostly wait
# on trigger processes and sockets, so two workers per core (at most 8) keep the cores busy.
PYTEST_WORKERS ?= $(shell n=$$(( $$(nproc) * 2 )); echo $$(( n > 8 ? 8 : n )))
# The sources are compiled first, as the image does at build time: the processes the tests start (a block, a trigger)
# would otherwise compile them again each time wherever PYTHONDONTWRITEBYTECODE is set.
test: install xsoar-pack
	$(PY) -m compileall -q main.py xsoar_module lab
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

demo: install
	$(PY) -m lab demo $(ARGS)

format: install
	$(VENV)/bin/black .

# The gates, before the tests: formatting, lint (ruff's rules in pyproject.toml), types (mypy, strict on xsoar_module).
lint: install
	$(VENV)/bin/black --check .
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

# What CI runs (.ci/run): the gates, then the tests (in this order, even under make -j).
check: lint typecheck
	$(MAKE) --no-print-directory test

manifests: install
	$(VENV)/bin/sekoia-automation generate-files-from-code .

# demisto-sdk pins pydantic < 2 and tenacity < 9: it lives in its own tool env, not in .venv.
$(SDK_VENV)/.installed: $(SDK_REQUIREMENTS)
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/pip install --quiet --require-hashes --requirement $(SDK_REQUIREMENTS)
	touch $@

# The XSOAR content pack, validated by demisto-sdk, zipped into dist/SekoiaIOAlerts.zip (part of `make test`).
xsoar-pack: $(SDK_VENV)/.installed
	xsoar_content/build.sh $(SDK_VENV)/bin/demisto-sdk dist

clean:
	rm -rf $(VENV) $(TOOLS) $(SDK_VENV) dist
