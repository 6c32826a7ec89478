# hexrun: the one GNU make entry point (all, demo, check, bench, install, docs, clean).
#
# Each component keeps its rules beside its code in a fragment (plugin/plugin.mk,
# hexsim/hexsim.mk, host-sim/host.mk, tests/*.mk, python/python.mk, bench/bench.mk) and
# registers its targets in ALL_TARGETS, CHECK_TARGETS, BENCH_TARGETS.
# Our own flags live in HR_*; the user's CFLAGS/LDFLAGS/CPPFLAGS are appended, never replaced.

.DEFAULT_GOAL := all
SHELL := /bin/bash

VERSION := $(shell sed -n 's/^\#define HEXRUN_VERSION_STRING "\(.*\)"/\1/p' include/hexrun.h)
ABI_MAJOR := $(shell sed -n 's/^\#define HEXRUN_ABI_MAJOR \([0-9]*\)/\1/p' include/hexrun.h)

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=

B := build
CC ?= cc
HR_WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
HR_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -MMD -MP -Iinclude $(HR_WARN)
# Extra flags for instrumented builds (asan, ubsan, tsan), set by those targets.
SAN_FLAGS ?=

# The Python virtual environment lives outside the clone so CI runs can reuse it.
HEXRUN_VENV ?= $(HOME)/.cache/hexrun/venv
export HEXRUN_VENV
PY := $(HEXRUN_VENV)/bin/python

ALL_TARGETS :=
CHECK_TARGETS :=
BENCH_TARGETS :=
DOCS_TARGETS :=

# Debian packages the build needs; mk/deps.sh installs the missing ones (apt-get as root).
DEPS_STAMP := $(B)/.deps-debian
$(DEPS_STAMP): mk/deps.sh
	@mkdir -p $(B)
	@mk/deps.sh debian
	@touch $@

PY_STAMP := $(HEXRUN_VENV)/.hexrun-stamp
$(PY_STAMP): mk/deps.sh python/requirements-test.txt
	@mk/deps.sh python python/requirements-test.txt

.PHONY: deps
deps: $(DEPS_STAMP)

# The library's and the test helpers' fragments come first: the others name their outputs
# (LIB_REAL, SIMPROC_LIB, ...) in prerequisites, which make expands as it reads them.
FIRST_FRAGMENTS := plugin/plugin.mk tests/support.mk
include $(FIRST_FRAGMENTS)
include $(filter-out $(FIRST_FRAGMENTS),$(sort $(wildcard plugin/*.mk hexsim/*.mk host-sim/*.mk \
                                                          tests/*.mk python/*.mk bench/*.mk docs/*.mk)))

.PHONY: all check bench docs clean
all: $(ALL_TARGETS)
check: $(CHECK_TARGETS)
	@echo "make check: all suites passed"
bench: $(BENCH_TARGETS)
docs: $(DOCS_TARGETS)
clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
