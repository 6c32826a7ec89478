# The Dagster integration hexrun.dagster: tests with real Dagster from PyPI, in its own
# virtual environment cached outside the clone (pinned in python/requirements-dagster.txt),
# running ops, assets and real run workers (execute_job subprocesses) against hexsim.
# hexrun is imported from this tree (conftest.py puts python/ on sys.path), so nothing is
# installed into the venv but Dagster and pytest.
DAGSTER_VENV ?= $(HOME)/.cache/hexrun/venv-dagster
DAGSTER_PY := $(DAGSTER_VENV)/bin/python
DAGSTER_STAMP := $(DAGSTER_VENV)/.hexrun-stamp

$(DAGSTER_STAMP): mk/deps.sh python/requirements-dagster.txt
	@HEXRUN_VENV=$(DAGSTER_VENV) mk/deps.sh python python/requirements-dagster.txt

.PHONY: check-dagster dagster-venv
dagster-venv: $(DAGSTER_STAMP)

suite/check-dagster: $(DAGSTER_STAMP)
check-dagster: $(DAGSTER_STAMP) $(LIB_REAL) $(B)/hexsim
	cd tests/dagster && HEXRUN_LIBRARY=$(abspath $(B)/$(LIB_SONAME)) \
	  HEXSIM_BIN=$(abspath $(B)/hexsim) DAGSTER_DISABLE_TELEMETRY=1 timeout 900 \
	  $(abspath $(DAGSTER_PY)) -m pytest -q -p no:cacheprovider .
CHECK_TARGETS += check-dagster
