# Two commands set everything up on a fresh machine:
#   make run   - virtual environment, install (compiling the C extensions), start the server
#                on the embedded default and upload the sample dumps to it
#   make test  - also the Debian packages the tests need, then the whole test suite
#   make check - lint (ruff) and the fast tier: in-process tests that need no JVM, browser,
#                database, broker or other program (markers from tests/support/needs.py), < 1 minute
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8270

FAST_TIER := not (jvm or visualvm or browser or postgres or broker or process or slow)

.PHONY: run test check system-deps bench bench-analyze bench-strip bench-upload bench-issues \
        bench-agent bench-capture fuzz clean

$(STAMP): pyproject.toml setup.py src/oomlens/hprof/*.c src/oomlens/hprof/*.h \
          $(shell find agent -name '*.java')
	PYTHON=$(PYTHON) scripts/install-system-deps.sh build
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/serve_samples.py --port $(PORT)

system-deps:
	scripts/install-system-deps.sh

test: system-deps $(STAMP)
	scripts/start-services.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	OOMLENS_FAST_TIER=1 $(BIN)/python -m pytest -q -n auto -m "$(FAST_TIER)" \
	    $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/dominators_vs_visualvm.py

bench-analyze: $(STAMP)
	$(BIN)/python bench/analyze_vs_dominators.py

bench-strip: $(STAMP)
	$(BIN)/python bench/strip_throughput.py

bench-upload: $(STAMP)
	scripts/start-services.sh
	$(BIN)/python bench/upload_load.py

bench-issues: $(STAMP)
	scripts/start-services.sh
	$(BIN)/python bench/issues_page.py

bench-agent: $(STAMP)
	$(BIN)/python bench/agent_overhead.py

bench-capture: $(STAMP)
	scripts/start-services.sh
	$(BIN)/python bench/capture_vs_jcmd.py

# the large hostile-input campaign (tests/support/fuzz_runner.py); FUZZ_ARGS="--cases N --seed S"
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info
	find src tests -name __pycache__ -type d -prune -exec rm -rf {} +
