# hexsim: the simulated Hex API (C, libmicrohttpd, json-c). Sources are listed, not globbed.
HEXSIM_SRC := hexsim/main.c hexsim/server.c hexsim/store.c hexsim/runs.c hexsim/admin.c \
              hexsim/control.c hexsim/request.c hexsim/variant.c hexsim/wake.c
HEXSIM_OBJ := $(HEXSIM_SRC:%.c=$(B)/obj/%.o)
HEXSIM_PKGS := libmicrohttpd json-c
HEXSIM_CFLAGS = $(HR_CFLAGS) -pthread $(shell pkg-config --cflags $(HEXSIM_PKGS)) $(SAN_FLAGS)

$(B)/obj/hexsim/%.o: hexsim/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HEXSIM_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/hexsim: $(HEXSIM_OBJ)
	$(CC) -o $@ $^ $(shell pkg-config --libs $(HEXSIM_PKGS)) -pthread -lm $(SAN_FLAGS) $(LDFLAGS)

.PHONY: hexsim
hexsim: $(B)/hexsim
ALL_TARGETS += hexsim
