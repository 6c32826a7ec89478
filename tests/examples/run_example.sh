#!/bin/sh
# Compile-and-run check of the README's C example: start hexsim on a free port, point the
# example at it through the environment, and expect COMPLETED then KILLED.
set -eu
hexsim=$1 example=$2
out=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$out"' EXIT
"$hexsim" --port 0 --scenario hexsim/scenarios/test.json --time-scale 20 >"$out/sim" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q '^listening on ' "$out/sim" 2>/dev/null && break
    sleep 0.05
done
url=$(sed -n 's/^listening on //p' "$out/sim" | head -n 1)
[ -n "$url" ] || { echo "hexsim did not start"; cat "$out/sim"; exit 1; }
HEX_API_BASE_URL=$url HEX_API_TOKEN=hxtok_admin timeout 60 "$example" \
    11111111-1111-4111-8111-111111111111 44444444-4444-4444-8444-444444444444 | tee "$out/run"
grep -q '^COMPLETED: ' "$out/run"
grep -q '^cancelled: KILLED$' "$out/run"
