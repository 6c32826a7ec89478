"""issue 17's figures: 8 processes x 50 runs of one project on one token against hexsim with
Hex's limits (its clock 600 times faster, hexrun's budget windows scaled to match), with
coord_url on a throwaway PostgreSQL server (tests/support/pgserver.py), against one process
waiting on all 400, and against 8 processes with a budget each (no store). Then the same
8 x 50 with the server stopped for 30 s mid-run and started again.

Each process is a hexrun-host `load` in its own working directory. Figures: 429s and
RunProject answers (hexsim's counters), failed waits (jobs not COMPLETED), duplicate runs
(RunProject 201s beyond the runs asked for), status requests (GetRunStatus and
GetProjectRuns), detection p95 (the worst process's), store statements per second
(pg_stat_database.xact_commit over the wall time: one statement is one transaction).
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from hexsim import HexSim  # noqa: E402
from pgserver import PgServer  # noqa: E402

BUILD = os.environ.get("HEXRUN_BUILD", os.path.join(ROOT, "build"))
HOST = os.path.join(BUILD, "hexrun-host")
PROJECT = "11111111-1111-4111-8111-111111111111"
# BENCH_COORD_SCALE=60 BENCH_COORD_JOBS=10: the same on a clock 60 times faster (8 x 10),
# where a store round trip is a smaller part of a sweep period, for the detection figures.
SCALE = int(os.environ.get("BENCH_COORD_SCALE", "600"))
JOBS = int(os.environ.get("BENCH_COORD_JOBS", "50"))
# BENCH_COORD_ROWS=detect: only the single process and the 8 processes on the store, for
# the detection figure at x60 with 50 runs each (13 min: Hex's hour of 60 RunProjects
# paces 400 runs over 6.7 hours of its time).
ROWS = os.environ.get("BENCH_COORD_ROWS", "all")
# BENCH_COORD_ROWS=detect BENCH_COORD_SCALE=10: nearer Hex's own pace (a sweep period of
# about 200 ms, where a store round trip weighs what it would against Hex's seconds). The
# two rows then run side by side, each on its own hexsim (40 min, not 80): on this clock
# they use a few percent of a core each.
PARALLEL = ROWS == "detect" and SCALE <= 10
# BENCH_COORD_DURABLE=1: a server whose commits reach the disk (fsync on), as in production;
# the default is the tests' server, which skips the disk (docs/benchmarks.md compares them).
DURABLE = os.environ.get("BENCH_COORD_DURABLE") == "1"
HEX_LIMITS = {"enabled": True, "run_per_min": 20, "run_per_hour": 60, "api_per_min": 30,
              "api_per_hour": 1800}
# The wall time of 8 x JOBS runs paced by Hex's hourly run limit, twice over (a bound, for
# the loads' and this script's waits).
WALL_BOUND_S = max(900, 2 * 8 * JOBS * 3600 // HEX_LIMITS["run_per_hour"] // SCALE + 300)
STATUS_ENDPOINTS = ("GetRunStatus", "GetProjectRuns")


def env_for(sim):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEX_", "HEXRUN_"))}
    env.update(HEXRUN_PLUGIN=os.path.join(BUILD, "libhexrun.so.1"),
               HEX_API_BASE_URL=sim.base_url, HEX_API_TOKEN="hxtok_admin")
    return env


def load_cmd(jobs, coord_url=None):
    # Hex's defaults (poll_min_ms 1000, poll_max_ms 30000) on the scaled clock.
    cmd = [HOST, "--json", "--log-level", "info", "--config", f"budget_time_scale={SCALE}",
           "--config", f"poll_min_ms={max(1000 // SCALE, 1)}",
           "--config", f"poll_max_ms={30000 // SCALE}"]
    if coord_url:
        cmd += ["--config", f"coord_url={coord_url}"]
    return cmd + ["load", "--jobs", str(jobs), "--projects", PROJECT, "--timeout",
                  str(WALL_BOUND_S)]


def commits(pg):
    return int(pg.psql("SELECT xact_commit FROM pg_stat_database WHERE datname = "
                       "'postgres'"))


def scenario(sim, pg, n_procs, jobs, coord, outage_after=None, outage_s=30, kill_leader=False):
    sim.sim("POST", "/__sim/reset")
    sim.sim("POST", "/__sim/time_scale", {"scale": SCALE})
    sim.sim("POST", "/__sim/limits", HEX_LIMITS)
    if pg:
        pg.psql("DROP SCHEMA IF EXISTS hexrun CASCADE")
    c0 = commits(pg) if coord else 0
    t0 = time.time()
    work = tempfile.mkdtemp(prefix="hexrun-bench-coord-")
    procs, logs = [], []
    for i in range(n_procs):
        cwd = os.path.join(work, f"machine{i}")
        os.mkdir(cwd)
        logs.append(os.path.join(cwd, "log"))
        with open(logs[-1], "w") as log:
            procs.append(subprocess.Popen(load_cmd(jobs, pg.url if coord else None),
                                          env=env_for(sim), cwd=cwd, stdout=subprocess.PIPE,
                                          stderr=log, text=True))
    takeover_ms = None
    if kill_leader:
        procs, logs, takeover_ms = kill_the_leader(sim, procs, logs)
    outage = None
    if outage_after is not None:
        outage = threading.Thread(target=stop_for_a_while,
                                  args=(sim, pg, outage_after, outage_s))
        outage.start()
    reports, texts = [], []
    for p, log in zip(procs, logs):
        out, _ = p.communicate(timeout=WALL_BOUND_S + 60)
        with open(log) as f:
            texts.append(f.read())
        # A load whose jobs did not all complete exits non-zero: its report still counts.
        if not out.strip():
            raise RuntimeError(f"hexrun-host load failed: {texts[-1][-2000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    if outage:
        outage.join()
    wall = time.time() - t0
    c1 = commits(pg) if coord else 0
    counters = sim.counters()["requests"]
    states = {}
    for r in reports:
        for k, v in r["end_states"].items():
            states[k] = states.get(k, 0) + v
    created = counters.get("RunProject", {}).get("201", 0)
    asked = len(reports) * jobs
    return {
        "runs": asked,
        "completed": states.get("COMPLETED", 0),
        "failed_waits": asked - states.get("COMPLETED", 0),
        "duplicates": max(created - n_procs * jobs, 0),  # the killed one's runs count too
        "hexsim_429": sum(v.get("429", 0) for v in counters.values()),
        "reported_429": sum(r["rate_limited_429"] for r in reports),
        "status_requests": sum(sum(counters.get(e, {}).values()) for e in STATUS_ENDPOINTS),
        "detect_p95_ms": max(r["detect_latency_p95_ms"] or 0 for r in reports),
        "detect_p95_all_ms": pooled_p95(reports),
        "wall_s": round(wall, 1),
        "store_qps": round((c1 - c0) / wall, 1) if coord else None,
        "board_reads": sum(r["stats"].get("board_reads", 0) for r in reports),
        "offline_logs": sum(e.count("event=coord_offline") for e in texts),
        "online_logs": sum(e.count("event=coord_online") for e in texts),
        "takeover_ms": takeover_ms,
    }


def pooled_p95(reports):
    """The p95 of every run's detection latency, all processes together (the worst
    process's p95 of 50 runs is near its maximum; one process of 400 has no such tail)."""
    every = sorted(x for r in reports for x in r.get("detect_latencies_ms", []))
    return round(every[max(math.ceil(0.95 * len(every)) - 1, 0)], 1) if every else None


def lease_lines(log):
    with open(log) as f:
        return f.read().count("event=board_lease")


def kill_the_leader(sim, procs, logs):
    """SIGKILL the process that took a project's lease last, once 100 runs were made (mid
    sweep: it polls continuously); returns the others and the ms until one of them took
    the lease over."""
    while sim.counters()["requests"].get("RunProject", {}).get("201", 0) < 2 * JOBS:
        time.sleep(0.05)
    leader = max(range(len(procs)), key=lambda i: (lease_lines(logs[i]), -i))
    procs[leader].kill()
    procs[leader].wait()
    t_kill = time.time()
    rest = [i for i in range(len(procs)) if i != leader]
    before = {i: lease_lines(logs[i]) for i in rest}
    takeover = None
    while takeover is None and any(procs[i].poll() is None for i in rest):
        if any(lease_lines(logs[i]) > before[i] for i in rest):
            takeover = round((time.time() - t_kill) * 1000)
        time.sleep(0.01)
    return [procs[i] for i in rest], [logs[i] for i in rest], takeover


def stop_for_a_while(sim, pg, after_runs, seconds):
    while sim.counters()["requests"].get("RunProject", {}).get("201", 0) < after_runs:
        time.sleep(0.1)
    pg.halt()
    time.sleep(seconds)
    pg.resume()


def report(rows):
    cols = ["runs", "completed", "failed_waits", "duplicates", "hexsim_429", "reported_429",
            "status_requests", "detect_p95_ms", "detect_p95_all_ms", "wall_s", "store_qps",
            "board_reads", "offline_logs", "online_logs", "takeover_ms"]
    print("| scenario | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for name, r in rows:
        print(f"| {name} | " + " | ".join(str(r[c]) for c in cols) + " |")
    base = rows[0][1]
    shared = next(r for name, r in rows if name.endswith("coord_url"))
    print(f"\nclock x{SCALE}; status requests, 8 x {JOBS} on coord_url / 1 x {8 * JOBS}: "
          f"{shared['status_requests'] / max(base['status_requests'], 1):.2f}x; "
          f"detection p95: {shared['detect_p95_ms'] / max(base['detect_p95_ms'], 1):.2f}x "
          f"(the worst process's), "
          f"{shared['detect_p95_all_ms'] / max(base['detect_p95_all_ms'], 1):.2f}x (all runs)")


def detect_side_by_side():
    """The two detection rows at once, each on its own hexsim (PARALLEL)."""
    n, rows = JOBS, [None, None]
    with HexSim(args=["--time-scale", str(SCALE)]) as alone, \
            HexSim(args=["--time-scale", str(SCALE)]) as shared, PgServer(durable=DURABLE) as pg:
        def row(i, name, sim, procs, jobs, coord):
            rows[i] = (name, scenario(sim, pg if coord else None, procs, jobs, coord))
        threads = [threading.Thread(target=row, args=(0, f"1 process x {8 * n} (baseline)",
                                                      alone, 1, 8 * n, False)),
                   threading.Thread(target=row, args=(1, f"8 x {n}, coord_url",
                                                      shared, 8, n, True))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if None in rows:
        raise RuntimeError("a detection row failed (its exception is above)")
    return rows


def main():
    if PARALLEL:
        report(detect_side_by_side())
        return
    rows = []
    with HexSim(args=["--time-scale", str(SCALE)]) as sim, PgServer(durable=DURABLE) as pg:
        n = JOBS
        rows.append((f"1 process x {8 * n} (baseline)", scenario(sim, pg, 1, 8 * n, False)))
        if ROWS == "all":
            rows.append((f"8 x {n}, own budgets (no store)", scenario(sim, pg, 8, n, False)))
        rows.append((f"8 x {n}, coord_url", scenario(sim, pg, 8, n, True)))
        if ROWS == "all":
            rows.append((f"8 x {n}, coord_url, board leader SIGKILLed (7 x {n} counted)",
                         scenario(sim, pg, 8, n, True, kill_leader=True)))
            rows.append((f"8 x {n}, coord_url, PostgreSQL stopped 30 s",
                         scenario(sim, pg, 8, n, True, outage_after=2 * n)))
    report(rows)


if __name__ == "__main__":
    main()
