# Two entry points: `make run` (set up + analyse MobileNet V1) and `make test` (set up + full suite).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SPEC ?= specs/mobilenet_v1.yaml

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The CPU build of torch is installed first and pinned, so that the `torch>=2.1` range in the
# extras never pulls a multi-GB CUDA build. torchvision (the release built for torch 2.13) and
# timm go in without their dependencies for the same reason: the registry's torchvision would
# pull another torch. Their other dependencies are in the `models` extra.
TORCHVISION := torchvision==0.28.0
TIMM := timm==1.0.31
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps $(TORCHVISION) $(TIMM)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/convcost model $(SPEC)

test: $(VENV)/.installed
	$(BIN)/ruff check convcost tests benchmarks
	$(BIN)/mypy
	$(BIN)/convcost check specs/ --baseline convcost-baseline.json
	$(BIN)/python -m pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check convcost tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_cli.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
