"""hexrun at scale against hexsim with Hex's rate limits on: one table, every row measured
side by side in the same run against the same hexsim.

Modes:
  hexrun   the defaults: coalesced polling, adaptive intervals, the rate budget.
  3s-poll  what existing integrations do: every run polled alone every 3 s, no budget
           (hexrun with coalesce=false, poll_min_ms = poll_max_ms = 3 s, budgets off).

hexsim's clock runs SCALE times faster than real time, and so do its rate-limit windows
(20 RunProject a minute, 60 an hour; 30 other requests a minute, 1800 an hour, in hexsim
time). Both modes get every interval divided by SCALE and hexrun budgets the same limits
(budget_time_scale=SCALE). Runs are started through /__sim/runs (outside the token's
budget: 1000 RunProjects would take 17 hexsim hours) and attached to; each lasts 65 to
315 hexsim seconds. Figures are given in hexsim time (real time x SCALE) unless marked real.

    bench_scale.py [--quick | --sizes 1,10,...]   (--quick: N up to 100)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from hexsim import HexSim  # noqa: E402

SCALE = 30
TOKEN = "hxtok_bench"
SCENARIO = os.path.join(ROOT, "bench", "scale_scenario.json")
HEX_LIMITS = {"enabled": True, "run_per_min": 20, "run_per_hour": 60, "api_per_min": 30,
              "api_per_hour": 1800}
MODES = {
    "hexrun": {"poll_min_ms": 1000 // SCALE, "poll_max_ms": 30000 // SCALE,
               "budget_time_scale": SCALE},
    "3s-poll": {"poll_min_ms": 3000 // SCALE, "poll_max_ms": 3000 // SCALE, "coalesce": False,
                "run_budget_per_min": 0, "run_budget_per_hour": 0, "api_budget_per_min": 0,
                "api_budget_per_hour": 0},
}
STATUS_ENDPOINTS = ("GetRunStatus", "GetProjectRuns")


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def one_row(sim, projects, n, mode):
    sim.sim("POST", "/__sim/reset")
    sim.sim("POST", "/__sim/time_scale", {"scale": SCALE})
    sim.sim("POST", "/__sim/limits", HEX_LIMITS)
    runs = []
    for i, project in enumerate(projects):
        count = n // len(projects) + (i < n % len(projects))
        ids = sim.sim("POST", "/__sim/runs", {"projectId": project, "count": count})["runIds"]
        runs += [[project, r] for r in ids]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(runs, f)
    try:
        out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "scale_worker.py"),
                              sim.base_url, TOKEN, json.dumps(MODES[mode]), f.name],
                             capture_output=True, text=True, timeout=1800, check=True).stdout
    finally:
        os.unlink(f.name)
    report = json.loads(out)
    counters = sim.counters()["requests"]
    ended = {r["runId"]: r["transitions"][-1]["at_ms"] for r in sim.runs()["runs"]}
    latencies = [(report["seen"][run] - ended[run]) * SCALE / 1000 for run in report["seen"]]
    status_requests = sum(sum(counters.get(ep, {}).values()) for ep in STATUS_ENDPOINTS)
    sim_minutes = report["wall_s"] * SCALE / 60
    return {
        "mode": mode, "n": n, "projects": len(projects),
        "requests_per_run": sum(sum(v.values()) for v in counters.values()) / n,
        "status_per_run_min": status_requests / n / sim_minutes,
        "429s": sum(v.get("429", 0) for v in counters.values()),
        "failed": report["failed"], "failed_first_429": report["jobs_that_saw_429"],
        "p50_s": percentile(latencies, 50), "p95_s": percentile(latencies, 95),
        "wall_real_s": report["wall_s"], "cpu_s": report["cpu_s"],
        "rss_mib": report["peak_rss_kb"] / 1024,
    }


def print_table(rows):
    print("| mode | N | projects | requests/run | status req/run/min | 429s | failed waits "
          "| waits a first 429 fails | detection p50 | p95 | wall (real) | CPU | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['mode']} | {r['n']} | {r['projects']} | {r['requests_per_run']:.2f} "
              f"| {r['status_per_run_min']:.3f} | {r['429s']} | {r['failed']} "
              f"| {r['failed_first_429']} | {r['p50_s']:.1f} s | {r['p95_s']:.1f} s "
              f"| {r['wall_real_s']:.1f} s | {r['cpu_s']:.2f} s | {r['rss_mib']:.0f} MiB |",
              flush=True)


def main():
    sizes = [1, 10, 100] if "--quick" in sys.argv else [1, 10, 100, 1000]
    if "--sizes" in sys.argv:
        sizes = [int(x) for x in sys.argv[sys.argv.index("--sizes") + 1].split(",")]
    scenario = json.load(open(SCENARIO))
    all_projects = [p["id"] for p in scenario["projects"]]
    rows = []
    with HexSim(args=["--time-scale", str(SCALE)], scenario=SCENARIO) as sim:
        for n in sizes:
            for n_projects in ([1] if n == 1 else [1, 10]):
                for mode in MODES:
                    rows.append(one_row(sim, all_projects[:n_projects], n, mode))
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"hexsim time runs {SCALE}x real time; figures in hexsim time unless marked real.")
    print_table(rows)
    by = {(r["mode"], r["n"], r["projects"]): r for r in rows}
    if (("hexrun", 100, 1) in by):
        a, b = by[("hexrun", 100, 1)], by[("3s-poll", 100, 1)]
        print(f"\nAt 100 runs on one project: {b['requests_per_run'] / a['requests_per_run']:.0f}x "
              f"fewer requests per run with hexrun than with 3 s per-run polling.")


if __name__ == "__main__":
    main()
