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
# It holds every C file of the tree but two laid out by hand: the public header (its enum
# comments line up across the whole enum) and the SQL text of the coordination schema.
FORMAT_FILES ?= $(filter-out include/hexrun.h plugin/coord_sql.h, \
                  $(sort $(wildcard include/*.h plugin/*.[ch] hexsim/*.[ch] host-sim/*.[ch] \
                                    tests/*/*.[ch] bench/*.[ch])))
.PHONY: format check-format
format: | $(DEPS_STAMP)
	clang-format -i --style=file $(FORMAT_FILES)

check-format: | $(DEPS_STAMP)
	@clang-format --dry-run --Werror --style=file $(FORMAT_FILES) && \
	  echo "check-format: $(words $(FORMAT_FILES)) files as clang-format writes them"
CHECK_TARGETS += check-format
