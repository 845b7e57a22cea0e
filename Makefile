# Two commands do everything on a fresh machine (see README):
#   make app    install into .venv, then launch the app on the shipped offline model
#   make test   install into .venv (and Chromium for the browser tests), then run every test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
# A CPU build lies on this project's machines; pip takes it from there. Override for a GPU build.
TORCH  ?= torch==2.13.0
MODEL  ?= all-MiniLM-L6-v2
PORT   ?= 8501
BIN     = $(VENV)/bin

# Every package but torch installs at the exact version requirements.lock names (pip-compile writes it; `make lock`
# moves it to the newest releases on purpose). The lock is resolved for Python 3.11 with torch fixed at $(TORCH).
LOCK    = requirements.lock

.PHONY: install app class test test-fast lint chromium bench lock

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import sys; sys.exit(sys.version_info[:2] != (3, 11))" || \
	  echo "note: $(LOCK) was resolved for Python 3.11; this venv runs $$($(BIN)/python -V). If the install fails, run 'make lock'."
	$(BIN)/python -m pip install --quiet "$$(grep '^pip==' $(LOCK))"
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Re-resolve every package to its newest release that pyproject.toml allows (torch held at $(TORCH)), install that,
# and run the fast tests against it. Commit requirements.lock only when they pass (docs/models.md, "Versions").
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip-compile --version >/dev/null 2>&1 || $(BIN)/python -m pip install --quiet pip-tools
	echo "$(TORCH)" > $(VENV)/torch-constraint.txt
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --upgrade --extra dev --all-build-deps --strip-extras --unsafe-package torch \
	  --constraint $(VENV)/torch-constraint.txt --no-emit-find-links --no-emit-index-url \
	  --output-file $(LOCK) pyproject.toml
	$(MAKE) install
	$(BIN)/python -m pytest -q -m "not browser" -n 2
	$(BIN)/python scripts/families.py --readme >/dev/null  # the families table of docs/models.md, for the new transformers

# glibc keeps freed arrays in per-thread arenas: 30 tabs x 512 tokens grew RSS 2.2 GB, 1.2 GB with MALLOC_ARENA_MAX=2,
# 0.55 GB adding an 8 MB mmap threshold (benchmarks/load_sessions.py, which starts the app with the same settings)
MALLOC = MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=8388608
app: install
	$(MALLOC) $(BIN)/streamlit run app.py --server.port $(PORT) -- --model "$(MODEL)"

# A class on the LAN: every address of this machine, the offline model list only, 1 MB uploads, and a shared
# password when PASSWORD is given (make class PASSWORD=otters). See docs/classroom.md.
HOST     ?= 0.0.0.0
PASSWORD ?=
class: install
	@echo "Students open http://$$(hostname -I 2>/dev/null | awk '{print $$1}'):$(PORT)  (password: $(if $(PASSWORD),set,NONE - anyone on the network gets in))"
	HF_HUB_OFFLINE=1 ATTNVIZ_PASSWORD="$(PASSWORD)" $(MALLOC) $(BIN)/streamlit run app.py \
	  --server.address $(HOST) --server.port $(PORT) --server.maxUploadSize 1 -- --model "$(MODEL)"

# Browser tests and PNG/SVG export drive Debian's Chromium (with CJK fonts for Chinese tokens);
# install them when they are missing and we may.
chromium:
	@{ test -x /usr/bin/chromium && test -d /usr/share/fonts/opentype/noto; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-noto-cjk >/dev/null; }; \
	  else echo "Chromium missing: run 'sudo apt-get install chromium fonts-noto-cjk' for the browser tests"; fi; }

# Everything: the tests without a browser in two processes (pytest-xdist), then the browser tests one at a time
# (each drives a real server and Chromium, and their waits are for what a user sees). Both tiers always run.
test: install chromium
	status=0; \
	$(BIN)/python -m pytest -q -m "not browser" -n 2 || status=$$?; \
	$(BIN)/python -m pytest -m browser || status=$$((status ? status : $$?)); \
	exit $$status

# While working: the library and the pages through AppTest, no browser, no real server, two processes.
test-fast: install
	$(BIN)/python -m pytest -q -m "not browser and not slow" -n 2

# The habits that keep the code's shape (pyproject.toml configures them); .ci/run runs this before the tests.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python benchmarks/capture_overhead.py
	$(BIN)/python benchmarks/browser_latency.py
