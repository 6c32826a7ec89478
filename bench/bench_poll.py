"""hexrun_poll and hexrun_submit through the Python binding (ctypes): cost per call, for
docs/benchmarks.md."""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402
from hexsim import HexSim  # noqa: E402

P_OK = "11111111-1111-4111-8111-111111111111"
P_SLOW = "44444444-4444-4444-8444-444444444444"
CALLS = 200_000
SUBMITS = 2_000

with HexSim() as sim:
    run_id = sim.sim("POST", "/__sim/runs", {"projectId": P_SLOW, "count": 1})["runIds"][0]
    with hexrun.Client(base_url=sim.base_url, token="hxtok_admin", poll_min_ms=600000,
                       poll_max_ms=600000) as c:
        job = c.attach(P_SLOW, run_id)
        t0 = time.perf_counter()
        for _ in range(CALLS):
            job.poll()
        per_call = (time.perf_counter() - t0) / CALLS
    # Submits return before their POST goes out; budgets off so none waits in the queue.
    with hexrun.Client(base_url=sim.base_url, token="hxtok_admin", run_budget_per_min=0,
                       run_budget_per_hour=0, api_budget_per_min=0, api_budget_per_hour=0,
                       poll_min_ms=600000, poll_max_ms=600000) as c:
        t0 = time.perf_counter()
        for _ in range(SUBMITS):
            c.submit(P_OK)
        per_submit = (time.perf_counter() - t0) / SUBMITS
print(f"| Job.poll() through Python ctypes | {per_call * 1e9:.0f} ns per call |")
print(f"| Client.submit() through Python ctypes | {per_submit * 1e6:.1f} µs per call |")
