# The manylinux wheel: `make python`'s wheel with the libraries libhexrun.so.1 needs (libcurl,
# json-c and theirs) copied in by auditwheel (patchelf points the library at them), so it
# installs on any x86_64 Linux whose glibc is at least the tag's. The tools live in their own
# virtual environment outside the clone.
WHEEL_VENV ?= $(HOME)/.cache/hexrun/venv-wheel
WHEEL_STAMP := $(WHEEL_VENV)/.hexrun-stamp
# The bare virtual environment the wheel test installs into (made once, by the system's python3).
BARE_VENV ?= $(HOME)/.cache/hexrun/venv-bare
MANYLINUX_DIR := dist/manylinux

$(WHEEL_STAMP): mk/deps.sh python/requirements-wheel.txt
	@HEXRUN_VENV=$(WHEEL_VENV) mk/deps.sh python python/requirements-wheel.txt

# Made again only when `make python`'s wheel (python/python.mk) or the tools change.
MANYLINUX_STAMP := $(MANYLINUX_DIR)/.made
.PHONY: manylinux check-wheel-manylinux
$(MANYLINUX_STAMP): $(WHEEL) $(WHEEL_STAMP)
	rm -rf $(MANYLINUX_DIR)
	@mkdir -p $(B)
	PATH=$(WHEEL_VENV)/bin:$$PATH auditwheel repair --plat auto -w $(MANYLINUX_DIR) \
	  $(WHEEL) > $(B)/auditwheel.log 2>&1 || { cat $(B)/auditwheel.log; exit 1; }
	@ls $(MANYLINUX_DIR)/hexrun-*manylinux*.whl
	@touch $@
manylinux: $(MANYLINUX_STAMP)
suite/check-wheel-manylinux: $(MANYLINUX_STAMP)

# Installed into a bare venv, with the system's libcurl, json-c and their dependencies
# hidden in a private mount namespace, the wheel runs a job against hexsim
# (tests/python/wheel_anywhere.py).
check-wheel-manylinux: $(MANYLINUX_STAMP) $(B)/hexsim $(PY_STAMP)
	timeout 300 $(PY) tests/python/wheel_anywhere.py --wheel $(MANYLINUX_DIR)/hexrun-*manylinux*.whl \
	  --library $(B)/$(LIB_SONAME) --venv $(BARE_VENV) --hexsim $(B)/hexsim
CHECK_TARGETS += check-wheel-manylinux
