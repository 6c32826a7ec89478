#!/bin/sh
# build/hexrun-host under valgrind, for `make valgrind-e2e` (HEXRUN_HOST_WRAPPER): any
# memory error or definite leak makes it exit 97, which no test expects.
here=$(dirname "$0")
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --error-exitcode=97 "$here/../../build/hexrun-host" "$@"
