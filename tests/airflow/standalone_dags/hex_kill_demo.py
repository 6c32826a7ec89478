"""Two long runs, one waiting in a worker and one deferred, for `airflow tasks clear`
(a user action) to kill (tests/airflow/test_standalone.py)."""
from datetime import datetime
from airflow.sdk import DAG
from hexrun.airflow.operators import HexRunProjectOperator

P_SLOW = "44444444-4444-4444-8444-444444444444"
with DAG("hex_kill_demo", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    HexRunProjectOperator(task_id="in_worker", project_id=P_SLOW, timeout=3600)
    HexRunProjectOperator(task_id="deferred", project_id=P_SLOW, deferrable=True, timeout=3600)
