# adapt-triage: `make demo` runs the main job on the embedded defaults, `make test` the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo.db

.PHONY: test lint demo bench bench-scale clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Both cores of CI's 2-core machine (pytest-xdist, two worker processes, each its own
# session). --dist loadfile runs each test module whole on one worker, in file order, so a
# module-scoped fixture (a history built once, the SIGKILL trials on one database) is built
# once, as serially. Serially: make test PYTEST_ARGS="-p no:xdist"
PYTEST_ARGS ?= -n 2 --dist loadfile
test: lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

demo: $(STAMP)
	rm -f $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).lock $(DEMO_DB).checked
	$(BIN)/adapt-triage --db $(DEMO_DB) ingest fixtures/seed_page.txt
	@echo "Note: the seed page is the classifier's own training data, so the scores below are"
	@echo "in-sample (higher than on new papers) and say nothing about accuracy; see the unseen papers after them."
	$(BIN)/adapt-triage --db $(DEMO_DB) list --all --format table
	$(BIN)/adapt-triage --db $(DEMO_DB) dedup --format table
	@echo "Abstracts the model has not seen (fixtures/cli/unseen_abstracts.jsonl): honest scores."
	$(BIN)/adapt-triage classify fixtures/cli/unseen_abstracts.jsonl --format table
	@echo "Held-out quality per category: adapt-triage eval"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# The figures of issue 12 at a million papers (cached build under build/bench-scale/).
# Smaller or partial: make bench-scale BENCH_SCALE_ARGS="--papers 20000 --only ingest,queries"
BENCH_SCALE_ARGS ?=
bench-scale: $(STAMP)
	$(BIN)/python benchmarks/scale.py $(BENCH_SCALE_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm $(DEMO_DB).lock $(DEMO_DB).checked .pytest_cache .ruff_cache
