# hexsim's behavioural suite (tests/hexsim/) and its benchmark.
.PHONY: check-hexsim bench-hexsim
check-hexsim: $(PY_STAMP) $(B)/hexsim
	cd tests/hexsim && timeout 300 $(abspath $(PY)) -m pytest -q -p no:cacheprovider test_hexsim.py test_variant.py test_spec_rules.py
CHECK_TARGETS += check-hexsim

# GetRunStatus requests per second with wrk, and RSS with 100,000 stored runs.
bench-hexsim: $(B)/hexsim | $(DEPS_STAMP)
	bench/hexsim_bench.sh $(B)/hexsim
BENCH_TARGETS += bench-hexsim

# The same suites against hexsim built with AddressSanitizer and UBSan; any report fails.
$(B)/asan/hexsim: $(HEXSIM_SRC) $(wildcard hexsim/*.h) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -O2 -MMD -MP,$(HR_CFLAGS)) -O1 -fsanitize=address,undefined \
	  -fno-omit-frame-pointer -pthread $(shell pkg-config --cflags $(HEXSIM_PKGS)) \
	  $(HEXSIM_SRC) -o $@ $(shell pkg-config --libs $(HEXSIM_PKGS)) -pthread -lm

suite/hexsim-asan: $(B)/asan/hexsim
.PHONY: hexsim-asan
hexsim-asan: $(PY_STAMP) $(B)/asan/hexsim
	cd tests/hexsim && HEXSIM_BIN=$(abspath $(B)/asan/hexsim) timeout 300 \
	  $(abspath $(PY)) -m pytest -q -p no:cacheprovider test_hexsim.py test_variant.py test_spec_rules.py ../conformance/test_conformance.py
CHECK_TARGETS += hexsim-asan
