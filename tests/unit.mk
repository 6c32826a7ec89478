# Unit suites: one Check program per module (tests/unit/check_<module>.c), linked with the
# plugin's objects so they can call hexrun__ internals.
UNIT_SRC := $(wildcard tests/unit/check_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)
CHECK_PKGS := check

$(B)/tests/unit/%: tests/unit/%.c $(LIB_INTERNAL) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -Wno-missing-prototypes -Itests/support -Iplugin -pthread $(SAN_FLAGS) \
	  $(shell pkg-config --cflags $(CHECK_PKGS) $(PLUGIN_PKGS)) $(CPPFLAGS) $(CFLAGS) \
	  $< -o $@ $(LIB_INTERNAL) $(shell pkg-config --libs $(CHECK_PKGS)) $(PLUGIN_LIBS) \
	  $(SAN_FLAGS) $(LDFLAGS)

suite/check-unit: $(UNIT_BIN)
.PHONY: check-unit unit-bins
unit-bins: $(UNIT_BIN)
	@:
check-unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; CK_DEFAULT_TIMEOUT=30 $$t; done
CHECK_TARGETS += check-unit
