"""What one RunProject of a project at a time costs (docs/faults.md): N submits of one
project at once, at real time against hexsim with Hex's limits (20 RunProject a minute, 60
an hour) and the client's default budget, each RunProject taking --post-ms to answer (a
hexsim delay fault on every one; Hex's own POST takes well under a second).

Prints one line per library: RunProjects answered within the first minute and in all, the
time until the first 20 (the minute's burst) and the last submit had their run, and the
submit latency (submit -> run id known) at p50 / p90 / max.

    HEXRUN_LIBRARY=build/libhexrun.so.1 bench_submit_pace.py [--submits 40] [--post-ms 500]
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "python"))
from hexsim import HexSim  # noqa: E402

import hexrun  # noqa: E402

P_OK = "11111111-1111-4111-8111-111111111111"
TOKEN = "hxtok_admin"
HEX_LIMITS = {"enabled": True, "run_per_min": 20, "run_per_hour": 60, "api_per_min": 30,
              "api_per_hour": 1800}


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def measure(submits, post_ms):
    # hexsim answers with 32 threads, so that parallel RunProjects are not queued there.
    with HexSim(args=["--time-scale", "1", "--threads", "32"]) as sim:
        sim.sim("POST", "/__sim/limits", HEX_LIMITS)
        if post_ms:
            sim.sim("POST", "/__sim/faults", {"faults": [
                {"endpoint": "RunProject", "kind": "delay", "delay_ms": post_ms,
                 "probability": 1.0}]})
        client = hexrun.Client(base_url=sim.base_url, token=TOKEN, poll_min_ms=1000,
                               poll_max_ms=30000)
        t0 = time.monotonic()
        jobs = [client.submit(P_OK) for _ in range(submits)]
        known = {}
        while len(known) < submits and time.monotonic() - t0 < 600:
            for job in jobs:
                if job.id not in known and job.poll() not in ("QUEUED", "SUBMITTING"):
                    known[job.id] = time.monotonic() - t0
            time.sleep(0.005)
        latencies = sorted(known.values())
        first_minute = sum(1 for t in latencies if t < 60.0)
        burst = latencies[:min(20, len(latencies))]  # what Hex's minute lets go at once
        created = sim.runs()["created_per_project"].get(P_OK, 0)
        rate_limited = sum(by.get("429", 0) for by in sim.counters()["requests"].values())
        client.close()
    return {"first_minute": first_minute, "answered": len(latencies), "created": created,
            "last_s": latencies[-1] if latencies else float("nan"),
            "burst_s": burst[-1] if burst else float("nan"),
            "p50": percentile(latencies, 50), "p90": percentile(latencies, 90),
            "max": latencies[-1] if latencies else float("nan"),
            "mean": statistics.mean(latencies) if latencies else float("nan"),
            "429": rate_limited}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--submits", type=int, default=40)
    ap.add_argument("--post-ms", type=int, default=500)
    args = ap.parse_args()
    r = measure(args.submits, args.post_ms)
    print(f"library {os.environ.get('HEXRUN_LIBRARY', '(default)')}: {args.submits} submits "
          f"of one project, RunProject takes {args.post_ms} ms: {r['first_minute']} answered "
          f"in the first minute, {r['answered']} in all ({r['created']} runs, "
          f"{r['429']} x 429), the first 20 after {r['burst_s']:.1f} s, the last after "
          f"{r['last_s']:.1f} s; submit latency p50 "
          f"{r['p50']:.2f} s, p90 {r['p90']:.2f} s, max {r['max']:.2f} s")


if __name__ == "__main__":
    main()
