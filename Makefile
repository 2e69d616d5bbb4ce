# Two commands do all set-up on a fresh machine: `make serve` and `make test`.
# Each creates .venv on first use and installs the pinned versions; later runs reuse it,
# and reinstall only when pyproject.toml or constraints.txt changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
# The default torch wheel for Linux pulls several GB of CUDA libraries; a machine with no
# NVIDIA GPU gets the CPU build from PyTorch's own index instead.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
HOST ?= 127.0.0.1
PORT ?= 8000
# The builder of `make site` and `make serve`: mkdocs (mkdocs-material) or zensical.
BUILDER ?= mkdocs
# Zensical reuses a page's HTML while its Markdown is unchanged; a build starts clean so
# that a changed snippet, docstring or verification record reaches every page. It reads
# zensical.yml: mkdocs.yml without the Chinese edition, which it cannot build yet.
ZENSICAL_CONFIG := -f zensical.yml
BUILD_ARGS := $(if $(filter zensical,$(BUILDER)),--clean $(ZENSICAL_CONFIG))
# Zensical's server rebuilds only what an edit changes; MkDocs' does so through
# harness/dev_server.py, which knows what else a page is built from. Zensical keys its
# cache (.cache/) on a page's Markdown alone, so its server starts with none.
SERVER := $(if $(filter zensical,$(BUILDER)),zensical serve $(ZENSICAL_CONFIG),harness.dev_server)
SERVE_FIRST := $(if $(filter zensical,$(BUILDER)),rm -rf .cache,true)

.PHONY: serve test site fix-docs translations install clean bench

export NO_MKDOCS_2_WARNING := 1

# `python -m` from the checkout: mkdocs.yml names the harness.site_markdown extension.
serve: $(STAMP)  ## Build the site and serve it on http://$(HOST):$(PORT), rebuilding on edits.
	$(BIN)/python -m harness.site_files
	$(SERVE_FIRST)
	$(BIN)/python -m $(SERVER) --dev-addr $(HOST):$(PORT)

test: $(STAMP)  ## Run every test and every example of the site (cpu and cuda passes).
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fix-docs: $(STAMP)  ## Rewrite expected outputs to what the code prints on CPU (FILES=... to limit).
	$(BIN)/python -m harness.update $(FILES)

translations: $(STAMP)  ## List translations behind their English page, with its diff (RECORD=... once updated).
	$(BIN)/python -m harness.translations $(if $(RECORD),--record $(RECORD))

# Each benchmark pins its threads (--threads, default 1 here), checks that the machine is
# idle before every round and reports medians and minima; run it on a quiet machine.
BENCHMARKS := batches fit_linear fit_logistic jacobian
BENCH_ARGS ?= --threads 1

bench: $(STAMP)  ## Time tensorkit against the fastest baselines a user would pick (minutes).
	@for name in $(BENCHMARKS); do \
	  echo "== benchmarks/$$name.py $(BENCH_ARGS)"; \
	  $(BIN)/python benchmarks/$$name.py $(BENCH_ARGS) || exit 1; \
	done

site: $(STAMP)  ## Build the static site into site/ (BUILDER=zensical to build with Zensical).
	$(BIN)/python -m harness.site_files
	$(BIN)/python -m $(BUILDER) build --strict $(BUILD_ARGS)

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# A torch wheel the machine already has (pip's find-links) needs no download at all.
	$(BIN)/python -m pip install --quiet --no-deps --no-index $(TORCH) 2>/dev/null \
	  || { if nvidia-smi >/dev/null 2>&1; \
	       then $(BIN)/python -m pip install --quiet --no-deps $(TORCH); \
	       else $(BIN)/python -m pip install --quiet --no-deps $(TORCH) --index-url $(TORCH_CPU_INDEX); fi; }
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[docs,test,tensorflow]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) site

# A GPU machine is lent without network, with its own torch and perhaps an older pytest
# and no Sybil. `make gpu-wheels`, on a machine with network, downloads the pinned
# pure-Python wheels it needs (harness.gpu_check lists them, with constraints.txt's pins);
# `make gpu-check`, there, runs every example's cpu and cuda passes with them.
GPU_WHEELS := build/gpu-wheels
GPU_PYTHON_VERSION ?= 3.12
# The GPU machine's own python3 holds its torch, so gpu-check uses no .venv, and not
# the python3.11 found above unless PYTHON=... is given on the command line.
GPU_CHECK_PYTHON := $(if $(filter command line environment,$(origin PYTHON)),$(PYTHON),python3)

.PHONY: gpu-wheels gpu-check

gpu-wheels:  ## Download the pinned wheels gpu-check installs on a GPU machine with no network.
	rm -rf $(GPU_WHEELS)
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --dest $(GPU_WHEELS) \
	  --python-version $(GPU_PYTHON_VERSION) --implementation cp \
	  --platform manylinux2014_x86_64 --platform any \
	  $$($(PYTHON) -m harness.gpu_check --print-requirements)

gpu-check:  ## On a GPU machine: every example on CPU and CUDA; report in build/gpu-check.
	$(GPU_CHECK_PYTHON) -m harness.gpu_check $(GPU_CHECK_ARGS)
