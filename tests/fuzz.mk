# libFuzzer targets (tests/fuzz/fuzz_<name>.c), built with clang and ASan/UBSan from the
# sources they exercise.
#   make fuzz FUZZ_SECONDS=N   run every target for N seconds (default 60)
#   make check-fuzz            a short run of every target (part of make check)
# Seeds live in tests/fuzz/corpus/<target>/; new inputs go to build/fuzz/corpus/<target>/.
# Results of the long runs: docs/fuzzing.md.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 5
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude -Iplugin -Wall -Wextra -Werror \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

# Sources linked into each target: the plugin's parsers unless a target names its own
# in FUZZ_SRC_<target> (host-sim and hexsim share no code with the plugin).
FUZZ_PLUGIN_SRC := plugin/buf.c plugin/log.c plugin/http.c plugin/hex.c plugin/url.c
FUZZ_SRC_fuzz_cron := host-sim/cron.c
FUZZ_CFLAGS_fuzz_cron := -Ihost-sim
FUZZ_SRC_fuzz_job_json := plugin/job.c plugin/buf.c plugin/log.c
FUZZ_SRC_fuzz_config := plugin/config.c plugin/errors.c plugin/url.c plugin/log.c plugin/buf.c
# hexsim without its libmicrohttpd side (server.c, main.c).
FUZZ_SRC_fuzz_hexsim := hexsim/request.c hexsim/store.c hexsim/runs.c hexsim/admin.c \
                        hexsim/control.c hexsim/variant.c
FUZZ_CFLAGS_fuzz_hexsim := -Ihexsim
FUZZ_SRC_fuzz_journal := plugin/journal.c plugin/file.c plugin/hex.c plugin/buf.c
# A target that #includes the file it tests (to know a binary layout private to that file)
# names it in FUZZ_INCLUDES_<target>, and links only FUZZ_SRC_<target> besides.
FUZZ_INCLUDES_fuzz_budget_file := plugin/budget.c
FUZZ_SRC_fuzz_budget_file := plugin/file.c plugin/log.c plugin/buf.c
fuzz_sources = $(if $(FUZZ_INCLUDES_$(1)),$(FUZZ_SRC_$(1)),$(or $(FUZZ_SRC_$(1)),$(FUZZ_PLUGIN_SRC)))

# $(1): target name.
define fuzz_rule
$(B)/fuzz/$(1): tests/fuzz/$(1).c $(call fuzz_sources,$(1)) $(FUZZ_INCLUDES_$(1)) $(wildcard plugin/*.h host-sim/*.h hexsim/*.h) | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_FLAGS) $(FUZZ_CFLAGS_$(1)) $$(shell pkg-config --cflags libcurl json-c) $$< \
	  $(call fuzz_sources,$(1)) -o $$@ $$(shell pkg-config --libs libcurl json-c) -pthread -lm
endef
$(foreach t,$(FUZZ_SRC:tests/fuzz/%.c=%),$(eval $(call fuzz_rule,$(t))))

# FUZZ_ONLY=<names> runs only those targets (e.g. FUZZ_ONLY="fuzz_cron fuzz_hexsim").
FUZZ_RUN = $(if $(FUZZ_ONLY),$(addprefix $(B)/fuzz/,$(FUZZ_ONLY)),$(FUZZ_BIN))

# $(1): seconds per target; $(2): 1 to print libFuzzer's final stats (executions, ...).
define run_fuzzers
	@set -e; for t in $(FUZZ_RUN); do n=$$(basename $$t); \
	  mkdir -p $(B)/fuzz/corpus/$$n; echo "== $$n ($(1) s)"; \
	  $$t -max_total_time=$(1) -timeout=10 -artifact_prefix=$(B)/fuzz/ -rss_limit_mb=2048 \
	    -print_final_stats=$(2) $(B)/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>&1 | \
	    grep -E '^(#[0-9]+ +DONE|Done|stat::|==[0-9]+==|SUMMARY)' | tail -n 8; \
	  test $${PIPESTATUS[0]} -eq 0; done
endef

.PHONY: fuzz check-fuzz
fuzz: $(FUZZ_BIN)
	$(call run_fuzzers,$(FUZZ_SECONDS),1)

suite/check-fuzz: $(FUZZ_BIN)
check-fuzz: $(FUZZ_BIN)
	$(call run_fuzzers,$(FUZZ_CHECK_SECONDS),0)

CHECK_TARGETS += check-fuzz
