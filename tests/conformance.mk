# Conformance of hexsim to Hex's OpenAPI description (tests/conformance/), with jsonschema
# from the cached virtual environment.
.PHONY: check-conformance
check-conformance: $(PY_STAMP) $(B)/hexsim
	cd tests/conformance && timeout 300 $(abspath $(PY)) -m pytest -q -s -p no:cacheprovider test_conformance.py test_self_contained.py
CHECK_TARGETS += check-conformance
