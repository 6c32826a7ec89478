"""HexRunTrigger: waits for a Hex run inside Airflow's triggerer, without a worker slot.

All triggers of one triggerer process that use the same connection share one hexrun.Client
(hooks.shared_client). The trigger itself never makes a request while it waits: Job.poll()
reads the state the client's engine thread keeps fresh, and the engine refreshes every live
run of a project with one list request. So 20 waiting triggers cost about what one does.
"""
import asyncio
import time
from typing import Any, AsyncIterator, Dict, Optional, Tuple

from airflow.triggers.base import BaseTrigger, TriggerEvent

import hexrun

from .hooks import TERMINAL_STATES, HexHook, StatusLog, run_xcom

# Airflow 3.3+ calls BaseTrigger.on_kill() when a user acts on the deferred task (mark
# failed/success, clear), and only then: not when the triggerer shuts down or hands the
# trigger to another triggerer, where the run must go on. Older Airflow 3 only cancels the
# coroutine, so there the trigger cancels the run on CancelledError itself.
TRIGGERER_CALLS_ON_KILL = hasattr(BaseTrigger, "on_kill")

# How long a cancelled trigger waits for Hex to confirm the cancel before giving up; the
# engine keeps trying after that, and the process-exit hook waits for it once more.
CANCEL_CONFIRM_S = 10.0
# While a run is waited for, the task log gets its status when it changes and, while it
# does not, once every this many seconds (hooks.StatusLog).
STATUS_LOG_EVERY_S = 300.0


class HexRunTrigger(BaseTrigger):
    """Fires one event when the run ends, or when `timeout_at` (unix seconds) passes.

    The event payload is the operator's XCom dict plus "event": "done" or "timeout".
    When a user kills the deferred task (on_kill) and `cancel_on_kill` is true, the Hex run
    is cancelled too; a triggerer restart leaves it running for the next triggerer.
    """

    def __init__(self, project_id: str, run_id: str, hex_conn_id: str = "hex_default",
                 poll_interval: float = 1.0, timeout_at: Optional[float] = None,
                 kill_on_timeout: bool = True, cancel_on_kill: bool = True,
                 status_log_interval: float = STATUS_LOG_EVERY_S):
        super().__init__()
        self.project_id = project_id
        self.run_id = run_id
        self.hex_conn_id = hex_conn_id
        self.poll_interval = float(poll_interval)
        self.timeout_at = timeout_at
        self.kill_on_timeout = kill_on_timeout
        self.cancel_on_kill = cancel_on_kill
        self.status_log_interval = float(status_log_interval)
        self._job: Optional[hexrun.Job] = None
        self._cancel_requested = False

    def serialize(self) -> Tuple[str, Dict[str, Any]]:
        return ("hexrun.airflow.triggers.HexRunTrigger", {
            "project_id": self.project_id, "run_id": self.run_id,
            "hex_conn_id": self.hex_conn_id, "poll_interval": self.poll_interval,
            "timeout_at": self.timeout_at, "kill_on_timeout": self.kill_on_timeout,
            "cancel_on_kill": self.cancel_on_kill,
            "status_log_interval": self.status_log_interval,
        })

    async def run(self) -> AsyncIterator[TriggerEvent]:
        client = await HexHook(self.hex_conn_id).aget_conn()
        # Kept on the trigger: on_kill (Airflow 3.3+ calls it after cancelling run() when a
        # user killed the task) cancels through it, and cleanup() releases it.
        self._job = job = client.attach(self.project_id, self.run_id)
        try:
            event = await self._wait(job)
        except asyncio.CancelledError:
            if not TRIGGERER_CALLS_ON_KILL and self.cancel_on_kill:
                await self._request_cancel(job, "trigger cancelled")
            raise
        yield TriggerEvent(event)

    async def on_kill(self) -> None:
        """Airflow 3.3+: the user killed the deferred task; cancel the Hex run.

        The cancel is requested before the first await: Airflow 3.3's triggerer cancels
        the trigger again at its next sync (about a second later), which interrupts on_kill.
        The client's engine sends CancelRun on its own once asked, so nothing is lost."""
        if not self.cancel_on_kill:
            return
        job = self._job
        if job is None:  # run() never started
            client = await HexHook(self.hex_conn_id).aget_conn()
            job = self._job = client.attach(self.project_id, self.run_id)
        await self._request_cancel(job, "task killed")

    async def cleanup(self) -> None:
        """Releases the job, unless a cancel is still on its way (releasing could drop it;
        the job then ends with the client, whose close waits for the cancel)."""
        job = self._job
        if job is None:
            return
        if self._cancel_requested and job.poll() not in TERMINAL_STATES:
            return
        self._job = None
        job.release()

    async def _wait(self, job: hexrun.Job) -> Dict[str, Any]:
        """Sleeps on the event loop between cheap local state reads."""
        status_log = StatusLog(self.log, self.run_id, self.status_log_interval)
        while True:
            status_log.update(job.info)
            if job.poll() in TERMINAL_STATES:
                return dict(run_xcom(job.info), event="done",
                            error_message=job.info.error_message)
            if self.timeout_at is not None and time.time() >= self.timeout_at:
                if self.kill_on_timeout:
                    await self._request_cancel(job, "timeout")
                return dict(run_xcom(job.info), event="timeout",
                            error_message=job.info.error_message)
            await asyncio.sleep(self.poll_interval)

    async def _request_cancel(self, job: hexrun.Job, why: str) -> None:
        """Asks for the cancel at once, then waits a bounded time for Hex to confirm it."""
        state = job.poll()
        if state in TERMINAL_STATES:
            self.log.info("%s: Hex run %s already ended %s", why, self.run_id, state)
            return
        self.log.info("%s: cancelling Hex run %s", why, self.run_id)
        try:
            job.cancel()
        except hexrun.StateError:  # ended meanwhile
            return
        self._cancel_requested = True
        deadline = time.monotonic() + CANCEL_CONFIRM_S
        while job.poll() not in TERMINAL_STATES and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # a second cancel may end this wait; the cancel stays
