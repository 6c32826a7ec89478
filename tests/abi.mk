# ABI checks: the exported symbols match tests/abi/exports.txt, the header compiles on its
# own as C99 -pedantic and as C++, abidiff finds no change against the committed
# baseline (tests/abi/libhexrun.abi, made by `make abi-baseline` when the ABI grows), and
# every enum and #define value is as tests/abi/constants.txt records it.
ABI_BASELINE := tests/abi/libhexrun.abi

.PHONY: check-abi check-abi-exports check-abi-header check-abi-diff check-abi-constants \
        abi-baseline abi-constants-add
check-abi-exports: $(LIB_REAL)
	@nm -D --defined-only $(B)/$(LIB_SONAME) | awk '{print $$3}' | sort > $(B)/exports.txt
	@diff -u tests/abi/exports.txt $(B)/exports.txt || \
	  { echo "exported symbols differ from tests/abi/exports.txt"; exit 1; }
	@echo "abi: $$(wc -l < tests/abi/exports.txt) exported symbols as listed"

check-abi-header: include/hexrun.h
	@mkdir -p $(B)/tests/abi
	@printf '#include "hexrun.h"\nint main(void){return hexrun_abi_version()==0;}\n' \
	  > $(B)/tests/abi/header.c
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only $(B)/tests/abi/header.c
	$(CXX) -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only -x c++ \
	  $(B)/tests/abi/header.c

check-abi-diff: $(LIB_REAL)
	@abidw --no-corpus-path --drop-private-types --headers-dir include $(B)/$(LIB_SONAME) > $(B)/libhexrun.abi
	@abidiff --headers-dir2 include $(ABI_BASELINE) $(B)/$(LIB_SONAME) || \
	  { echo "ABI differs from $(ABI_BASELINE)"; exit 1; }
	@echo "abi: abidiff clean against $(ABI_BASELINE)"

abi-baseline: $(LIB_REAL)
	abidw --no-corpus-path --drop-private-types --headers-dir include $(B)/$(LIB_SONAME) > $(ABI_BASELINE)

# abidiff cannot see enumerator values no signature uses: tests/abi/constants.py pins every
# enum and #define value of the header to tests/abi/constants.txt. The second half proves
# the gate bites: a scratch copy of the header with two renumbered values must fail it.
ABI_SCRATCH := $(B)/tests/abi/renumbered
check-abi-constants: include/hexrun.h tests/abi/constants.txt tests/abi/constants.py
	@CC="$(CC)" python3 tests/abi/constants.py check
	@mkdir -p $(ABI_SCRATCH)
	@sed -e 's/HEXRUN_STATE_KILLED = 6,/HEXRUN_STATE_KILLED = 16,/' \
	     -e 's/HEXRUN_E_TIMEOUT = -5,/HEXRUN_E_TIMEOUT = -55,/' include/hexrun.h > $(ABI_SCRATCH)/hexrun.h
	@! CC="$(CC)" python3 tests/abi/constants.py check --header $(ABI_SCRATCH)/hexrun.h \
	  2> $(ABI_SCRATCH)/out.txt >/dev/null
	@grep -q 'HEXRUN_STATE_KILLED changed from 6 to 16' $(ABI_SCRATCH)/out.txt && \
	  grep -q 'HEXRUN_E_TIMEOUT changed from -5 to -55' $(ABI_SCRATCH)/out.txt || \
	  { cat $(ABI_SCRATCH)/out.txt; echo "abi: a renumbered header passed the constants gate"; exit 1; }
	@echo "abi: a header with KILLED 6->16 and TIMEOUT -5->-55 fails the constants gate"

# Record the header's new enumerators and #defines (recorded ones never change).
abi-constants-add:
	CC="$(CC)" python3 tests/abi/constants.py add

check-abi: check-abi-exports check-abi-header check-abi-diff check-abi-constants
CHECK_TARGETS += check-abi

# Install into a scratch DESTDIR and build the README example from there with pkg-config,
# as a packager or a host would.
.PHONY: check-install
check-install: $(LIB_REAL) $(HOST_BIN)
	@rm -rf $(B)/install-test
	@$(MAKE) --no-print-directory install PREFIX=/opt/hexrun DESTDIR=$(abspath $(B)/install-test) >/dev/null
	@root=$(abspath $(B)/install-test); \
	  test -L $$root/opt/hexrun/lib/$(LIB_SONAME) && test -L $$root/opt/hexrun/lib/libhexrun.so; \
	  PKG_CONFIG_SYSROOT_DIR=$$root PKG_CONFIG_PATH=$$root/opt/hexrun/lib/pkgconfig \
	  $(CC) tests/examples/example.c -o $(B)/install-test/example \
	    $$(PKG_CONFIG_SYSROOT_DIR=$$root PKG_CONFIG_PATH=$$root/opt/hexrun/lib/pkgconfig \
	       pkg-config --cflags --libs hexrun); \
	  readelf -d $(B)/install-test/example | grep -q 'NEEDED.*\[$(LIB_SONAME)\]'
	@echo "install: library, SONAME links, header and hexrun.pc usable from DESTDIR"
CHECK_TARGETS += check-install
