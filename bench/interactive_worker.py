"""The interactive lane under load (run by bench/bench_scale.py in its own process): with
`live` runs attached (0 for an idle client), cancel one run at a time and make one direct
call (hexrun_run_get) at a time, spaced so that the window has room, after a burst of
direct calls back to back; report when each cancel was asked (unix ms, to compare with
hexsim's KILLED transition), when the host saw each cancelled job end, and how long each
direct call took.

    interactive_worker.py BASE_URL TOKEN CONFIG_JSON PLAN_JSON
    PLAN_JSON: {"live": [[project, run], ...], "cancel": [[project, run], ...],
                "direct": [project, run], "spacing_s": real seconds between samples,
                "burst": direct calls back to back first,
                "settle_s": real seconds to let the first sweeps of the live runs go}
"""
import json
import math
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402

TERMINAL = {"COMPLETED", "ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL", "SUBMIT_FAILED",
            "SUBMIT_UNKNOWN", "LOST"}


class EndWatcher(threading.Thread):
    """Notes (unix ms) when each cancelled job is seen ending by the host, looking every
    10 ms (hexrun_poll is cheap and makes no request)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.jobs, self.ended = {}, {}
        self.stop = threading.Event()

    def watch(self, run, job):
        with self.lock:
            self.jobs[run] = job

    def run(self):
        while not self.stop.wait(0.01):
            with self.lock:
                open_jobs = [(r, j) for r, j in self.jobs.items() if r not in self.ended]
            for run, job in open_jobs:
                if job.poll() in TERMINAL:
                    with self.lock:
                        self.ended[run] = time.time() * 1000

    def wait_all(self, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.ended) == len(self.jobs):
                    return
            time.sleep(0.01)


def main():
    base_url, token, config = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    plan = json.load(open(sys.argv[4]))
    cancels, directs = [], []
    watcher = EndWatcher()
    watcher.start()
    with hexrun.Client(base_url=base_url, token=token, **config) as client:
        live = {run: client.attach(project, run) for project, run in plan["live"]}
        time.sleep(plan["settle_s"])
        burst = []
        for _ in range(plan["burst"]):
            start = time.monotonic()
            client.run_status(*plan["direct"])
            burst.append((time.monotonic() - start) * 1000)
        time.sleep(plan["spacing_s"])
        for project, run in plan["cancel"]:
            job = live.get(run) or client.attach(project, run)
            asked = math.floor(time.time() * 1000)  # whole ms, as hexsim's at_ms
            job.cancel()
            watcher.watch(run, job)
            cancels.append({"run": run, "asked_ms": asked})
            start = time.monotonic()
            client.run_status(*plan["direct"])
            directs.append((time.monotonic() - start) * 1000)
            time.sleep(plan["spacing_s"])
        watcher.wait_all(plan["end_timeout_s"])
        watcher.stop.set()
        watcher.join()
        for c in cancels:
            c["ended_ms"] = watcher.ended.get(c["run"])
        stats = client.stats()
    print(json.dumps({"cancels": cancels, "direct_ms": directs, "burst_ms": burst,
                      "stats": stats}))


if __name__ == "__main__":
    main()
