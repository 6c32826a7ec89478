# Documentation: the API reference is generated from include/hexrun.h, the architecture
# picture from docs/architecture.dot. `make check` fails when the header has an
# undocumented function or enumerator, when the header's key list, docs/config.md or the
# library disagree with the key table of plugin/config.c (names, order, defaults, ranges),
# when the committed reference is stale, or when a plugin file is missing from the drawing
# or the README's layout table.
.PHONY: docs-reference docs-diagram check-docs
docs-reference:
	python3 docs/gen_reference.py include/hexrun.h docs/reference.md
# The drawing and the README's table of plugin files are made from the tree (graphviz
# comes with mk/deps.sh; the .svg is committed, so readers and check-docs need no dot).
docs-diagram: | $(DEPS_STAMP)
	python3 docs/gen_architecture.py write docs/architecture.dot README.md
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg
DOCS_TARGETS += docs-reference docs-diagram

CONFIG_TABLE := $(B)/tests/support/config_table
$(CONFIG_TABLE): tests/support/config_table.c $(LIB_INTERNAL)
	@mkdir -p $(dir $@)
	$(CC) $(HR_CFLAGS) -Iplugin $(SAN_FLAGS) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LIB_INTERNAL) \
	  $(PLUGIN_LIBS) $(SAN_FLAGS) $(LDFLAGS)

suite/check-docs: $(CONFIG_TABLE)
check-docs: $(LIB_REAL) $(CONFIG_TABLE) | $(DEPS_STAMP)
	@python3 docs/gen_reference.py --check include/hexrun.h
	@$(CONFIG_TABLE) > $(B)/config-table.tsv
	@python3 docs/gen_reference.py --check-config include/hexrun.h docs/config.md \
	  $(B)/$(LIB_SONAME) $(B)/config-table.tsv
	@python3 docs/gen_reference.py include/hexrun.h $(B)/reference.md.new
	@cmp -s $(B)/reference.md.new docs/reference.md || \
	  { echo "docs/reference.md is stale: run 'make docs'"; exit 1; }
	@python3 docs/gen_architecture.py check docs/architecture.dot docs/architecture.svg README.md
CHECK_TARGETS += check-docs
