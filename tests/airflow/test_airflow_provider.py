"""hexrun.airflow against hexsim, with real DAG files (tests/airflow/dags/hex_dags.py) run
through Airflow's own dag.test() and `airflow dags test`."""
import asyncio
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import AIRFLOW_HOME, HERE, airflow_cli
from waiting import wait_for

P_OK = "11111111-1111-4111-8111-111111111111"
P_ERR = "22222222-2222-4222-8222-222222222222"
P_KERNEL = "33333333-3333-4333-8333-333333333333"
P_SLOW = "44444444-4444-4444-8444-444444444444"
P_UNPUB = "55555555-5555-4555-8555-555555555555"
# How long an `airflow` command may take to get as far as starting a Hex run: it imports
# Airflow, opens the database and parses the DAG folder first, which takes a minute or more
# on a loaded 2-core machine (make check runs suites side by side). A hang detector only.
CLI_START_S = 240


@pytest.fixture(scope="module")
def dags(airflow_db, sim_session):
    """The DAG objects, parsed by Airflow's DagBag from the test DAG folder."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.0 (test_airflow_fallback.py)
        from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=os.path.join(HERE, "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


def run_dag(dags, dag_id, conf=None):
    """One DagRun through dag.test(); returns (run state, {task_id: (state, try_number)})."""
    dr = dags[dag_id].test(run_conf=conf)
    tis = {ti.task_id: (str(ti.state), ti.try_number) for ti in dr.get_task_instances()}
    return str(dr.state), tis


def task_end_state(output):
    """The state Airflow's execution API last recorded for the task ("Task instance state
    updated ... new_state=..." in the command's log), or None. `airflow tasks test` exits 0
    on Airflow 3.0 even when the task failed, so its exit code alone proves nothing there."""
    states = re.findall(r"Task instance state updated\b.*?\bnew_state=(\w+)", output)
    return states[-1] if states else None


def sim_runs(sim, project_id):
    return [r for r in sim.runs()["runs"] if r["projectId"] == project_id]


def assert_run_xcom(pulled, run):
    """The operator's XComs, as a downstream task pulls them, describe hexsim's run."""
    value = pulled["return_value"]
    assert value["run_id"] == run["runId"] == pulled["run_id"]
    assert value["run_url"] == run["runUrl"] == pulled["run_url"]
    assert value["status"] == run["status"] == pulled["status"] == "COMPLETED"
    assert value["elapsed"] == pulled["elapsed"] == pytest.approx(run["elapsedTime"] / 1000.0)


# ---- the provider is installed ----

def test_airflow_providers_list_shows_hexrun(airflow_db):
    done = airflow_cli("providers", "list", "--output", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    providers = {p["package_name"]: p for p in json.loads(done.stdout)}
    assert "hexrun" in providers, sorted(providers)
    assert "Hex" in providers["hexrun"]["description"]


def test_connection_type_hex_is_registered(airflow_db):
    done = airflow_cli("providers", "hooks", "--output", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    hooks = {h["connection_type"]: h for h in json.loads(done.stdout)}
    assert hooks["hex"]["class"] == "hexrun.airflow.hooks.HexHook"


def test_hook_reads_hex_provider_connections():
    from airflow.sdk import Connection
    from hexrun.airflow.hooks import HexHook, base_url_from_host
    assert base_url_from_host(None) == "https://app.hex.tech"
    assert base_url_from_host("app.hex.tech") == "https://app.hex.tech"
    assert base_url_from_host("https://eu.hex.tech/api/v1/") == "https://eu.hex.tech"
    extra = {"timeout_ms": 5000, "ca_file": "/x", "journal_path": "/j", "budget_path": "/b",
             "insecure_skip_verify": False}
    conn = Connection(conn_id="c", conn_type="hex", host="https://app.hex.tech",
                      password="tok", extra=json.dumps(extra))
    assert HexHook.settings_from_connection(conn) == (
        "https://app.hex.tech", "tok", {"timeout_ms": "5000", "ca_file": "/x",
                                        "journal_path": "/j", "budget_path": "/b",
                                        "insecure_skip_verify": "false"})
    typo = Connection(conn_id="c", conn_type="hex", password="tok",
                      extra=json.dumps({"timeout": 5}))
    with pytest.raises(ValueError, match="unknown hexrun config keys in extras: timeout"):
        HexHook.settings_from_connection(typo)
    with pytest.raises(ValueError, match="token"):
        HexHook.settings_from_connection(Connection(conn_id="c", conn_type="hex"))


def test_hook_methods_of_hex_provider(sim, airflow_db):
    from hexrun.airflow.hooks import HexHook
    hook = HexHook("hex_default")
    assert hook.test_connection() == (True, "connected as ada@example.com")
    job = hook.run_project(P_SLOW, inputs=None, idempotency_key="hook-test")
    run_id = wait_for(lambda: job.info.run_id, "the hook's job's run id")
    assert hook.run_status(P_SLOW, run_id)["status"] in ("PENDING", "RUNNING")
    assert hook.cancel_run(P_SLOW, run_id) == run_id
    assert hook.run_status(P_SLOW, run_id)["status"] == "KILLED"
    assert sim.counters()["requests"]["CancelRun"] == {"204": 1}


# ---- DAGs through dag.test() ----

def test_success_pushes_run_xcoms(sim, dags, out):
    state, tis = run_dag(dags, "hex_success", {"region": "apac"})
    assert state == "success" and tis["run"] == ("success", 1)
    [run] = sim_runs(sim, P_OK)
    assert_run_xcom(out("hex_success")["run"], run)
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}


@pytest.mark.parametrize("project_id,status", [(P_ERR, "ERRORED"),
                                               (P_KERNEL, "UNABLE_TO_ALLOCATE_KERNEL")])
def test_failed_run_fails_task_with_run_url(sim, dags, out, project_id, status):
    state, tis = run_dag(dags, "hex_fail", {"project": project_id})
    assert state == "failed" and tis["run"][0] == "failed"
    [run] = sim_runs(sim, project_id)
    assert run["status"] == status
    message = out("hex_fail")["failure:run:1"]
    assert f"ended {status}" in message and run["runUrl"] in message


def test_refused_submit_fails_task_with_hex_reason(sim, dags, out):
    state, tis = run_dag(dags, "hex_fail", {"project": P_UNPUB})
    assert state == "failed" and sim_runs(sim, P_UNPUB) == []
    message = out("hex_fail")["failure:run:1"]
    assert "ended SUBMIT_FAILED" in message and "published" in message
    assert re.search(r"\[trace id [0-9a-f-]{36}\]", message)


def test_retry_after_failed_run_starts_a_new_run(sim, dags, out):
    state, tis = run_dag(dags, "hex_fail_retry")
    assert state == "failed" and tis["run"] == ("failed", 2)
    runs = sim_runs(sim, P_ERR)
    assert len(runs) == 2 and {r["status"] for r in runs} == {"ERRORED"}
    seen = out("hex_fail_retry")
    first, second = seen["retry:run:1"], seen["failure:run:2"]
    ids = [r["runId"] for r in runs]
    assert [i for i in ids if i in first] != [i for i in ids if i in second]
    assert all(len([i for i in ids if i in m]) == 1 for m in (first, second))


def test_timeout_cancels_the_run(sim, dags, out):
    # Real time: P_SLOW runs 10 minutes, so only the cancel can end it (at 20x it ran 30 s,
    # which a loaded machine could let pass before the 2 s timeout's cancel).
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})
    state, tis = run_dag(dags, "hex_timeout")
    assert state == "failed" and tis["run"][0] == "failed"
    [run] = sim_runs(sim, P_SLOW)
    assert run["status"] == "KILLED"
    message = out("hex_timeout")["failure:run:1"]
    assert "did not end within 2 s" in message and "cancelled" in message
    assert run["runUrl"] in message


def test_submit_waiting_for_budget_times_out_and_is_dropped(sim, dags, out):
    state, tis = run_dag(dags, "hex_budget")
    assert state == "failed" and tis["first"][0] == "success" and tis["second"][0] == "failed"
    message = out("hex_budget")["failure:second:1"]
    assert "did not accept the run" in message and "state QUEUED" in message
    time.sleep(0.5)  # nothing may be sent after the drop
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}
    assert len(sim_runs(sim, P_OK)) == 1


def test_deferrable_run_fires_trigger(sim, dags, out, monkeypatch):
    from hexrun.airflow import triggers
    fired = []
    original = triggers.HexRunTrigger.run

    async def counting_run(self):
        sim.sim("POST", "/__sim/time_scale", {"scale": 20})
        async for event in original(self):
            fired.append(event.payload)
            yield event
    monkeypatch.setattr(triggers.HexRunTrigger, "run", counting_run)
    # hexsim's clock all but stopped until the trigger runs (counting_run starts it again):
    # the run cannot end within the operator's 0.2 s wait before it defers, however late the
    # task gets the CPU.
    sim.sim("POST", "/__sim/time_scale", {"scale": 0.001})
    state, tis = run_dag(dags, "hex_deferrable")
    assert state == "success" and tis["run"][0] == "success"
    [run] = sim_runs(sim, P_OK)
    assert len(fired) == 1 and fired[0]["event"] == "done"
    assert fired[0]["run_id"] == run["runId"]
    assert_run_xcom(out("hex_deferrable")["run"], run)


def test_deferred_timeout_cancels_the_run(sim, dags, out):
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})  # P_SLOW runs 10 minutes
    state, tis = run_dag(dags, "hex_deferrable_timeout")
    assert state == "failed"
    [run] = sim_runs(sim, P_SLOW)
    assert run["status"] == "KILLED"
    message = out("hex_deferrable_timeout")["failure:run:1"]
    assert "cancelled" in message and run["runUrl"] in message


def test_retry_reattaches_to_the_same_run(sim, dags, out, monkeypatch):
    # Each 0.5 s attempt times out while the run goes on. hexsim's clock all but stops until
    # the second attempt starts, so the first cannot see the run end however slowly it runs
    # on a loaded machine; from then on the run lasts 1-2 s (time scale 4).
    from hexrun.airflow import operators
    original = operators.HexRunProjectOperator.execute

    def execute(self, context):
        if context["ti"].try_number >= 2:
            sim.sim("POST", "/__sim/time_scale", {"scale": 4})
        return original(self, context)
    monkeypatch.setattr(operators.HexRunProjectOperator, "execute", execute)
    sim.sim("POST", "/__sim/time_scale", {"scale": 0.001})
    state, tis = run_dag(dags, "hex_retry")
    assert state == "success"
    task_state, tries = tis["run"]
    assert task_state == "success" and tries >= 2
    assert sim.runs()["created_per_project"][P_OK] == 1
    [run] = sim_runs(sim, P_OK)
    assert_run_xcom(out("hex_retry")["run"], run)


def test_mapped_instances_get_one_run_each(sim, dags, out):
    state, tis = run_dag(dags, "hex_mapped")
    assert state == "success"
    runs = sim_runs(sim, P_OK)
    assert len(runs) == 2 and {r["status"] for r in runs} == {"COMPLETED"}
    pulled = out("hex_mapped")["run"]["return_value"]  # a mapped task's XCom is a list
    assert sorted(v["run_id"] for v in pulled) == sorted(r["runId"] for r in runs)


def test_sensor_waits_on_run_id_from_xcom(sim, dags, out, monkeypatch):
    # hexsim's clock all but stopped until a sensor runs: the not-waiting start task sees
    # its run PENDING however slowly it runs (at 20x the run lasts 0.2-0.4 s).
    from hexrun.airflow import sensors
    original = sensors.HexRunSensor.execute

    def execute(self, context):
        sim.sim("POST", "/__sim/time_scale", {"scale": 20})
        return original(self, context)
    monkeypatch.setattr(sensors.HexRunSensor, "execute", execute)
    sim.sim("POST", "/__sim/time_scale", {"scale": 0.001})
    state, tis = run_dag(dags, "hex_sensor")
    assert state == "success", tis
    [run] = sim_runs(sim, P_OK)
    seen = out("hex_sensor")
    assert seen["start"]["run_id"] == run["runId"]
    assert seen["start"]["status"] in ("PENDING", "RUNNING")  # synchronous=False
    for task_id in ("poke", "deferred"):
        value = seen[task_id]["return_value"]
        assert value["run_id"] == run["runId"] and value["status"] == "COMPLETED"
        assert value["run_url"] == run["runUrl"]


# ---- on_kill: SIGTERM to `airflow dags test` while the task waits ----

def test_sigterm_on_kill_cancels_the_run(sim, airflow_db, out):
    sigterm_while_running(sim, out, "hex_kill")


def test_sigterm_before_hex_answered_run_project_cancels_the_run(sim, airflow_db, out):
    # Hex makes the run and holds its answer (a slow body of 10 minutes a chunk) until the
    # task has been killed; then the answer is let go, and on_kill cancels the run it names.
    # (The answer used to come after about 4 s, which a loaded machine could miss.)
    sim.sim("POST", "/__sim/faults", {"faults": [{"endpoint": "RunProject",
                                                  "kind": "slow_body", "delay_ms": 600000}]})
    sigterm_while_running(sim, out, "hex_kill", before_answer=True)


def test_sigterm_the_moment_submit_returns_cancels_the_run(sim, airflow_db, out):
    # The DAG's operator raises SIGTERM inside its client's submit(), after the library
    # made the job and before the operator keeps it: on_kill finds it through the JobSlot.
    exe = os.path.join(os.path.dirname(sys.executable), "airflow")
    proc = subprocess.run([exe, "dags", "test", "hex_kill_as_submit_returns"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=CLI_START_S + 120)
    [run] = sim_runs(sim, P_SLOW)
    assert run["status"] == "KILLED", proc.stdout[-3000:]
    assert "task killed: cancelling Hex run " + run["runId"] in proc.stdout, proc.stdout[-3000:]
    assert "ended KILLED" in out("hex_kill_as_submit_returns")["failure:run:1"]


def sigterm_while_running(sim, out, dag_id, callback_sees_exception=True,
                          before_answer=False):
    """SIGTERM to `airflow dags test DAG_ID` while its task waits for a P_SLOW run (with
    before_answer, once hexsim has made the run and holds Hex's answer to RunProject, which
    it lets go once the task says it is cancelling): the operator's on_kill cancels the Hex
    run. callback_sees_exception: the failure callback is given the task's exception
    (Airflow 3.0 gives it none after SIGTERM)."""
    # Real time: P_SLOW runs 10 minutes, so it cannot end before the kill however late that
    # comes (at 20x it ran 30 s).
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})
    exe = os.path.join(os.path.dirname(sys.executable), "airflow")
    proc = subprocess.Popen([exe, "dags", "test", dag_id], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines = []  # the task's output so far, read as it comes
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    killing = "task killed: cancelling the run of project " + P_SLOW
    try:
        deadline = time.monotonic() + CLI_START_S
        while not sim_runs(sim, P_SLOW) or (not before_answer and
                                            sim_runs(sim, P_SLOW)[0]["status"] != "RUNNING"):
            assert time.monotonic() < deadline and proc.poll() is None, "run never started"
            time.sleep(0.1)
        # The operator logs "Hex run <id> of project ..." once Hex answered RunProject.
        answered = lambda: any("Hex run " in ln and " of project " in ln for ln in lines)  # noqa
        if before_answer:
            wait_for(lambda: sim.in_flight("RunProject") == 1, "the held RunProject answer")
            assert not answered(), "".join(lines)[-3000:]
        else:
            wait_for(answered, "the task's 'Hex run ... of project' line", timeout=60)
        proc.send_signal(signal.SIGTERM)
        if before_answer:
            wait_for(lambda: any(killing in ln for ln in lines), "on_kill's line", timeout=60)
            sim.sim("POST", "/__sim/release")
        proc.wait(timeout=60)
        reader.join(10)
        output = "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    [run] = sim_runs(sim, P_SLOW)
    assert run["status"] == "KILLED", output[-3000:]
    if before_answer:
        assert killing in output, output[-3000:]
    else:
        assert "task killed: cancelling Hex run " + run["runId"] in output
    if callback_sees_exception:
        assert "ended KILLED" in out(dag_id)["failure:run:1"]


# ---- a retry in another process (worker crash) re-attaches through journal_path ----

# The two moments a worker can die at once its run exists, each held until the kill (the
# test once killed "as soon as the run appears", between the two, by a race): before the
# journal records Hex's answer (the retry must find the run among the project's runs:
# adoption), and after (the retry attaches to the recorded run).
KILL_MOMENTS = ["answer_held", "run_recorded"]


@pytest.mark.parametrize("kill_at", KILL_MOMENTS)
def test_retry_after_worker_crash_reattaches_through_journal(sim, airflow_db, kill_at):
    crash_then_retry(sim, "hex_journal", kill_at)


def journal_has_run(journal):
    if not os.path.exists(journal):
        return False
    with open(journal) as f:
        return any(line.split(" ")[1:2] == ["R"] for line in f)


def crash_then_retry(sim, dag_id, kill_at):
    """`airflow tasks test DAG_ID run` SIGKILLed once its P_OK run exists, at the moment
    kill_at (KILL_MOMENTS), then again in a new process: the second re-attaches to the first
    one's run."""
    # Real time until the first worker is dead: its run lasts 4-8 s, and it waits for the
    # kill only while the answer is held or once the run is recorded (a few ms after it).
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})
    exe = os.path.join(os.path.dirname(sys.executable), "airflow")
    day = {"answer_held": "02", "run_recorded": "03"}[kill_at]  # a DAG run (a key) of its own
    cmd = [exe, "tasks", "test", dag_id, "run", f"2026-01-{day}T00:00:00+00:00"]
    # A journal of this test's own: hexsim, reset, gives its runs the ids of earlier tests'
    # runs, which an older journal knows as other keys' runs, never to be adopted.
    journal = os.path.join(AIRFLOW_HOME, "journal")
    if os.path.exists(journal):
        os.unlink(journal)
    if kill_at == "answer_held":  # hexsim makes the run and holds its answer until released
        sim.sim("POST", "/__sim/faults", {"faults": [{"endpoint": "RunProject",
                                                      "kind": "slow_body", "delay_ms": 600000}]})
        ready = lambda: sim_runs(sim, P_OK) and sim.in_flight("RunProject") == 1  # noqa: E731
    else:
        ready = lambda: sim_runs(sim, P_OK) and journal_has_run(journal)  # noqa: E731
    first_log = os.path.join(AIRFLOW_HOME, f"{dag_id}.first.log")
    with open(first_log, "w") as log:
        first = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_deadline = time.monotonic() + CLI_START_S
        while not ready():
            assert time.monotonic() < wait_deadline and first.poll() is None, \
                retry_report(sim, dag_id, None, None, first_log)
            time.sleep(0.05)
    finally:
        first.kill()  # the worker dies: no on_kill, no clean exit
        first.wait()
    if kill_at == "answer_held":
        sim.sim("DELETE", "/__sim/faults")
        sim.sim("POST", "/__sim/release")
    [run] = sim_runs(sim, P_OK)
    assert run["status"] in ("PENDING", "RUNNING")
    assert journal_has_run(journal) == (kill_at == "run_recorded")
    sim.sim("POST", "/__sim/time_scale", {"scale": 2})  # the rest of the run at twice the pace
    second = retry(sim, cmd, hold_first_poll=kill_at == "run_recorded")
    output = second.stdout + second.stderr
    runs_made = sim.runs()["created_per_project"][P_OK]
    ok = (second.returncode == 0 and task_end_state(output) == "success" and
          f"Hex run {run['runId']} of project {P_OK}: {run['runUrl']}" in output and
          f"Hex run {run['runId']} ended COMPLETED" in output and runs_made == 1)
    assert ok, retry_report(sim, dag_id, run, second, first_log)


# How long the retry's first poll is held at most while the test looks for the task
# publishing its run before the poll's answer (only a bug does; waiting longer only makes a
# missed bug less likely on a slow machine, never a failure).
RETRY_PUBLISH_S = 5


def _read(f):
    f.seek(0)
    return f.read()


def retry(sim, cmd, hold_first_poll):
    """The retry, run to its end. hold_first_poll: hexsim holds the answer to its first
    GetRunStatus until it was asked: a run the journal names by id alone has its URL only
    then, and the task must not publish the run before (it logged "...: None", and Airflow
    3.0 refused the None XCom: the task failed)."""
    if not hold_first_poll:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_START_S + 60)
    sim.sim("POST", "/__sim/faults", {"faults": [{"endpoint": "GetRunStatus", "kind": "delay",
                                                  "delay_ms": 600000, "count": 1}]})
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        try:
            wait_for(lambda: sim.in_flight("GetRunStatus") == 1 or proc.poll() is not None,
                     "the retry's first poll", timeout=CLI_START_S)
            # Time for the task to publish the run too early, if it does (it then logs its
            # "Hex run ... of project ...: <url>" line without the URL); a task that waits for
            # the poll lets this run out.
            deadline = time.monotonic() + RETRY_PUBLISH_S
            while time.monotonic() < deadline and proc.poll() is None and \
                    f"of project {P_OK}:" not in _read(out):
                time.sleep(0.1)
            sim.sim("POST", "/__sim/release")
            proc.wait(timeout=120)
        finally:
            sim.sim("DELETE", "/__sim/faults")
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return subprocess.CompletedProcess(cmd, proc.returncode, _read(out), _read(err))


def retry_report(sim, dag_id, run, second, first_log):
    """Everything a failed crash_then_retry needs to be understood: hexsim's runs, the task's
    exception, the journal, the first worker's last lines and the retry's whole output (its
    task log, and hexrun's info lines: journal_attach, adopted, submit_unknown)."""
    def text(path):
        if not os.path.exists(path):
            return "(none)"
        with open(path, errors="replace") as f:
            return f.read()
    journal, first_output = os.path.join(AIRFLOW_HOME, "journal"), text(first_log)
    at_kill = f"was {run['status']} at the kill" if run else "(no kill yet)"
    return "\n".join([
        f"first worker's run {at_kill}; hexsim now has runs {json.dumps(sim_runs(sim, P_OK))}",
        "--- the task's failure callback (the exception):", text(os.path.join(
            os.environ["HEXRUN_AIRFLOW_OUT"], f"{dag_id}.json")),
        "--- journal " + journal + ":", text(journal),
        "--- the first worker's last output:", first_output[-4000:]] + ([] if not second else [
        f"--- the retry (exit code {second.returncode}), stdout:", second.stdout,
        "--- the retry's stderr:", second.stderr]))


# ---- triggers inside Airflow's own TriggerRunner (the triggerer's event loop) ----

def start_in_runner(runner, trigger_id, trigger):
    """What TriggerRunner.create_triggers does for one trigger, minus the database."""
    runner.triggers[trigger_id] = {"task": None, "is_watcher": False, "name": f"hex {trigger_id}",
                                   "events": 0}
    task = asyncio.ensure_future(runner.run_trigger(trigger_id, trigger))
    runner.triggers[trigger_id]["task"] = task
    return task


@pytest.mark.parametrize("how,expected", [("user_kill", "KILLED"), ("shutdown", "RUNNING")])
def test_trigger_cancel_by_user_kills_run_but_shutdown_does_not(sim, airflow_db, how,
                                                                   expected):
    from airflow.jobs.triggerer_job_runner import TriggerRunner
    from hexrun.airflow.triggers import HexRunTrigger
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})  # P_SLOW runs 10 minutes
    [run_id] = sim.sim("POST", "/__sim/runs", {"projectId": P_SLOW, "count": 1})["runIds"]

    async def scenario():
        runner = TriggerRunner()
        task = start_in_runner(runner, 1, HexRunTrigger(project_id=P_SLOW, run_id=run_id,
                                                        poll_interval=0.05))
        await asyncio.sleep(1.0)
        assert not task.done()  # P_SLOW runs 10 minutes: the trigger is still waiting
        if how == "user_kill":  # mark failed / clear: the triggerer's cancel_triggers path
            runner.to_cancel.append(1)
            await runner.cancel_triggers()
            # Airflow 3.3's supervisor sends the same cancel again at each sync until the
            # trigger is gone, which interrupts a slow on_kill: the cancel must survive it.
            await asyncio.sleep(0.05)
            runner.to_cancel.append(1)
            await runner.cancel_triggers()
        else:  # triggerer stopping: the task is cancelled without the user-action message
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    [run] = sim_runs(sim, P_SLOW)
    assert run["status"] == expected
    cancels = sim.counters()["requests"].get("CancelRun", {})
    assert cancels == ({"204": 1} if expected == "KILLED" else {})


# ---- 20 triggers in one event loop share one client ----

def naive_poll_count(run, interval_ms=3000):
    """Requests a per-run poller (Hex's provider: GetRunStatus every 3 s) would make for
    this run: one right away, then one every interval until it sees the end."""
    times = [t["at_ms"] for t in run["transitions"]]
    return math.ceil((times[-1] - times[0]) / interval_ms) + 1


def test_twenty_triggers_in_one_triggerer_coalesce_polls(sim, airflow_db):
    from airflow.jobs.triggerer_job_runner import TriggerRunner
    from hexrun.airflow import hooks
    from hexrun.airflow.triggers import HexRunTrigger
    # Real time: runs last 1.5-8 s, long enough that per-run polling costs several requests.
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})
    run_ids = sim.sim("POST", "/__sim/runs", {"projectId": P_OK, "count": 20})["runIds"]
    assert len(run_ids) == 20
    clients_before = set(hooks._CLIENTS)

    async def all_events():
        # All 20 in one TriggerRunner, as one triggerer process runs its triggers.
        runner = TriggerRunner()
        tasks = [start_in_runner(runner, i, HexRunTrigger(
                     project_id=P_OK, run_id=r, hex_conn_id="hex_defaults", poll_interval=0.2))
                 for i, r in enumerate(run_ids)]
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
        return [entry.event for entry in runner.events]

    started = time.monotonic()
    events = asyncio.run(all_events())
    wall = time.monotonic() - started
    assert [e.payload["status"] for e in events] == ["COMPLETED"] * 20
    assert sorted(e.payload["run_id"] for e in events) == sorted(run_ids)
    assert len(set(hooks._CLIENTS) - clients_before) == 1  # one shared client

    runs = [r for r in sim_runs(sim, P_OK) if r["runId"] in run_ids]
    naive = sum(naive_poll_count(r) for r in runs)
    counters = sim.counters()
    ours = counters["total"]
    print(f"\n20 triggers: {ours} requests {counters['requests']} vs {naive} for per-run "
          f"3 s polling; all done in {wall:.1f} s")
    assert ours < naive / 2, (ours, naive, counters)
