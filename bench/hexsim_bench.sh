#!/usr/bin/env bash
# hexsim's own speed, so that benchmarks of hexrun measure hexrun and not the simulator:
# GetRunStatus requests per second (wrk, 2 threads, 50 connections, 10 s) and the resident
# memory of hexsim holding 100,000 runs. Usage: bench/hexsim_bench.sh build/hexsim
set -euo pipefail
SIM=${1:-build/hexsim}
P_OK=11111111-1111-4111-8111-111111111111
out=$(mktemp)
"$SIM" --port 0 --scenario hexsim/scenarios/test.json >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$out")
run=$(curl -sf -X POST -H 'Authorization: Bearer hxtok_admin' "$base/v1/projects/$P_OK/runs" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["runId"])')
rps=$(wrk -t2 -c50 -d10s -H 'Authorization: Bearer hxtok_admin' \
      "$base/v1/projects/$P_OK/runs/$run" | awk '/Requests\/sec/ {print $2}')
curl -sf -X POST "$base/__sim/runs" -d "{\"projectId\":\"$P_OK\",\"count\":100000}" >/dev/null
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
printf '| hexsim figure | value |\n|---|---|\n'
printf '| GetRunStatus requests/s (wrk -t2 -c50 -d10s) | %s |\n' "$rps"
printf '| RSS with 100,000 runs stored | %s KiB |\n' "$rss"
