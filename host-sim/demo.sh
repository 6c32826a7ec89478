#!/usr/bin/env bash
# make demo: start hexsim with the demo workspace on a free port, then drive it through
# hexrun-host the way a person would: a parameterised run to completion with its progress
# line, the run list, users, groups and connections, then a run started and cancelled.
# Exits 0 only if every step worked. Usage: host-sim/demo.sh [BUILD_DIR]
set -euo pipefail

B=${1:-build}
HOST="$B/hexrun-host"
SIM="$B/hexsim"
SCENARIO=${HEXRUN_DEMO_SCENARIO:-hexsim/scenarios/demo.json}
# hexsim's clock speed: the demo's runs take a few seconds, as a short Hex run would.
TIME_SCALE=${HEXRUN_DEMO_TIME_SCALE:-2}
STEP_TIMEOUT=40

work=$(mktemp -d)
sim_pid=""
started=$SECONDS
cleanup() {
    if [ -n "$sim_pid" ] && kill -0 "$sim_pid" 2>/dev/null; then
        kill "$sim_pid" && wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "demo: FAILED: $*" >&2; exit 1; }

for f in "$HOST" "$SIM" "$SCENARIO"; do [ -e "$f" ] || fail "$f is missing (run make all)"; done

start_hexsim() {
    "$SIM" --port 0 --scenario "$SCENARIO" --time-scale "$TIME_SCALE" >"$work/sim.out" 2>"$work/sim.err" &
    sim_pid=$!
    for _ in $(seq 100); do
        url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/sim.out" | head -n1)
        [ -n "$url" ] && return 0
        kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.err" >&2; fail "hexsim exited"; }
        sleep 0.05
    done
    fail "hexsim did not print its listening line within 5 s"
}

# Prints the command as a person would type it, then runs it with a time limit.
step() {
    local title=$1; shift
    printf '\n\033[1m== %s\033[0m\n$ hexrun-host %s\n' "$title" "$*"
    timeout "$STEP_TIMEOUT" "$HOST" "$@" || fail "hexrun-host $* (exit $?)"
}

# Picks from the scenario: a published project with inputs that completes (the main run),
# values for its inputs, and the slowest published project (the run to cancel).
# Output: the run project, the cancel project, then one --param value per line.
mapfile -t picked < <(python3 - "$SCENARIO" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
projects = [p for p in doc.get("projects", []) if p.get("published", True)]
def inputs(p):
    raw = p.get("inputs") or p.get("inputParams") or []
    if isinstance(raw, dict):
        raw = [dict(v, name=k) if isinstance(v, dict) else {"name": k, "type": v}
               for k, v in raw.items()]
    return raw
def timeline(p):
    return p.get("timeline") or {}
def outcome_ok(p):
    o = timeline(p).get("outcomes") or {"COMPLETED": 1}
    return set(k for k, v in o.items() if v) <= {"COMPLETED"}
def longest(p):
    r = timeline(p).get("running_ms") or {}
    return r.get("max", 0) if isinstance(r, dict) else r
def value(i):
    if "default" in i:
        v = i["default"]
    elif i.get("options"):
        v = i["options"][0]
    else:
        v = {"number": 7, "boolean": True}.get(str(i.get("type")).lower(), "demo")
    return f"{i['name']}={v}" if isinstance(v, str) else f"{i['name']}:={json.dumps(v)}"
pid = lambda p: p.get("id") or p.get("projectId")
with_inputs = [p for p in projects if inputs(p) and outcome_ok(p)]
main = min(with_inputs, key=longest) if with_inputs else projects[0]
slow = max(projects, key=longest)
print("\n".join([pid(main), pid(slow)] + [value(i) for i in inputs(main)]))
PY
)
[ "${#picked[@]}" -ge 2 ] || fail "no published project in $SCENARIO"
RUN_PROJECT=${picked[0]}
CANCEL_PROJECT=${picked[1]}

start_hexsim
export HEX_API_BASE_URL="$url" HEX_API_TOKEN=hxtok_demo
unset HEXRUN_PLUGIN
echo "demo: hexsim (the simulated Hex API) is listening on $url, time x$TIME_SCALE"
echo "demo: HEX_API_BASE_URL=$url HEX_API_TOKEN=hxtok_demo"

param_args=()
for p in "${picked[@]:2}"; do param_args+=(--param "$p"); done

step "The projects of the workspace, with their Hex-side schedules" projects
step "Run a project with parameters and wait for it" run "$RUN_PROJECT" "${param_args[@]}" --wait
step "Its runs, newest first" runs "$RUN_PROJECT" --limit 5
step "Users" users
step "Groups" groups
step "Data connections" connections

printf '\n\033[1m== Start a run, then cancel it\033[0m\n$ hexrun-host run %s --json\n' "$CANCEL_PROJECT"
timeout "$STEP_TIMEOUT" "$HOST" run "$CANCEL_PROJECT" --json >"$work/run.json" ||
    fail "hexrun-host run $CANCEL_PROJECT"
cat "$work/run.json"
run_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["run_id"])' "$work/run.json")
step "Cancel it" cancel "$CANCEL_PROJECT" "$run_id"
status=$("$HOST" status "$CANCEL_PROJECT" "$run_id" --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
[ "$status" = KILLED ] || fail "the cancelled run is $status, not KILLED"

printf '\ndemo: every step worked in %ds; stopping hexsim.\n' $((SECONDS - started))
