"""hexrun.airflow in a real Airflow deployment: `airflow standalone` (scheduler, LocalExecutor
workers, triggerer, API server, DAG processor) against hexsim, with the DAGs of
tests/airflow/standalone_dags. Heavy (about a minute of several processes), so it is its own
target, `make check-airflow-standalone`, not part of `make check`."""
import glob
import math
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import ADMIN, HERE
from hexsim import HexSim

P_OK = "11111111-1111-4111-8111-111111111111"
P_SLOW = "44444444-4444-4444-8444-444444444444"
BIN = os.path.dirname(sys.executable)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    home = str(tmp_path_factory.mktemp("airflow-standalone"))
    # hexsim at a quarter of real speed: P_OK runs take 16-32 s, P_SLOW never ends here.
    with HexSim(args=["--time-scale", "0.25"]) as sim:
        api_port = free_port()
        env = dict(os.environ, PATH=BIN + os.pathsep + os.environ["PATH"], AIRFLOW_HOME=home,
                   AIRFLOW__CORE__DAGS_FOLDER=os.path.join(HERE, "standalone_dags"),
                   AIRFLOW__CORE__LOAD_EXAMPLES="False",
                   AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
                   AIRFLOW__CORE__EXECUTOR="LocalExecutor", AIRFLOW__CORE__PARALLELISM="4",
                   AIRFLOW__API__HOST="127.0.0.1", AIRFLOW__API__PORT=str(api_port),
                   AIRFLOW__CORE__EXECUTION_API_SERVER_URL=(
                       f"http://127.0.0.1:{api_port}/execution/"),
                   AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
                   AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
                   AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
                   AIRFLOW_CONN_HEX_DEFAULT=(f'{{"conn_type": "hex", "host": "{sim.base_url}", '
                                             f'"password": "{ADMIN}"}}'))
        migrate = subprocess.run(["airflow", "db", "migrate"], env=env, capture_output=True,
                                 text=True, timeout=300)
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        log = open(os.path.join(home, "standalone.log"), "w")
        proc = subprocess.Popen(["airflow", "standalone"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield sim, env, home
        finally:
            stop_group(proc)
            log.close()


def stop_group(proc):
    """SIGTERM to standalone's process group, then wait until every member is gone (its
    scheduler and API server outlive standalone itself by a few seconds)."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def cli(env, *args):
    done = subprocess.run(["airflow", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def trigger_dag(env, dag_id):
    # The DAG processor must have parsed the file before the DAG can be unpaused.
    wait_for(f"{dag_id} parsed", lambda: dag_id in cli(env, "dags", "list"), 120)
    cli(env, "dags", "unpause", dag_id)
    cli(env, "dags", "trigger", dag_id)


def runs(sim, project_id):
    return [r for r in sim.runs()["runs"] if r["projectId"] == project_id]


def test_twenty_deferred_tasks_share_the_triggerers_client(deployment):
    sim, env, home = deployment
    sim.sim("POST", "/__sim/reset")
    trigger_dag(env, "hex_many")
    wait_for("20 completed runs", lambda: [r["status"] for r in runs(sim, P_OK)]
             == ["COMPLETED"] * 20, 240)
    wait_for("the DAG run to succeed", lambda: '"state": "success"' in cli(
        env, "dags", "list-runs", "hex_many", "--output", "json").replace('":"', '": "'), 180)
    trigger_logs = glob.glob(os.path.join(home, "logs", "dag_id=hex_many", "**",
                                          "*.log.trigger.*"), recursive=True)
    assert len(trigger_logs) == 20  # every task deferred to the triggerer
    requests = sim.counters()["requests"]
    polls = sum(sum(requests.get(name, {}).values()) for name in ("GetRunStatus",
                                                                   "GetProjectRuns"))
    naive = sum(math.ceil((r["transitions"][-1]["at_ms"] - r["transitions"][0]["at_ms"])
                          / 3000) + 1 for r in runs(sim, P_OK))
    print(f"\nstandalone, 20 deferred tasks: {polls} polls {requests} vs {naive} for per-run "
          f"3 s polling")
    assert requests["RunProject"] == {"201": 20}
    assert polls < naive / 2


def test_clearing_running_and_deferred_tasks_cancels_their_runs(deployment):
    sim, env, home = deployment
    sim.sim("POST", "/__sim/reset")
    trigger_dag(env, "hex_kill_demo")
    wait_for("2 running runs", lambda: [r["status"] for r in runs(sim, P_SLOW)]
             == ["RUNNING"] * 2, 120)
    wait_for("the deferred task in the triggerer", lambda: glob.glob(os.path.join(
        home, "logs", "dag_id=hex_kill_demo", "**", "task_id=deferred", "*.log.trigger.*"),
        recursive=True), 60)
    first = [r["runId"] for r in runs(sim, P_SLOW)]
    cli(env, "tasks", "clear", "-y", "hex_kill_demo")  # a user action on both tasks
    try:
        wait_for("both runs killed", lambda: all(
            r["status"] == "KILLED" for r in runs(sim, P_SLOW) if r["runId"] in first), 90)
    finally:
        print("\nruns:", [(r["runId"], r["status"]) for r in runs(sim, P_SLOW)],
              "\ncounters:", sim.counters()["requests"])
    assert sim.counters()["requests"]["CancelRun"] == {"204": 2}
