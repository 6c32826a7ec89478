# ABI checks: the exported symbols match tests/abi/exports.txt, the header compiles on its
# own as C99 -pedantic and as C++, and abidiff finds no change against the committed
# baseline (tests/abi/libhexrun.abi, made by `make abi-baseline` when the ABI grows).
ABI_BASELINE := tests/abi/libhexrun.abi

.PHONY: check-abi check-abi-exports check-abi-header check-abi-diff abi-baseline
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

check-abi: check-abi-exports check-abi-header check-abi-diff
CHECK_TARGETS += check-abi

# Install into a scratch DESTDIR and build the README example from there with pkg-config,
# as a packager or a host would.
.PHONY: check-install
check-install: $(LIB_REAL)
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
