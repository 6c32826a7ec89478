# The unit and API suites again, with the library, hexsim and the tests built with
# AddressSanitizer (leaks included: a leak fails its test) and UBSan (any report is fatal),
# in a build tree of their own. `make check` runs it; `make asan` is the same by name.
ASAN_B := $(B)/asan-suites
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# asan-build only builds the suites' binaries (and hexsim) in $(ASAN_B): make check builds
# them before its suites run side by side.
.PHONY: asan check-asan asan-build
asan-build:
	$(MAKE) --no-print-directory B=$(ASAN_B) SAN_FLAGS="$(ASAN_FLAGS)" unit-bins api-bins
suite/check-asan: asan-build
asan check-asan: asan-build
	$(MAKE) --no-print-directory B=$(ASAN_B) SAN_FLAGS="$(ASAN_FLAGS)" check-unit check-api
CHECK_TARGETS += check-asan

# UBSan alone (any report is fatal), for a build without ASan's memory overhead.
UBSAN_B := $(B)/ubsan-suites
.PHONY: ubsan
ubsan:
	$(MAKE) --no-print-directory B=$(UBSAN_B) \
	  SAN_FLAGS="-fsanitize=undefined -fno-sanitize-recover=undefined" check-unit check-api

# The end-to-end suites (hexrun-host, the library and hexsim, all built with ASan and UBSan)
# in their own tree. A sanitizer report or a leak makes the process exit 99 (ASan) or 98
# (LeakSanitizer), which no test expects. Not in `make check` (several minutes).
.PHONY: asan-e2e
asan-e2e:
	ASAN_OPTIONS=exitcode=99 LSAN_OPTIONS=exitcode=98 UBSAN_OPTIONS=halt_on_error=1 \
	  $(MAKE) --no-print-directory B=$(ASAN_B)-e2e SAN_FLAGS="$(ASAN_FLAGS)" check-e2e

# The end-to-end suites with hexrun-host (and the plugin it loads) under valgrind. The two
# scheduler tests that fire on wall-clock slots a second apart are left out: under
# valgrind's slowdown the process starts a slot late (a timing miss, not a memory error).
VALGRIND_E2E_DESELECT := not test_scheduler_fires_the_right_slots_and_never_twice_across_a_restart \
  and not test_scheduler_skips_a_slot_while_the_previous_run_is_live
.PHONY: valgrind-e2e
valgrind-e2e: $(HOST_BIN) $(FAKE_PLUGINS) $(LIB_REAL) $(B)/hexsim $(PY_STAMP)
	cd tests/e2e && HEXRUN_BUILD=$(abspath $(B)) \
	  HEXRUN_HOST_WRAPPER=$(abspath tests/e2e/valgrind-host.sh) timeout 1800 $(abspath $(PY)) \
	  -m pytest -q -p no:cacheprovider -k "$(VALGRIND_E2E_DESELECT)" test_host.py test_journal.py

# ThreadSanitizer over the end-to-end suites (hexrun-host, the plugin and hexsim built with
# it, in their own tree): a data race makes a process exit 96.
.PHONY: tsan-e2e
tsan-e2e:
	TSAN_OPTIONS="exitcode=96 halt_on_error=1" \
	  $(MAKE) --no-print-directory B=$(B)/tsan-e2e SAN_FLAGS="-fsanitize=thread" check-e2e

# valgrind over the unit and API suites (in-process: CK_FORK=no); any error or definite
# leak fails. Not in `make check` (a few minutes).
.PHONY: valgrind
valgrind: $(UNIT_BIN) $(API_BIN) $(B)/hexsim
	@set -e; for t in $(UNIT_BIN) $(API_BIN); do echo "== valgrind $$t"; \
	  CK_FORK=no CK_DEFAULT_TIMEOUT=600 valgrind -q --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=9 $$t; done
