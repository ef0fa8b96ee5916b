# proxier — developer entry points. `make test` and `make demo` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all test lint typecheck unit demo bench peers clean certs

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Independent UPnP stacks used by the interop tests (GUPnP; hostapd and wpa_supplicant for
# WPS). Installs only when root with apt.
peers:
	@bash tests/peers/install.sh || echo "peers: not installed (interop tests will skip)"
	@bash tests/peers/install-wsc.sh || echo "peers: WSC peers not installed (WPS interop tests will skip)"

lint: $(STAMP)
	$(VENV)/bin/ruff check proxier tests
	$(VENV)/bin/ruff format --check proxier tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest -q -rs

test: $(STAMP) peers lint typecheck unit

demo: $(STAMP)
	$(VENV)/bin/proxier demo

# Development CA, CA-signed proxier identity, lab device identities (DP carrier flow).
certs: $(STAMP)
	$(VENV)/bin/proxier certs init certs/dev

bench: $(STAMP)
	$(PY) tests/bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
