# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export BRAINNET_HOME ?= $(CURDIR)/.brainnet/home

.PHONY: install demo test clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	test -x node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
	touch $@

demo: install
	$(BIN)/brainnet demo

test: install
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) node_modules .brainnet
