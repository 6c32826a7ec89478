# issue 17's figures (bench/bench_coord.py): 8 processes x 50 runs on one token through a
# PostgreSQL coordination store (coord_url) against one process and against a budget each,
# and the store stopped for 30 s mid-run; a throwaway server, as in check-coord. ~5 min.
.PHONY: bench-coord
bench-coord: $(HOST_BIN) $(LIB_REAL) $(B)/hexsim $(PY_STAMP)
	HEXRUN_BUILD=$(abspath $(B)) $(PY) bench/bench_coord.py
BENCH_TARGETS += bench-coord
