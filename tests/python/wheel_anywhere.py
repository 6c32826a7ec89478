#!/usr/bin/env python3
"""The manylinux wheel works on a system without Debian's libcurl and json-c.

  wheel_anywhere.py --wheel W --library build/libhexrun.so.1 --venv DIR --hexsim build/hexsim

1. Installs W into DIR, a bare `python -m venv` (created once, kept outside the clone; it
   must hold nothing but pip and setuptools).
2. Works out which system libraries to hide: every library the plain build of
   libhexrun.so.1 loads that the wheel's copy no longer loads from the system (libcurl,
   json-c and what they need), except those the interpreter itself needs (libffi for
   ctypes): a system without them could not run Python, with or without hexrun.
3. In a private mount namespace (unshare -m; -r -m when not root) puts an empty file over
   each of them, checks that the system copies of libcurl and json-c can no longer be
   loaded, and with LD_LIBRARY_PATH and every other variable cleared runs a job through
   the wheel against hexsim (started outside, it needs json-c); the job must end
   COMPLETED and the process must have loaded libcurl and json-c from the wheel.
"""
import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from hexsim import HexSim  # noqa: E402

P_OK = "11111111-1111-4111-8111-111111111111"
MUST_HIDE = ("libcurl.so", "libjson-c.so")

# Run inside the namespace, by the bare venv's python, with nothing in its environment.
JOB = r"""
import json, sys, hexrun
with hexrun.Client(base_url=sys.argv[1], token="hxtok_admin") as client:
    info = client.submit(sys.argv[2]).wait(timeout=120)
maps = open("/proc/self/maps").read().split("\n")
loaded = sorted({l.split()[-1] for l in maps if "libcurl" in l or "libjson-c" in l})
print(json.dumps({"version": hexrun.version(), "state": info.state, "run_id": info.run_id,
                  "loaded": loaded, "hexrun": hexrun.__file__}))
"""


def sh(*argv, **kw):
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw).stdout


def ldd_paths(path, env=None):
    """Real paths of the libraries the loader finds for path."""
    out = sh("ldd", path, env=env)
    return {os.path.realpath(m.group(1)) for m in re.finditer(r"=> (/\S+)", out)}


def bare_venv(venv):
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):  # the system's python3, as a user would
        sh(os.environ.get("BARE_PYTHON", "python3"), "-m", "venv", venv)
    return python


def install(python, wheel):
    sh(python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", "--no-index",
       wheel)
    names = {line.split("==")[0].lower() for line in
             sh(python, "-m", "pip", "list", "--format=freeze").split()}
    extra = names - {"pip", "setuptools", "hexrun"}
    if extra:
        raise SystemExit(f"the venv is not bare: it also holds {sorted(extra)}")


def libraries_to_hide(python, library):
    site = sh(python, "-c", "import hexrun, os; print(os.path.dirname(hexrun.__file__))").strip()
    in_wheel = os.path.join(site, "libhexrun.so.1")
    clean = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    still_system = {p for p in ldd_paths(in_wheel, clean) if ".libs/" not in p}
    ctypes_mod = sh(python, "-c", "import _ctypes; print(_ctypes.__file__)").strip()
    interpreter = ldd_paths(os.path.realpath(python), clean) | ldd_paths(ctypes_mod, clean)
    hidden = sorted(ldd_paths(library, clean) - still_system - interpreter)
    for name in MUST_HIDE:
        if not any(os.path.basename(p).startswith(name) for p in hidden):
            raise SystemExit(f"{name} is not among the libraries to hide: {hidden}")
    return hidden, sorted(interpreter & ldd_paths(library, clean))


def run_hidden(python, hidden, base_url):
    empty = os.path.join(os.path.dirname(os.path.dirname(python)), "empty-library")
    open(empty, "w").close()
    mounts = "".join(f'mount --bind "{empty}" "{p}" && ' for p in hidden)
    probe = ("import ctypes, sys\n"
             "for name in ('libcurl.so.4', 'libjson-c.so.5'):\n"
             "    try:\n        ctypes.CDLL(name)\n"
             "    except OSError:\n        continue\n"
             "    sys.exit(name + ' can still be loaded')\n")
    script = (f'{mounts}cd / && env -i "{python}" -c "$PROBE" && '
              f'env -i "{python}" -c "$JOB" "{base_url}" {P_OK}')
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    env = dict(os.environ, PROBE=probe, JOB=JOB)
    p = subprocess.run([*unshare, "--propagation", "private", "sh", "-c", script], env=env,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise SystemExit(f"the job failed without the system libraries:\n{p.stdout}{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--wheel", "--library", "--venv", "--hexsim"):
        ap.add_argument(opt, required=True)
    args = ap.parse_args()
    python = bare_venv(args.venv)
    install(python, os.path.abspath(args.wheel))
    hidden, kept = libraries_to_hide(python, args.library)
    with HexSim(args=["--time-scale", "20"], binary=args.hexsim) as sim:
        result = run_hidden(python, hidden, sim.base_url)
        created = sim.runs()["created_per_project"].get(P_OK, 0)
    wheel_libs = os.path.join(os.path.dirname(result["hexrun"]) + ".libs", "")
    if result["state"] != "COMPLETED" or created != 1:
        raise SystemExit(f"the run did not complete once: {result}, hexsim made {created}")
    if not result["loaded"] or not all(p.startswith(wheel_libs) for p in result["loaded"]):
        raise SystemExit(f"libcurl or json-c did not come from the wheel: {result['loaded']}")
    print(f"wheel: {os.path.basename(args.wheel)} ran a job (COMPLETED, run "
          f"{result['run_id']}) in a bare venv with {len(hidden)} system libraries hidden, "
          f"libcurl and json-c among them; loaded: "
          f"{', '.join(os.path.basename(p) for p in result['loaded'])}; left to the "
          f"interpreter: {', '.join(os.path.basename(p) for p in kept) or 'none'}")


if __name__ == "__main__":
    main()
