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
