"""One benchmark client (run by bench/bench_scale.py in its own process, so that its CPU
time and peak RSS are its own): attach to the given runs, wait for all of them, report
when each was seen ending (unix ms), the client's requests and resource use.

    scale_worker.py BASE_URL TOKEN CONFIG_JSON RUNS_JSON   (RUNS_JSON: [[project, run], ...])
"""
import json
import os
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402

RATE_LIMITED = -12


def main():
    base_url, token, config, runs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), \
        json.load(open(sys.argv[4]))
    t0 = time.time()
    seen, failed, hit_429 = {}, 0, 0
    with hexrun.Client(base_url=base_url, token=token, **config) as client:
        live = [client.attach(project, run) for project, run in runs]
        while live:
            job = client.wait_any(live, timeout=600)
            now_ms = time.time() * 1000
            info = job.info
            seen[info.run_id] = now_ms
            failed += info.state != "COMPLETED"
            err = info.raw.get("last_error") or {}
            hit_429 += err.get("code") == RATE_LIMITED
            live.remove(job)
        stats = client.stats()
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seen": seen, "failed": failed, "jobs_that_saw_429": hit_429,
                      "wall_s": time.time() - t0, "cpu_s": use.ru_utime + use.ru_stime,
                      "peak_rss_kb": use.ru_maxrss, "stats": stats}))


if __name__ == "__main__":
    main()
