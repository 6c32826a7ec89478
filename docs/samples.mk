# Every c/go/python/sh sample in README.md, docs/*.md and docs/guides/*.md is compiled or
# run against a hexsim started by docs/samples.py; a block without a
# `<!-- sample: KIND -->` marker fails the check (see docs/samples.py for the kinds).
DOC_SAMPLE_FILES = README.md $(sort $(wildcard docs/*.md docs/guides/*.md))
# go from PATH, else the tarball install; installed from Debian (golang-go) when missing.
GO ?= $(firstword $(shell command -v go 2>/dev/null) /usr/local/go/bin/go)

.PHONY: check-doc-samples doc-samples-go
# The Airflow/Dagster venvs are only needed when a doc uses their markers; their fragments
# (python/airflow.mk, python/dagster.mk) define the venvs and their airflow-pkg and
# dagster-venv targets. They are prerequisites (not a make of their own) so that make check
# prepares them once, before check-airflow and this suite run side by side.
DOC_SAMPLE_VENVS := $(if $(shell grep -ls 'sample: python-airflow' $(DOC_SAMPLE_FILES)),airflow-pkg) \
                    $(if $(shell grep -ls 'sample: python-dagster' $(DOC_SAMPLE_FILES)),dagster-venv)
suite/check-doc-samples: doc-samples-go $(DOC_SAMPLE_VENVS)
check-doc-samples: $(PY_STAMP) $(LIB_REAL) $(B)/hexsim $(B)/hexrun-host doc-samples-go \
                   $(DOC_SAMPLE_VENVS)
	timeout 300 docs/samples_selftest.sh $(B) $(B) $(PY)
	timeout 1200 python3 docs/samples.py --libdir $(B) --bindir $(B) --python $(PY) \
	  --go "$$([ -x "$(GO)" ] && echo "$(GO)" || command -v go)" \
	  --airflow-python "$(AIRFLOW_VENV)/bin/python" \
	  --dagster-python "$(DAGSTER_VENV)/bin/python" $(DOC_SAMPLE_FILES)
CHECK_TARGETS += check-doc-samples

# Only when a doc has a Go sample: never skip it silently for want of a toolchain.
doc-samples-go:
	@if grep -qs 'sample: go-' $(DOC_SAMPLE_FILES) && ! [ -x "$(GO)" ]; then \
	  echo "doc samples: installing Debian's golang-go (no go toolchain found)"; \
	  s=; [ "$$(id -u)" -eq 0 ] || s=sudo; \
	  $$s apt-get update -qq && $$s apt-get install -y -qq --no-install-recommends golang-go \
	  || { echo "doc samples: Go samples need go: install golang-go or set GO=" >&2; \
	       exit 1; }; \
	fi
