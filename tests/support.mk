# Test helpers shared by the C suites (api, e2e, bench): start, call and stop hexsim;
# stubsrv, a scripted HTTP server for answers hexsim does not give.
SIMPROC_LIB := $(B)/tests/libsimproc.a

$(B)/tests/support/simproc.o: tests/support/simproc.c tests/support/simproc.h
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) $(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/tests/support/stubsrv.o: tests/support/stubsrv.c tests/support/stubsrv.h
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) $(SAN_FLAGS) -pthread $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(SIMPROC_LIB): $(B)/tests/support/simproc.o $(B)/tests/support/stubsrv.o
	rm -f $@ && ar rcs $@ $^
