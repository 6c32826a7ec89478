# The rules of the house, enforced (docs/architecture.md):
#   check-layers      curl only in plugin/http.c, json-c only in plugin/hex.c, hosts and
#                     hexsim see only include/hexrun.h, no circle between plugin files
#   check-signatures  python/hexrun/_lib.py's SIGNATURES are include/hexrun.h's
#   check-fast        the inner loop: unit, api, host unit, abi, docs, layers, signatures
.PHONY: check-layers check-signatures check-fast
check-layers: $(PLUGIN_PIC_OBJ)
	@python3 tests/layers/check_layers.py $(B)/pic/plugin
CHECK_TARGETS += check-layers

check-signatures: $(PY_STAMP)
	@timeout 120 $(PY) -m pytest -q -p no:cacheprovider tests/python/test_signatures.py
CHECK_TARGETS += check-signatures

# The API suites wait on hexsim more than they compute, each on its own port: check-fast
# runs them side by side (the unit, host unit, ABI, docs, layer and signature checks take
# about 10 s of it).
FAST_API := $(API_BIN:$(B)/tests/api/%=fast-%)
.PHONY: $(FAST_API) check-fast-suites
$(FAST_API): fast-%: $(B)/tests/api/% $(HEXSIM_BIN)
	@CK_DEFAULT_TIMEOUT=60 $< > $(B)/tests/api/$*.log 2>&1 || \
	  { cat $(B)/tests/api/$*.log; echo "$*: FAILED"; exit 1; }
	@grep -h '^[0-9]*%:' $(B)/tests/api/$*.log | sed 's/^/$*: /'

check-fast-suites: check-unit check-host-unit check-abi check-docs check-layers \
                   check-signatures $(FAST_API)

check-fast:
	@$(MAKE) --no-print-directory -j3 check-fast-suites
	@echo "make check-fast: all suites passed"

# clang-format with the repository's .clang-format (clang-format comes with mk/deps.sh).
# FORMAT_FILES are the files kept formatted: `make format` rewrites them, `make
# check-format` (part of make check) fails when one differs from clang-format's output.
# The list holds the files nobody had touched in the 30 minutes before 2026-11-30 06:15,
# while the engine work was still landing; a file joins it once `make format
# FORMAT_FILES=<file>` has been run on it (ideally all of include/ plugin/ hexsim/ host-sim/
# tests/ bench/).
FORMAT_FILES ?= bench/bench_jobs.c hexsim/admin.c hexsim/control.c hexsim/hexsim.h \
    hexsim/main.c hexsim/request.c hexsim/runs.c hexsim/server.c hexsim/server.h hexsim/store.c \
    hexsim/variant.c host-sim/cli.c host-sim/cli.h host-sim/cmd_info.c host-sim/cmd_list.c \
    host-sim/cmd_load.c host-sim/cmd_run.c host-sim/cmd_schedule.c host-sim/cmds.h \
    host-sim/cron.c host-sim/cron.h host-sim/loader.c host-sim/loader.h host-sim/main.c \
    host-sim/out.c host-sim/out.h host-sim/sched.c host-sim/sched.h host-sim/tmpl.c \
    host-sim/tmpl.h plugin/budget.c plugin/budget.h plugin/buf.c plugin/buf.h plugin/config.c \
    plugin/config.h plugin/errors.c plugin/file.c plugin/file.h plugin/hex.c plugin/http.c \
    plugin/http.h plugin/job.c plugin/job.h plugin/log.c plugin/log.h plugin/reqpath.c \
    plugin/reqpath.h plugin/url.c plugin/url.h tests/api/api_common.c tests/api/api_common.h \
    tests/api/check_api_coalesce.c tests/api/check_api_direct.c tests/api/check_api_hardening.c \
    tests/api/check_api_jobs.c tests/api/check_api_lanes.c tests/api/check_api_liveness.c \
    tests/api/check_api_threads.c tests/e2e/check_cron.c tests/e2e/fake_plugin.c \
    tests/examples/example.c tests/fuzz/fuzz_budget_file.c tests/fuzz/fuzz_config.c \
    tests/fuzz/fuzz_cron.c tests/fuzz/fuzz_hex_error.c tests/fuzz/fuzz_hex_pages.c \
    tests/fuzz/fuzz_hex_run.c tests/fuzz/fuzz_hexsim.c tests/fuzz/fuzz_http_text.c \
    tests/fuzz/fuzz_job_json.c tests/fuzz/fuzz_journal.c tests/fuzz/fuzz_redact.c \
    tests/fuzz/fuzz_retry_after.c tests/fuzz/fuzz_run_options.c tests/oom/check_oom.c \
    tests/oom/oom_wrap.c tests/oom/oom_wrap.h tests/soak/soak.c tests/support/ck_run.h \
    tests/support/config_table.c tests/support/simproc.c tests/support/simproc.h \
    tests/support/stubsrv.c tests/support/stubsrv.h tests/unit/check_adopt.c \
    tests/unit/check_budget.c tests/unit/check_buf.c tests/unit/check_config.c \
    tests/unit/check_hex.c tests/unit/check_http.c tests/unit/check_job.c \
    tests/unit/check_journal.c tests/unit/check_log.c tests/unit/check_retry.c \
    tests/unit/check_state.c
.PHONY: format check-format
format: | $(DEPS_STAMP)
	clang-format -i --style=file $(FORMAT_FILES)

check-format: | $(DEPS_STAMP)
	@clang-format --dry-run --Werror --style=file $(FORMAT_FILES) && \
	  echo "check-format: $(words $(FORMAT_FILES)) files as clang-format writes them"
CHECK_TARGETS += check-format
