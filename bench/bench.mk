# Benchmarks of the plugin itself (bench/bench_jobs.c); `make bench` prints their tables.
$(B)/bench/bench_jobs: bench/bench_jobs.c $(LIB_REAL) $(SIMPROC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -Itests/support $< -o $@ $(SIMPROC_LIB) -L$(B) -lhexrun \
	  -Wl,-rpath,$(abspath $(B))

.PHONY: bench-jobs
bench-jobs: $(B)/bench/bench_jobs $(B)/hexsim
	$(B)/bench/bench_jobs
BENCH_TARGETS += bench-jobs

.PHONY: bench-python
bench-python: $(B)/hexsim $(LIB_REAL) $(PY_STAMP)
	$(PY) bench/bench_poll.py
BENCH_TARGETS += bench-python

# hexrun's defaults against 3 s per-run polling at 1 to 1000 concurrent runs, hexsim's rate
# limits on, with each row's detection floor; then the interactive lane (cancel and direct
# call latency, idle and under 1000 live runs) and issue 14's targets (bench/bench_scale.py;
# several minutes). BENCH_SCALE_ARGS=--quick stops at 100; --interactive-only.
.PHONY: bench-scale
bench-scale: $(B)/hexsim $(LIB_REAL) $(PY_STAMP)
	$(PY) bench/bench_scale.py $(BENCH_SCALE_ARGS)
BENCH_TARGETS += bench-scale
