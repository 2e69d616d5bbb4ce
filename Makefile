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

.PHONY: serve test site fix-docs install clean

export NO_MKDOCS_2_WARNING := 1

serve: $(STAMP)  ## Build the site and serve it on http://$(HOST):$(PORT), rebuilding on edits.
	$(BIN)/mkdocs serve --dev-addr $(HOST):$(PORT)

test: $(STAMP)  ## Run every test and every example of the site (cpu and cuda passes).
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fix-docs: $(STAMP)  ## Rewrite expected outputs to what the code prints on CPU (FILES=... to limit).
	$(BIN)/python -m harness.update $(FILES)

site: $(STAMP)  ## Build the static site into site/.
	$(BIN)/mkdocs build --strict

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# A torch wheel the machine already has (pip's find-links) needs no download at all.
	$(BIN)/python -m pip install --quiet --no-deps --no-index $(TORCH) 2>/dev/null \
	  || { if nvidia-smi >/dev/null 2>&1; \
	       then $(BIN)/python -m pip install --quiet --no-deps $(TORCH); \
	       else $(BIN)/python -m pip install --quiet --no-deps $(TORCH) --index-url $(TORCH_CPU_INDEX); fi; }
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[docs,test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) site
