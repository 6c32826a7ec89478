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
        why=$(grep -m1 -E 'UNMARKED|FAIL|skip needs|marker' "$dir/$1.out")
        echo "selftest: $1 fails as it must: $why"
    fi
}
block() {          # marker (or ""), language, code line
    [ -n "$1" ] && printf '%s\n' "$1"
    printf '%s\n' "$fence$2" "$3" "$fence"
}
expect_fail unmarked "$(block '' python 'print(1)')"
expect_fail skip-no-reason "$(block '<!-- sample: skip -->' sh true)"
expect_fail wrong-kind "$(block '<!-- sample: c-run -->' python 'print(1)')"
expect_fail missed-expect "$(block '<!-- sample: sh-run expect="^KILLED" -->' sh 'echo COMPLETED')"
expect_fail c-exit "$(block '<!-- sample: c-run -->' c 'int main(void) { return 3; }')"
expect_fail c-warning "$(block '<!-- sample: c-compile -->' c 'int main(void) { int u; return 0; }')"
# and a good sample passes, with the hexsim environment it promises
printf '%s\n' '<!-- sample: python-run expect="^COMPLETED$" -->' "${fence}python" \
    'import os, hexrun' 'with hexrun.Client() as h:' \
    '    print(h.submit(os.environ["PROJECT_ID"]).wait(timeout=60).state)' "$fence" > "$dir/good.md"
python3 docs/samples.py --libdir "$lib" --bindir "$bin" --python "$py" "$dir/good.md" \
    > "$dir/good.out" 2>&1 || { echo "selftest: a good sample failed"; cat "$dir/good.out"; bad=1; }
[ $bad = 0 ] && echo "selftest: 7 of 7 as expected"
exit $bad
