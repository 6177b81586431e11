# The two commands the README promises: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SPLATCINE := $(VENV)/bin/splatcine
DEMO := build/demo

.PHONY: setup demo test bench clean

setup: $(VENV)/.splatcine-installed

$(VENV)/.splatcine-installed: pyproject.toml scripts/setup.sh
	VENV=$(VENV) scripts/setup.sh

demo: setup
	$(PY) -m scenes make dolly -o $(DEMO)/shot
	$(SPLATCINE) reconstruct $(DEMO)/shot/shot.mp4 -o $(DEMO)/scene --overwrite

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) -m benchmarks

clean:
	rm -rf build
