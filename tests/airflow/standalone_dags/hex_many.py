"""20 deferrable mapped runs of one project: in a real deployment they all wait in one
triggerer process (tests/airflow/test_standalone.py)."""
from datetime import datetime
from airflow.sdk import DAG
from hexrun.airflow.operators import HexRunProjectOperator

with DAG("hex_many", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
         max_active_tasks=20):
    HexRunProjectOperator.partial(task_id="run", project_id="11111111-1111-4111-8111-111111111111",
                                  deferrable=True, wait_seconds=1, timeout=600).expand(
        input_parameters=[{"region": f"r{i}"} for i in range(20)])
