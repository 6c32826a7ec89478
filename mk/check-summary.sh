#!/usr/bin/env bash
# The end of `make check`: one line per suite with its wall-clock and CPU seconds, in the
# order the suites started. Exits 1 when a suite failed or did not run (so `make check`
# fails even when make itself stopped early).   Usage: mk/check-summary.sh STATUS_DIR SUITE...
set -u
dir=$1; shift
failed=() missing=()
echo "make check: suites, run side by side (seconds of wall clock and of CPU)"
for s in "$@"; do
  if [ -f "$dir/$s" ]; then
    read -r rc secs cpu < "$dir/$s"
    if [ "$rc" = 0 ]; then result=passed; else result="FAILED (exit $rc)"; failed+=("$s"); fi
    printf '  %-24s %5s s %5s s cpu  %s\n' "$s" "$secs" "$cpu" "$result"
  else
    printf '  %-24s %5s   %5s      not run\n' "$s" - -; missing+=("$s")
  fi
done
if [ ${#failed[@]} -eq 0 ] && [ ${#missing[@]} -eq 0 ]; then
  echo "make check: all $# suites passed"; exit 0
fi
[ ${#failed[@]} -gt 0 ] && echo "make check: FAILED: ${failed[*]}"
[ ${#missing[@]} -gt 0 ] && echo "make check: not run: ${missing[*]}"
exit 1
