"""Crash safety of submits with journal_path: real hexrun-host processes killed with
SIGKILL at the worst moments, then the same submit again with the same idempotency key.
Exactly one Hex run must exist per key, and the second process must track it.
"""
import json
import os
import signal
import subprocess

import pytest

from e2e_common import HOST, P_OK, P_SLOW, HexSim, env_for
from waiting import wait_for


@pytest.fixture(scope="module")
def sim():
    with HexSim(args=["--time-scale", "20"]) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(sim):
    sim.sim("POST", "/__sim/reset")


def run_args(project, key, journal):
    return [HOST, "--json", "--log-level", "info", "--config", f"journal_path={journal}",
            "--config", "poll_min_ms=200", "--config", "poll_max_ms=1000",
            "run", project, "--idempotency-key", key, "--wait", "--timeout", "60"]


def start(sim, project, key, journal):
    return subprocess.Popen(run_args(project, key, journal), env=env_for(sim),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=90):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def records(journal, kind, key):
    """The journal's records of one type for one key (format: docs/journal.md)."""
    if not os.path.exists(journal):
        return []
    with open(journal) as f:
        return [line.split() for line in f if line.split()[1:2] == [kind] and line.split()[-1] == key]


def sim_runs(sim, project):
    return sim.sim("GET", f"/__sim/runs?projectId={project}")["runs"]


def final_run_id(out):
    """The run id of the last --json line that has one."""
    ids = [json.loads(l).get("run_id") for l in out.splitlines() if l.startswith("{")]
    ids = [i for i in ids if i]
    return ids[-1] if ids else None


def test_sigkill_between_post_and_response_then_resubmit(sim, tmp_path):
    journal = str(tmp_path / "journal")
    # Hex makes the run and holds its answer (a slow body of 10 minutes a chunk); the
    # process dies while waiting for it. (A 2 s delay before the work was a margin a loaded
    # machine could use up: the answer came, and the run record with it, before the kill.)
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "RunProject", "kind": "slow_body", "delay_ms": 600000, "count": 1}]})
    first = start(sim, P_OK, "nightly-1", journal)
    wait_for(lambda: records(journal, "I", "nightly-1"), "the intent record", 60)
    # Killed once hexsim holds the answer (not after a guessed 0.3 s): the run exists.
    wait_for(lambda: sim.in_flight("RunProject") >= 1, "the answer held by hexsim", 60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert len(sim_runs(sim, P_OK)) == 1
    assert records(journal, "R", "nightly-1") == []  # it died before the answer
    code, out, err = finish(start(sim, P_OK, "nightly-1", journal))
    assert code == 0, err
    runs = sim_runs(sim, P_OK)
    assert len(runs) == 1, runs
    assert final_run_id(out) == runs[0]["runId"]
    assert "event=adopted" in err
    # The second process recorded the run: a third submit attaches without any lookup.
    code, out, err = finish(start(sim, P_OK, "nightly-1", journal))
    assert code == 0 and "event=journal_attach" in err
    assert len(sim_runs(sim, P_OK)) == 1


def test_sigkill_after_response_then_resubmit_attaches(sim, tmp_path):
    journal = str(tmp_path / "journal")
    first = start(sim, P_SLOW, "nightly-2", journal)
    wait_for(lambda: records(journal, "R", "nightly-2"), "the run record", 20)
    first.send_signal(signal.SIGKILL)
    first.wait()
    run_id = records(journal, "R", "nightly-2")[0][6]
    code, out, err = finish(start(sim, P_SLOW, "nightly-2", journal))
    assert code == 0, err
    assert "event=journal_attach" in err
    assert final_run_id(out) == run_id
    assert [r["runId"] for r in sim_runs(sim, P_SLOW)] == [run_id]
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}


def test_two_processes_with_one_key_start_one_run(sim, tmp_path):
    journal = str(tmp_path / "journal")
    procs = [start(sim, P_OK, "same-key", journal) for _ in range(3)]
    results = [finish(p) for p in procs]
    assert [r[0] for r in results] == [0, 0, 0], [r[2] for r in results]
    runs = sim_runs(sim, P_OK)
    assert len(runs) == 1
    assert {final_run_id(r[1]) for r in results} == {runs[0]["runId"]}


def test_a_corrupt_journal_line_is_skipped_not_fatal(sim, tmp_path):
    journal = str(tmp_path / "journal")
    with open(journal, "w") as f:
        f.write("this is not a record\n00000000 R 1 2")  # garbage, then a torn tail
    code, out, err = finish(start(sim, P_OK, "k", journal))
    assert code == 0, err
    code, out, err = finish(start(sim, P_OK, "k", journal))
    assert code == 0 and "event=journal_attach" in err
    assert len(sim_runs(sim, P_OK)) == 1
