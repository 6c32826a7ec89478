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

# make check first builds the library, hexsim, the host, the test venv and what the longest
# suites (CHECK_EARLY) need, then runs the suites side by side, CHECK_JOBS at a time, the
# longest first (CHECK_FIRST): most of them wait on hexsim's clock rather than compute, and
# each has its own hexsim (--port 0), temporary directories and build outputs. Suite NAME runs
# as suite/NAME: a make of its own, whose output is printed in one piece when it ends, and
# which leaves its exit status, wall-clock and CPU seconds in $(CHECK_STATUS);
# mk/check-summary.sh then lists them and names every suite that failed or did not run. With
# -k both steps go on after a failure.
# What a suite needs beyond check-build (test binaries, sanitizer builds, wheels, venvs) its
# fragment names as prerequisites of suite/NAME: the make running the suites builds each of
# them once (while the early suites run), and no suite's own make builds or installs anything
# another suite uses. CHECK_PREPARE=1 makes suite/NAME build those and run nothing.
CHECK_JOBS ?= 4
CHECK_STATUS := $(B)/check-status
CHECK_EARLY := check-airflow check-dagster check-e2e-variant check-e2e
# Phony prerequisites of the early suites (re-pointing the shared Airflow venv at this tree):
# the first step runs them, the second is told they are done (-o), else it would run them
# again and start those suites only once it has started a first round of build jobs.
CHECK_EARLY_PHONY := airflow-pkg
CHECK_FIRST := $(CHECK_EARLY) check-asan check-api check-fuzz check-airflow-fallback check-oom \
               check-doc-samples
CHECK_SUITES = $(filter $(CHECK_TARGETS),$(CHECK_FIRST)) $(filter-out $(CHECK_FIRST),$(CHECK_TARGETS))

check:
	@rm -rf $(CHECK_STATUS) && mkdir -p $(CHECK_STATUS)
	@$(MAKE) --no-print-directory -j2 --output-sync=target CHECK_PREPARE=1 check-build \
	  $(patsubst %,suite/%,$(filter $(CHECK_TARGETS),$(CHECK_EARLY))) || \
	  case "$(firstword -$(MAKEFLAGS))" in *k*) ;; *) exit 1 ;; esac
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) --output-sync=recurse \
	  $(CHECK_EARLY_PHONY:%=-o %) check-suites; \
	  rc=$$?; mk/check-summary.sh $(CHECK_STATUS) $(CHECK_SUITES) && exit $$rc

.PHONY: check-build check-suites $(CHECK_TARGETS:%=suite/%)
check-build: $(ALL_TARGETS) $(PY_STAMP)
	@echo "make check: library, hexsim, host and test venv ready"
check-suites: $(CHECK_SUITES:%=suite/%)
# The status file holds the exit status, the wall-clock seconds and the CPU seconds (user +
# system of every process of the suite, from bash's `times`).
$(CHECK_TARGETS:%=suite/%): suite/%:
	@[ -z "$(CHECK_PREPARE)" ] || exit 0; \
	  echo "==== $* (started $$(date +%T))"; start=$$(date +%s); mkdir -p $(CHECK_STATUS); \
	  $(MAKE) --no-print-directory $*; rc=$$?; secs=$$(( $$(date +%s) - start )); \
	  times > $(CHECK_STATUS)/$*.times; \
	  cpu=$$(awk 'END { split($$1, u, "m"); split($$2, s, "m"); \
	                    printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' $(CHECK_STATUS)/$*.times); \
	  echo "$$rc $$secs $$cpu" > $(CHECK_STATUS)/$*; \
	  if [ $$rc = 0 ]; then echo "==== $*: passed in $$secs s"; \
	  else echo "==== $*: FAILED (exit $$rc) after $$secs s"; fi; exit $$rc

bench: $(BENCH_TARGETS)
docs: $(DOCS_TARGETS)
clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
