"""hexrun.airflow on an Airflow without ResumableJobMixin (python/requirements-airflow-3.0.txt:
the newest 3.0 release, the oldest hexrun supports), against hexsim. The operator must fall
back cleanly: `durable=True` (the default) is ignored, and a retry in another process
re-attaches through the idempotency key and journal_path, as on Airflow 3.3 with
durable=False. Run by `make check-airflow-fallback`, in its own venv."""
from test_airflow_provider import (P_OK, assert_run_xcom, crash_then_retry, dags,  # noqa: F401
                                   run_dag, sigterm_while_running, sim_runs)


def test_operator_falls_back_without_the_mixin():
    import airflow.sdk
    from hexrun.airflow import operators
    assert not hasattr(airflow.sdk, "ResumableJobMixin"), airflow.__version__
    assert operators.ResumableJobMixin is None
    assert operators.HexRunProjectOperator.__bases__ == (operators.BaseOperator,)
    assert operators.HexRunProjectOperator(task_id="t", project_id=P_OK).durable


def test_run_completes(sim, dags, out):
    state, tis = run_dag(dags, "hex_success", {"region": "apac"})
    assert state == "success" and tis["run"] == ("success", 1)
    [run] = sim_runs(sim, P_OK)
    assert_run_xcom(out("hex_success")["run"], run)
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}


def test_sigterm_cancels_the_run(sim, airflow_db, out):
    sigterm_while_running(sim, out, "hex_kill", callback_sees_exception=False)


def test_retry_in_another_process_reattaches_through_the_journal(sim, airflow_db):
    crash_then_retry(sim, "hex_journal_durable")  # durable=True, which 3.0 cannot honour
