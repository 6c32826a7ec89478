"""The fan-out pattern (issue 19): many runs from one op on one client, against hexsim with
Hex's rate limits on (scaled to hexsim's clock): every run made once, no 429."""
from dagster import job

import defs
import fanout
from conftest import runs_of
from hexrun import shared

RUNS = 8


def test_fan_out_runs_every_project_run_once_without_429(sim, monkeypatch):
    monkeypatch.setattr(fanout, "N", RUNS)

    @job(resource_defs={"hex": defs.hex_resource(journal_path=None)})
    def fan_out_job():
        fanout.refresh_regions()

    before_runs = len(runs_of(sim, fanout.PROJECT))
    before = sim.counters()["requests"]
    sim.sim("POST", "/__sim/limits", {"enabled": True})
    try:
        result = fan_out_job.execute_in_process()
    finally:
        sim.sim("POST", "/__sim/limits", {"enabled": False})
    after = sim.counters()["requests"]
    run_ids = result.output_for_node("refresh_regions")
    assert len(set(run_ids)) == RUNS
    assert len(runs_of(sim, fanout.PROJECT)) == before_runs + RUNS
    too_many = {ep: codes.get("429", 0) - before.get(ep, {}).get("429", 0)
                for ep, codes in after.items()}
    assert sum(too_many.values()) == 0, too_many
    assert shared.client_count() == 0
