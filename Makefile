VENV ?= .venv
PY := $(VENV)/bin/python
# two stamps: arbscan itself (demo, bench) and, on top of it, the test extras (make test)
STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed
# the compiled hot path: .pyx, .pxd and the .py each .pxd gives C types to (see setup.py)
HOT := $(wildcard scanner/*.pyx scanner/*/*.pyx scanner/*/*/*.pyx) $(foreach pxd,$(wildcard scanner/*.pxd scanner/*/*.pxd scanner/*/*/*.pxd),$(pxd) $(wildcard $(pxd:.pxd=.py)))

.PHONY: demo test bench clean

$(STAMP): pyproject.toml setup.py $(HOT)
	@echo "==> $(VENV): creating the virtual environment" && (test -d $(VENV) || python3 -m venv $(VENV))
	@echo "==> $(VENV): upgrading pip"
	$(PY) -m pip install --upgrade --progress-bar on pip
	@echo "==> $(VENV): installing arbscan and compiling its hot path with Cython (a few minutes)"
	$(PY) -m pip install --progress-bar on -e .
	touch $(STAMP)

# the test extras only, from pyproject.toml (arbscan is not built a second time)
$(TEST_STAMP): $(STAMP) pyproject.toml
	@echo "==> $(VENV): installing the test extras"
	$(PY) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['test']))" > $(VENV)/test-requirements.txt
	$(PY) -m pip install --progress-bar on -r $(VENV)/test-requirements.txt
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(VENV)/bin/arbscan demo

test: $(TEST_STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/arbscan bench

clean:
	rm -rf $(VENV) build *.egg-info
	find scanner \( -name '*.so' -o -name '*.c' \) -delete
