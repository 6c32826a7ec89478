# Failing allocations (issue 7, item 2): the plugin's objects, built with AddressSanitizer
# in a tree of their own, linked with malloc & co. wrapped so the i-th allocation fails;
# tests/oom/check_oom.c runs the whole scenario once per i. `make check-oom`.
OOM_B := $(B)/oom
OOM_SAN := -fsanitize=address -fno-omit-frame-pointer
OOM_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup,--wrap=vasprintf
OOM_SRC := tests/oom/check_oom.c tests/oom/oom_wrap.c

$(B)/tests/oom/check_oom: $(OOM_SRC) tests/oom/oom_wrap.h $(LIB_INTERNAL) $(SIMPROC_LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(HR_CFLAGS)) -Itests/support -pthread $(SAN_FLAGS) \
	  $(CPPFLAGS) $(CFLAGS) $(OOM_SRC) -o $@ $(LIB_INTERNAL) $(SIMPROC_LIB) $(PLUGIN_LIBS) \
	  $(OOM_WRAP) $(SAN_FLAGS) $(LDFLAGS)

# Built by the recursive make of oom-build, with B=$(OOM_B) and the sanitizer on.
.PHONY: oom-bin oom-build check-oom
oom-bin: $(B)/tests/oom/check_oom
	@:
oom-build:
	$(MAKE) --no-print-directory B=$(OOM_B) SAN_FLAGS="$(OOM_SAN)" oom-bin
suite/check-oom: oom-build

# Two children at a time (OOM_WORKERS); LeakSanitizer fails a child that leaks.
check-oom: oom-build $(B)/hexsim
	HEXSIM_BIN=$(B)/hexsim ASAN_OPTIONS=detect_leaks=1 timeout 600 $(OOM_B)/tests/oom/check_oom
CHECK_TARGETS += check-oom
