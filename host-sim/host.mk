# hexrun-host: the bundled host. It dlopens the plugin at run time, so it links neither
# libcurl nor libhexrun; json-c is its own (reading plugin JSON and schedule files).
HOST_SRC := $(wildcard host-sim/*.c)
HOST_LIB_OBJ := $(patsubst %.c,$(B)/host/%.o,$(filter-out host-sim/main.c,$(HOST_SRC)))
HOST_MAIN_OBJ := $(B)/host/host-sim/main.o
# Everything but main(), so the e2e unit suites can test the cron engine and friends.
HOST_LIB := $(B)/host/libhost.a
HOST_PKGS := json-c
HOST_CFLAGS = $(HR_CFLAGS) -pthread $(shell pkg-config --cflags $(HOST_PKGS)) $(SAN_FLAGS)
HOST_LIBS = $(shell pkg-config --libs $(HOST_PKGS)) -ldl -lm -pthread
HOST_BIN := $(B)/hexrun-host

$(B)/host/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(HOST_LIB): $(HOST_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(HOST_BIN): $(HOST_MAIN_OBJ) $(HOST_LIB)
	$(CC) -o $@ $(HOST_MAIN_OBJ) $(HOST_LIB) $(HOST_LIBS) $(SAN_FLAGS) $(LDFLAGS)

.PHONY: host
host: $(HOST_BIN)
ALL_TARGETS += host

# The README's first command: build everything, then drive a real run against hexsim.
.PHONY: demo
demo: all
	host-sim/demo.sh $(B)

# `make install` also installs the host, beside the library it loads by SONAME.
.PHONY: install-host
install-host: $(B)/hexrun-host
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/hexrun-host $(DESTDIR)$(BINDIR)/
install: install-host
