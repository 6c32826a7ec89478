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

from .hooks import TERMINAL_STATES, HexHook, run_xcom

# Airflow 3.3+ calls BaseTrigger.on_kill() when a user acts on the deferred task (mark
# failed/success, clear), and only then: not when the triggerer shuts down or hands the
# trigger to another triggerer, where the run must go on. Older Airflow 3 only cancels the
# coroutine, so there the trigger cancels the run on CancelledError itself.
TRIGGERER_CALLS_ON_KILL = hasattr(BaseTrigger, "on_kill")

# How long a cancelled trigger waits for Hex to confirm the cancel before giving up; the
# engine keeps trying after that, and the process-exit hook waits for it once more.
CANCEL_CONFIRM_S = 10.0


class HexRunTrigger(BaseTrigger):
    """Fires one event when the run ends, or when `timeout_at` (unix seconds) passes.

    The event payload is the operator's XCom dict plus "event": "done" or "timeout".
    When a user kills the deferred task (on_kill) and `cancel_on_kill` is true, the Hex run
    is cancelled too; a triggerer restart leaves it running for the next triggerer.
    """

    def __init__(self, project_id: str, run_id: str, hex_conn_id: str = "hex_default",
                 poll_interval: float = 1.0, timeout_at: Optional[float] = None,
                 kill_on_timeout: bool = True, cancel_on_kill: bool = True):
        super().__init__()
        self.project_id = project_id
        self.run_id = run_id
        self.hex_conn_id = hex_conn_id
        self.poll_interval = float(poll_interval)
        self.timeout_at = timeout_at
        self.kill_on_timeout = kill_on_timeout
        self.cancel_on_kill = cancel_on_kill

    def serialize(self) -> Tuple[str, Dict[str, Any]]:
        return ("hexrun.airflow.triggers.HexRunTrigger", {
            "project_id": self.project_id, "run_id": self.run_id,
            "hex_conn_id": self.hex_conn_id, "poll_interval": self.poll_interval,
            "timeout_at": self.timeout_at, "kill_on_timeout": self.kill_on_timeout,
            "cancel_on_kill": self.cancel_on_kill,
        })

    async def run(self) -> AsyncIterator[TriggerEvent]:
        client = await HexHook(self.hex_conn_id).aget_conn()
        job = client.attach(self.project_id, self.run_id)
        release = True
        try:
            event = await self._wait(job)
            yield TriggerEvent(event)
        except asyncio.CancelledError:
            if (not TRIGGERER_CALLS_ON_KILL and self.cancel_on_kill
                    and job.poll() not in TERMINAL_STATES):
                self.log.info("trigger cancelled: cancelling Hex run %s", self.run_id)
                release = await self._cancel(job)
            raise
        finally:
            if release:
                job.release()

    async def on_kill(self) -> None:
        """Airflow 3.3+: the user killed the deferred task; cancel the Hex run."""
        if not self.cancel_on_kill:
            return
        client = await HexHook(self.hex_conn_id).aget_conn()
        job = client.attach(self.project_id, self.run_id)
        release = True
        try:
            # An attached job is PENDING until the engine's first poll says what it is.
            deadline = time.monotonic() + CANCEL_CONFIRM_S
            while (job.info.hex_status is None and job.poll() not in TERMINAL_STATES
                   and time.monotonic() < deadline):
                await asyncio.sleep(0.05)
            if job.poll() not in TERMINAL_STATES:
                self.log.info("task killed: cancelling Hex run %s", self.run_id)
                release = await self._cancel(job)
        finally:
            if release:
                job.release()

    async def _wait(self, job: hexrun.Job) -> Dict[str, Any]:
        """Sleeps on the event loop between cheap local state reads."""
        while True:
            if job.poll() in TERMINAL_STATES:
                return dict(run_xcom(job.info), event="done",
                            error_message=job.info.error_message)
            if self.timeout_at is not None and time.time() >= self.timeout_at:
                if self.kill_on_timeout:
                    self.log.info("timeout: cancelling Hex run %s", self.run_id)
                    await self._cancel(job)
                return dict(run_xcom(job.info), event="timeout",
                            error_message=job.info.error_message)
            await asyncio.sleep(self.poll_interval)

    async def _cancel(self, job: hexrun.Job) -> bool:
        """Asks for the cancel and waits a bounded time for Hex to confirm it. Returns
        whether the job may be released (releasing earlier could drop the cancel)."""
        try:
            job.cancel()
        except hexrun.StateError:  # ended meanwhile
            return True
        deadline = time.monotonic() + CANCEL_CONFIRM_S
        while time.monotonic() < deadline:
            if job.poll() in TERMINAL_STATES:
                return True
            try:
                await asyncio.sleep(0.1)
            except asyncio.CancelledError:  # cancelled again: stop waiting, keep the cancel
                return False
        return False
