SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= python3
# Python caches compiled modules in __pycache__ unless told not to; some machines (this
# one among them) tell it not to. Every process of the suite (pytest's workers, the nodes
# and load generators the tests start) then compiled each module it imports anew: about
# 1 s of CPU per process start, and each worker rewrote every test module again.
unexport PYTHONDONTWRITEBYTECODE
VENV := .venv
INSTALLED := $(VENV)/.installed
COMPILED := $(VENV)/.compiled
UV := $(VENV)/tools/bin/uv
INSTALL := -e '.[dev,load]' -e clients/python
PYTEST_ARGS ?=
# The suite waits on sockets, Redis and Chromium far more than it computes:
# four workers on two cores finish sooner than two (measured in docs/operations.md).
PYTEST_WORKERS ?= 4
# Whole files, each to the next free worker, in the order tests/conftest.py gives them
# (the longest first): with work stealing a file's tests were split between workers,
# and each of them started the file's Redis Cluster or fuzzed node again.
PYTEST_DIST := --dist loadfile --no-loadscope-reorder
# What `make check` leaves out: the tests that need Chromium, a Redis Cluster,
# the image build, promtool, or minutes of load.
CHECK_MARKERS := not browser and not cluster and not docker and not promtool and not slow

.PHONY: venv redis postgres chromium promtool npm axe idp lint check test run clean

# The venv installed, then its bytecode written (what the tests need; lint needs only the first).
venv: $(COMPILED)

# The stamp makes the (slow) editable install happen again only when the
# dependency list in pyproject.toml (or the client package's) changes.
$(INSTALLED): pyproject.toml clients/python/pyproject.toml
	@# Debian's own python3 ships venv's ensurepip in a separate package.
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends python3-venv; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv --clear --without-pip $(VENV)
	@# uv (Astral's installer) resolves and installs in parallel: 15 s where pip took 54 s,
	@# most of a fresh clone's `make test` outside pytest. The machine's pip puts uv in the
	@# venv's own folder (2 s, where a venv made with pip, then pip installing uv, took 5).
	@# pip stays the way back, on a machine without pip or if uv fails.
	test -x $(UV) || $(PYTHON) -m pip install --quiet --root-user-action=ignore --target $(VENV)/tools uv || true
	{ test -x $(UV) && $(UV) pip install --quiet --python $(VENV)/bin/python pip $(INSTALL); } \
		|| { $(VENV)/bin/python -m ensurepip --default-pip >/dev/null && $(VENV)/bin/python -m pip install --quiet $(INSTALL); }
	touch $@

$(COMPILED): $(INSTALLED)
	@# Bytecode, once: each of the suite's workers would otherwise compile every module
	@# it imports, and pytest's rewrite of every test module, all at the same time. The
	@# tree's modules with every core; then a collection of the suite, in two halves side by
	@# side, compiles what it imports of the dependencies (a third of them: compiling all
	@# took 6 s) and writes the rewritten tests. It needs no server, and a test module that
	@# does not import fails the suite later, with its error, not here.
	$(VENV)/bin/python -m compileall -q -j 0 server clients loadtest examples tests >/dev/null
	{ $(VENV)/bin/python -m pytest --collect-only -q -p no:cacheprovider tests/browser tests/operations tests/reports >/dev/null & \
		$(VENV)/bin/python -m pytest --collect-only -q -p no:cacheprovider tests/gateway tests/store tests/unit tests/clients >/dev/null; \
		wait; } || true
	touch $@

# Tests and the embedded spawner only need the binary. apt may start the
# packaged daemon on 6379 as a side effect: stop it, ignoring failures
# (there is no init system in containers).
redis:
	@if ! command -v redis-server >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q; \
		apt-get install -y -q --no-install-recommends redis-server; \
		service redis-server stop >/dev/null 2>&1 || true; \
		systemctl disable --now redis-server >/dev/null 2>&1 || true; \
		update-rc.d redis-server disable >/dev/null 2>&1 || true; \
	fi
	@command -v redis-server >/dev/null

# PostgreSQL, the system of record: the embedded one and the tests' run Debian's
# binaries (under /usr/lib/postgresql/<version>/bin) as the unprivileged `postgres`
# user that the package creates. apt may start the packaged cluster as a side
# effect: stop it, ignoring failures (there is no init system in containers).
POSTGRES_FOUND := command -v postgres >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1

postgres:
	@if ! { $(POSTGRES_FOUND); }; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q; \
		apt-get install -y -q --no-install-recommends postgresql; \
		service postgresql stop >/dev/null 2>&1 || true; \
		systemctl disable --now postgresql >/dev/null 2>&1 || true; \
		update-rc.d postgresql disable >/dev/null 2>&1 || true; \
	fi
	@$(POSTGRES_FOUND)

# Browser tests drive Debian's Chromium headless shell (Playwright cannot download its own
# browser here). The shell is the "old" headless mode, the one Playwright runs by default:
# it renders the same pages with under half the CPU of the full browser.
chromium:
	@if ! command -v chromium-headless-shell >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q; \
		apt-get install -y -q --no-install-recommends chromium-headless-shell fonts-dejavu-core; \
	fi
	@command -v chromium-headless-shell >/dev/null

# promtool, which checks /metrics and the Grafana dashboard's queries in the tests,
# comes with Debian's prometheus package; apt may start that server as a side effect.
promtool:
	@if ! command -v promtool >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q; \
		apt-get install -y -q --no-install-recommends prometheus; \
		service prometheus stop >/dev/null 2>&1 || true; \
		systemctl disable --now prometheus >/dev/null 2>&1 || true; \
		update-rc.d prometheus disable >/dev/null 2>&1 || true; \
	fi
	@command -v promtool >/dev/null

# axe-core, which the browser tests inject into every page for the accessibility
# checks, comes from npm at the version package-lock.json pins; it lives outside
# widget/ so the server never serves it.
AXE := tests/browser_assets/node_modules/axe-core/axe.min.js

axe: $(AXE)

# npm, for the test assets below (only when one of them is missing).
npm:
	@if ! command -v npm >/dev/null 2>&1; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q; \
		apt-get install -y -q --no-install-recommends npm; \
	fi
	@command -v npm >/dev/null

$(AXE): tests/browser_assets/package.json tests/browser_assets/package-lock.json | npm
	cd tests/browser_assets && npm ci --no-audit --no-fund --silent
	touch $@

# The OpenID Connect provider the single sign-on tests sign in through (oidc-provider,
# at the version package-lock.json pins), run by Node.js from tests/oidc_provider.
IDP := tests/oidc_provider/node_modules/oidc-provider/package.json

idp: $(IDP)

$(IDP): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json | npm
	cd tests/oidc_provider && npm ci --no-audit --no-fund --silent
	touch $@

# Lint, format and types: zero findings (configured in pyproject.toml).
lint: $(INSTALLED)
	$(VENV)/bin/ruff check server clients tests loadtest
	$(VENV)/bin/ruff format --check server clients tests loadtest
	$(VENV)/bin/mypy

# The stateful property test, the socket fuzzer and Schemathesis hunt with fewer
# examples in `make check` than in `make test`.
CHECK_EXAMPLES := SWITCHBOARD_PROPERTY_EXAMPLES=20 SWITCHBOARD_FUZZ_EXAMPLES=50 SWITCHBOARD_SCHEMATHESIS_EXAMPLES=4

# Without Chromium the tests wait on sockets and timers more than they compute: six
# workers kept both cores busier and finished in 46-48 s where four took 51-58 s (and
# eight, 55-57 s). Measured in docs/performance.md.
CHECK_WORKERS ?= 6

# The quick loop: lint, then the tests without a browser, cluster, image or load run.
# Lint runs while the venv's bytecode is written, once the install is done; beside the
# tests it made them slower by more than its own time. tests/browser is not even
# collected: each worker would import Playwright only to leave its tests out.
check: redis postgres npm
	$(MAKE) --no-print-directory -j3 venv lint idp
	$(CHECK_EXAMPLES) $(VENV)/bin/python -m pytest -n $(CHECK_WORKERS) $(PYTEST_DIST) \
		--ignore=tests/browser -m '$(CHECK_MARKERS)' $(PYTEST_ARGS)

# Everything; what CI runs. The system packages first, one apt-get at a time; then the
# venv and the npm installs side by side.
test: redis postgres chromium promtool npm
	$(MAKE) --no-print-directory -j3 venv axe idp
	$(VENV)/bin/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_DIST) $(PYTEST_ARGS)

run: venv postgres
	$(VENV)/bin/switchboard demo

clean:
	rm -rf $(VENV) build dist var .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
