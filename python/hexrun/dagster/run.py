"""Running one Hex project from a Dagster step: submit, wait in slices, report or fail.

Shared by the op and the asset factories (ops.py, assets.py)."""
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from dagster import DagsterEventType, Failure, MetadataValue
from dagster._core.events import EngineEventData  # report_engine_event's payload

import hexrun
from hexrun.shared import SubmitIntent, submit_recorded

from .resources import HexResource

try:  # public name in newer releases; the class itself has been stable
    from dagster import DagsterExecutionInterruptedError
except ImportError:  # pragma: no cover
    from dagster._core.errors import DagsterExecutionInterruptedError

FAILED_STATES = ("ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL", "LOST",
                 "SUBMIT_FAILED", "SUBMIT_UNKNOWN")


@dataclass
class HexRunRequest:
    """What to run; field names follow Hex's Dagster integration where one exists."""
    project_id: str
    inputs: Optional[Dict[str, Any]] = None
    update_cache: bool = False
    dry_run: bool = False
    notifications: Optional[List[Dict[str, Any]]] = None
    idempotency_key: Optional[str] = None
    timeout_s: Optional[float] = None      # None: wait as long as the run takes
    kill_on_timeout: bool = True
    extra_body: Dict[str, Any] = field(default_factory=dict)
    label: Optional[str] = None            # tells apart several runs of one step (fan-out)

    def body_options(self) -> Dict[str, Any]:
        body = dict(self.extra_body)
        if self.update_cache:
            body["updateCache"] = True
        return body


def default_idempotency_key(context, label: Optional[str] = None) -> Optional[str]:
    """One key per step of a logical run: the root run id (the same for every re-execution
    of a run) plus the step key, plus `label` when a step starts several runs (fan-out). A
    retried or re-executed step therefore finds the Hex run its earlier attempt started
    instead of starting another. A directly invoked op (no run) gets no key."""
    run = _dagster_run(context)
    if run is None:
        return None
    root = run.root_run_id or run.run_id
    key = f"dagster:{root}:{_step_key(context)}"
    return f"{key}:{label}" if label else key


def _step_key(context) -> str:
    """The step key (op name, with its graph path and mapping key when it has them)."""
    return context.get_step_execution_context().step.key


def _dagster_run(context):
    """The DagsterRun, or None for a directly invoked op (build_op_context)."""
    try:
        return context.run
    except Exception:  # DagsterInvalidPropertyError outside a real run
        return None


MAX_ANCESTORS = 50


@dataclass(frozen=True)
class RunRecord:
    """What an attempt of a step wrote to Dagster's event log about its Hex run: the run
    (run_id, status), Hex's refusal (run_id "", SUBMIT_FAILED), or only the intent written
    before RunProject went out (run_id None, with the key it was sent under and when)."""
    key: str
    project_id: str
    run_id: Optional[str]
    status: str
    submit_key: Optional[str] = None
    since_ms: Optional[int] = None


def _record_run(context, key: Optional[str], info: hexrun.JobInfo) -> None:
    """An engine event in this Dagster run's event log, on the step: the Hex run id of a
    logical submit (its key) and its status, or Hex's refusal (no run, so a later attempt
    need not look for one). A retried or re-executed step reads it back (_earlier_run) to
    re-attach without any host-local state."""
    refused = info.state == "SUBMIT_FAILED"  # Hex said no: nothing to look for later
    if key is None or not (info.run_id or refused):
        return
    metadata = dict(run_metadata(info), hexrun_key=MetadataValue.text(key))
    if refused:
        text = f"Hex refused to run project {info.project_id}"
    else:
        url = f": {info.run_url}" if info.run_url else ""
        text = f"Hex run {info.run_id} of project {info.project_id} is {info.state}{url}"
    _engine_event(context, text, metadata)


def _record_intent(context, key: Optional[str], submit_key: Optional[str],
                   project_id: str, since_ms: int) -> None:
    """Written before RunProject goes out: if this attempt dies before Hex's answer is
    recorded, a later one knows a run may exist, under which key and since when."""
    if key is None or submit_key is None:
        return
    _engine_event(context, f"sending RunProject of project {project_id} "
                           f"(idempotency key {submit_key})",
                  {"hexrun_key": MetadataValue.text(key),
                   "hexrun_submit_key": MetadataValue.text(submit_key),
                   "hexrun_since_ms": MetadataValue.int(since_ms),
                   "project_id": MetadataValue.text(project_id)})


def _engine_event(context, text: str, metadata: Dict[str, Any]) -> None:
    """An engine event on the step, stored before this returns (a directly invoked op has
    no event log: nothing is written)."""
    run = _dagster_run(context)
    if run is None:
        return
    context.instance.report_engine_event(
        text, dagster_run=run, engine_event_data=EngineEventData(metadata=metadata),
        step_key=_step_key(context))


def _records(instance, dagster_run_id: str, step: str, key: str) -> List[RunRecord]:
    found = []
    for entry in instance.all_logs(dagster_run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.event_specific_data if entry.dagster_event else None
        meta = getattr(data, "metadata", None) or {}
        if entry.step_key != step or "hexrun_key" not in meta or meta["hexrun_key"].value != key:
            continue
        if "hex_run_id" in meta:
            found.append(RunRecord(key, meta["project_id"].value, meta["hex_run_id"].value,
                                   meta["hex_status"].value))
        elif "hexrun_since_ms" in meta:
            found.append(RunRecord(key, meta["project_id"].value, None, "SUBMITTING",
                                   meta["hexrun_submit_key"].value,
                                   meta["hexrun_since_ms"].value))
    return found


def _earlier_run(context, key: Optional[str]) -> Optional[RunRecord]:
    """The last record (run, refusal or bare intent) of this logical submit written by an
    earlier attempt of the step: in this Dagster run (a retry) or in the runs it
    re-executes, newest first."""
    run = _dagster_run(context)
    if run is None or key is None:
        return None
    step = _step_key(context)
    dagster_run_id, seen = run.run_id, 0
    while dagster_run_id and seen < MAX_ANCESTORS:
        records = _records(context.instance, dagster_run_id, step, key)
        if records:
            return records[-1]
        parent = context.instance.get_run_by_id(dagster_run_id)
        dagster_run_id, seen = (parent.parent_run_id if parent else None), seen + 1
    return None


def run_metadata(info: hexrun.JobInfo) -> Dict[str, Any]:
    """Output / materialization metadata of a Hex run."""
    meta: Dict[str, Any] = {
        "hex_run_id": MetadataValue.text(info.run_id or ""),
        "hex_status": MetadataValue.text(info.state),
        "project_id": MetadataValue.text(info.project_id),
    }
    if info.run_url:
        meta["run_url"] = MetadataValue.url(info.run_url)
    if info.elapsed_ms is not None:
        meta["elapsed_s"] = MetadataValue.float(round(info.elapsed_ms / 1000.0, 3))
    if info.trace_id:
        meta["trace_id"] = MetadataValue.text(info.trace_id)
    if info.error_message:
        meta["error"] = MetadataValue.text(info.error_message)
    return meta


def result_value(info: hexrun.JobInfo) -> Dict[str, Any]:
    """The op's output value: plain data, picklable by any IO manager."""
    return {"run_id": info.run_id, "run_url": info.run_url, "status": info.state,
            "project_id": info.project_id, "start_time": info.start_time,
            "end_time": info.end_time, "elapsed_ms": info.elapsed_ms,
            "trace_id": info.trace_id}


def describe(info: hexrun.JobInfo) -> str:
    """One line about how a run ended, with only what is known (no run id before Hex
    accepted the submit, no URL without a run)."""
    if info.run_id:
        text = f"Hex run {info.run_id} of project {info.project_id} ended {info.state}"
    else:
        text = f"Hex project {info.project_id}: no run started ({info.state})"
    if info.run_url:
        text += f": {info.run_url}"
    if info.error_message:
        text += f" ({info.error_message})"
    return text


def _run_name(info: hexrun.JobInfo) -> str:
    return f"Hex run {info.run_id}" if info.run_id else f"the submit of project {info.project_id}"


def _failure(info: hexrun.JobInfo, description: str) -> Failure:
    return Failure(description=description, metadata=run_metadata(info))


CANCEL_CONFIRM_S = 10.0  # how long an interrupted step waits for Hex to confirm the cancel


def execute_hex_run(context, hex_resource: HexResource, req: HexRunRequest) -> hexrun.JobInfo:
    """Runs req to its end and returns the COMPLETED run's info; raises dagster Failure for
    any other end. A step that an earlier attempt ran (retry, re-execution) re-attaches to
    that attempt's Hex run, found in Dagster's event log, unless the attempt saw it fail.
    A terminated Dagster run cancels the Hex run before the interrupt propagates."""
    return execute_hex_runs(context, hex_resource, [req])[0]


def execute_hex_runs(context, hex_resource: HexResource,
                     requests: Sequence[HexRunRequest]) -> List[hexrun.JobInfo]:
    """Many runs from one step on the resource's one client (fan-out): all queued at once
    (the engine sends them as Hex's run limit allows and polls a project's runs with one
    list request), waited for in this thread, all cancelled if the Dagster run is
    terminated. Give each request its own `label` (or idempotency key). Returns the infos
    in request order once all completed; raises one Failure naming every run that did not,
    after all have ended."""
    client = hex_resource.get_client()
    runs: List[_Tracked] = []
    interrupted = False
    try:
        for req in requests:
            _start(context, client, req, runs)
        _wait_all(context, client, runs, hex_resource.wait_slice_s)
    except (KeyboardInterrupt, DagsterExecutionInterruptedError):
        interrupted = True
        for run in runs:
            if run.job is not None:
                _cancel_on_interrupt(context, run.job, run.key)
        raise
    finally:
        if not interrupted:  # an interrupted job keeps its cancel going until the close
            for run in runs:
                if run.job is not None:
                    run.job.release()
    failed = [run for run in runs if not run.info.succeeded]
    for run in failed:
        context.log.error(run.end_text())
    if failed:
        raise _failure(failed[0].info, "; ".join(run.end_text() for run in failed))
    for run in runs:
        url = f": {run.info.run_url}" if run.info.run_url else ""
        context.log.info(f"Hex run {run.info.run_id} COMPLETED in "
                         f"{(run.info.elapsed_ms or 0) / 1000:.1f} s{url}")
    return [run.info for run in runs]


@dataclass
class _Tracked:
    """One run a step follows: what was asked, its logical key, its job, and its end. The
    job's slot is kept before the submit (or attach) is made: the library writes the job's
    id into it, so a termination raised the moment the call returns still finds the job."""
    req: HexRunRequest
    key: Optional[str]
    deadline: Optional[float]
    slot: hexrun.JobSlot = field(default_factory=hexrun.JobSlot)
    recorded: bool = False
    timed_out: bool = False
    info: Optional[hexrun.JobInfo] = None

    @property
    def job(self) -> Optional[hexrun.Job]:
        return self.slot.job

    def end_text(self) -> str:
        if not self.timed_out:
            return describe(self.info)
        url = f": {self.info.run_url}" if self.info.run_url else ""
        return (f"{_run_name(self.info)} of project {self.info.project_id} did not finish "
                f"within {self.req.timeout_s} s (now {self.info.state}){url}")


def _start(context, client, req: HexRunRequest, runs: List[_Tracked]) -> None:
    """Submits req, or re-attaches to the run an earlier attempt of the step recorded, or
    looks for the run of an earlier attempt that recorded only its intent to submit. The
    run joins `runs` before the call that makes its job, whose id the library writes into
    the run's slot: a termination at any point after that call (even before it returns to
    this function, or while a log line is written, which can take a while on a loaded
    machine) finds the job and cancels its run."""
    key = req.idempotency_key or default_idempotency_key(context, req.label)
    earlier = _earlier_run(context, key)
    deadline = None if req.timeout_s is None else time.monotonic() + req.timeout_s
    run = _Tracked(req, key, deadline)
    runs.append(run)
    fresh, submit_key = True, key  # a new RunProject: logged once the job is tracked
    if earlier is None or earlier.run_id == "" or (
            earlier.run_id is None and earlier.project_id != req.project_id):
        _submit(context, client, run, key)
    elif earlier.run_id is None:  # an attempt died between RunProject and its answer
        fresh = False
        _submit(context, client, run, earlier.submit_key,
                SubmitIntent(earlier.submit_key, earlier.project_id, earlier.since_ms))
    elif earlier.status in FAILED_STATES and req.idempotency_key is None:
        # Re-running a step whose run failed means running the project again, under a key
        # of this attempt (an explicit key always names that one run).
        context.log.warning(f"Hex run {earlier.run_id} of an earlier attempt ended "
                            f"{earlier.status}; starting a new run")
        submit_key = f"{key}:{context.run_id}:{getattr(context, 'retry_number', 0)}"
        _submit(context, client, run, submit_key)
    else:
        fresh = False
        context.log.info(f"re-attaching to Hex run {earlier.run_id} of an earlier attempt "
                         f"(last seen {earlier.status})")
        client.attach(earlier.project_id, earlier.run_id, into=run.slot)
    if fresh:
        keyed = f" (idempotency key {submit_key})" if submit_key else ""
        context.log.info(f"Hex project {req.project_id} submitted{keyed}")


def _submit(context, client, run: _Tracked, submit_key,
            unanswered: Optional[SubmitIntent] = None) -> None:
    """Submits under submit_key with the intent in the event log first, or, given the
    intent an earlier attempt left unanswered, adopts the run it made (submit_recorded);
    the job lands in run.slot."""
    def record(intent: SubmitIntent) -> None:
        _record_intent(context, run.key, intent.key, intent.project_id, intent.since_ms)

    req = run.req
    submit_recorded(client, req.project_id, submit_key, record, unanswered,
                    context.log.info, inputs=req.inputs, dry_run=req.dry_run,
                    notifications=req.notifications, into=run.slot, **req.body_options())


def _wait_all(context, client, runs: List[_Tracked], slice_s: float) -> None:
    """Short blocking waits (the GIL is released inside each), so Python sees a signal
    (Dagster's termination arrives as SIGINT/SIGTERM -> interrupt) within one slice. Each
    run is recorded in the event log as soon as Hex has given it an id, and at its end."""
    while True:
        live = [run for run in runs if run.info is None]
        if not live:
            return
        try:
            done = client.wait_any([run.job for run in live], timeout=slice_s)
            run = next(run for run in live if run.job is done)
            run.info = done.info
            _record_run(context, run.key, run.info)
            continue
        except hexrun.Timeout:
            pass
        now = time.monotonic()
        for run in live:
            _note_run_id(context, run)
            if run.deadline is not None and now >= run.deadline:
                run.info, run.timed_out = _timed_out(context, run), True
                _record_run(context, run.key, run.info)


def _note_run_id(context, run: _Tracked) -> None:
    if run.recorded:
        return
    info = run.job.info
    if info.run_id:
        _record_run(context, run.key, info)
        run.recorded = True
        url = f": {info.run_url}" if info.run_url else ""
        context.log.info(f"Hex run {info.run_id} is {info.state}{url}")


def _timed_out(context, run: _Tracked) -> hexrun.JobInfo:
    info = run.job.info
    if run.req.kill_on_timeout:
        context.log.warning(f"{_run_name(info)} still {info.state} after "
                            f"{run.req.timeout_s} s; cancelling it")
        try:
            run.job.cancel()
            info = run.job.wait(timeout=CANCEL_CONFIRM_S, raise_on_failure=False)
        except hexrun.HexrunError as e:
            context.log.warning(f"cancelling {_run_name(info)} failed: {e}")
    return info


def _cancel_on_interrupt(context, job, key) -> None:
    """The step is being terminated: stop the Hex run, and wait (bounded) for Hex to
    confirm, so the process does not exit with the cancel still in flight."""
    try:
        info = job.info
        if info.state in FAILED_STATES or info.state == "COMPLETED":
            return
        job.cancel()  # first: the log line below may take a while to be written
        context.log.warning(f"Dagster run interrupted: cancelling {_run_name(info)}")
        info = job.wait(timeout=CANCEL_CONFIRM_S, raise_on_failure=False)
        context.log.warning(f"{_run_name(info)} is {info.state}")
        _record_run(context, key, info)
    except BaseException as e:  # a second interrupt, or hexrun refusing: never mask the first
        try:
            context.log.warning(f"cancelling the Hex run on interrupt failed: {e!r}")
        except BaseException:
            pass
