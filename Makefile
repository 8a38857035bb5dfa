# SurroundYou: `make run` starts the product, `make test` passes the tests. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# sam build needs a python3.12 on PATH (the Lambda runtime); pyenv provides it beside 3.11.
export PYENV_VERSION ?= 3.11.7:3.12.1

.PHONY: run test test-fast lint setup tools web chromium bench clean image image-test

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# ---- AWS tools in their own virtualenvs (their pins clash with the project's) -- template helper
# aws-sam-cli pins boto3 1.43 and click 8.1, checkov pins boto3 1.35, networkx 2 and packaging 23.
# The stamps carry the versions: a rerun does nothing, a new pin reinstalls.
TOOLS := .tools
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
CHECKOV := $(TOOLS)/checkov/bin/checkov
export SAM_CLI := $(abspath $(TOOLS)/sam/bin/sam)
export SAM_CLI_TELEMETRY := 0

tools: $(TOOLS)/sam/.installed-$(SAM_CLI_VERSION) $(TOOLS)/checkov/.installed-$(CHECKOV_VERSION)

# $(call tool_venv,NAME,REQUIREMENT): a fresh virtualenv .tools/NAME with REQUIREMENT, then the stamp.
define tool_venv
rm -rf $(TOOLS)/$(1)
$(PYTHON) -m venv $(TOOLS)/$(1)
$(TOOLS)/$(1)/bin/python -m pip install -qq '$(2)'
touch $@
endef

$(TOOLS)/sam/.installed-$(SAM_CLI_VERSION):
	$(call tool_venv,sam,aws-sam-cli==$(SAM_CLI_VERSION))

$(TOOLS)/checkov/.installed-$(CHECKOV_VERSION):
	$(call tool_venv,checkov,checkov==$(CHECKOV_VERSION))

# ---- web app build -- web helper
# `npm ci` when node_modules is missing or the lockfile changed (stamp file); `vite build` when a
# source changed. The build is web/dist, which the local stack serves and any static host can.
WEB_SOURCES := $(shell find web/src web/public -type f ! -name '*.test.js' 2>/dev/null) \
	web/index.html web/vite.config.js web/package.json
web: web/dist/index.html

web/node_modules/.installed: web/package-lock.json
	cd web && npm ci
	touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	cd web && npm run build

# ---- Chromium for the browser test, from Debian when missing (CI runs as root) -- web helper
chromium: /usr/bin/chromium

/usr/bin/chromium:
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium

# ---- the product
run: setup web
	$(BIN)/python -m surroundyou_local --port $(PORT)

# Each Lambda is deployed from its own folder (its modules import each other by plain name), so mypy
# checks each folder on its own, with the layer's packages beside it.
MYPY_FUNCTIONS := functions/shared functions/api functions/validate functions/notify functions/batch

lint: setup web/node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	for folder in $(MYPY_FUNCTIONS); do MYPYPATH=functions/shared:$$folder $(BIN)/mypy $$folder || exit 1; done
	$(BIN)/mypy container/surroundyou/engine
	cd web && npm run lint

# The unit tier: pure (engine, domain on an in-memory job store), no moto, no processes.
test-fast: setup
	$(BIN)/python -m pytest -q tests/unit

test: setup tools web chromium lint image-test
	cd web && npm test
	$(CHECKOV) -f template.yaml --framework cloudformation --quiet --compact --skip-download
	$(BIN)/bandit -r container functions local -q -ll
	$(BIN)/python -m pytest -q --ignore=tests/image  # image-test ran those against the built image

# ---- the Fargate task image -- image helper
# Built with docker where an engine answers, else buildah (Debian's; installed when missing), from a
# Debian base of its own where no registry answers; caches in container/image/.cache. image-test runs
# it as ECS would (container/image/run.sh) against a moto server; its last line is the image's size.
IMAGE ?= localhost/surroundyou-task:latest

image:
	IMAGE=$(IMAGE) container/image/build.sh

image-test: setup image
	SURROUNDYOU_IMAGE=$(IMAGE) $(BIN)/python -m pytest -q tests/image
	container/image/size.sh $(IMAGE)

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .tools .aws-sam out web/dist web/node_modules
