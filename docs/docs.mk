# Documentation: the API reference is generated from include/hexrun.h, the architecture
# picture from docs/architecture.dot. `make check` fails when the header has an
# undocumented function or enumerator, when a config key is missing from the header, from
# docs/config.md or from the library, or when the committed reference is stale.
.PHONY: docs-reference docs-diagram check-docs
docs-reference:
	python3 docs/gen_reference.py include/hexrun.h docs/reference.md
docs-diagram: | $(DEPS_STAMP)
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg
DOCS_TARGETS += docs-reference docs-diagram

check-docs: $(LIB_REAL) | $(DEPS_STAMP)
	@python3 docs/gen_reference.py --check include/hexrun.h
	@python3 docs/gen_reference.py --check-config include/hexrun.h docs/config.md $(B)/$(LIB_SONAME)
	@python3 docs/gen_reference.py include/hexrun.h $(B)/reference.md.new
	@cmp -s $(B)/reference.md.new docs/reference.md || \
	  { echo "docs/reference.md is stale: run 'make docs'"; exit 1; }
CHECK_TARGETS += check-docs
