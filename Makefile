PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo proto proto-check bench bench-quick clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The tests run on every core (pytest-xdist); TEST_WORKERS=0 runs them in one process.
TEST_WORKERS ?= auto

test: install
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

demo: install
	$(BIN)/python deploy/demo.py

proto: install
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=sync/wire/gen --pyi_out=sync/wire/gen --grpc_python_out=sync/wire/gen proto/vetsync/v1/*.proto
	$(BIN)/python deploy/fix_proto_imports.py

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: install
	$(BIN)/python -m bench.run --scale 0.05 --runs 1

clean:
	rm -rf $(VENV) build *.egg-info
