#!/usr/bin/env python3
"""The numbers of include/hexrun.h against the committed baseline (tests/abi/constants.txt).

abidiff compares symbols and types, not the values of enumerators that no signature uses
(every hexrun call returns a plain int32_t), so a renumbered HEXRUN_E_* code or
HEXRUN_STATE_* state passes it. This gate pins them: every enumerator and every numeric
#define of the header (except the version macros, which change with each release) must
keep the value the baseline records.

  constants.py check [--header H]   fail if a value changed, a name disappeared, or the
                                    header has a name the baseline does not list yet
  constants.py add [--header H]     append the header's new names to the baseline; never
                                    changes or removes a recorded one (that is a new major)

The values come from the C compiler (CC, default cc), not from reading the text, so an
enumerator without an explicit value or a value written as an expression is seen as the
compiler sees it.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(HERE, "constants.txt")
DEFAULT_HEADER = os.path.join(HERE, "..", "..", "include", "hexrun.h")
# Macros that are not ABI numbers: the include guard, the visibility attribute, and the
# version macros that every release changes (HEXRUN_ABI_MAJOR is pinned: it changes only
# with the SONAME).
NOT_PINNED = {"HEXRUN_H", "HEXRUN_API", "HEXRUN_ABI_MINOR", "HEXRUN_ABI_VERSION",
              "HEXRUN_VERSION_STRING"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def public_names(header_text):
    """Names of the header's enumerators and #defines, in header order."""
    text = strip_comments(header_text)
    names = []
    for line in text.splitlines():
        m = re.match(r"\s*#\s*define\s+([A-Za-z_]\w*)(\s|$)", line)
        if m and m.group(1) not in NOT_PINNED:
            names.append(m.group(1))
    for body in re.findall(r"\benum\b[^{;]*\{([^}]*)\}", text):
        for item in body.split(","):
            m = re.match(r"\s*([A-Za-z_]\w*)", item)
            if m:
                names.append(m.group(1))
    return names


def compiled_values(header, names):
    """{name: value} as the compiler evaluates them with the header included."""
    cc = os.environ.get("CC", "cc")
    prog = ["#include <stdio.h>", '#include "%s"' % os.path.basename(header),
            "int main(void) {"]
    for n in names:
        prog.append('    printf("%%s %%lld\\n", "%s", (long long)(%s));' % (n, n))
    prog.append("    return 0;\n}")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "constants.c"), os.path.join(tmp, "constants")
        with open(src, "w") as f:
            f.write("\n".join(prog) + "\n")
        subprocess.run([cc, "-std=c99", "-I", os.path.dirname(os.path.abspath(header)),
                        src, "-o", exe], check=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    return {n: int(v) for n, v in (line.split() for line in out.splitlines())}


def read_baseline():
    values = {}
    with open(BASELINE) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, value = line.split()
                values[name] = int(value)
    return values


def check(current, baseline):
    problems = []
    for name, value in baseline.items():
        if name not in current:
            problems.append("%s (= %d) disappeared from the header" % (name, value))
        elif current[name] != value:
            problems.append("%s changed from %d to %d" % (name, value, current[name]))
    new = [n for n in current if n not in baseline]
    for name in new:
        problems.append("%s = %d is new: record it with `make abi-constants-add`"
                        % (name, current[name]))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["check", "add"])
    ap.add_argument("--header", default=DEFAULT_HEADER)
    args = ap.parse_args()
    with open(args.header) as f:
        names = public_names(f.read())
    current = compiled_values(args.header, names)
    baseline = read_baseline()
    if args.mode == "add":
        new = [n for n in names if n not in baseline]
        with open(BASELINE, "a") as f:
            for n in new:
                f.write("%s %d\n" % (n, current[n]))
        print("abi: %d new constant(s) recorded in %s" % (len(new), BASELINE))
        return 0
    problems = check(current, baseline)
    for p in problems:
        print("abi: %s" % p, file=sys.stderr)
    if problems:
        print("abi: the header's numbers differ from tests/abi/constants.txt", file=sys.stderr)
        return 1
    print("abi: %d enum and #define values as in tests/abi/constants.txt" % len(baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
