# The Airflow provider hexrun.airflow: tests with real Airflow 3 from PyPI, in its own virtual
# environment cached outside the clone (pinned in python/requirements-airflow.txt), running
# the DAG files of tests/airflow/dags through dag.test() / `airflow dags test` against hexsim.
AIRFLOW_VENV ?= $(HOME)/.cache/hexrun/venv-airflow
AIRFLOW_PY := $(AIRFLOW_VENV)/bin/python
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.hexrun-stamp

$(AIRFLOW_STAMP): mk/deps.sh python/requirements-airflow.txt
	@HEXRUN_VENV=$(AIRFLOW_VENV) mk/deps.sh python python/requirements-airflow.txt

# hexrun itself goes in editable, so the provider entry point exists and the tests import
# this tree. The venv is shared between clones: reinstall when it points at another tree or
# when pyproject.toml (the entry point) changed since this clone installed it; the tests
# also put this tree first on PYTHONPATH, as another clone may re-point the venv meanwhile.
$(B)/airflow-pkg.stamp: python/pyproject.toml $(AIRFLOW_STAMP)
	@mkdir -p $(B)
	$(AIRFLOW_PY) -m pip install -q --no-deps -e ./python
	@touch $@

.PHONY: check-airflow airflow-pkg
airflow-pkg: $(B)/airflow-pkg.stamp
	@$(AIRFLOW_PY) -c 'import hexrun, sys; sys.exit(hexrun.__file__ != "$(abspath python/hexrun/__init__.py)")' \
	  || $(AIRFLOW_PY) -m pip install -q --no-deps -e ./python

# Hex's own provider (airflow-provider-hex), installed aside (not into the venv), for the
# test that both providers side by side each keep their connection type.
HEX_PROVIDER_DIR := $(AIRFLOW_VENV)/hex-provider
# The stamp holds the requirements' checksum: a fresh clone (newer files, same pins) keeps the
# cached copy instead of downloading it again.
$(HEX_PROVIDER_DIR)/.stamp: python/requirements-airflow-hex-provider.txt $(AIRFLOW_STAMP)
	@want=$$(sha256sum $< | cut -d' ' -f1); \
	  if [ "$$(cat $@ 2>/dev/null)" = "$$want" ]; then touch $@; else \
	  echo "airflow: installing Hex's provider in $(HEX_PROVIDER_DIR)"; rm -rf $(HEX_PROVIDER_DIR) && \
	  $(AIRFLOW_PY) -m pip install -q --no-deps --target $(HEX_PROVIDER_DIR) -r $< && \
	  echo "$$want" > $@; fi

suite/check-airflow: airflow-pkg $(HEX_PROVIDER_DIR)/.stamp
check-airflow: airflow-pkg $(LIB_REAL) $(B)/hexsim $(HEX_PROVIDER_DIR)/.stamp
	cd tests/airflow && HEXRUN_LIBRARY=$(abspath $(B)/$(LIB_SONAME)) \
	  HEXSIM_BIN=$(abspath $(B)/hexsim) HEX_PROVIDER_DIR=$(HEX_PROVIDER_DIR) \
	  PYTHONPATH=$(abspath python) timeout 1800 \
	  $(AIRFLOW_PY) -m pytest -q -p no:cacheprovider test_airflow_provider.py \
	  test_airflow_conventions.py
CHECK_TARGETS += check-airflow

# The provider on the oldest Airflow it supports (3.0, which has no ResumableJobMixin): the
# fallback path (tests/airflow/test_airflow_fallback.py: a run, a kill, a retry in another
# process), in its own venv cached outside the clone. hexrun is imported from this tree
# (PYTHONPATH), not installed into it.
AIRFLOW30_VENV ?= $(HOME)/.cache/hexrun/venv-airflow-3.0
AIRFLOW30_STAMP := $(AIRFLOW30_VENV)/.hexrun-stamp

$(AIRFLOW30_STAMP): mk/deps.sh python/requirements-airflow-3.0.txt
	@HEXRUN_VENV=$(AIRFLOW30_VENV) mk/deps.sh python python/requirements-airflow-3.0.txt

.PHONY: check-airflow-fallback
suite/check-airflow-fallback: $(AIRFLOW30_STAMP)
check-airflow-fallback: $(AIRFLOW30_STAMP) $(LIB_REAL) $(B)/hexsim
	cd tests/airflow && HEXRUN_LIBRARY=$(abspath $(B)/$(LIB_SONAME)) \
	  HEXSIM_BIN=$(abspath $(B)/hexsim) PYTHONPATH=$(abspath python) timeout 600 \
	  $(AIRFLOW30_VENV)/bin/python -m pytest -q -p no:cacheprovider test_airflow_fallback.py
CHECK_TARGETS += check-airflow-fallback

# The same provider in a real deployment (`airflow standalone`: scheduler, LocalExecutor,
# triggerer, API server): 20 deferred tasks in one triggerer, and `airflow tasks clear`
# killing a running and a deferred task. About 2 minutes of several processes, so it is
# run on demand, not by `make check`.
.PHONY: check-airflow-standalone
check-airflow-standalone: airflow-pkg $(LIB_REAL) $(B)/hexsim
	cd tests/airflow && HEXRUN_LIBRARY=$(abspath $(B)/$(LIB_SONAME)) \
	  HEXSIM_BIN=$(abspath $(B)/hexsim) timeout 600 \
	  $(AIRFLOW_PY) -m pytest -q -s -p no:cacheprovider test_standalone.py
