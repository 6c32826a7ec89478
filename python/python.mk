# The Python package: tests of the ctypes binding against hexsim, and a wheel that carries
# libhexrun.so.1 (`make python`).
.PHONY: check-python python
check-python: $(PY_STAMP) $(LIB_REAL) $(B)/hexsim
	cd tests/python && HEXRUN_LIBRARY=$(abspath $(B)/$(LIB_SONAME)) timeout 300 \
	  $(abspath $(PY)) -m pytest -q -p no:cacheprovider test_binding.py test_tls.py \
	  test_hardening.py test_liveness.py
CHECK_TARGETS += check-python

python: $(LIB_REAL) $(PY_STAMP)
	cp -L $(B)/$(LIB_SONAME) python/hexrun/libhexrun.so.1
	rm -rf python/build && mkdir -p dist
	rm -f dist/hexrun-*.whl
	$(PY) -m pip wheel -q --no-deps -w dist ./python
	rm -rf python/build python/hexrun.egg-info python/hexrun/libhexrun.so.1
	@# It carries a native library: tag it for this platform, not py3-none-any.
	$(PY) -m wheel tags --remove --platform-tag linux_$(shell uname -m) dist/hexrun-*-any.whl
	@ls dist/hexrun-*.whl

# The wheel installs into a fresh virtual environment and loads its own library.
.PHONY: check-wheel
check-wheel: python
	rm -rf $(B)/wheel-venv && python3 -m venv $(B)/wheel-venv
	$(B)/wheel-venv/bin/pip install -q --no-deps --no-index dist/hexrun-*.whl
	cd / && env -u HEXRUN_LIBRARY $(abspath $(B))/wheel-venv/bin/python -c \
	  'import hexrun, os; assert os.path.exists(os.path.join(os.path.dirname(hexrun.__file__), "libhexrun.so.1")); print("wheel ok:", hexrun.version())'
CHECK_TARGETS += check-wheel
