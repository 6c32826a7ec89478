# API suites: Check programs linked against the built libhexrun.so.1, each starting its
# own hexsim on a free port (tests/support/simproc). `make tsan` runs the threads suite
# against a ThreadSanitizer build of the library.
API_SRC := $(wildcard tests/api/check_api_*.c)
API_BIN := $(API_SRC:tests/api/%.c=$(B)/tests/api/%)
API_COMMON := tests/api/api_common.c tests/api/api_common.h
API_PKGS := check json-c
HEXSIM_BIN ?= $(B)/hexsim
# tests/support.mk sets it too, but is read after this file and prerequisites expand now.
SIMPROC_LIB ?= $(B)/tests/libsimproc.a

suite/check-api: $(API_BIN)
suite/check-example: $(B)/tests/examples/example
$(B)/tests/api/%: tests/api/%.c $(API_COMMON) $(LIB_REAL) $(SIMPROC_LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -Itests/support -Itests/api -pthread $(SAN_FLAGS) \
	  $(shell pkg-config --cflags $(API_PKGS)) $(CPPFLAGS) $(CFLAGS) \
	  $< tests/api/api_common.c -o $@ $(SIMPROC_LIB) -L$(B) -lhexrun \
	  -Wl,-rpath,$(abspath $(B)) $(shell pkg-config --libs $(API_PKGS)) $(SAN_FLAGS) $(LDFLAGS)

.PHONY: check-api api-bins
api-bins: $(API_BIN) $(HEXSIM_BIN)
	@:
check-api: $(API_BIN) $(HEXSIM_BIN)
	@failed=0; for t in $(API_BIN); do echo "== $$t"; CK_DEFAULT_TIMEOUT=60 $$t || failed=1; done; \
	  exit $$failed
CHECK_TARGETS += check-api

# ThreadSanitizer: the library and the threads suite built apart, in $(B)/tsan.
TSAN_DIR := $(B)/tsan
TSAN_FLAGS := -fsanitize=thread -O1 -g

$(TSAN_DIR)/$(LIB_SONAME): $(PLUGIN_SRC) $(wildcard plugin/*.h) plugin/hexrun.map | $(DEPS_STAMP)
	@mkdir -p $(TSAN_DIR)
	$(CC) $(filter-out -O2 -MMD -MP,$(PLUGIN_CFLAGS)) $(TSAN_FLAGS) -shared \
	  -Wl,-soname,$(LIB_SONAME) -Wl,--version-script=plugin/hexrun.map \
	  -o $@ $(PLUGIN_SRC) $(PLUGIN_LIBS)

$(TSAN_DIR)/check_api_threads: tests/api/check_api_threads.c $(API_COMMON) \
                               $(TSAN_DIR)/$(LIB_SONAME) $(SIMPROC_LIB)
	$(CC) $(filter-out -O2 -MMD -MP,$(HR_CFLAGS)) $(TSAN_FLAGS) -Itests/support -Itests/api \
	  -pthread $(shell pkg-config --cflags $(API_PKGS)) $< tests/api/api_common.c -o $@ \
	  $(SIMPROC_LIB) $(TSAN_DIR)/$(LIB_SONAME) -Wl,-rpath,$(abspath $(TSAN_DIR)) \
	  $(shell pkg-config --libs $(API_PKGS))

.PHONY: tsan
tsan: $(TSAN_DIR)/check_api_threads $(HEXSIM_BIN)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" CK_DEFAULT_TIMEOUT=300 $<

# The README's C example, compiled as a host would (only the public header) and run.
$(B)/tests/examples/example: tests/examples/example.c $(LIB_REAL)
	@mkdir -p $(dir $@)
	$(CC) -std=c99 -Wall -Wextra -Werror -Iinclude $< -o $@ -L$(B) -lhexrun \
	  -Wl,-rpath,$(abspath $(B))

.PHONY: check-example
check-example: $(B)/tests/examples/example $(HEXSIM_BIN)
	tests/examples/run_example.sh $(HEXSIM_BIN) $(B)/tests/examples/example
CHECK_TARGETS += check-example
