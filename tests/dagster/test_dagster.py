"""hexrun.dagster against hexsim with real Dagster: ops in jobs, an asset through
materialize(), failures, termination of a run worker, re-execution."""
import os
import signal
import subprocess
import sys
import time

import pytest
from dagster import (DagsterEventType, Failure, UrlMetadataValue, build_op_context, job,
                     materialize)

import defs
from conftest import HERE, runs_of
from waiting import readline_within, wait_for
from hexrun.dagster import build_hex_run_op, hex_project_asset

UUID_LEN = 36
P_UNPUB = "55555555-5555-4555-8555-555555555555"


def step_failure(result, node):
    """The user Failure (description, metadata) a failed step reported."""
    events = [e for e in result.all_events
              if e.event_type == DagsterEventType.STEP_FAILURE and e.step_key == node]
    assert len(events) == 1, [e.event_type for e in result.all_events]
    return events[0].step_failure_data.user_failure_data


def test_op_job_succeeds_with_run_metadata(sim):
    before = len(runs_of(sim, defs.P_OK))
    result = defs.ok_job.execute_in_process()
    assert result.success
    value = result.output_for_node("refresh_ok")
    assert value["status"] == "COMPLETED" and len(value["run_id"]) == UUID_LEN
    outputs = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_OUTPUT]
    meta = outputs[0].step_output_data.metadata
    assert isinstance(meta["run_url"], UrlMetadataValue)
    assert meta["run_url"].url == value["run_url"] and value["run_id"] in value["run_url"]
    assert meta["hex_status"].value == "COMPLETED" and meta["elapsed_s"].value > 0
    assert meta["hex_run_id"].value == value["run_id"]
    runs = runs_of(sim, defs.P_OK)
    assert len(runs) == before + 1 and runs[-1]["runId"] == value["run_id"]
    assert runs[-1]["status"] == "COMPLETED"


def test_generic_op_takes_project_and_inputs_from_run_config(sim):
    config = {"ops": {"hex_run_op": {"config": {"project_id": defs.P_OK,
                                                "inputs": {"region": "apac", "days": 2}}}}}
    result = defs.configured_job.execute_in_process(run_config=config)
    assert result.success
    assert result.output_for_node("hex_run_op")["project_id"] == defs.P_OK


def test_generic_op_requires_a_project(sim):
    from dagster import DagsterInvalidConfigError
    with pytest.raises(DagsterInvalidConfigError):
        defs.configured_job.execute_in_process()


def test_chained_ops_run_in_order(sim):
    result = defs.chained_job.execute_in_process()
    assert result.success
    first, second = result.output_for_node("refresh_ok"), result.output_for_node("second")
    assert first["run_id"] != second["run_id"]
    assert first["end_time"] is not None and second["status"] == "COMPLETED"


def test_asset_materialize_records_the_run(sim):
    report = hex_project_asset(defs.P_OK, name="sales_report", inputs={"region": "emea"})
    result = materialize([report], resources={"hex": defs.hex_resource()})
    assert result.success
    (mat,) = result.asset_materializations_for_node("sales_report")
    assert mat.asset_key.path == ["sales_report"]
    url = mat.metadata["run_url"]
    assert isinstance(url, UrlMetadataValue) and "/runs/" in url.url
    run_id = mat.metadata["hex_run_id"].value
    assert [r["status"] for r in runs_of(sim, defs.P_OK) if r["runId"] == run_id] == ["COMPLETED"]


@pytest.mark.parametrize("project,state", [(defs.P_ERR, "ERRORED"),
                                           (defs.P_NOKERNEL, "UNABLE_TO_ALLOCATE_KERNEL")])
def test_failed_run_raises_failure_with_url(sim, project, state):
    failing = build_hex_run_op("failing", project_id=project)

    @job(resource_defs={"hex": defs.hex_resource()})
    def failing_job():
        failing()

    result = failing_job.execute_in_process(raise_on_error=False)
    assert not result.success
    failure = step_failure(result, "failing")
    run = runs_of(sim, project)[-1]
    assert run["status"] == state
    assert run["runUrl"] in failure.description and state in failure.description
    assert failure.metadata["run_url"].url == run["runUrl"]
    assert failure.metadata["hex_status"].value == state


def test_refused_submit_fails_with_hex_reason_and_trace_id(sim):
    """Hex refuses to run an unpublished project: no run, but the Failure says why and
    carries Hex's trace id for support."""
    unpublished = build_hex_run_op("unpublished", project_id=P_UNPUB)

    @job(resource_defs={"hex": defs.hex_resource()})
    def refused_job():
        unpublished()

    result = refused_job.execute_in_process(raise_on_error=False)
    failure = step_failure(result, "unpublished")
    assert "SUBMIT_FAILED" in failure.description and "published" in failure.description
    assert failure.metadata["hex_status"].value == "SUBMIT_FAILED"
    assert len(failure.metadata["trace_id"].value) >= 8
    assert runs_of(sim, P_UNPUB) == []


def test_retry_policy_runs_a_failed_project_again(sim, tmp_path):
    """With the journal, the retry's default key finds the failed run of attempt 0; the
    event log says attempt 0 saw it fail, so the retry starts a new run (one per attempt)."""
    from dagster import DagsterInstance, RetryPolicy
    flaky = build_hex_run_op("flaky", project_id=defs.P_ERR,
                             retry_policy=RetryPolicy(max_retries=1))

    @job(resource_defs={"hex": defs.hex_resource(journal_path=str(tmp_path / "journal"))})
    def retried_job():
        flaky()

    before = len(runs_of(sim, defs.P_ERR))
    with DagsterInstance.ephemeral() as instance:
        result = retried_job.execute_in_process(raise_on_error=False, instance=instance)
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert not result.success
    assert any("of an earlier attempt ended ERRORED" in m for m in logs), logs
    runs = runs_of(sim, defs.P_ERR)[before:]
    assert len(runs) == 2 and {r["status"] for r in runs} == {"ERRORED"}


def test_retry_policy_reattaches_to_the_live_run_of_the_failed_attempt(sim, real_time):
    """Each attempt gives up after 0.5 s and leaves the run going (kill_on_timeout=False);
    the retries find it in Dagster's event log (no journal) and wait for it again."""
    from dagster import DagsterInstance, RetryPolicy
    patient = build_hex_run_op("patient", project_id=defs.P_SLOW, timeout_s=0.5,
                               kill_on_timeout=False, retry_policy=RetryPolicy(max_retries=2))

    @job(resource_defs={"hex": defs.hex_resource(journal_path=None)})
    def retried_job():
        patient()

    before = len(runs_of(sim, defs.P_SLOW))
    with DagsterInstance.ephemeral() as instance:
        result = retried_job.execute_in_process(raise_on_error=False, instance=instance)
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    runs = runs_of(sim, defs.P_SLOW)[before:]
    for run in runs:  # P_SLOW runs for minutes: stop it
        sim.call("DELETE", f"/v1/projects/{defs.P_SLOW}/runs/{run['runId']}",
                 token="hxtok_admin")
    assert not result.success
    assert len(runs) == 1, runs
    attached = [m for m in logs if m.startswith(f"re-attaching to Hex run {runs[0]['runId']}")]
    assert len(attached) == 2, logs


def test_failure_is_a_dagster_failure_when_invoked_directly(sim):
    failing = build_hex_run_op("failing_direct", project_id=defs.P_ERR)
    with build_op_context(resources={"hex": defs.hex_resource()},
                          op_config={"project_id": defs.P_ERR}) as context:
        with pytest.raises(Failure) as err:
            failing(context)
    assert "/runs/" in err.value.description and "ERRORED" in err.value.description



def test_timeout_cancels_the_run_and_fails(sim, real_time):
    slow = build_hex_run_op("slow_with_limit", project_id=defs.P_SLOW, timeout_s=1.0)

    @job(resource_defs={"hex": defs.hex_resource()})
    def limited_job():
        slow()

    result = limited_job.execute_in_process(raise_on_error=False)
    assert not result.success
    failure = step_failure(result, "slow_with_limit")
    assert "did not finish within 1.0 s" in failure.description
    run_id = failure.metadata["hex_run_id"].value
    assert [r["status"] for r in runs_of(sim, defs.P_SLOW) if r["runId"] == run_id] == ["KILLED"]


def _doc_samples():
    """The python blocks of docs/dagster.md."""
    import re
    text = open(os.path.join(HERE, "..", "..", "docs", "dagster.md")).read()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_doc_samples_run(sim, tmp_path):
    """The copy-paste examples against hexsim (HEX_API_BASE_URL): the project ids and file
    paths swapped, polls and budget made quick."""
    setup, chain = _doc_samples()[:2]
    setup = (setup.replace("5a8591dd-4039-49df-9202-96385ba3eff8", defs.P_OK)
             .replace("/var/lib/hexrun", str(tmp_path))
             .replace("HexResource(\n", "HexResource(poll_min_ms=50, poll_max_ms=200,"
                                        " config={'budget_time_scale': '20'},\n"))
    assert defs.P_OK in setup and "budget_time_scale" in setup
    scope = {}
    exec(compile(setup, "docs/dagster.md", "exec"), scope)
    result = scope["defs"].get_job_def("nightly").execute_in_process()
    assert result.success and result.output_for_node("refresh_sales")["status"] == "COMPLETED"
    assert os.path.getsize(tmp_path / "journal") > 0
    result = materialize([scope["sales_report"]], resources={"hex": scope["hex_resource"]})
    (mat,) = result.asset_materializations_for_node("sales_report")
    assert mat.metadata["hex_status"].value == "COMPLETED"
    exec(compile(chain.replace('"..."', repr(defs.P_OK)), "docs/dagster.md", "exec"), scope)
    result = scope["pipeline"].execute_in_process(resources={"hex": scope["hex_resource"]})
    assert result.success
    assert result.output_for_node("load")["run_id"] != result.output_for_node("publish")["run_id"]

# ---- real run workers in subprocesses (persistent instance, submit journal) ----

# A bound on a hung run worker: it imports Dagster and starts step processes, which takes
# minutes on a loaded 2-core machine.
PY_TIMEOUT_S = 300
# How long a run worker may take to get as far as starting its Hex run (a hang detector).
START_S = 240


class RunWorker:
    """`python run_job.py ...` in its own session, so a signal reaches just that process
    (and Dagster forwards it to its step processes)."""

    def __init__(self, *args, command=None):
        command = command or [sys.executable, os.path.join(HERE, "run_job.py"), *args]
        self.proc = subprocess.Popen(command,
                                     cwd=HERE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.output = ""

    def finish(self, timeout=PY_TIMEOUT_S):
        try:
            rest, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rest, _ = self.proc.communicate()
            self.output += rest
            raise AssertionError("run worker did not finish:\n" + self.output[-3000:])
        self.output += rest
        return self

    def result(self):
        """(success, Dagster run id, {step: Hex run id}) from the worker's last lines."""
        lines = self.output.splitlines()
        res = [line.split() for line in lines if line.startswith("RESULT ")]
        assert res, self.output[-3000:]
        hex_runs = dict(line.split()[1:3] for line in lines if line.startswith("HEXRUN "))
        return res[-1][1] == "True", res[-1][2], hex_runs


def wait_for_run(sim, project_id, status, count_before, timeout=START_S):
    """The newest run of the project once there are more than count_before runs and it
    has reached status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = runs_of(sim, project_id)
        if len(runs) > count_before and runs[-1]["status"] == status:
            return runs[-1]
        time.sleep(0.1)
    raise AssertionError(f"no {status} run of {project_id}: {runs_of(sim, project_id)}")


def wait_for_status(sim, run_id, status, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = [r for r in sim.runs()["runs"] if r["runId"] == run_id][0]
        if run["status"] == status:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} is {run['status']}, not {status}")


def _dagster_cli():
    return [os.path.join(os.path.dirname(sys.executable), "dagster"), "job", "execute",
            "-f", os.path.join(HERE, "defs.py"), "-j", "slow_job"]


@pytest.mark.parametrize("executor,sig", [("multiprocess", signal.SIGTERM),
                                          ("in_process", signal.SIGINT),
                                          ("in_process", signal.SIGTERM),
                                          ("dagster job execute", signal.SIGTERM)])
def test_termination_cancels_the_hex_run(sim, dagster_home, real_time, executor, sig):
    before = len(runs_of(sim, defs.P_SLOW))
    if executor == "dagster job execute":
        worker = RunWorker(command=_dagster_cli())
    else:
        worker = RunWorker("slow_job", *(["--in-process"] if executor == "in_process" else []))
    running = wait_for_run(sim, defs.P_SLOW, "RUNNING", before)
    sent_ms = time.time() * 1000
    worker.proc.send_signal(sig)
    try:
        killed = wait_for_status(sim, running["runId"], "KILLED")
    except AssertionError as e:  # with what the worker said, to tell why
        os.killpg(worker.proc.pid, signal.SIGKILL)
        raise AssertionError(f"{e}; worker output:\n{worker.proc.communicate()[0][-4000:]}")
    worker.finish()
    if executor == "dagster job execute":
        assert worker.proc.returncode != 0, worker.output[-2000:]
    else:
        assert not worker.result()[0]
    assert "cancelling Hex run " + running["runId"] in worker.output
    assert len(runs_of(sim, defs.P_SLOW)) == before + 1
    killed_ms = killed["transitions"][-1]["at_ms"]
    print(f"{executor} {sig.name}: Hex run KILLED {killed_ms - sent_ms:.0f} ms after the signal")
    # About a second on an idle machine; the bound only catches a cancel that waits for
    # something else (a poll, the step's end), not the scheduling of a loaded machine.
    assert killed_ms - sent_ms < 60000


def test_an_interrupt_while_the_submit_is_logged_still_cancels_the_run(sim):
    """Dagster's termination can land while the step writes its "submitted" line (a slow
    event-log write on a loaded machine): the run it just submitted is cancelled too."""
    step = build_hex_run_op("interrupted", project_id=defs.P_SLOW)
    context = build_op_context(resources={"hex": defs.hex_resource()})
    log_info = context.log.info

    def interrupted_info(msg, *args, **kwargs):
        if " submitted" in msg:  # once Hex has the run, as when the test below saw it
            wait_for(lambda: len(runs_of(sim, defs.P_SLOW)) > before, "the run in hexsim")
            raise KeyboardInterrupt
        return log_info(msg, *args, **kwargs)

    context.log.info = interrupted_info
    before = len(runs_of(sim, defs.P_SLOW))
    with context, pytest.raises(KeyboardInterrupt):
        step(context)
    (run,) = runs_of(sim, defs.P_SLOW)[before:]
    wait_for_status(sim, run["runId"], "KILLED")


@pytest.mark.parametrize("executor", ["multiprocess", "in_process"])
def test_an_interrupt_right_after_submit_returned_cancels_the_run(sim, dagster_home,
                                                                  monkeypatch, real_time,
                                                                  executor):
    """A real run worker whose step is interrupted the moment Client.submit returns, before
    the step has kept the job (defs.py's HEXRUN_TEST_INTERRUPT_AFTER_SUBMIT): the run Hex
    made is cancelled all the same, and it is the only one."""
    monkeypatch.setenv("HEXRUN_TEST_INTERRUPT_AFTER_SUBMIT", "1")
    before = len(runs_of(sim, defs.P_SLOW))
    worker = RunWorker("slow_job", *(["--in-process"] if executor == "in_process" else []))
    assert not worker.finish().result()[0]
    runs = runs_of(sim, defs.P_SLOW)[before:]
    assert len(runs) == 1, (runs, worker.output[-3000:])
    try:
        wait_for_status(sim, runs[0]["runId"], "KILLED")
    except AssertionError as e:
        raise AssertionError(f"{e}; worker output:\n{worker.output[-4000:]}")
    assert "cancelling Hex run " + runs[0]["runId"] in worker.output


@pytest.fixture(params=["journal", "event log only"])
def record(request, dagster_home, monkeypatch):
    """Where a re-executed step finds its earlier Hex run: hexrun's journal and Dagster's
    event log, or the event log alone (a re-execution on another host)."""
    if request.param == "event log only":
        monkeypatch.delenv("HEXRUN_TEST_JOURNAL")
    return request.param


def test_reexecution_reattaches_to_the_completed_run(sim, record):
    before = len(runs_of(sim, defs.P_OK))
    success, first_id, first_runs = RunWorker("ok_job").finish().result()
    assert success and len(runs_of(sim, defs.P_OK)) == before + 1
    again = RunWorker("ok_job", "--reexecute", first_id).finish()
    success, second_id, second_runs = again.result()
    assert success and second_id != first_id
    assert second_runs["refresh_ok"] == first_runs["refresh_ok"]
    assert "re-attaching to Hex run " + first_runs["refresh_ok"] in again.output
    assert len(runs_of(sim, defs.P_OK)) == before + 1  # no second Hex run


def test_killed_worker_reexecution_attaches_to_the_live_run(sim, record, real_time):
    """A run worker dies hard (SIGKILL) with its Hex run RUNNING; re-executing the
    Dagster run follows that same Hex run, and terminating the re-execution cancels it.
    hexsim's clock at real time throughout: the run stays RUNNING however long Dagster
    takes to start, log and die (at 20x it ended after 30 s)."""
    from dagster import DagsterInstance
    before = len(runs_of(sim, defs.P_SLOW))
    worker = RunWorker("slow_job")
    running = wait_for_run(sim, defs.P_SLOW, "RUNNING", before)
    # the step has written the run id to the event log (its log line follows the record);
    # a worker dying before that record: test_worker_killed_between_post_and_record_...
    deadline = time.monotonic() + START_S
    while f"Hex run {running['runId']} is " not in _log_so_far(worker):
        assert time.monotonic() < deadline and worker.proc.poll() is None, worker.output
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.finish()
    with DagsterInstance.get() as instance:  # what run monitoring would record
        (dead,) = instance.get_runs()
        instance.report_run_failed(dead)
    again = RunWorker("slow_job", "--reexecute", dead.run_id)
    deadline = time.monotonic() + START_S
    while f"Hex run {running['runId']} is RUNNING" not in _log_so_far(again):
        assert time.monotonic() < deadline and again.proc.poll() is None, again.output
    assert len(runs_of(sim, defs.P_SLOW)) == before + 1
    again.proc.send_signal(signal.SIGTERM)
    wait_for_status(sim, running["runId"], "KILLED")
    again.finish()
    assert "cancelling Hex run " + running["runId"] in again.output
    assert len(runs_of(sim, defs.P_SLOW)) == before + 1


def test_worker_killed_between_post_and_record_still_one_run(sim, dagster_home,
                                                            monkeypatch):
    """No journal. RunProject makes its run and the answer is lost (drop_after); the worker
    looks for the run after 10 s, and hexsim holds that look-up (GetProjectRuns delayed 10
    minutes), so when the worker is SIGKILLed the run exists and its id is nowhere, however
    late the kill comes. (The 10 s alone were a margin a loaded machine could use up.) The
    step had recorded its key and send time in the event log first, so the re-execution
    adopts that run instead of starting a second one."""
    from dagster import DagsterEventType, DagsterInstance
    # No other recent run of the project: earlier tests' runs would be candidates too, and
    # with several the look-up rightly adopts none (SUBMIT_UNKNOWN).
    sim.sim("POST", "/__sim/reset")
    before = len(runs_of(sim, defs.P_OK))
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "RunProject", "kind": "drop_after", "count": 1},
        {"endpoint": "GetProjectRuns", "kind": "delay", "delay_ms": 600000, "count": 1000}]})
    worker = RunWorker("window_job")
    made = wait_for_created(sim, defs.P_OK, before, worker)
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.finish()
    sim.sim("DELETE", "/__sim/faults")
    with DagsterInstance.get() as instance:
        (dead,) = instance.get_runs()
        instance.report_run_failed(dead)
        meta = [e.dagster_event.engine_event_data.metadata
                for e in instance.all_logs(dead.run_id, of_type=DagsterEventType.ENGINE_EVENT)]
    assert any("hexrun_since_ms" in m for m in meta), meta
    assert not any("hex_run_id" in m for m in meta), meta  # killed inside the window
    monkeypatch.setenv("HEXRUN_TEST_WINDOW_POLL_MS", "50")
    again = RunWorker("window_job", "--reexecute", dead.run_id).finish()
    success, _, hex_runs = again.result()
    assert success, again.output[-3000:]
    assert len(runs_of(sim, defs.P_OK)) == before + 1  # adopted: no second Hex run
    assert hex_runs["refresh_ok"] == made["runId"]
    assert "looking for its run before starting one" in again.output


def wait_for_created(sim, project_id, count_before, worker, timeout=START_S):
    """The run a worker's RunProject made, once hexsim lists it."""
    deadline = time.monotonic() + timeout
    while len(runs_of(sim, project_id)) == count_before:
        assert time.monotonic() < deadline and worker.proc.poll() is None, worker.output
        time.sleep(0.05)
    (run,) = runs_of(sim, project_id)[count_before:]
    return run


def _log_so_far(worker):
    """Reads what the worker printed so far (one more line; a worker silent for START_S
    fails the test)."""
    line = readline_within(worker.proc.stdout, "a line of the run worker's output",
                           timeout=START_S)
    worker.output += line
    return worker.output


def test_reexecution_after_a_failed_hex_run_runs_the_project_again(sim, dagster_home):
    before = len(runs_of(sim, defs.P_ERR))
    success, first_id, first_runs = RunWorker("err_job").finish().result()
    assert not success
    again = RunWorker("err_job", "--reexecute", first_id).finish()
    success, _, second_runs = again.result()
    assert not success and "of an earlier attempt ended ERRORED" in again.output
    assert second_runs["failing"] != first_runs["failing"]
    runs = runs_of(sim, defs.P_ERR)
    assert len(runs) == before + 2 and {r["status"] for r in runs[before:]} == {"ERRORED"}
