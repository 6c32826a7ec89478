# The PostgreSQL coordination store end to end (coord_url, docs/coordination.md): a real
# server from Debian's postgresql package, started in a temporary directory by the suite
# itself (tests/support/pgserver.py, as nobody when run as root) and stopped after;
# hexrun-host processes in separate working directories are the machines.
.PHONY: check-coord
check-coord: $(HOST_BIN) $(LIB_REAL) $(B)/hexsim $(PY_STAMP)
	cd tests/e2e && HEXRUN_BUILD=$(abspath $(B)) timeout 300 $(PY) -m pytest -q -x \
	  -p no:cacheprovider test_coord.py
CHECK_TARGETS += check-coord
