# hexrun-host tests: a Check suite for its pure parts (cron, templates, schedule files) and
# end-to-end pytest suites that drive build/hexrun-host against hexsim.
E2E_CHECK_SRC := $(wildcard tests/e2e/check_*.c)
E2E_CHECK_BIN := $(E2E_CHECK_SRC:tests/e2e/%.c=$(B)/tests/e2e/%)

$(B)/tests/e2e/%: tests/e2e/%.c $(HOST_LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -Wno-missing-prototypes -Itests/support -Ihost-sim -pthread $(SAN_FLAGS) \
	  $(shell pkg-config --cflags check $(HOST_PKGS)) $(CPPFLAGS) $(CFLAGS) \
	  $< -o $@ $(HOST_LIB) $(shell pkg-config --libs check) $(HOST_LIBS) $(SAN_FLAGS) $(LDFLAGS)

suite/check-host-unit: $(E2E_CHECK_BIN)
.PHONY: check-host-unit
check-host-unit: $(E2E_CHECK_BIN)
	@set -e; for t in $(E2E_CHECK_BIN); do echo "== $$t"; CK_DEFAULT_TIMEOUT=30 $$t; done
CHECK_TARGETS += check-host-unit

# Stand-in plugins for the loader tests: another ABI major, and one lacking symbols.
FAKE_PLUGINS := $(B)/tests/e2e/abi2/libhexrun.so.1 $(B)/tests/e2e/incomplete/libhexrun.so.1
$(B)/tests/e2e/abi2/libhexrun.so.1: FAKE_MAJOR := 2
$(B)/tests/e2e/incomplete/libhexrun.so.1: FAKE_MAJOR := 1
suite/check-e2e suite/check-e2e-variant: $(FAKE_PLUGINS)
$(FAKE_PLUGINS): tests/e2e/fake_plugin.c
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -fPIC -shared -DFAKE_ABI_MAJOR=$(FAKE_MAJOR) $< -o $@

# End-to-end: build/hexrun-host with the real plugin against hexsim (tests/support/hexsim.py).
E2E_SUITES := test_host.py test_journal.py test_budget.py test_hardening.py
.PHONY: check-e2e
check-e2e: $(HOST_BIN) $(FAKE_PLUGINS) $(LIB_REAL) $(B)/hexsim $(PY_STAMP)
	cd tests/e2e && HEXRUN_BUILD=$(abspath $(B)) timeout 600 $(PY) -m pytest -q -x \
	  -p no:cacheprovider $(E2E_SUITES)
CHECK_TARGETS += check-e2e

# The same end-to-end suites against hexsim's variant profile (docs/hexsim.md, "The variant
# profile"): answers the spec allows that the default profile never gives.
.PHONY: check-e2e-variant
check-e2e-variant: $(HOST_BIN) $(FAKE_PLUGINS) $(LIB_REAL) $(B)/hexsim $(PY_STAMP)
	cd tests/e2e && HEXSIM_PROFILE=spec-variant HEXRUN_BUILD=$(abspath $(B)) timeout 900 \
	  $(PY) -m pytest -q -p no:cacheprovider $(E2E_SUITES)
CHECK_TARGETS += check-e2e-variant
