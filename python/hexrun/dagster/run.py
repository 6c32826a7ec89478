"""Running one Hex project from a Dagster step: submit, wait in slices, report or fail.

Shared by the op and the asset factories (ops.py, assets.py)."""
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from dagster import Failure, MetadataValue

import hexrun

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

    def body_options(self) -> Dict[str, Any]:
        body = dict(self.extra_body)
        if self.update_cache:
            body["updateCache"] = True
        return body


def default_idempotency_key(context) -> Optional[str]:
    """One key per step of a logical run: the root run id (the same for every re-execution
    of a run) plus the step key. A retried or re-executed step therefore finds the Hex run
    its earlier attempt started (in the client, or across processes through journal_path)
    instead of starting another. A directly invoked op (no run) gets no key."""
    run = _dagster_run(context)
    if run is None:
        return None
    root = run.root_run_id or run.run_id
    step = _step_key(context)
    return f"dagster:{root}:{step}"


def _step_key(context) -> str:
    """The step key (op name, with its graph path and mapping key when it has them)."""
    return context.get_step_execution_context().step.key


def _dagster_run(context):
    """The DagsterRun, or None for a directly invoked op (build_op_context)."""
    try:
        return context.run
    except Exception:  # DagsterInvalidPropertyError outside a real run
        return None


def _is_retry(context) -> bool:
    run = _dagster_run(context)
    return bool(run is not None and run.parent_run_id) or getattr(context, "retry_number", 0) > 0


FAILED_RUN_MARK = "[hexrun failed run {}]"  # in the step's log when its Hex run failed
MAX_ANCESTORS = 50


def _failed_in_earlier_attempt(context, run_id: Optional[str]) -> bool:
    """Whether an earlier attempt of this step (a retry in this Dagster run, or the step in
    a run this one re-executes, transitively) already reported this Hex run as failed.
    Dagster's own event log is the record, so no clocks are compared and hexrun's journal
    stays opaque."""
    if run_id is None or _dagster_run(context) is None:
        return False
    mark = FAILED_RUN_MARK.format(run_id)
    step = _step_key(context)
    dagster_run_id, seen = context.run_id, 0
    while dagster_run_id and seen < MAX_ANCESTORS:
        for entry in context.instance.all_logs(dagster_run_id):
            if entry.step_key == step and mark in (entry.user_message or ""):
                return True
        run = context.instance.get_run_by_id(dagster_run_id)
        dagster_run_id, seen = (run.parent_run_id if run else None), seen + 1
    return False


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


def _failure(info: hexrun.JobInfo, what: str) -> Failure:
    url = info.run_url or "no run URL"
    desc = f"Hex run {info.run_id or '(none)'} of project {info.project_id} {what}: {url}"
    if info.error_message:
        desc += f" ({info.error_message})"
    return Failure(description=desc, metadata=run_metadata(info))


CANCEL_CONFIRM_S = 10.0  # how long an interrupted step waits for Hex to confirm the cancel


def execute_hex_run(context, hex_resource: HexResource, req: HexRunRequest) -> hexrun.JobInfo:
    """Runs req to its end and returns the COMPLETED run's info; raises dagster Failure for
    any other end. A terminated Dagster run cancels the Hex run before the interrupt
    propagates."""
    client = hex_resource.get_client()
    key = req.idempotency_key or default_idempotency_key(context)
    info = _submit_and_wait(context, hex_resource, client, req, key)
    if (info.state in FAILED_STATES and req.idempotency_key is None and _is_retry(context)
            and _failed_in_earlier_attempt(context, info.run_id)):
        # The default key found the run an earlier attempt started, and it had failed:
        # re-running the step means running the project again, under a key of this attempt.
        context.log.warning(f"Hex run {info.run_id} of an earlier attempt ended {info.state};"
                            " starting a new run")
        retry = getattr(context, "retry_number", 0)
        info = _submit_and_wait(context, hex_resource, client, req,
                                f"{key}:{context.run_id}:{retry}")
    if not info.succeeded:
        context.log.error(f"Hex run {info.run_id} ended {info.state}: {info.run_url} "
                          + FAILED_RUN_MARK.format(info.run_id))
        raise _failure(info, f"ended {info.state}")
    context.log.info(f"Hex run {info.run_id} COMPLETED in "
                     f"{(info.elapsed_ms or 0) / 1000:.1f} s: {info.run_url}")
    return info


def _submit_and_wait(context, hex_resource, client, req, key) -> hexrun.JobInfo:
    job = client.submit(req.project_id, inputs=req.inputs, dry_run=req.dry_run,
                        notifications=req.notifications, idempotency_key=key,
                        **req.body_options())
    context.log.info(f"Hex project {req.project_id} submitted (idempotency key {key})")
    interrupted = False
    try:
        return _wait_in_slices(context, job, hex_resource.wait_slice_s, req)
    except (KeyboardInterrupt, DagsterExecutionInterruptedError):
        interrupted = True
        _cancel_on_interrupt(context, job)
        raise
    finally:
        if not interrupted:  # an interrupted job keeps its cancel going until the close
            job.release()


def _wait_in_slices(context, job, slice_s, req) -> hexrun.JobInfo:
    """Short blocking waits (the GIL is released inside each), so Python sees a signal
    (Dagster's termination arrives as SIGINT/SIGTERM -> interrupt) within one slice."""
    deadline = None if req.timeout_s is None else time.monotonic() + req.timeout_s
    url_logged = False
    while True:
        try:
            return job.wait(timeout=slice_s, raise_on_failure=False)
        except hexrun.Timeout:
            pass
        if not url_logged:
            info = job.info
            if info.run_url:
                context.log.info(f"Hex run {info.run_id} is {info.state}: {info.run_url}")
                url_logged = True
        if deadline is not None and time.monotonic() >= deadline:
            return _timed_out(context, job, req)


def _timed_out(context, job, req):
    info = job.info
    if req.kill_on_timeout:
        context.log.warning(f"Hex run {info.run_id} still {info.state} after "
                            f"{req.timeout_s} s; cancelling it")
        try:
            job.cancel()
            info = job.wait(timeout=CANCEL_CONFIRM_S, raise_on_failure=False)
        except hexrun.HexrunError as e:
            context.log.warning(f"cancelling Hex run {info.run_id} failed: {e}")
    raise _failure(info, f"did not finish within {req.timeout_s} s (now {info.state})")


def _cancel_on_interrupt(context, job) -> None:
    """The step is being terminated: stop the Hex run, and wait (bounded) for Hex to
    confirm, so the process does not exit with the cancel still in flight."""
    try:
        info = job.info
        if info.state in FAILED_STATES or info.state == "COMPLETED":
            return
        context.log.warning(f"Dagster run interrupted: cancelling Hex run {info.run_id}")
        job.cancel()
        info = job.wait(timeout=CANCEL_CONFIRM_S, raise_on_failure=False)
        context.log.warning(f"Hex run {info.run_id} is {info.state}")
    except BaseException as e:  # a second interrupt, or hexrun refusing: never mask the first
        try:
            context.log.warning(f"cancelling the Hex run on interrupt failed: {e!r}")
        except BaseException:
            pass
