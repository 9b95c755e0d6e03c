# hedgegrid: two commands on a fresh machine
#   make run   - set up .venv and run the demo (the main job on an embedded default)
#   make test  - set up .venv and run ruff + mypy + pytest (the whole suite)
# Other targets: make test-fast (skip slow e2e), make bench, make lock, make package.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test test-fast lint typecheck tools bench lock package clean venv lintian

venv: $(STAMP)

# Bytecode is compiled once here (uv --compile-bytecode, compileall for our package):
# every daemon, simulator and ctl process the tests start then loads .pyc files instead
# of compiling its imports again (~6.5 s -> ~2.3 s to import the daemon's modules when
# PYTHONDONTWRITEBYTECODE is set, as on the machines this project is built on).
$(STAMP): pyproject.toml requirements.lock scripts/find-python.sh
	@set -e; PYBIN=$$(scripts/find-python.sh); echo "using $$PYBIN"; \
	if [ ! -x $(PY) ]; then "$$PYBIN" -m venv $(VENV); fi; \
	$(PY) -m pip install --quiet --disable-pip-version-check "uv>=0.4,<1"; \
	$(VENV)/bin/uv pip sync --quiet --compile-bytecode --python $(PY) requirements.lock; \
	$(VENV)/bin/uv pip install --quiet --python $(PY) --no-deps -e .; \
	$(PY) -m compileall -q -j 0 hedgegridd >/dev/null; \
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/hedgegrid demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check hedgegridd tests bench
	$(VENV)/bin/ruff format --check hedgegridd tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# System tools some tests drive: promtool (Debian package prometheus) checks the live
# metrics exposition; the PostgreSQL server (Debian package postgresql: initdb, pg_ctl)
# backs the optimizer's shared-storage tests on a throwaway cluster; lintian checks the
# Debian package (tests/packaging/test_lintian.py). Best effort:
# installed when running as root with apt, otherwise those tests skip with
# "... not installed" (systemd-analyze and dpkg-deb are part of the machine image).
tools:
	@command -v promtool >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1; }; }; } || \
	  echo "note: promtool unavailable; the promtool check will skip"
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1; }; }; } || \
	  echo "note: postgresql unavailable; the PostgreSQL storage tests will skip"
	@command -v lintian >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq --no-install-recommends lintian >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      apt-get install -y -qq --no-install-recommends lintian >/dev/null 2>&1; }; }; } || \
	  echo "note: lintian unavailable; the lintian check will skip"

test: lint typecheck tools
	$(VENV)/bin/pytest -n 2 --dist loadgroup --durations=25 $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(VENV)/bin/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# Regenerate the lock file from pyproject.toml (needs network to PyPI).
lock:
	@set -e; PYBIN=$$(scripts/find-python.sh); \
	if [ ! -x $(PY) ]; then "$$PYBIN" -m venv $(VENV); fi; \
	$(PY) -m pip install --quiet "uv>=0.4,<1"; \
	$(VENV)/bin/uv pip compile --quiet --python-version 3.12 --extra dev --generate-hashes pyproject.toml -o requirements.lock
	$(VENV)/bin/uv pip compile --quiet --python-version 3.12 --generate-hashes pyproject.toml -o packaging/requirements-runtime.lock

package: $(STAMP)
	bash packaging/build-deb.sh

# Debian policy check of the newest dist/hedgegridd_*.deb (built first if there is none):
# fails on any error or warning not overridden in packaging/debian/lintian-overrides.
# lintian is installed best effort (root with apt), like promtool. Skipped: the spelling
# and hardening scans of binaries (info-level only, on third-party wheels): ~2.5 min
# instead of ~4; the rest is unpacking and indexing ~1 GB of bundled binaries.
lintian:
	@command -v lintian >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  { apt-get install -y -qq --no-install-recommends lintian >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && \
	      apt-get install -y -qq --no-install-recommends lintian >/dev/null 2>&1; }; }; } || \
	  { echo "lintian not installed (apt-get install lintian)"; exit 1; }
	@deb=$$(ls -t dist/hedgegridd_*.deb 2>/dev/null | head -1); \
	if [ -z "$$deb" ]; then $(MAKE) package && deb=$$(ls -t dist/hedgegridd_*.deb | head -1); fi; \
	echo "lintian $$deb"; time lintian --fail-on error,warning -X binaries/spelling,binaries/hardening $$deb

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache
