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
from datetime import timedelta
from typing import Any, Dict, List, Optional

from airflow.sdk import BaseOperator, conf

try:  # Airflow 3.1+ names it here; 3.0 kept it in airflow.exceptions
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # pragma: no cover
    from airflow.exceptions import AirflowException

import hexrun

from .hooks import FAILED_STATES, HexHook, is_terminal, run_xcom, wait_until
from .triggers import HexRunTrigger

# Blocking waits are cut into slices this long: Python runs signal handlers (Airflow's
# SIGTERM handler calls on_kill) only between slices, never inside the C wait.
WAIT_SLICE_S = 1.0
# on_kill and timeouts wait this long for Hex to confirm a cancel.
CANCEL_CONFIRM_S = 10.0


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


class HexRunProjectOperator(BaseOperator):
    """Runs a Hex project and (by default) waits until it ends.

    Parameters shared with Hex's provider:

    :param project_id: the Hex project UUID (templated).
    :param hex_conn_id: connection of type `hex` (host = base URL, password = token).
    :param input_parameters: inputParams of the run (templated dict).
    :param update_cache: Hex's deprecated updateCache flag.
    :param notifications: RunProject notifications (templated list).
    :param synchronous: wait for the run to end; False returns once Hex accepted it.
    :param wait_seconds: how often the wait looks at the run (the client's engine decides
        when to ask Hex: poll_min_ms/poll_max_ms in the connection extras).
    :param timeout: seconds to wait for the run to end before failing the task.
    :param kill_on_timeout: cancel the Hex run when `timeout` passes.

    Added by hexrun:

    :param deferrable: wait in the triggerer (HexRunTrigger) instead of a worker slot.
    :param use_cached_sql_results, update_published_results, view_id: RunProject options
        (None = Hex's default; not sent).
    :param dry_run: ask Hex for a dry run.
    :param idempotency_key: names this logical run (templated); default derived from the
        task instance so retries re-attach.
    :param cancel_on_kill: cancel the Hex run when the task is killed (on_kill) or its
        deferred trigger is cancelled.
    """

    template_fields = ("project_id", "input_parameters", "notifications", "idempotency_key")
    template_fields_renderers = {"input_parameters": "json", "notifications": "json"}
    ui_color = "#F5C0C0"

    def __init__(self, *, project_id: str, hex_conn_id: str = "hex_default",
                 input_parameters: Optional[Dict[str, Any]] = None,
                 update_cache: bool = False,
                 notifications: Optional[List[Dict[str, Any]]] = None,
                 synchronous: bool = True, wait_seconds: float = 3, timeout: float = 3600,
                 kill_on_timeout: bool = True,
                 deferrable: bool = conf.getboolean("operators", "default_deferrable",
                                                    fallback=False),
                 use_cached_sql_results: Optional[bool] = None,
                 update_published_results: Optional[bool] = None,
                 view_id: Optional[str] = None, dry_run: bool = False,
                 idempotency_key: Optional[str] = None, cancel_on_kill: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.hex_conn_id = hex_conn_id
        self.input_parameters = input_parameters
        self.update_cache = update_cache
        self.notifications = notifications
        self.synchronous = synchronous
        self.wait_seconds = wait_seconds
        self.timeout = timeout
        self.kill_on_timeout = kill_on_timeout
        self.deferrable = deferrable
        self.use_cached_sql_results = use_cached_sql_results
        self.update_published_results = update_published_results
        self.view_id = view_id
        self.dry_run = dry_run
        self.idempotency_key = idempotency_key
        self.cancel_on_kill = cancel_on_kill
        self._job: Optional[hexrun.Job] = None

    # ---- submit ----

    def _run_options(self) -> Dict[str, Any]:
        options = {"updateCache": True} if self.update_cache else {}
        for key, value in (("useCachedSqlResults", self.use_cached_sql_results),
                           ("updatePublishedResults", self.update_published_results),
                           ("viewId", self.view_id)):
            if value is not None:
                options[key] = value
        return options

    def _submit_once(self, client: hexrun.Client, key: str, deadline: float,
                     need_status: bool = False):
        job = client.submit(self.project_id, inputs=self.input_parameters or None,
                            dry_run=self.dry_run, notifications=self.notifications,
                            idempotency_key=key, **self._run_options())

        # The engine sends RunProject when the rate budget allows; wait for Hex's answer.
        # need_status: also wait for the first poll, because a run re-attached through the
        # journal says PENDING until then, even when it has failed long ago.
        def ready(i):
            if is_terminal(i):
                return True
            return i.run_id is not None and (i.hex_status is not None or not need_status)
        try:
            return job, wait_until(job, ready, max(deadline - time.monotonic(), 0.0))
        except hexrun.Timeout:
            info = job.info
            if self.kill_on_timeout and not is_terminal(info):
                self._cancel(job)  # a QUEUED submit is dropped, a started run cancelled
            raise AirflowException(
                f"Hex did not accept the run of project {self.project_id} within "
                f"{self.timeout} s (state {info.state}; the client's rate budget may be "
                f"exhausted){', cancelled' if self.kill_on_timeout else ''}") from None

    def _submit(self, client: hexrun.Client, context, deadline: float):
        """Submits (or re-attaches). For retries, a run of an earlier attempt that already
        failed is skipped: each attempt after a failed run gets its own key suffix."""
        base = self.idempotency_key or default_idempotency_key(context)
        try_number = max(int(getattr(context["ti"], "try_number", 1) or 1), 1)
        for attempt in range(1, try_number + 1):
            key = base if attempt == 1 else f"{base}:try{attempt}"
            job, info = self._submit_once(client, key, deadline,
                                          need_status=attempt < try_number)
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
        deadline = time.monotonic() + self.timeout
        client = HexHook(self.hex_conn_id).get_conn()
        job, info = self._submit(client, context, deadline)
        self._job = job
        if info.run_id is None:  # refused or never sent: no run to wait for
            raise AirflowException(failure_message(run_xcom(info), info.error_message))
        self.log.info("Hex run %s of project %s: %s", info.run_id, self.project_id, info.run_url)
        context["ti"].xcom_push(key="run_id", value=info.run_id)
        context["ti"].xcom_push(key="run_url", value=info.run_url)
        if not self.synchronous:
            return self._finish(context, run_xcom(info))
        if self.deferrable and not is_terminal(info):
            self._defer(deadline)
        return self._wait(context, deadline)

    def _defer(self, deadline: float) -> None:
        # The job is not released: while this process lives, its client keeps knowing the
        # idempotency key, so a retry here re-attaches (elsewhere that takes journal_path).
        info = self._job.info
        remaining = max(deadline - time.monotonic(), 0.0)
        self.defer(
            trigger=HexRunTrigger(project_id=self.project_id, run_id=info.run_id,
                                  hex_conn_id=self.hex_conn_id,
                                  poll_interval=min(float(self.wait_seconds), 1.0),
                                  timeout_at=time.time() + remaining,
                                  kill_on_timeout=self.kill_on_timeout,
                                  cancel_on_kill=self.cancel_on_kill),
            method_name="execute_complete",
            # Airflow's own deferral timeout is a backstop a little after ours.
            timeout=timedelta(seconds=remaining + 60))

    def _wait(self, context, deadline: float) -> Dict[str, Any]:
        job = self._job
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._timed_out(job)
            try:
                info = job.wait(timeout=min(remaining, WAIT_SLICE_S), raise_on_failure=False)
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
        self.log.info("Hex run %s ended %s after %s s", xcom["run_id"], xcom["status"],
                      xcom["elapsed"])
        return xcom

    def on_kill(self) -> None:
        """Airflow calls this on SIGTERM (task killed or marked): stop the Hex run too."""
        job = self._job
        if job is None or not self.cancel_on_kill or is_terminal(job.info):
            return
        self.log.info("task killed: cancelling Hex run %s", job.info.run_id)
        self._cancel(job)
