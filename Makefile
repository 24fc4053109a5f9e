# FarNode Desktop. Two commands for a fresh machine:
#   make run    set everything up, then open FarNode (the local demo network when there is no NVIDIA GPU)
#   make test   set everything up, then run the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := gnome-keyring dbus dbus-x11 xvfb xauth trayer imagemagick nsis wine64 dpkg-dev \
	libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0 \
	libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1 \
	libxkbcommon-x11-0 libxkbcommon0 libx11-xcb1 libegl1 libgl1 libfontconfig1 libfreetype6 \
	libglib2.0-0 libdbus-1-3 gcc binutils nodejs npm libxss1 xdotool openbox
# The node runtime for tests lives in the checkout (built once, reused by later runs).
export FARNODE_RUNTIME_DIR ?= $(CURDIR)/.farnode-test/runtime

.PHONY: run test setup system-packages python-env node-env runtime old-clients lint clean

run: setup
	@if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then \
		unset FARNODE_RUNTIME_DIR; $(BIN)/farnode; \
	else \
		echo "No NVIDIA GPU here: starting the local demo network (Ctrl-C stops it)."; \
		unset FARNODE_RUNTIME_DIR; $(BIN)/farnode demo; \
	fi

test: setup runtime old-clients
	bash scripts/test-session.sh

setup: system-packages python-env node-env

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || { [ "$$p" = nodejs ] || [ "$$p" = npm ] && command -v $$p >/dev/null 2>&1; } || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

python-env: $(VENV)/.installed

# The venv comes from the hashed dev lock (the build lock plus test tools), so a build next month is this build.
# Change versions on purpose: edit installer/*.in, then installer/lock_build_requirements.sh.
$(VENV)/.installed: pyproject.toml installer/dev-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r installer/dev-requirements.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/pip check
	touch $@

node-env: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

runtime: python-env
	$(BIN)/farnode runtime install

# The Petals 2.2 and Petals main client venvs that tests/integration/test_old_clients.py runs (reused while unchanged).
old-clients: python-env
	$(BIN)/python scripts/old_clients.py setup

lint: python-env
	$(BIN)/ruff check . && $(BIN)/mypy

clean:
	rm -rf build dist artifacts .farnode-test
