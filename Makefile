# kerpix: two commands on a fresh machine (Python 3.11, CPU):
#   make demo   # venv + install, train a PixelCNN on dead leaves, bits/dim,
#               # samples.png, SavedModel + ONNX export, both checked; a
#               # shipped preset sampled with ONNX Runtime alone
#   make test   # venv + install, the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKDIR ?= saved_models/demo
# The shipped preset `make demo` exports and samples with ONNX Runtime.
DEMO_PRESET ?= dead_leaves_pixel_cnn
PYTEST_ARGS ?=
# Both cores (pytest-xdist); a test file stays on one worker, so its
# module-scoped fixtures (exports, trained tiny models) are built once.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --durations=15
export TF_CPP_MIN_LOG_LEVEL := 2
export KERPIX_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: demo test test-large lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml setup.cfg | $(BIN)/python
	$(BIN)/pip install -q -e ".[tf-cpu,onnx]"
	touch $@

# tensorflow-serving-api (gRPC protos) pins `tensorflow`; --no-deps keeps
# tensorflow-cpu (its own deps, grpcio and protobuf, come with `serving`).
SERVING_API := tensorflow-serving-api==2.21.0

$(VENV)/.test-installed: pyproject.toml setup.cfg | $(BIN)/python
	$(BIN)/pip install -q -e ".[tf-cpu,onnx,jax,dev,images,serving]"
	$(BIN)/pip install -q --no-deps "$(SERVING_API)"
	touch $@

demo: $(VENV)/.demo-installed
	$(BIN)/kerpix train --config=dead_leaves_demo --workdir=$(WORKDIR) --verbose=2
	$(BIN)/kerpix evaluate --workdir=$(WORKDIR) --verbose=0
	$(BIN)/kerpix sample --workdir=$(WORKDIR)
	$(BIN)/kerpix export --workdir=$(WORKDIR) --format=saved_model --check
	$(BIN)/kerpix export --workdir=$(WORKDIR) --format=onnx --check
	$(BIN)/python export/onnx_sample.py $(WORKDIR)/onnx --num-samples=16 --output=$(WORKDIR)/samples_onnx.png
	$(BIN)/kerpix export --preset=$(DEMO_PRESET) --format=onnx --output=$(WORKDIR)/preset_onnx --verbose=0
	$(BIN)/python export/onnx_sample.py $(WORKDIR)/preset_onnx --num-samples=16 --output=$(WORKDIR)/preset_samples_onnx.png
	@echo "Demo done: $(WORKDIR)/samples.png, $(WORKDIR)/samples_onnx.png (ONNX Runtime alone), $(WORKDIR)/saved_model/kerpix/1, $(WORKDIR)/onnx; the shipped preset $(DEMO_PRESET) sampled by ONNX Runtime alone: $(WORKDIR)/preset_samples_onnx.png"

test: $(VENV)/.test-installed
	$(PYTEST) $(PYTEST_ARGS)

test-large: $(VENV)/.test-installed
	$(PYTEST) --run_large $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check kerpix tests benchmarks export examples
	$(BIN)/ruff format --check kerpix tests benchmarks export examples

# The quick CPU versions of every benchmark (training budgets: 2 × 5 +
# 3 × 5 + 10 minutes, plus throughput and sampling: 44:56 in all on the
# 2-core development machine);
# regenerates the README's tables and docs/images/validation_curves.png.
bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/gated_vs_plain.py --dataset dead_leaves --budget-minutes 5
	$(BIN)/python benchmarks/ride_comparison.py --budget-minutes 5
	$(BIN)/python benchmarks/likelihood.py --model row_lstm --dataset binarized_mnist --budget-minutes 10
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/sampling_speed.py
	$(BIN)/python benchmarks/results_table.py
	$(BIN)/python benchmarks/plot_curves.py

clean:
	rm -rf $(VENV) saved_models/demo
