"""HexRunProjectOperator: runs a Hex project, a drop-in for Hex's own operator.

It accepts every parameter of airflow_provider_hex's HexRunProjectOperator and adds
deferrable mode, the newer RunProject options, dry runs and an idempotency key. The key
defaults to dag id + task id + run id + map index, so a retry of the task re-attaches to the
run its earlier attempt started (in the same process, or in any process when the connection
sets `journal_path`) instead of starting another. A retry after the run itself failed starts
a new run (the key gains a `:try<N>` suffix), because re-attaching to a failed run would only
fail again.
"""
import time
from dataclasses import asdict
from datetime import timedelta
from typing import Any, Dict, List, Optional

from airflow.sdk import BaseOperator, BaseOperatorLink

import hexrun
from hexrun.shared import SubmitIntent, submit_recorded

from ._compat import AirflowException, ResumableJobMixin, conf
from .hooks import (FAILED_STATES, TERMINAL_STATES, HexHook, StatusLog, is_terminal, run_xcom,
                    wait_until)
from .triggers import STATUS_LOG_EVERY_S, HexRunTrigger

# Blocking waits are cut into slices this long: Python runs signal handlers (Airflow's
# SIGTERM handler calls on_kill) only between slices, never inside the C wait.
WAIT_SLICE_S = 1.0
# on_kill and timeouts wait this long for Hex to confirm a cancel.
CANCEL_CONFIRM_S = 10.0

# task_state_store keys (Airflow 3.3+; scoped to the task instance, kept across its tries).
# RUN_ID_KEY holds the run id once Hex accepted the run (ResumableJobMixin's external id);
# SUBMIT_KEY is written before RunProject is sent: {"key", "project_id", "since_ms"}, and
# "run_id" once Hex answered. A SUBMIT_KEY without run id means a try died between sending
# RunProject and recording the answer: the next try looks for that run before sending one.
RUN_ID_KEY = "hexrun_run_id"
SUBMIT_KEY = "hexrun_submit"

# Names other Airflow providers use for the same parameters (dbt Cloud, Databricks),
# accepted next to Hex's: {alias: hexrun name}.
PARAMETER_ALIASES = {"wait_for_termination": "synchronous", "check_interval": "wait_seconds",
                     "polling_period_seconds": "wait_seconds"}
_UNSET: Any = object()


def default_idempotency_key(context) -> str:
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return f"airflow:{ti.dag_id}:{ti.task_id}:{ti.run_id}:{map_index}"


def failure_message(xcom: Dict[str, Any], error: Optional[str] = None) -> str:
    msg = (f"Hex run {xcom.get('run_id') or '(none)'} of project {xcom.get('project_id')} "
           f"ended {xcom.get('status')}: {xcom.get('run_url') or 'no run URL'}")
    if error:
        msg += f" ({error})"
    if xcom.get("trace_id"):  # what Hex support asks for
        msg += f" [trace id {xcom['trace_id']}]"
    return msg


class HexRunLink(BaseOperatorLink):
    """The task's "Hex Run" button: the run's page in Hex (like dbt Cloud's "Monitor Job
    Run"). Read from the `run_url` XCom the operator pushes as soon as Hex accepted the
    run, so the button works while the task waits and after it ended."""

    name = "Hex Run"

    def get_link(self, operator, *, ti_key) -> str:
        # Runs in the worker as the task ends (Airflow stores the link it returns); the XCom
        # backend is resolved then, not when DAG files are parsed.
        from airflow.sdk.execution_time.xcom import XCom
        return XCom.get_value(ti_key=ti_key, key="run_url") or ""


def _resolve_alias(name: str, value: Any, alias: str, alias_value: Any, default: Any) -> Any:
    """Hex's parameter, or the other providers' name for it; both given and different is an
    error naming both."""
    if alias_value is None:
        return default if value is _UNSET else value
    if value is not _UNSET and value != alias_value:
        raise ValueError(f"{name}={value!r} and {alias}={alias_value!r} disagree; "
                         f"they are the same parameter, give one")
    return alias_value


_Bases = (ResumableJobMixin, BaseOperator) if ResumableJobMixin else (BaseOperator,)


class HexRunProjectOperator(*_Bases):
    """Runs a Hex project and (by default) waits until it ends.

    Parameters shared with Hex's provider:

    :param project_id: the Hex project UUID (templated).
    :param hex_conn_id: connection of type `hexrun` or `hex` (host = base URL, password =
        token).
    :param input_parameters: inputParams of the run (templated dict).
    :param update_cache: Hex's deprecated updateCache flag.
    :param notifications: RunProject notifications (templated list).
    :param synchronous: wait for the run to end; False returns once Hex accepted it
        (alias `wait_for_termination`, the dbt Cloud and Databricks name).
    :param wait_seconds: how often the wait looks at the run (the client's engine decides
        when to ask Hex: poll_min_ms/poll_max_ms in the connection extras); aliases
        `check_interval` (dbt Cloud) and `polling_period_seconds` (Databricks).
    :param timeout: seconds to wait for the run to end before failing the task.
    :param kill_on_timeout: cancel the Hex run when `timeout` passes.

    Added by hexrun:

    :param deferrable: wait in the triggerer (HexRunTrigger) instead of a worker slot.
    :param durable: Airflow 3.3+: keep the run id (and, before sending RunProject, the
        idempotency key and send time) in the task's task_state_store, so a retry on any
        worker re-attaches to the run (ResumableJobMixin). Ignored on older Airflow.
    :param use_cached_sql_results, update_published_results, view_id: RunProject options
        (None = Hex's default; not sent).
    :param dry_run: ask Hex for a dry run.
    :param idempotency_key: names this logical run (templated); default derived from the
        task instance so retries re-attach.
    :param cancel_on_kill: cancel the Hex run when the task is killed (on_kill) or its
        deferred trigger is cancelled.
    :param status_log_interval: seconds between status lines in the task log while the
        run's status does not change (a change is always logged).
    """

    template_fields = ("project_id", "input_parameters", "notifications", "idempotency_key")
    template_fields_renderers = {"input_parameters": "json", "notifications": "json"}
    ui_color = "#F5C0C0"
    operator_extra_links = (HexRunLink(),)
    external_id_key = RUN_ID_KEY

    def __init__(self, *, project_id: str, hex_conn_id: str = "hex_default",
                 input_parameters: Optional[Dict[str, Any]] = None,
                 update_cache: bool = False,
                 notifications: Optional[List[Dict[str, Any]]] = None,
                 synchronous: bool = _UNSET, wait_seconds: float = _UNSET,
                 timeout: float = 3600, kill_on_timeout: bool = True,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable",
                                                    fallback=False),
                 durable: bool = True,
                 use_cached_sql_results: Optional[bool] = None,
                 update_published_results: Optional[bool] = None,
                 view_id: Optional[str] = None, dry_run: bool = False,
                 idempotency_key: Optional[str] = None, cancel_on_kill: bool = True,
                 status_log_interval: float = STATUS_LOG_EVERY_S,
                 wait_for_termination: Optional[bool] = None,
                 check_interval: Optional[float] = None,
                 polling_period_seconds: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.hex_conn_id = hex_conn_id
        self.input_parameters = input_parameters
        self.update_cache = update_cache
        self.notifications = notifications
        self.synchronous = _resolve_alias("synchronous", synchronous, "wait_for_termination",
                                          wait_for_termination, True)
        if check_interval is not None and polling_period_seconds is not None \
                and check_interval != polling_period_seconds:
            raise ValueError(f"check_interval={check_interval!r} and polling_period_seconds="
                             f"{polling_period_seconds!r} disagree; give one")
        interval = check_interval if check_interval is not None else polling_period_seconds
        self.wait_seconds = _resolve_alias(
            "wait_seconds", wait_seconds,
            "check_interval" if check_interval is not None else "polling_period_seconds",
            interval, 3)
        self.timeout = timeout
        self.kill_on_timeout = kill_on_timeout
        self.deferrable = deferrable
        self.durable = durable
        self.use_cached_sql_results = use_cached_sql_results
        self.update_published_results = update_published_results
        self.view_id = view_id
        self.dry_run = dry_run
        self.idempotency_key = idempotency_key
        self.cancel_on_kill = cancel_on_kill
        self.status_log_interval = float(status_log_interval)
        self._job: Optional[hexrun.Job] = None
        # The slot of the latest submit/attach: the library writes the job id into it during
        # the call, so on_kill finds the job even when SIGTERM's handler runs the moment the
        # call returns, before its Job reaches self._job.
        self._slot: Optional[hexrun.JobSlot] = None
        self._client: Optional[hexrun.Client] = None
        self._deadline = 0.0
        self._result: Optional[Dict[str, Any]] = None

    # ---- submit ----

    def _run_options(self) -> Dict[str, Any]:
        options = {"updateCache": True} if self.update_cache else {}
        for key, value in (("useCachedSqlResults", self.use_cached_sql_results),
                           ("updatePublishedResults", self.update_published_results),
                           ("viewId", self.view_id)):
            if value is not None:
                options[key] = value
        return options

    def _await_accepted(self, job: hexrun.Job, need_status: bool = False) -> hexrun.JobInfo:
        """Waits for Hex's answer to RunProject (the engine sends it when the rate budget
        allows), which names the run and its URL. A run found by id alone (the journal's
        record of an earlier process's submit) has its URL, and its status, only after the
        first poll, so that is waited for. need_status: also wait for the first poll,
        because a re-attached run says PENDING until then, even when it has failed long
        ago."""
        def ready(i):
            if is_terminal(i):
                return True
            if i.run_id is None:
                return False
            return i.hex_status is not None or (i.run_url is not None and not need_status)
        try:
            return wait_until(job, ready, max(self._deadline - time.monotonic(), 0.0))
        except hexrun.Timeout:
            info = job.info
            if self.kill_on_timeout and not is_terminal(info):
                self._cancel(job)  # a QUEUED submit is dropped, a started run cancelled
            raise AirflowException(
                f"Hex did not accept the run of project {self.project_id} within "
                f"{self.timeout} s (state {info.state}; the client's rate budget may be "
                f"exhausted){', cancelled' if self.kill_on_timeout else ''}") from None

    def _submit_args(self) -> Dict[str, Any]:
        """Client.submit's arguments but the project and the key."""
        return dict(inputs=self.input_parameters or None, dry_run=self.dry_run,
                    notifications=self.notifications, **self._run_options())

    def _new_slot(self) -> hexrun.JobSlot:
        """A fresh slot for the next call that makes a job, kept before the call."""
        self._slot = hexrun.JobSlot()
        return self._slot

    def _submit_once(self, key: str, need_status: bool = False):
        job = self._client.submit(self.project_id, idempotency_key=key, into=self._new_slot(),
                                  **self._submit_args())
        self._job = job  # from now on on_kill cancels it, also while Hex's answer is awaited
        return job, self._await_accepted(job, need_status)

    def _submit(self, context):
        """Submits (or re-attaches). For retries, a run of an earlier attempt that already
        failed is skipped: each attempt after a failed run gets its own key suffix."""
        base = self.idempotency_key or default_idempotency_key(context)
        try_number = max(int(getattr(context["ti"], "try_number", 1) or 1), 1)
        for attempt in range(1, try_number + 1):
            key = base if attempt == 1 else f"{base}:try{attempt}"
            job, info = self._submit_once(key, need_status=attempt < try_number)
            # Also a refused submit: the user may have fixed the project before the retry.
            if attempt < try_number and info.state in FAILED_STATES:
                self.log.info("earlier attempt's run %s ended %s; starting a new run",
                              info.run_id, info.state)
                job.release()
                continue
            return job, info
        raise AssertionError("unreachable")

    # ---- execute ----

    def execute(self, context) -> Dict[str, Any]:
        self._deadline = time.monotonic() + self.timeout
        self._client = HexHook(self.hex_conn_id).get_conn()
        if self.durable and ResumableJobMixin is not None and \
                context.get("task_state_store") is not None:
            return self.execute_resumable(context)
        _, info = self._submit(context)  # _submit_once keeps the job in self._job
        if info.run_id is None:  # refused or never sent: no run to wait for
            raise AirflowException(failure_message(run_xcom(info), info.error_message))
        return self._follow(context)

    def _follow(self, context) -> Dict[str, Any]:
        """Publishes the run (XCom, log, the "Hex Run" link) and waits for it as asked."""
        info = self._job.info
        self.log.info("Hex run %s of project %s: %s", info.run_id, self.project_id,
                      info.run_url or "no run URL")
        context["ti"].xcom_push(key="run_id", value=info.run_id)
        if info.run_url is not None:  # Airflow 3.0's XCom API refuses a None value
            context["ti"].xcom_push(key="run_url", value=info.run_url)
        if not self.synchronous:
            return self._finish(context, run_xcom(info))
        if self.deferrable and not is_terminal(info):
            self._defer()
        return self._wait(context)

    def _defer(self) -> None:
        # The job is not released: while this process lives, its client keeps knowing the
        # idempotency key, so a retry here re-attaches (elsewhere that takes journal_path
        # or task_state_store).
        info = self._job.info
        remaining = max(self._deadline - time.monotonic(), 0.0)
        self.defer(
            trigger=HexRunTrigger(project_id=self.project_id, run_id=info.run_id,
                                  hex_conn_id=self.hex_conn_id,
                                  poll_interval=min(float(self.wait_seconds), 1.0),
                                  timeout_at=time.time() + remaining,
                                  kill_on_timeout=self.kill_on_timeout,
                                  cancel_on_kill=self.cancel_on_kill,
                                  status_log_interval=self.status_log_interval),
            method_name="execute_complete",
            # Airflow's own deferral timeout is a backstop a little after ours.
            timeout=timedelta(seconds=remaining + 60))

    def _wait(self, context) -> Dict[str, Any]:
        job = self._job
        status_log = StatusLog(self.log, job.info.run_id, self.status_log_interval)
        while True:
            status_log.update(job.info)
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                return self._timed_out(job)
            try:
                info = job.wait(timeout=min(remaining, WAIT_SLICE_S, float(self.wait_seconds)),
                                raise_on_failure=False)
                break
            except hexrun.Timeout:
                continue
        return self._finish(context, run_xcom(info), info.error_message)

    def _timed_out(self, job: hexrun.Job):
        info = job.info
        if self.kill_on_timeout:
            self.log.info("timeout after %s s: cancelling Hex run %s", self.timeout, info.run_id)
            info = self._cancel(job)
        raise AirflowException(
            f"Hex run {info.run_id} of project {self.project_id} did not end within "
            f"{self.timeout} s (status {info.state}"
            f"{', cancelled' if self.kill_on_timeout else ', left running'}): {info.run_url}")

    def _cancel(self, job: hexrun.Job) -> hexrun.JobInfo:
        try:
            job.cancel()
            return job.wait(timeout=CANCEL_CONFIRM_S, raise_on_failure=False)
        except (hexrun.StateError, hexrun.Timeout):
            return job.info

    def execute_complete(self, context, event: Dict[str, Any]) -> Dict[str, Any]:
        """Resumes after HexRunTrigger fired."""
        xcom = {k: event.get(k) for k in ("run_id", "run_url", "status", "elapsed",
                                          "project_id", "trace_id")}
        if event.get("event") == "timeout":
            raise AirflowException(
                f"Hex run {xcom['run_id']} of project {self.project_id} did not end within "
                f"{self.timeout} s (status {xcom['status']}"
                f"{', cancelled' if self.kill_on_timeout else ', left running'}): "
                f"{xcom['run_url']}")
        return self._finish(context, xcom, event.get("error_message"))

    def _finish(self, context, xcom: Dict[str, Any], error: Optional[str] = None):
        ti = context["ti"]
        for key in ("run_id", "run_url", "status", "elapsed"):
            ti.xcom_push(key=key, value=xcom[key])
        if xcom["status"] in FAILED_STATES:
            raise AirflowException(failure_message(xcom, error))
        if xcom["status"] in TERMINAL_STATES:
            self.log.info("Hex run %s ended %s after %s s", xcom["run_id"], xcom["status"],
                          xcom["elapsed"])
        else:  # synchronous=False: the run goes on
            self.log.info("Hex run %s accepted (status %s); not waiting for it "
                          "(synchronous=False)", xcom["run_id"], xcom["status"])
        return xcom

    def on_kill(self) -> None:
        """Airflow calls this on SIGTERM (task killed or marked): stop the Hex run too."""
        # The slot's job first: it is set inside the submit/attach call, and is the newest
        # (self._job may still be an earlier attempt's released job while a retry submits).
        job = (self._slot.job if self._slot is not None else None) or self._job
        if job is None or not self.cancel_on_kill or is_terminal(job.info):
            return
        run_id = job.info.run_id
        if run_id:
            self.log.info("task killed: cancelling Hex run %s", run_id)
        else:  # Hex has not answered RunProject yet: its run is cancelled once it does
            self.log.info("task killed: cancelling the run of project %s (RunProject not "
                          "answered yet)", self.project_id)
        self._cancel(job)

    # ---- durable retries: ResumableJobMixin (Airflow 3.3+) ----

    def submit_job(self, context) -> Optional[str]:
        """Starts the run (or finds the one an earlier try started) and returns its id once
        Hex accepted it; the mixin then stores it under RUN_ID_KEY."""
        store = context["task_state_store"]
        stored = store.get(SUBMIT_KEY) or {}
        if stored.get("project_id") != self.project_id:
            stored = {}
        if stored.get("run_id") and self._reusable(stored["run_id"]):
            # The try that started it died before the mixin stored its id.
            return stored["run_id"]
        unanswered = None
        if stored and not stored.get("run_id"):  # a try died between RunProject and its answer
            unanswered = SubmitIntent(stored["key"], stored["project_id"], stored["since_ms"])

        def record(intent: SubmitIntent) -> None:
            stored.clear()
            stored.update(asdict(intent))
            store.set(SUBMIT_KEY, dict(stored))

        job = submit_recorded(self._client, self.project_id, self._fresh_key(context), record,
                              unanswered, self.log.info, into=self._new_slot(),
                              **self._submit_args())
        self._job = job  # from now on on_kill cancels it, also while Hex's answer is awaited
        info = self._await_accepted(job)
        if info.run_id is None:
            raise AirflowException(failure_message(run_xcom(info), info.error_message))
        store.set(SUBMIT_KEY, dict(stored, run_id=info.run_id))
        return info.run_id

    def _fresh_key(self, context) -> str:
        base = self.idempotency_key or default_idempotency_key(context)
        try_number = max(int(getattr(context["ti"], "try_number", 1) or 1), 1)
        return base if try_number == 1 else f"{base}:try{try_number}"

    def _reusable(self, run_id: str) -> bool:
        status = self.get_job_status(run_id, None)
        return self.is_job_active(status) or self.is_job_succeeded(status)

    def get_job_status(self, external_id: str, context) -> str:
        """hexrun's state of the run, after its first poll (an attached run is PENDING
        until then)."""
        if self._job is None or self._job.info.run_id != external_id:
            self._job = self._client.attach(self.project_id, external_id,
                                            into=self._new_slot())
        return self._await_accepted(self._job, need_status=True).state

    def is_job_active(self, status: str) -> bool:
        return status not in TERMINAL_STATES

    def is_job_succeeded(self, status: str) -> bool:
        return status == "COMPLETED"

    def poll_until_complete(self, external_id: str, context) -> Dict[str, Any]:
        """Waits (or defers) as execute does; returns the result, which the mixin hands back
        as is when it re-attached."""
        if self._job is None or self._job.info.run_id != external_id:
            self.get_job_status(external_id, context)
        self._result = self._follow(context)
        return self._result

    def get_job_result(self, external_id: str, context) -> Dict[str, Any]:
        if self._result is None:  # an earlier try's run had COMPLETED: nothing to wait for
            return self.poll_until_complete(external_id, context)
        return self._result

