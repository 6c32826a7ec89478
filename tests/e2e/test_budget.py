"""The rate budget end to end: hexsim enforces Hex's limits (20 RunProject a minute, 60 an
hour; 30 other requests a minute) on a clock 600 times faster, and hexrun-host runs with
budget_time_scale=600 so that hexrun budgets the very same limits. Work must wait for budget
instead of earning 429s, in one process and in several processes sharing budget_path.
"""
import json
import subprocess

import pytest

from e2e_common import HOST, P_OK, P_SLOW, HexSim, env_for

SCALE = 600
HEX_LIMITS = {"enabled": True, "run_per_min": 20, "run_per_hour": 60, "api_per_min": 30,
              "api_per_hour": 1800}


@pytest.fixture(scope="module")
def sim():
    with HexSim(args=["--time-scale", str(SCALE)]) as s:
        yield s


@pytest.fixture(autouse=True)
def limits_on(sim):
    sim.sim("POST", "/__sim/reset")
    sim.sim("POST", "/__sim/time_scale", {"scale": SCALE})
    sim.sim("POST", "/__sim/limits", HEX_LIMITS)
    # Under the variant profile: these loads run many RunProjects of one project at once,
    # so a 504 after the work could not be told apart from its neighbours (SUBMIT_UNKNOWN,
    # by design); the budget is the point here, adoption is tested in test_journal/host.
    sim.sim("POST", "/__sim/variant", {"run_project_after_work": None})


def load_cmd(jobs, budget_path=None):
    cmd = [HOST, "--json", "--config", f"budget_time_scale={SCALE}",
           "--config", "poll_min_ms=5", "--config", "poll_max_ms=50"]
    if budget_path:
        cmd += ["--config", f"budget_path={budget_path}"]
    return cmd + ["load", "--jobs", str(jobs), "--projects", f"{P_OK},{P_SLOW}",
                  "--timeout", "120"]


def run_loads(sim, n_procs, jobs, budget_path=None):
    procs = [subprocess.Popen(load_cmd(jobs, budget_path), env=env_for(sim),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n_procs)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=150)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def hexsim_429s(sim):
    return sum(by_status.get("429", 0) for by_status in sim.counters()["requests"].values())


def run_projects_answered(sim):
    """RunProject answers by status; hexsim's variant profile answers some 504 after making
    the run (the job then finds it), so 201 and 504 both mean a run was made."""
    answers = sim.counters()["requests"]["RunProject"]
    assert set(answers) <= {"201", "504"}, answers
    return sum(answers.values())


def test_200_submits_and_their_waits_finish_without_a_429(sim):
    report, = run_loads(sim, 1, 200)
    assert report["end_states"] == {"COMPLETED": 200}
    assert report["rate_limited_429"] == 0
    assert hexsim_429s(sim) == 0
    assert run_projects_answered(sim) == 200
    assert sum(sim.runs()["created_per_project"].values()) == 200


def no_5xx_after_the_work(sim):
    """Two processes submitting the same projects on one token do not wait for each other's
    RunProjects (budget_path shares the budget, not that): a lost answer there can find the
    other process's run too and end SUBMIT_UNKNOWN (docs/journal.md). These tests are about
    the budget, so the variant profile's 504 after the work is off for them."""
    sim.sim("POST", "/__sim/variant", {"run_project_after_work": None})


def test_processes_sharing_budget_path_stay_within_one_tokens_limits(sim, tmp_path):
    no_5xx_after_the_work(sim)
    reports = run_loads(sim, 2, 40, budget_path=str(tmp_path / "budget"))
    assert [r["end_states"] for r in reports] == [{"COMPLETED": 40}] * 2
    assert hexsim_429s(sim) == 0
    assert sim.counters()["requests"]["RunProject"] == {"201": 80}


def test_without_budget_path_two_processes_overrun_the_limits(sim):
    """The control experiment: the same load without a shared budget earns 429s (which
    hexrun then honours, so the runs still finish)."""
    no_5xx_after_the_work(sim)
    reports = run_loads(sim, 2, 40)
    assert [r["end_states"] for r in reports] == [{"COMPLETED": 40}] * 2
    assert hexsim_429s(sim) > 0
