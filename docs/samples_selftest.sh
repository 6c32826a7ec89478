#!/bin/sh
# The sample checker must be able to fail: an unmarked block, a skip without a reason, a
# wrong kind, a sample whose output misses its expect= and one exiting non-zero must each
# make docs/samples.py exit 1. Usage: samples_selftest.sh LIBDIR BINDIR PYTHON
set -u
lib=$1 bin=$2 py=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fence='```'
bad=0
expect_fail() {   # name, markdown text
    printf '%s\n' "$2" > "$dir/$1.md"
    if python3 docs/samples.py --libdir "$lib" --bindir "$bin" --python "$py" \
        "$dir/$1.md" > "$dir/$1.out" 2>&1; then
        echo "selftest: $1 passed but must fail"; cat "$dir/$1.out"; bad=1
    else
        echo "selftest: $1 fails as it must: $(grep -m1 -E 'UNMARKED|FAIL|skip needs|marker' "$dir/$1.out")"
    fi
}
expect_fail unmarked "$(printf '%s\n' "${fence}python" 'print(1)' "$fence")"
expect_fail skip-no-reason "$(printf '%s\n' '<!-- sample: skip -->' "${fence}sh" 'true' "$fence")"
expect_fail wrong-kind "$(printf '%s\n' '<!-- sample: c-run -->' "${fence}python" 'print(1)' "$fence")"
expect_fail missed-expect "$(printf '%s\n' '<!-- sample: sh-run expect="^KILLED" -->' "${fence}sh" 'echo COMPLETED' "$fence")"
expect_fail c-exit "$(printf '%s\n' '<!-- sample: c-run -->' "${fence}c" 'int main(void) { return 3; }' "$fence")"
expect_fail c-warning "$(printf '%s\n' '<!-- sample: c-compile -->' "${fence}c" 'int main(void) { int unused; return 0; }' "$fence")"
# and a good sample passes, with the hexsim environment it promises
printf '%s\n' '<!-- sample: python-run expect="^COMPLETED$" -->' "${fence}python" \
    'import os, hexrun' 'with hexrun.Client() as h:' \
    '    print(h.submit(os.environ["PROJECT_ID"]).wait(timeout=60).state)' "$fence" > "$dir/good.md"
python3 docs/samples.py --libdir "$lib" --bindir "$bin" --python "$py" "$dir/good.md" \
    > "$dir/good.out" 2>&1 || { echo "selftest: a good sample failed"; cat "$dir/good.out"; bad=1; }
[ $bad = 0 ] && echo "selftest: 7 of 7 as expected"
exit $bad
