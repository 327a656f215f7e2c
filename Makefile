# The two set-up commands of the README: `make demo` and `make test`.
# Each creates the virtual environment on first use (.venv), installs what it needs, and runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/embedlab: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,transformers,onnx]'
	$(BIN)/python -m pip install --quiet --no-deps 'timm>=1.0.31,<1.1'  # no torchvision: encoders/_timm.py
	touch $@

demo: $(BIN)/embedlab
	$(BIN)/embedlab demo

lint: $(BIN)/embedlab
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(BIN)/embedlab
	$(BIN)/mypy

unit: $(BIN)/embedlab
	$(BIN)/python -m pytest -q -m "slow or not slow"

test: lint typecheck unit

bench: $(BIN)/embedlab
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/train_word2vec.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
