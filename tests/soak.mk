# Soak: tests/soak/soak.c, N runs through one client against hexsim with its rate limits
# on and ~10% injected faults; it checks zero lost, zero duplicated, zero untracked runs,
# zero 429s and a flat RSS (docs/faults.md). `make soak` = 10,000 runs (SOAK_RUNS=N to
# change), `make check-soak` = 500 runs, in `make check`, where every 25th RunProject that
# made a run also answers 504 (hexsim's variant switch). hexsim's own connection messages go to
# $(B)/soak.stderr; the soak's complaints (lines starting "soak:") are shown.
SOAK_BIN := $(B)/tests/soak/soak
SOAK_RUNS ?= 10000
SIMPROC_LIB ?= $(B)/tests/libsimproc.a

$(SOAK_BIN): tests/soak/soak.c $(LIB_REAL) $(SIMPROC_LIB) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -Itests/support -pthread $(SAN_FLAGS) \
	  $(shell pkg-config --cflags json-c) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(SIMPROC_LIB) \
	  -L$(B) -lhexrun -Wl,-rpath,$(abspath $(B)) $(shell pkg-config --libs json-c) \
	  $(SAN_FLAGS) $(LDFLAGS)

# $(1): runs, $(2): time limit in seconds.
define soak_run
	@HEXSIM_BIN=$(abspath $(B)/hexsim) timeout $(2) $(SOAK_BIN) $(1) 2>$(B)/soak.stderr; \
	  rc=$$?; grep '^soak:' $(B)/soak.stderr | head -20; exit $$rc
endef

suite/check-soak: $(SOAK_BIN)
.PHONY: soak check-soak
soak: $(SOAK_BIN) $(B)/hexsim
	$(call soak_run,$(SOAK_RUNS),3600)

check-soak: $(SOAK_BIN) $(B)/hexsim
	$(call soak_run,500 --after-work 25,300)
CHECK_TARGETS += check-soak
