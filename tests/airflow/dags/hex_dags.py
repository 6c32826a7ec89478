"""DAGs the hexrun.airflow tests run through Airflow's own dag.test() / `airflow dags test`.

Project ids are hexsim's test fixtures (hexsim/scenarios/test.json). Each DAG ends with
`record`, which writes what downstream tasks see in XCom to $HEXRUN_AIRFLOW_OUT/<dag_id>.json,
and failing tasks write their exception there through on_failure_callback.
"""
import json
import os
import signal
from datetime import datetime, timedelta

from airflow.sdk import DAG, task

from hexrun.airflow.hooks import is_terminal, wait_until
from hexrun.airflow.operators import HexRunProjectOperator
from hexrun.airflow.sensors import HexRunSensor

P_OK = "11111111-1111-4111-8111-111111111111"
P_SLOW = "44444444-4444-4444-8444-444444444444"
START = datetime(2026, 1, 1)


def _out(dag_id, what, value):
    path = os.path.join(os.environ.get("HEXRUN_AIRFLOW_OUT", "/tmp"), f"{dag_id}.json")
    data = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data[what] = value
    with open(path, "w") as f:
        json.dump(data, f)


def record_failure(context, what="failure"):
    ti = context["ti"]
    _out(ti.dag_id, f"{what}:{ti.task_id}:{ti.try_number}", str(context.get("exception")))


def record_retry(context):
    record_failure(context, "retry")


@task
def record(task_ids, **context):
    """Pulls each task's XCom (return value and the per-key values) into the out file."""
    ti = context["ti"]
    for task_id in task_ids:
        pulled = {"return_value": ti.xcom_pull(task_ids=task_id)}
        for key in ("run_id", "run_url", "status", "elapsed"):
            pulled[key] = ti.xcom_pull(task_ids=task_id, key=key)
        _out(ti.dag_id, task_id, pulled)


def _dag(dag_id, **kwargs):
    return DAG(dag_id, schedule=None, start_date=START, catchup=False,
               default_args={"on_failure_callback": record_failure,
                             "on_retry_callback": record_retry}, **kwargs)


with _dag("hex_success"):
    run = HexRunProjectOperator(
        task_id="run", project_id=P_OK, wait_seconds=0.2, timeout=60,
        input_parameters={"region": "{{ dag_run.conf.get('region', 'emea') }}", "days": 3})
    run >> record(["run"])

with _dag("hex_fail"):
    # The project comes from the run's conf, so one DAG covers every failing outcome.
    HexRunProjectOperator(task_id="run", project_id="{{ dag_run.conf['project'] }}",
                          wait_seconds=0.2, timeout=60)

with _dag("hex_fail_retry"):
    # The first attempt's run ends ERRORED: the retry must start a new run, not re-attach.
    HexRunProjectOperator(task_id="run", project_id="22222222-2222-4222-8222-222222222222",
                          wait_seconds=0.2, timeout=60, retries=1,
                          retry_delay=timedelta(seconds=0))

with _dag("hex_budget"):
    # A client allowed one RunProject a minute: the second submit waits for budget, past
    # its timeout, and is dropped before it is ever sent.
    first = HexRunProjectOperator(task_id="first", project_id=P_OK, synchronous=False,
                                  hex_conn_id="hex_one_run_per_min")
    second = HexRunProjectOperator(task_id="second", project_id=P_OK, timeout=1,
                                   hex_conn_id="hex_one_run_per_min")
    first >> second

with _dag("hex_timeout"):
    HexRunProjectOperator(task_id="run", project_id=P_SLOW, timeout=2, kill_on_timeout=True)

with _dag("hex_kill"):
    HexRunProjectOperator(task_id="run", project_id=P_SLOW, timeout=600)


class _SigtermAsSubmitReturns:
    """A client whose submit() makes the real submit, waits for Hex's answer (so the run
    exists in hexsim and a cancel kills it rather than dropping a queued submit), then
    raises SIGTERM: Airflow's handler (on_kill) runs at once, inside the submit call chain,
    before the operator can keep the Job the call returns."""

    def __init__(self, client):
        self._client = client

    def submit(self, *args, **kwargs):
        job = self._client.submit(*args, **kwargs)
        wait_until(job, lambda i: i.run_id is not None or is_terminal(i), 120)
        signal.raise_signal(signal.SIGTERM)
        return job

    def __getattr__(self, name):
        return getattr(self._client, name)


class _KilledAsSubmitReturns(HexRunProjectOperator):
    """Test only: the operator with its client wrapped as above."""

    @property
    def _client(self):
        return self.__dict__.get("_wrapped_client")

    @_client.setter
    def _client(self, client):
        self.__dict__["_wrapped_client"] = client and _SigtermAsSubmitReturns(client)


with _dag("hex_kill_as_submit_returns"):
    # kill_on_timeout=False: without on_kill's cancel the run would stay RUNNING.
    _KilledAsSubmitReturns(task_id="run", project_id=P_SLOW, timeout=60,
                           kill_on_timeout=False)

with _dag("hex_deferrable"):
    run = HexRunProjectOperator(task_id="run", project_id=P_OK, deferrable=True,
                                wait_seconds=0.2, timeout=60)
    run >> record(["run"])

with _dag("hex_deferrable_timeout"):
    HexRunProjectOperator(task_id="run", project_id=P_SLOW, deferrable=True,
                          wait_seconds=0.2, timeout=2, kill_on_timeout=True)

with _dag("hex_retry"):
    # Each attempt gives up after 0.5 s and leaves the run going (kill_on_timeout=False);
    # the next attempt must find the same run through the idempotency key.
    run = HexRunProjectOperator(task_id="run", project_id=P_OK, timeout=0.5,
                                kill_on_timeout=False, retries=12,
                                retry_delay=timedelta(seconds=0))
    run >> record(["run"])

with _dag("hex_mapped"):
    # Two mapped instances: the map index is part of each one's idempotency key.
    runs = HexRunProjectOperator.partial(task_id="run", project_id=P_OK, wait_seconds=0.2,
                                         timeout=60).expand(
        input_parameters=[{"region": "emea"}, {"region": "apac"}])
    runs >> record(["run"])

with _dag("hex_journal"):
    # Run with `airflow tasks test` in two processes; the connection sets journal_path
    # (durable=False: the journal alone, not task_state_store, must find the run).
    HexRunProjectOperator(task_id="run", project_id=P_OK, hex_conn_id="hex_journal",
                          wait_seconds=0.2, timeout=60, durable=False)

with _dag("hex_journal_durable"):
    # As hex_journal with durable=True (the default): on an Airflow without
    # ResumableJobMixin (3.0-3.2), the operator falls back to the key and the journal.
    HexRunProjectOperator(task_id="run", project_id=P_OK, hex_conn_id="hex_journal",
                          wait_seconds=0.2, timeout=60)

# Run with `airflow tasks test` in two processes, with no journal: the second finds the
# first one's run through task_state_store (Airflow 3.3's ResumableJobMixin), or not at all
# (durable=False).
with _dag("hex_durable"):
    HexRunProjectOperator(task_id="run", project_id=P_OK, wait_seconds=0.2, timeout=60)

with _dag("hex_not_durable"):
    HexRunProjectOperator(task_id="run", project_id=P_OK, wait_seconds=0.2, timeout=60,
                          durable=False)

with _dag("hex_durable_window"):
    # The test holds the lookup of the lost RunProject answer's run, and SIGKILLs the worker
    # after the POST and before the run id is stored.
    HexRunProjectOperator(task_id="run", project_id=P_OK, wait_seconds=0.2, timeout=60)

with _dag("hex_status_log"):
    # A status line when the status changes and every 0.5 s while it does not.
    HexRunProjectOperator(task_id="run", project_id=P_OK, wait_seconds=0.2, timeout=60,
                          status_log_interval=0.5)

with _dag("hex_async"):
    HexRunProjectOperator(task_id="run", project_id=P_OK, synchronous=False)

with _dag("hex_aliases"):
    # dbt Cloud's / Databricks' names: do not wait (for a 30 s run: a loaded machine cannot
    # make it look waited for), look every 0.2 s.
    start = HexRunProjectOperator(task_id="start", project_id=P_SLOW,
                                  wait_for_termination=False, check_interval=0.2)
    wait = HexRunProjectOperator(task_id="wait", project_id=P_OK, timeout=60,
                                 wait_for_termination=True, polling_period_seconds=0.2,
                                 idempotency_key="aliases-wait")
    start >> wait >> record(["start", "wait"])

with _dag("hex_sensor"):
    start = HexRunProjectOperator(task_id="start", project_id=P_OK, synchronous=False)
    run_id = "{{ ti.xcom_pull(task_ids='start', key='run_id') }}"
    poke = HexRunSensor(task_id="poke", project_id=P_OK, run_id=run_id, poke_interval=0.2,
                        timeout=60)
    deferred = HexRunSensor(task_id="deferred", project_id=P_OK, run_id=run_id,
                            deferrable=True, poke_interval=0.2, timeout=60)
    start >> poke >> deferred >> record(["start", "poke", "deferred"])
