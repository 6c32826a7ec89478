# hexrun-host tests: a Check suite for its pure parts (cron, templates, schedule files) and
# end-to-end pytest suites that drive build/hexrun-host against hexsim.
E2E_CHECK_SRC := $(wildcard tests/e2e/check_*.c)
E2E_CHECK_BIN := $(E2E_CHECK_SRC:tests/e2e/%.c=$(B)/tests/e2e/%)

$(B)/tests/e2e/%: tests/e2e/%.c $(HOST_LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -Wno-missing-prototypes -Ihost-sim -pthread $(SAN_FLAGS) \
	  $(shell pkg-config --cflags check $(HOST_PKGS)) $(CPPFLAGS) $(CFLAGS) \
	  $< -o $@ $(HOST_LIB) $(shell pkg-config --libs check) $(HOST_LIBS) $(SAN_FLAGS) $(LDFLAGS)

.PHONY: check-host-unit
check-host-unit: $(E2E_CHECK_BIN)
	@set -e; for t in $(E2E_CHECK_BIN); do echo "== $$t"; CK_DEFAULT_TIMEOUT=30 $$t; done
CHECK_TARGETS += check-host-unit
