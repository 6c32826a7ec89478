"""HexRunSensor: waits for a Hex run started elsewhere (e.g. by a non-synchronous
HexRunProjectOperator, whose run id is in XCom) to end."""
import time
from datetime import timedelta
from typing import Any, Dict, Optional

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from ._compat import AirflowException, conf
from .hooks import FAILED_STATES, HexHook
from .operators import failure_message
from .triggers import HexRunTrigger

HEX_TERMINAL = ("COMPLETED", "ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL")


class HexRunSensor(BaseSensorOperator):
    """Succeeds when the run is COMPLETED; fails with the run URL when it ends otherwise.

    :param project_id: the Hex project UUID (templated).
    :param run_id: the run to wait for (templated, e.g.
        "{{ ti.xcom_pull(task_ids='start', key='run_id') }}").
    :param hex_conn_id: connection of type `hex`.
    :param deferrable: wait in the triggerer instead of poking.
    The sensor does not own the run: it never cancels it.
    """

    template_fields = ("project_id", "run_id")
    ui_color = "#F5C0C0"

    def __init__(self, *, project_id: str, run_id: str, hex_conn_id: str = "hex_default",
                 deferrable: bool = conf.getboolean("operators", "default_deferrable",
                                                    fallback=False),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.run_id = run_id
        self.hex_conn_id = hex_conn_id
        self.deferrable = deferrable

    def execute(self, context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        self.defer(trigger=HexRunTrigger(project_id=self.project_id, run_id=self.run_id,
                                         hex_conn_id=self.hex_conn_id,
                                         poll_interval=min(float(self.poke_interval), 1.0),
                                         timeout_at=time.time() + float(self.timeout),
                                         kill_on_timeout=False, cancel_on_kill=False),
                   method_name="execute_complete",
                   timeout=timedelta(seconds=float(self.timeout) + 60))

    def poke(self, context) -> PokeReturnValue:
        """One GetRunStatus request."""
        run = HexHook(self.hex_conn_id).run_status(self.project_id, self.run_id)
        status = run.get("status")
        self.log.info("Hex run %s: %s", self.run_id, status)
        if status not in HEX_TERMINAL:
            return PokeReturnValue(is_done=False)
        elapsed = run.get("elapsedTime")
        xcom = {"run_id": self.run_id, "run_url": run.get("runUrl"), "status": status,
                "elapsed": elapsed / 1000.0 if isinstance(elapsed, (int, float)) else None,
                "project_id": self.project_id, "trace_id": run.get("traceId")}
        return PokeReturnValue(is_done=True, xcom_value=self._check(xcom))

    def execute_complete(self, context, event: Dict[str, Any]) -> Dict[str, Any]:
        xcom = {k: event.get(k) for k in ("run_id", "run_url", "status", "elapsed",
                                          "project_id", "trace_id")}
        if event.get("event") == "timeout":
            raise AirflowException(f"Hex run {self.run_id} did not end within {self.timeout} s"
                                   f" (status {xcom['status']}): {xcom['run_url']}")
        return self._check(xcom, event.get("error_message"))

    @staticmethod
    def _check(xcom: Dict[str, Any], error: Optional[str] = None) -> Dict[str, Any]:
        if xcom["status"] in FAILED_STATES:
            raise AirflowException(failure_message(xcom, error))
        return xcom
