# hexsim's behavioural suite (tests/hexsim/) and its benchmark.
.PHONY: check-hexsim bench-hexsim
check-hexsim: $(PY_STAMP) $(B)/hexsim
	cd tests/hexsim && timeout 300 $(abspath $(PY)) -m pytest -q -p no:cacheprovider test_hexsim.py
CHECK_TARGETS += check-hexsim

# GetRunStatus requests per second with wrk, and RSS with 100,000 stored runs.
bench-hexsim: $(B)/hexsim | $(DEPS_STAMP)
	bench/hexsim_bench.sh $(B)/hexsim
BENCH_TARGETS += bench-hexsim
