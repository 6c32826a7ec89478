# The Python package: tests of the ctypes binding against hexsim, and a wheel that carries
# libhexrun.so.1 (`make python`).
.PHONY: check-python python
check-python: $(PY_STAMP) $(LIB_REAL) $(B)/hexsim
	cd tests/python && HEXRUN_LIBRARY=$(abspath $(B)/$(LIB_SONAME)) timeout 300 \
	  $(abspath $(PY)) -m pytest -q -p no:cacheprovider test_binding.py test_tls.py \
	  test_hardening.py test_liveness.py
CHECK_TARGETS += check-python

# The wheel is built from a copy of python/ in $(B)/wheel-src, so that the tree the other
# suites import hexrun from (and install it editable from) never holds a build in progress.
PY_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' python/pyproject.toml)
WHEEL := dist/hexrun-$(PY_VERSION)-py3-none-linux_$(shell uname -m).whl
WHEEL_SRC := $(B)/wheel-src
$(WHEEL): $(LIB_REAL) $(PY_STAMP) python/pyproject.toml python/README.md \
          $(shell find python/hexrun -name '*.py')
	rm -rf $(WHEEL_SRC) && mkdir -p $(WHEEL_SRC) dist
	cp -r python/pyproject.toml python/README.md python/hexrun $(WHEEL_SRC)/
	cp -L $(B)/$(LIB_SONAME) $(WHEEL_SRC)/hexrun/libhexrun.so.1
	rm -f dist/hexrun-*.whl
	$(PY) -m pip wheel -q --no-deps -w dist ./$(WHEEL_SRC)
	@# It carries a native library: tag it for this platform, not py3-none-any.
	$(PY) -m wheel tags --remove --platform-tag linux_$(shell uname -m) dist/hexrun-*-any.whl
	@ls $@
python: $(WHEEL)
suite/check-wheel: $(WHEEL)

# The wheel installs into a fresh virtual environment and loads its own library.
.PHONY: check-wheel
check-wheel: $(WHEEL)
	rm -rf $(B)/wheel-venv && python3 -m venv $(B)/wheel-venv
	$(B)/wheel-venv/bin/pip install -q --no-deps --no-index $(WHEEL)
	cd / && env -u HEXRUN_LIBRARY $(abspath $(B))/wheel-venv/bin/python -c \
	  'import hexrun, os; assert os.path.exists(os.path.join(os.path.dirname(hexrun.__file__), "libhexrun.so.1")); print("wheel ok:", hexrun.version())'
CHECK_TARGETS += check-wheel
