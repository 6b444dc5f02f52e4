# QRForge developer commands. Everything runs from the project virtualenv in .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
PROTOS := $(wildcard proto/qrforge/v1/*.proto)
STUBS := gen/qrforge/v1/.stamp

.PHONY: setup proto console console-screenshots run test test-unit test-integration bench lint gallery clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@# The SDK and the `qrforge` command line (clients/python), after the project it is tested with.
	$(BIN)/pip install --quiet -e ./clients/python
	@# Generated stubs live in gen/ (ignored); make them importable without PYTHONPATH.
	echo "$(CURDIR)/gen" > $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/qrforge_gen.pth
	touch $@

setup: $(VENV)/.installed $(STUBS)

proto: $(STUBS)

$(STUBS): $(PROTOS) | $(VENV)/.installed
	rm -rf gen && mkdir -p gen
	$(BIN)/python -m grpc_tools.protoc -Iproto \
		--python_out=gen --grpc_python_out=gen --mypy_out=gen --mypy_grpc_out=gen $(PROTOS)
	@# `qrforge` is shared with the SDK (clients/python: qrforge.client, qrforge.cli): each side
	@# extends the package's path, so both import whichever comes first on sys.path.
	echo '__path__ = __import__("pkgutil").extend_path(__path__, __name__)' > gen/qrforge/__init__.py
	touch gen/qrforge/v1/__init__.py gen/qrforge/py.typed $@

# The browser console (console/, served by the gateway at /console): npm ci from the committed
# lockfile, then a vite build into console/dist (not committed). Rebuilt when a source changes.
CONSOLE_DEPS := console/node_modules/.package-lock.json
CONSOLE_BUILD := console/dist/index.html
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html \
	console/vite.config.ts console/tsconfig.json

$(CONSOLE_DEPS): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund
	touch $@

$(CONSOLE_BUILD): $(CONSOLE_DEPS) $(CONSOLE_SOURCES)
	cd console && npm run build

console: $(CONSOLE_BUILD)

console-screenshots: setup console
	bash scripts/test-tools.sh
	$(BIN)/python -m scripts.console_screenshots

run: setup console
	@# setpriv: a SIGTERM to make (which make does not forward) still stops every service
	setpriv --pdeathsig TERM bash scripts/run-local.sh

test: setup console
	bash scripts/test-tools.sh
	$(BIN)/python -m pytest

test-unit: setup
	$(BIN)/python -m pytest tests/unit

test-integration: setup console
	$(BIN)/python -m pytest tests/integration

bench: setup console
	$(BIN)/python -m bench

gallery: setup
	$(BIN)/python -m scripts.make_gallery

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services tests bench scripts clients/python/qrforge

clean:
	rm -rf gen $(VENV) .mypy_cache .ruff_cache .pytest_cache console/node_modules console/dist
