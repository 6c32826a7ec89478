# The unit and API suites again, with the library, hexsim and the tests built with
# AddressSanitizer (leaks included: a leak fails its test) and UBSan (any report is fatal),
# in a build tree of their own. `make check` runs it; `make asan` is the same by name.
ASAN_B := $(B)/asan-suites
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

.PHONY: asan check-asan
asan check-asan:
	$(MAKE) --no-print-directory B=$(ASAN_B) SAN_FLAGS="$(ASAN_FLAGS)" check-unit check-api
CHECK_TARGETS += check-asan

# valgrind over the unit and API suites (in-process: CK_FORK=no); any error or definite
# leak fails. Not in `make check` (a few minutes).
.PHONY: valgrind
valgrind: $(UNIT_BIN) $(API_BIN) $(B)/hexsim
	@set -e; for t in $(UNIT_BIN) $(API_BIN); do echo "== valgrind $$t"; \
	  CK_FORK=no CK_DEFAULT_TIMEOUT=600 valgrind -q --leak-check=full \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=9 $$t; done
