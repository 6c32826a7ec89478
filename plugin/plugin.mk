# libhexrun.so.1: every plugin/*.c is part of the library.
PLUGIN_SRC := $(wildcard plugin/*.c)
PLUGIN_PIC_OBJ := $(PLUGIN_SRC:%.c=$(B)/pic/%.o)
PLUGIN_PKGS := libcurl json-c
PLUGIN_CFLAGS = $(HR_CFLAGS) -fPIC -fvisibility=hidden -pthread -DHEXRUN_BUILDING \
                $(shell pkg-config --cflags $(PLUGIN_PKGS)) $(SAN_FLAGS)
PLUGIN_LIBS = $(shell pkg-config --libs $(PLUGIN_PKGS)) -pthread -lm

LIB_REAL := $(B)/libhexrun.so.$(VERSION)
LIB_SONAME := libhexrun.so.$(ABI_MAJOR)
# Internal archive of the same objects, for unit tests that call hexrun__ internals.
LIB_INTERNAL := $(B)/libhexrun-internal.a

$(B)/pic/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB_REAL): $(PLUGIN_PIC_OBJ) plugin/hexrun.map
	$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,--version-script=plugin/hexrun.map \
	  -Wl,--no-undefined -o $@ $(PLUGIN_PIC_OBJ) $(PLUGIN_LIBS) $(SAN_FLAGS) $(LDFLAGS)
	ln -sf libhexrun.so.$(VERSION) $(B)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(B)/libhexrun.so

$(LIB_INTERNAL): $(PLUGIN_PIC_OBJ)
	rm -f $@ && ar rcs $@ $^

.PHONY: plugin
plugin: $(LIB_REAL)
ALL_TARGETS += plugin

# pkg-config file, regenerated each time so that it follows PREFIX/LIBDIR/INCLUDEDIR.
.PHONY: $(B)/hexrun.pc
$(B)/hexrun.pc:
	@mkdir -p $(B)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	  'Name: hexrun' 'Description: trigger, poll, wait on and cancel Hex project runs' \
	  'Version: $(VERSION)' 'Libs: -L$${libdir} -lhexrun' 'Cflags: -I$${includedir}' > $@
ALL_TARGETS += $(B)/hexrun.pc

.PHONY: install
install: $(LIB_REAL) $(B)/hexrun.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 0755 $(LIB_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf libhexrun.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libhexrun.so
	install -m 0644 include/hexrun.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(B)/hexrun.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
