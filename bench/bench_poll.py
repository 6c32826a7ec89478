"""hexrun_poll through the Python binding (ctypes): cost per call, for docs/benchmarks.md."""
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402
from hexsim import HexSim  # noqa: E402

P_SLOW = "44444444-4444-4444-8444-444444444444"
CALLS = 200_000

with HexSim() as sim:
    run_id = sim.sim("POST", "/__sim/runs", {"projectId": P_SLOW, "count": 1})["runIds"][0]
    with hexrun.Client(base_url=sim.base_url, token="hxtok_admin", poll_min_ms=600000,
                       poll_max_ms=600000) as c:
        job = c.attach(P_SLOW, run_id)
        t0 = time.perf_counter()
        for _ in range(CALLS):
            job.poll()
        per_call = (time.perf_counter() - t0) / CALLS
print(f"| Job.poll() through Python ctypes | {per_call * 1e9:.0f} ns per call |")
