#!/usr/bin/env python3
"""Check the layers of docs/architecture.md, the rules of the house that the compiler does
not enforce, and print a short report:

- libcurl only in plugin/http.c, json-c only in plugin/hex.c (their #includes);
- hosts (host-sim/, tests/examples/) and hexsim include, of this repository, only
  include/hexrun.h and their own directory's headers, and their make fragments name no
  plugin/ file or include path: hexsim shares no code with the plugin;
- only the files of public functions (api.c, api_jobs.c, api_direct.c, config.c) set the
  thread's last error, and only they include api_int.h
  (plugin/errors.h's convention; errors.c defines it);
- no circle between plugin files, in #includes or in calls (who calls a hexrun__ function
  or hexrun_strerror defined in another file: read from the objects with nm). The engine
  is one module split in files behind one private header: the files that include
  plugin/engine_int.h count as one, "engine" (they call each other; nothing else may
  include engine_int.h, so the rest of the plugin sees them only through engine.h).

    check_layers.py OBJ_DIR     OBJ_DIR holds plugin/<file>.o (build/pic/plugin)

Stdlib only. Exit status 1 with the broken rules listed.
"""
import collections
import glob
import os
import re
import subprocess
import sys

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
ONLY_IN = {"curl/": "plugin/http.c", "json-c/": "plugin/hex.c", "json.h": "plugin/hex.c"}
ERROR_SETTERS = {"plugin/api.c", "plugin/api_jobs.c", "plugin/api_direct.c", "plugin/config.c",
                 "plugin/errors.c"}
ISOLATED = {"host-sim": "host-sim/host.mk", "tests/examples": None, "hexsim": "hexsim/hexsim.mk"}


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE_RE.findall(f.read())


def sources(pattern):
    return sorted(glob.glob(pattern))


def check_libraries(problems):
    """In the plugin, curl and json-c each behind one file (hexsim and hosts use json-c
    on their own); returns the files that include them."""
    seen = collections.defaultdict(list)
    for path in sources("plugin/*.[ch]"):
        for kind, name in includes(path):
            for prefix, owner in ONLY_IN.items():
                if kind == "<" and name.startswith(prefix):
                    seen[prefix.rstrip("/.h")].append(path)
                    if path != owner:
                        problems.append(f"{path} includes <{name}>: only {owner} may")
    return seen


def check_isolated(problems):
    """Hosts and hexsim: hexrun.h and their own headers only, no plugin/ in their rules."""
    for directory, fragment in ISOLATED.items():
        own = {os.path.basename(h) for h in sources(f"{directory}/*.h")}
        for path in sources(f"{directory}/*.[ch]"):
            for kind, name in includes(path):
                if kind == '"' and name not in own and name != "hexrun.h":
                    problems.append(f'{path} includes "{name}": it may see only '
                                    "include/hexrun.h and its own headers")
                if directory == "hexsim" and name == "hexrun.h":
                    problems.append(f"{path} includes hexrun.h: hexsim shares nothing "
                                    "with the plugin")
        if fragment and re.search(r"plugin/|-Iplugin|LIB_INTERNAL",
                                  open(fragment, encoding="utf-8").read()):
            problems.append(f"{fragment} names plugin/ sources or headers")


def check_error_setters(problems):
    for path in sources("plugin/*.c"):
        if path not in ERROR_SETTERS and "hexrun__error_set(" in open(path, encoding="utf-8").read():
            problems.append(f"{path} calls hexrun__error_set: only the api*.c files and "
                            "config.c set the thread's last error (plugin/errors.h)")


ENGINE_INT = "engine_int.h"
ENGINE_MODULES = {"engine", "engine_int"}  # main() adds the files that include ENGINE_INT


def engine_files():
    """The modules of the files behind engine_int.h (the engine's private header)."""
    found = {"engine", "engine_int"}
    for path in sources("plugin/*.[ch]"):
        if ("\"", ENGINE_INT) in includes(path):
            found.add(os.path.splitext(os.path.basename(path))[0])
    return found


def module(path):
    name = os.path.splitext(os.path.basename(path))[0]
    return "engine" if name in ENGINE_MODULES else name


def include_graph():
    graph = collections.defaultdict(set)
    for path in sources("plugin/*.[ch]"):
        for kind, name in includes(path):
            if kind == '"' and os.path.exists(os.path.join("plugin", name)):
                if module(name) != module(path):
                    graph[module(path)].add(module(name))
    return graph


def call_graph(obj_dir):
    defined, used = {}, collections.defaultdict(set)
    for obj in sorted(glob.glob(os.path.join(obj_dir, "*.o"))):
        out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1] in "TDBRC":
                defined[fields[2]] = module(obj)
            elif len(fields) == 2 and fields[0] == "U":
                used[module(obj)].add(fields[1])
    graph = collections.defaultdict(set)
    for mod, symbols in used.items():
        graph[mod] |= {defined[s] for s in symbols if s in defined and defined[s] != mod}
    return graph


def find_circle(graph):
    """One circle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def check_engine_header(problems):
    """engine_int.h is the engine's own: included only by its files (plugin/*.c that are
    the engine's), never by a header or another layer."""
    for path in sources("plugin/*.h") + sources("host-sim/*.[ch]") + sources("hexsim/*.[ch]"):
        if ("\"", ENGINE_INT) in includes(path) and not path.endswith(ENGINE_INT):
            problems.append(f"{path} includes {ENGINE_INT}: only the engine's .c files may")


def check_api_header(problems):
    """api_int.h (the client, shared by the public entry points) is theirs alone."""
    for path in sources("plugin/*.[ch]") + sources("host-sim/*.[ch]") + sources("hexsim/*.[ch]"):
        if ("\"", "api_int.h") in includes(path) and path not in ERROR_SETTERS - {
                "plugin/config.c", "plugin/errors.c"} and not path.endswith("api_int.h"):
            problems.append(f"{path} includes api_int.h: only api.c, api_jobs.c and "
                            "api_direct.c may")


def main(argv):
    global ENGINE_MODULES
    ENGINE_MODULES = engine_files()
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = []
    seen = check_libraries(problems)
    check_isolated(problems)
    check_error_setters(problems)
    check_engine_header(problems)
    check_api_header(problems)
    graphs = {"#include": include_graph(), "call": call_graph(argv[1])}
    if not graphs["call"]:
        problems.append(f"no plugin objects in {argv[1]}")
    for kind, graph in graphs.items():
        circle = find_circle(graph)
        if circle:
            problems.append(f"{kind} circle between plugin files: " + " -> ".join(circle))
    print("layers: in the plugin, libcurl in " + ", ".join(sorted(set(seen["curl"]))) +
          ", json-c in " + ", ".join(sorted(set(seen["json-c"]))))
    print("layers: host-sim/, tests/examples/ see include/hexrun.h and their own headers; "
          "hexsim its own only")
    print("layers: the engine's files (behind engine_int.h): " +
          ", ".join(sorted(m + ".c" for m in ENGINE_MODULES - {"engine_int"})))
    print("layers: the thread's last error set in " + ", ".join(sorted(ERROR_SETTERS - {"plugin/errors.c"})))
    edges = sum(len(v) for v in graphs["call"].values())
    print(f"layers: plugin files call each other along {edges} edges, include along "
          f"{sum(len(v) for v in graphs['#include'].values())}; no circle" if not any(
              "circle" in p for p in problems) else "layers: a circle (below)")
    for mod in sorted(m for m in graphs["call"] if graphs["call"][m]):
        print(f"  {mod:8} -> {' '.join(sorted(graphs['call'][mod]))}")
    if problems:
        print("layer check FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("layer check: all rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
