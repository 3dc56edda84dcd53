VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the compiled hot path: .pyx, .pxd and the .py each .pxd gives C types to (see setup.py)
HOT := $(wildcard scanner/*.pyx scanner/*/*.pyx) $(foreach pxd,$(wildcard scanner/*.pxd scanner/*/*.pxd scanner/*/*/*.pxd),$(pxd) $(wildcard $(pxd:.pxd=.py)))

.PHONY: demo test bench clean

$(STAMP): pyproject.toml setup.py $(HOT)
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/arbscan demo

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/arbscan bench

clean:
	rm -rf $(VENV) build *.egg-info
	find scanner \( -name '*.so' -o -name '*.c' \) -delete
