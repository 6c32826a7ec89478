#!/usr/bin/env python3
"""Extract the code samples of the docs and compile or run each one against hexsim.

Every fenced block whose language is c, go, python, sh, bash or shell must be preceded
(blank lines allowed in between) by a marker line:

    <!-- sample: KIND [args="..."] [expect="regex"] [exit=N] [timeout=S] [save=NAME] -->
    <!-- sample: skip reason="why, and which suite runs it instead" -->

KIND is one of c-run, c-compile, go-run, go-compile, python-run, python-airflow,
python-dagster, sh-run, skip. args are split like a shell's words, $VAR taken from the
samples' environment; expect is a regex searched in stdout+stderr (multiline); save=NAME
puts a compiled program on PATH as NAME for the samples after it. A block without a
marker fails the check, so a new sample cannot go unchecked. docs/reference.md is
generated from include/hexrun.h: its c blocks are declarations and are compiled after the
header (a signature that drifted from the header is a compile error), without markers.

Airflow samples: a DAG file that parses and builds its tasks gets python-airflow (run by the
Airflow venv's python, AIRFLOW_HOME in a scratch directory); a fragment that is not a
program gets skip with the suite that runs the same code. Dagster likewise (python-dagster).

Samples see the environment a reader would set: HEX_API_BASE_URL and HEX_API_TOKEN point
at the hexsim this script starts (scenario demo.json), PROJECT_ID is a project that
completes in well under a second, LONG_PROJECT_ID one that runs for minutes (to cancel).
Shell samples run in a scratch directory where build/ and hexsim/ lead to the tree's.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

LANGS = {"c": "c", "go": "go", "python": "python", "sh": "sh", "bash": "sh", "shell": "sh"}
KINDS = {
    "c-run": "c", "c-compile": "c", "go-run": "go", "go-compile": "go",
    "python-run": "python", "python-airflow": "python", "python-dagster": "python",
    "sh-run": "sh", "skip": None,
}
MARKER = re.compile(r"^<!--\s*sample:\s*(\S+)(.*?)-->\s*$")
FENCE = re.compile(r"^(\s*)(```+)\s*([\w+-]*)\s*$")
DEMO_PROJECT = "3f1c2a9e-5b7d-4c1e-9a2b-7d4e6f8a1b2c"       # Weekly revenue report
LONG_PROJECT = "8a6b4c2d-1e3f-4a5b-8c7d-9e0f1a2b3c4d"       # Customer churn model (1 h)


class Sample:
    def __init__(self, path, line, lang, code, kind, opts):
        self.path, self.line, self.lang, self.code = path, line, lang, code
        self.kind, self.opts = kind, opts

    @property
    def where(self):
        return f"{self.path}:{self.line}"


def parse_opts(text):
    """key=value pairs, values optionally double-quoted (shell rules)."""
    opts = {}
    for word in shlex.split(text):
        key, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"option without '=': {word!r}")
        opts[key] = value
    return opts


def extract(path, errors):
    """The checked blocks of one markdown file, as Samples; problems go to errors."""
    samples, marker, lines = [], None, open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        text = lines[i]
        m = MARKER.match(text.strip())
        if m:
            marker = (i + 1, m.group(1), m.group(2))
            i += 1
            continue
        f = FENCE.match(text)
        if not f:
            if text.strip():
                marker = None          # a marker covers only the next block
            i += 1
            continue
        indent, ticks, lang = f.groups()
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(ticks):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        lang = LANGS.get(lang.lower())
        if lang is None:
            marker = None
            continue
        sample = make_sample(path, start, lang, "\n".join(body) + "\n", marker, errors)
        if sample:
            samples.append(sample)
        marker = None
    return samples


def make_sample(path, line, lang, code, marker, errors):
    where = f"{path}:{line}"
    if os.path.basename(path) == "reference.md" and lang == "c":
        return Sample(path, line, lang, code, "c-decl", {})
    if marker is None:
        errors.append(f"{where}: ```{lang} block without a <!-- sample: KIND --> marker")
        return None
    _, kind, rest = marker
    if kind not in KINDS:
        errors.append(f"{where}: unknown sample kind {kind!r} (one of {', '.join(KINDS)})")
        return None
    try:
        opts = parse_opts(rest)
    except ValueError as e:
        errors.append(f"{where}: bad marker: {e}")
        return None
    if kind == "skip":
        if not opts.get("reason"):
            errors.append(f"{where}: skip needs reason=\"...\"")
        return Sample(path, line, lang, code, kind, opts)
    if KINDS[kind] != lang:
        errors.append(f"{where}: marker {kind} on a ```{lang} block")
        return None
    return Sample(path, line, lang, code, kind, opts)


class Runner:
    """Builds and runs samples in a scratch directory with the hexsim environment."""

    def __init__(self, args, env, work):
        self.args, self.env, self.work = args, env, work
        self.count = 0

    def run(self, s):
        self.count += 1
        d = os.path.join(self.work, f"s{self.count}")
        os.makedirs(d)
        if s.kind == "c-decl":
            return self.compile_c(s, d, decl=True)
        if s.lang == "c":
            err = self.compile_c(s, d) or self.save(s, d)
            if err or s.kind == "c-compile":
                return err
            return self.execute(s, [os.path.join(d, "sample")], d)
        if s.lang == "go":
            err = self.compile_go(s, d) or self.save(s, d)
            if err or s.kind == "go-compile":
                return err
            return self.execute(s, [os.path.join(d, "sample")], d)
        if s.lang == "python":
            py = {"python-run": self.args.python, "python-airflow": self.args.airflow_python,
                  "python-dagster": self.args.dagster_python}[s.kind]
            if not py or not os.access(py, os.X_OK):
                return f"{s.kind}: interpreter {py!r} is missing (is its venv built?)"
            return self.execute(s, [py, write(d, "sample.py", s.code)], d)
        # Shell samples read as if run at the top of the source tree: build/ and hexsim/.
        os.symlink(os.path.abspath(self.args.bindir), os.path.join(d, "build"))
        os.symlink(os.path.abspath("hexsim"), os.path.join(d, "hexsim"))
        return self.execute(s, ["sh", "-eu", write(d, "sample.sh", s.code)], d)

    def save(self, s, d):
        """save=NAME: later samples of the run find the program as NAME on PATH."""
        if s.opts.get("save"):
            shutil.copy(os.path.join(d, "sample"), os.path.join(self.work, "bin", s.opts["save"]))
        return None

    def compile_c(self, s, d, decl=False):
        code = '#include <hexrun.h>\n' + s.code if decl else s.code
        src = write(d, "sample.c", code)
        lib = os.path.abspath(self.args.libdir)
        cmd = [os.environ.get("CC", "cc"), "-std=c99", "-D_POSIX_C_SOURCE=200809L",
               "-Wall", "-Wextra", "-Wshadow",
               "-Wstrict-prototypes", "-Werror", "-I", os.path.abspath("include")]
        if decl:
            cmd += ["-fsyntax-only", src]
        else:
            cmd += [src, "-o", os.path.join(d, "sample"), "-L", lib, "-l:libhexrun.so.1", "-ldl",
                    "-Wl,-rpath," + lib]
        return self.tool(cmd, d, 120)

    def compile_go(self, s, d):
        go = self.args.go
        if not go or not shutil.which(go):
            return ("go toolchain not found (looked for %r): install Debian's golang-go or "
                    "set GO=/path/to/go" % go)
        write(d, "sample.go", s.code)
        write(d, "go.mod", "module sample\n\ngo 1.18\n")   # Debian's golang-go may be old
        lib = os.path.abspath(self.args.libdir)
        env = dict(self.env, CGO_ENABLED="1", GOFLAGS="-mod=mod",
                   CGO_CFLAGS="-I" + os.path.abspath("include"),
                   CGO_LDFLAGS=f"-L{lib} -Wl,-rpath,{lib}")
        return self.tool([go, "build", "-o", "sample", "."], d, 600, env)

    def tool(self, cmd, d, timeout, env=None):
        p = subprocess.run(cmd, cwd=d, env=env or self.env, capture_output=True, text=True,
                           timeout=timeout)
        if p.returncode:
            return f"{' '.join(cmd[:2])} failed:\n{p.stdout}{p.stderr}"
        return None

    def execute(self, s, cmd, d):
        # $VAR in args= names a variable of the samples' environment, as in a shell.
        args = [re.sub(r"\$\{?(\w+)\}?", lambda m: self.env.get(m.group(1), ""), a)
                for a in shlex.split(s.opts.get("args", ""))]
        want_exit = int(s.opts.get("exit", "0"))
        try:
            p = subprocess.run(cmd + args, cwd=d, env=self.env, capture_output=True,
                               text=True, timeout=float(s.opts.get("timeout", "120")))
        except subprocess.TimeoutExpired as e:
            return f"timed out after {e.timeout} s"
        out = p.stdout + p.stderr
        if p.returncode != want_exit:
            return f"exit {p.returncode}, expected {want_exit}:\n{out}"
        expect = s.opts.get("expect")
        if expect and not re.search(expect, out, re.M):
            return f"output does not match expect={expect!r}:\n{out}"
        return None


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def start_hexsim(hexsim, work):
    """hexsim on a free loopback port with the demo workspace; returns (proc, url)."""
    log = open(os.path.join(work, "hexsim.out"), "w+")
    proc = subprocess.Popen([hexsim, "--port", "0", "--scenario",
                             os.path.abspath("hexsim/scenarios/demo.json"),
                             "--time-scale", "20"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        log.seek(0)
        m = re.search(r"^listening on (\S+)", log.read(), re.M)
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    log.seek(0)
    raise SystemExit("hexsim did not start:\n" + log.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--libdir", required=True, help="directory holding libhexrun.so.1")
    ap.add_argument("--bindir", required=True, help="directory holding hexsim, hexrun-host")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--airflow-python", default="")
    ap.add_argument("--dagster-python", default="")
    ap.add_argument("--go", default=os.environ.get("GO") or shutil.which("go")
                    or "/usr/local/go/bin/go")
    ap.add_argument("--list", action="store_true", help="only list the samples and markers")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    errors, samples = [], []
    for path in args.files:
        samples += extract(path, errors)
    if args.list:
        for s in samples:
            print(f"{s.where}: {s.kind} {s.opts}")
    for e in errors:
        print("UNMARKED/BAD " + e)
    if args.list or errors:
        return 1 if errors else 0

    work = tempfile.mkdtemp(prefix="hexrun-samples-")
    hexsim, url = start_hexsim(os.path.join(args.bindir, "hexsim"), work)
    try:
        return run_all(args, samples, url, work)
    finally:
        hexsim.terminate()
        hexsim.wait(5)
        shutil.rmtree(work, ignore_errors=True)


def sample_env(args, url, work):
    lib, bindir = os.path.abspath(args.libdir), os.path.abspath(args.bindir)
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("HEX")]:
        del env[key]                   # only what a reader would set
    env.update(HEX_API_BASE_URL=url, HEX_API_TOKEN="hxtok_demo",
               PROJECT_ID=DEMO_PROJECT, LONG_PROJECT_ID=LONG_PROJECT,
               HEXRUN_LIBRARY=os.path.join(lib, "libhexrun.so.1"),
               PYTHONPATH=os.path.abspath("python"),
               LD_LIBRARY_PATH=lib,
               PATH=os.pathsep.join([os.path.join(work, "bin"), bindir, env.get("PATH", "")]),
               GOCACHE=env.get("GOCACHE") or os.path.expanduser("~/.cache/hexrun/go-build"),
               GOTOOLCHAIN="local", DOCS_DIR=os.path.abspath("docs"),
               # Airflow and Dagster write their state under these: keep it scratch.
               AIRFLOW_HOME=os.path.join(work, "airflow-home"),
               DAGSTER_HOME=os.path.join(work, "dagster-home"))
    os.makedirs(env["DAGSTER_HOME"], exist_ok=True)
    os.makedirs(os.path.join(work, "bin"), exist_ok=True)
    return env


def run_all(args, samples, url, work):
    runner = Runner(args, sample_env(args, url, work), work)
    failed, counts = 0, {}
    for s in samples:
        counts[s.kind] = counts.get(s.kind, 0) + 1
        if s.kind == "skip":
            print(f"skip {s.where}: {s.opts['reason']}")
            continue
        t0 = time.time()
        err = runner.run(s)
        status = "FAIL" if err else "ok"
        print(f"{status:4} {s.kind:14} {s.where} ({time.time() - t0:.1f} s)", flush=True)
        if err:
            failed += 1
            print("     " + err.replace("\n", "\n     ").rstrip())
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    print(f"doc samples: {len(samples) - counts.get('skip', 0) - failed} passed, "
          f"{failed} failed, {counts.get('skip', 0)} skipped with a reason ({summary})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
