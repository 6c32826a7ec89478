"""hexrun.airflow on an Airflow without ResumableJobMixin (python/requirements-airflow-3.0.txt:
the newest 3.0 release, the oldest hexrun supports), against hexsim. The operator must fall
back cleanly: `durable=True` (the default) is ignored, and a retry in another process
re-attaches through the idempotency key and journal_path, as on Airflow 3.3 with
durable=False. Run by `make check-airflow-fallback`, in its own venv."""
import pytest

from conftest import airflow_cli
from test_airflow_provider import (CLI_START_S, KILL_MOMENTS, P_OK,  # noqa: F401 (dags)
                                   assert_run_xcom, crash_then_retry, dags, run_dag,
                                   sigterm_while_running, sim_runs, task_end_state)


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


@pytest.mark.parametrize("kill_at", KILL_MOMENTS)
def test_retry_in_another_process_reattaches_through_the_journal(sim, airflow_db, kill_at):
    crash_then_retry(sim, "hex_journal_durable", kill_at)  # durable=True, which 3.0 cannot honour


def test_a_failed_task_is_seen_though_tasks_test_exits_0(sim, airflow_db):
    """`airflow tasks test` exits 0 on Airflow 3.0 when the task fails, so the tests that
    run it judge by the state the task ended in (task_end_state), which must say failed."""
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "RunProject", "kind": "status", "status": 500, "count": 100}]})
    done = airflow_cli("tasks", "test", "hex_durable", "run",
                       "2026-01-01T00:00:00+00:00", timeout=CLI_START_S + 60)
    output = done.stdout + done.stderr
    assert task_end_state(output) == "failed", (done.returncode, output[-3000:])
    assert "ended COMPLETED" not in output
