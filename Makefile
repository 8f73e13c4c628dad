# Two entry points: `make run` (set up + analyse MobileNet V1) and `make test` (set up + full suite).
# Needs make and Python >= 3.10. On a machine whose default index serves CUDA builds of torch,
# point TORCH_INDEX at the CPU wheels: make run TORCH_INDEX=https://download.pytorch.org/whl/cpu
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC ?= specs/mobilenet_v1.yaml
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
# pytest workers (pytest-xdist): one per core of the 2-core CI machine
JOBS ?= 2
# Python may write bytecode: without it pytest re-rewrites and recompiles every test module in
# every worker, and every `python -m convcost` subprocess of the suite recompiles convcost (some
# environments, this one included, set PYTHONDONTWRITEBYTECODE).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-all fast lint bench clean chromium

# pip is upgraded first: the latest resolves the dev extra against an index in half the CPU
# time of Python 3.11's bundled 23.2 (18 s instead of 39 s here). Packages are installed
# --no-compile: pip would compile every module of torch, sympy, onnx... (~2,400 files, ~12 s of
# CPU, for torch alone); Python compiles (and caches) only the modules a run imports.
PIP := $(BIN)/pip install -q --no-compile
$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) --upgrade pip

# The CPU build of torch is installed first and pinned, so that the `torch>=2.1` range in the
# extras never pulls a multi-GB CUDA build.
$(VENV)/.torch: | $(BIN)/python
	$(PIP) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH)
	touch $@

# `make run`: the core, torch and fvcore (the cross-check) only.
$(VENV)/.installed-run: pyproject.toml $(VENV)/.torch
	$(PIP) -e '.[torch]'
	touch $@

# `make test`: the dev extra (peer tools, matplotlib, onnx, pytest, ruff, mypy, jsonschema), and
# torchvision (the release built for torch 2.13) and timm for the importer's tests. Those two go
# in without their dependencies, so that they cannot pull a second, CUDA, torch; their other
# dependencies are in the `models` extra.
TORCHVISION ?= torchvision==0.28.0
TIMM ?= timm==1.0.31
$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PIP) --no-deps $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCHVISION)
	$(PIP) --no-deps $(TIMM)
	$(PIP) -e '.[dev]'
	$(BIN)/python scripts/warm_bytecode.py  # the bytecode the tests import, compiled once
	touch $@

# The report's browser test drives Debian's chromium through Playwright (whose own browser
# download is not reachable): installed here when missing and we are root, `apt-get update`
# only when the install fails without it. Never fails the build: without apt the test skips.
CHROMIUM ?= /usr/bin/chromium
APT_GET ?= apt-get
chromium:
	@if [ ! -x $(CHROMIUM) ] && [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { $(APT_GET) install -y -q chromium >/dev/null 2>&1 \
	    || { $(APT_GET) update -q >/dev/null 2>&1 && $(APT_GET) install -y -q chromium >/dev/null 2>&1; }; } \
	  || echo "make: could not install chromium with apt-get: the report's browser test will skip"; \
	fi

run: $(VENV)/.installed-run
	$(BIN)/convcost model $(SPEC)

# mypy (single-threaded, ~16 s of CPU with the cold cache of a fresh clone) runs beside pytest
# instead of before it; its report is printed when both are done and either failing fails.
test: $(VENV)/.installed chromium
	$(BIN)/ruff check convcost tests benchmarks scripts
	$(BIN)/convcost check specs/ --baseline convcost-baseline.json
	@typed=$$(mktemp); $(BIN)/mypy >$$typed 2>&1 & mypy=$$!; \
	$(BIN)/python -m pytest --run-slow -n $(JOBS); tests=$$?; \
	wait $$mypy; types=$$?; echo "$(BIN)/mypy"; cat $$typed; rm -f $$typed; \
	[ $$tests = 0 ] && [ $$types = 0 ]

# Also the exhaustive checks (every large shipped spec through ONNX): minutes more.
test-all: $(VENV)/.installed chromium
	$(BIN)/python -m pytest --run-slow --run-exhaustive -n $(JOBS)

# The fast loop: every test not marked `torch`, with torch and fvcore shadowed by packages that
# fail to import (proof that the analytic core never needs them).
fast: $(VENV)/.installed
	rm -rf .fast && mkdir -p .fast/torch .fast/fvcore
	echo 'raise ImportError("torch is blocked for the fast loop")' > .fast/torch/__init__.py
	echo 'raise ImportError("fvcore is blocked for the fast loop")' > .fast/fvcore/__init__.py
	PYTHONPATH=.fast $(BIN)/python -m pytest -m "not torch" -q -n $(JOBS)

lint: $(VENV)/.installed
	$(BIN)/ruff check convcost tests benchmarks scripts
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_cli.py

clean:
	rm -rf $(VENV) .fast .pytest_cache .mypy_cache .ruff_cache .hypothesis
