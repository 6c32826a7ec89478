# issue 17's figures (bench/bench_coord.py): 8 processes x 50 runs on one token through a
# PostgreSQL coordination store (coord_url) against one process and against a budget each,
# and the store stopped for 30 s mid-run; a throwaway server, as in check-coord
# (BENCH_COORD_DURABLE=1: one whose commits reach the disk, as in production). ~5 min.
.PHONY: bench-coord
bench-coord: $(HOST_BIN) $(LIB_REAL) $(B)/hexsim $(PY_STAMP)
	HEXRUN_BUILD=$(abspath $(B)) $(PY) bench/bench_coord.py
BENCH_TARGETS += bench-coord

# The detection target at x60 (a 50 ms sweep period, where a store round trip is as small a
# part of it as it can be on a scaled clock): 8 x 50 against 1 x 400 only. ~14 min.
.PHONY: bench-coord-detect
bench-coord-detect: $(HOST_BIN) $(LIB_REAL) $(B)/hexsim $(PY_STAMP)
	HEXRUN_BUILD=$(abspath $(B)) BENCH_COORD_SCALE=60 BENCH_COORD_ROWS=detect \
	  $(PY) bench/bench_coord.py
BENCH_TARGETS += bench-coord-detect
