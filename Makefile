# Everything installs itself on first use into .venv (Python 3.11).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Offline copy of MNIST beside the checkout; override with MNIST_ROOT=/path make ...
export MNIST_ROOT ?= $(abspath ../shared/data/mnist)
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: demo test check batch mutants calibrate solutions sync release clean wheelhouse wheelhouse-full gpu-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m nnkit.sandbox install-kernel --sys-prefix
	touch $(STAMP)

demo: $(STAMP)
	$(COMPILE)
	$(PY) -m nnkit demo

# Two pytest-xdist workers; a file's tests stay on one worker (several share a graded course),
# except the long independent ones tests/conftest.py names (SPREAD_TESTS); longest first
# (LONGEST_FIRST there), in that order, not xdist's (by number of tests).
TEST_WORKERS ?= 2

# Byte-compile the kit and the graders first: the checkers and probes run with PYTHONDONTWRITEBYTECODE
# (they never write into the course), so in a fresh clone each of them compiled every module again.
COMPILE := $(PY) -m compileall -q nnkit grader_tests > /dev/null

test: $(STAMP)
	$(COMPILE)
	$(PY) -m pytest tests -ra -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=15

# The fast tier, after every change (under 3 minutes): units, release sync, one grader run.
check: $(STAMP)
	$(COMPILE)
	$(PY) -m pytest tests -m check -ra -n $(TEST_WORKERS) --dist loadgroup

# Autograde every hand-in in submitted/ on a Dask LocalCluster (see README, "Grading a class").
batch: $(STAMP)
	$(PY) -m nnkit batch

mutants: $(STAMP)
	$(PY) -m nnkit mutants

calibrate: $(STAMP)
	$(PY) -m nnkit calibrate --seeds 10

solutions: $(STAMP)
	$(PY) -m nnkit solutions

# authoring/<ps>/<notebook>.py (the one source of truth) -> source/<ps>/<notebook>.ipynb
sync: $(STAMP)
	$(PY) -m nnkit author build

# sync, then nbgrader generate_assignment --force for every assignment: source/ -> release/
release: $(STAMP)
	$(PY) -m nnkit author release

# The GPU machine (README, "The GPU runner") has its own Python with torch, numpy and pytest, no .venv
# and no package index. `make wheelhouse` (here, PY=3.12 by default: the Python there) fills the
# git-ignored carry/ with the wheels the grading path needs beyond those, MNIST and bubblewrap;
# `make wheelhouse-full` adds the Jupyter stack for `nbgrader autograde` if it fits (nnkit/wheelhouse.py).
WHEEL_PY = $(if $(filter 3.%,$(PY)),$(PY),3.12)

wheelhouse:
	$(PYTHON) -m nnkit.wheelhouse build --python-version $(WHEEL_PY) carry

wheelhouse-full:
	$(PYTHON) -m nnkit.wheelhouse build --python-version $(WHEEL_PY) --jupyter carry

# `make gpu-check` there: installs from carry/wheels what GPU_PY lacks (never torch or numpy), then runs
# nnkit/gpu_check/ within its deadline: reference solutions on CUDA and the CPU, the mutant bank
# and the calibration on CUDA, one nbgrader autograde -> gpu-check/ (results.jsonl, summary.md).
# GPU_PY: the machine's own Python (here the first python3 on PATH, .venv's where there is one).
GPU_PY ?= python3
GPU_CHECK_ARGS ?=
GPU_MNIST = $(if $(wildcard carry/mnist/*-ubyte.gz),$(CURDIR)/carry/mnist,$(MNIST_ROOT))

gpu-check:
	$(GPU_PY) -m nnkit.wheelhouse install carry/wheels --kit $(CURDIR)
	PYTHONPATH=$(CURDIR) MNIST_ROOT=$(GPU_MNIST) PATH=$(CURDIR)/carry/bin:$$PATH PYTHONUNBUFFERED=1 \
		$(GPU_PY) -m nnkit.gpu_check $(GPU_CHECK_ARGS)

# What nbgrader, `make demo` and `nnkit report` generated (autograded/README.md is committed: it stays).
clean:
	find autograded -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf submitted feedback exchange gradebook.db grades.csv reports
