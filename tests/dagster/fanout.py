"""Many Hex runs from Dagster, two ways, and what each costs against hexsim with Hex's rate
limits on (docs/dagster.md, "Many runs"):

  fan-out  one op, one HexResource, execute_hex_runs(): one client, one budget, one engine
  per-op   one op per run under the multiprocess executor: a client per step process,
           each with its own budget, then with a shared budget_path

    FANOUT_N=20 FANOUT_TIME_SCALE=1 python fanout.py measure   # its own hexsim; a table

test_fanout.py runs the fan-out job against the tests' hexsim with a few runs."""
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

from dagster import (DagsterInstance, EnvVar, OpExecutionContext, execute_job, job,  # noqa: E402
                     op, reconstructable)

from hexrun.dagster import (HexResource, HexRunRequest, build_hex_run_op,  # noqa: E402
                            execute_hex_runs)

PROJECT = os.environ.get("FANOUT_PROJECT", "11111111-1111-4111-8111-111111111111")
N = int(os.environ.get("FANOUT_N", "20"))
SCALE = os.environ.get("FANOUT_TIME_SCALE", "1")


def hex_resource():
    """Default polling; Hex's limits, on hexsim's clock."""
    return HexResource(base_url=EnvVar("HEX_API_BASE_URL"), api_token=EnvVar("HEX_API_TOKEN"),
                       config={"budget_time_scale": SCALE},
                       budget_path=os.environ.get("FANOUT_BUDGET_PATH"))


@op
def refresh_regions(context: OpExecutionContext, hex: HexResource) -> list:
    requests = [HexRunRequest(PROJECT, inputs={"region": f"r{i}"}, label=f"r{i}")
                for i in range(N)]
    return [info.run_id for info in execute_hex_runs(context, hex, requests)]


@job(resource_defs={"hex": hex_resource()})
def fan_out_job():
    refresh_regions()


@job(resource_defs={"hex": hex_resource()})
def per_op_job():
    for i in range(N):
        build_hex_run_op(f"refresh_r{i}", project_id=PROJECT, inputs={"region": f"r{i}"})()


# ---- measure ----

def scenario(run_s):
    return {"seed": 7, "org_id": "0a0a0a0a-0000-4000-8000-000000000001",
            "limits": {"enabled": True, "run_per_min": 20, "run_per_hour": 60,
                       "api_per_min": 30, "api_per_hour": 1800},
            "tokens": [{"token": "hxtok_admin", "user": "aaaaaaaa-0000-4000-8000-000000000001"}],
            "users": [{"id": "aaaaaaaa-0000-4000-8000-000000000001", "name": "Admin",
                       "email": "admin@example.com", "role": "ADMIN"}],
            "projects": [{"id": PROJECT, "title": "Daily revenue", "published": True,
                          "inputs": [{"name": "region", "type": "string"}],
                          "timeline": {"pending_ms": {"min": 2000, "max": 4000},
                                       "running_ms": {"min": run_s * 1000,
                                                      "max": run_s * 1500}}}]}


def measure_one(sim, name, run):
    before = sim.counters()["requests"]
    started = time.monotonic()
    ok = run()
    wall = time.monotonic() - started
    after = sim.counters()["requests"]
    delta = {ep: {code: n - before.get(ep, {}).get(code, 0) for code, n in codes.items()}
             for ep, codes in after.items()}
    total = sum(n for codes in delta.values() for n in codes.values())
    status = sum(n for ep, codes in delta.items() if ep in ("GetRunStatus", "GetProjectRuns")
                 for n in codes.values())
    too_many = sum(codes.get("429", 0) for codes in delta.values())
    runs = sum(codes.get("201", 0) for ep, codes in delta.items() if ep == "RunProject")
    print(f"| {name} | {ok} | {runs} | {total} | {status} | {too_many} | {wall:.0f} s |",
          flush=True)


def measure(n=N, scale=SCALE):
    from hexsim import HexSim
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fanout.json")
        with open(path, "w") as f:
            json.dump(scenario(run_s=60), f)
        with HexSim(scenario=path, args=["--time-scale", scale]) as sim:
            os.environ.update(HEX_API_BASE_URL=sim.base_url, HEX_API_TOKEN="hxtok_admin",
                              DAGSTER_HOME=tmp)
            with open(os.path.join(tmp, "dagster.yaml"), "w") as f:
                f.write("telemetry:\n  enabled: false\n")
            print(f"{n} runs of 60-90 s (+2-4 s pending), hexsim --time-scale {scale}, "
                  "Hex's limits on (RunProject 20/min, the rest 30/min)")
            print("| pattern | success | runs | requests | status requests | 429s | wall |")
            print("|---|---|---|---|---|---|---|")
            with DagsterInstance.get() as instance:
                measure_one(sim, "fan-out: one op, execute_hex_runs", lambda: execute_job(
                    reconstructable(fan_out_job), instance=instance).success)
                sim.sim("POST", "/__sim/limits", {"enabled": True})  # fresh windows
                config = {"execution": {"config": {"multiprocess": {"max_concurrent": n}}}}
                measure_one(sim, "one op per run, multiprocess executor", lambda: execute_job(
                    reconstructable(per_op_job), instance=instance, run_config=config).success)
                sim.sim("POST", "/__sim/limits", {"enabled": True})
                os.environ["FANOUT_BUDGET_PATH"] = os.path.join(tmp, "budget")  # step processes
                measure_one(sim, "one op per run, multiprocess, shared budget_path",
                            lambda: execute_job(reconstructable(per_op_job), instance=instance,
                                                run_config=config).success)


if __name__ == "__main__" and sys.argv[1:2] == ["measure"]:
    measure()
