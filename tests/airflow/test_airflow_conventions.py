"""hexrun.airflow as Airflow users of the dbt Cloud and Databricks providers expect it: the
connection form, the "Hex Run" extra link, status lines in the task log, their parameter
names, durable retries through task_state_store, and one client per process (issue 19).
Real Airflow from PyPI against hexsim, as test_airflow_provider.py."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from conftest import ADMIN, AIRFLOW_HOME, FAST_EXTRAS, airflow_cli
from test_airflow_provider import (CLI_START_S, P_OK, dags, sim_runs,  # noqa: F401 (dags)
                                   task_end_state)

AIRFLOW = os.path.join(os.path.dirname(sys.executable), "airflow")
LOGICAL_DATE = "2026-01-01T00:00:00+00:00"


def tasks_test(dag_id, timeout=CLI_START_S + 60):
    """`airflow tasks test <dag> run`: one attempt of the task in a new process."""
    done = airflow_cli("tasks", "test", dag_id, "run", LOGICAL_DATE, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def status_lines(output, run_id):
    return [line.split(f"Hex run {run_id}: ", 1)[1] for line in output.splitlines()
            if f"Hex run {run_id}: " in line]


# ---- the connection form, as Airflow 3 reads it ----

def test_connection_form_read_back_through_providers_manager(airflow_db):
    from airflow.providers_manager import ProvidersManager
    manager = ProvidersManager()
    meta = {m.connection_type: m for m in manager.iter_connection_type_hook_ui_metadata()}
    for conn_type, name in (("hexrun", "Hex (hexrun)"), ("hex", "Hex")):
        assert meta[conn_type].hook_name == name
        assert meta[conn_type].hook_class_name.startswith("hexrun.airflow.hooks.")
        form = meta[conn_type].field_behaviour
        assert form["hidden_fields"] == ["login", "schema"]
        assert form["relabeling"]["password"] == "Hex API token"
        assert form["relabeling"]["host"] == "Hex base URL"
        assert form["placeholders"]["host"] == "https://app.hex.tech"
    widgets = manager._connection_form_widgets_from_metadata
    journal = widgets["extra__hexrun__journal_path"]
    assert journal.field["schema"]["title"] == "Submit journal path"
    assert widgets["extra__hexrun__timeout_ms"].field["schema"]["type"] == ["integer", "null"]
    assert not journal.is_sensitive


def test_hook_reads_the_forms_fields_and_keeps_the_port(sim, airflow_db, tmp_path):
    from airflow.sdk import Connection
    from hexrun.airflow.hooks import HexHook, base_url_from_host
    # hex://:tok@host:port puts the port in its own field.
    conn = Connection(conn_id="c", uri="hex://:tok@hex.example.com:8443")
    assert HexHook.settings_from_connection(conn)[0] == "https://hex.example.com:8443"
    assert base_url_from_host("https://h:9000", port=8443) == "https://h:9000"
    # The form saves its fields bare or prefixed, and untouched ones empty.
    form = Connection(conn_id="c", conn_type="hexrun", password="tok", extra=json.dumps(
        {"extra__hexrun__timeout_ms": 5000, "journal_path": "", "ca_file": None}))
    assert HexHook.settings_from_connection(form)[2] == {"timeout_ms": "5000"}
    # End to end: the URI form reaches hexsim on its port (schema "http" for hexsim).
    host, port = sim.base_url.split("://")[1].rsplit(":", 1)
    os.environ["AIRFLOW_CONN_HEX_BY_URI"] = f"hexrun://:{ADMIN}@{host}:{port}/http"
    assert HexHook("hex_by_uri").test_connection() == (True, "connected as ada@example.com")


def test_journal_directory_is_created_or_fails_at_setup(sim, airflow_db, tmp_path):
    from airflow.sdk import Connection
    from hexrun.airflow.hooks import HexHook
    journal = tmp_path / "var" / "lib" / "hexrun" / "journal"
    os.environ["AIRFLOW_CONN_HEX_NEW_DIR"] = json.dumps(
        {"conn_type": "hexrun", "host": sim.base_url, "password": ADMIN,
         "extra": dict(FAST_EXTRAS, journal_path=str(journal))})
    job = HexHook("hex_new_dir").run_project(P_OK, idempotency_key="journal-dir")
    assert job.wait(timeout=60).succeeded
    assert journal.exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    bad = Connection(conn_id="bad", conn_type="hexrun", password="tok",
                     extra=json.dumps({"journal_path": str(blocker / "j")}))
    with pytest.raises(ValueError, match=r"connection 'bad': journal_path .* cannot be created"):
        HexHook.settings_from_connection(bad)


def test_hex_provider_beside_hexrun_owns_type_hex(airflow_db):
    """Hex's own provider (airflow-provider-hex, from PyPI, installed aside by
    python/airflow.mk) on the path too: it keeps `hex`, hexrun keeps `hexrun`, and Airflow
    has no conflict to warn about."""
    target = os.environ.get("HEX_PROVIDER_DIR")
    assert target and os.path.isdir(target), "make check-airflow sets HEX_PROVIDER_DIR"
    script = ("import json\n"
              "from airflow.providers_manager import ProvidersManager\n"
              "pm = ProvidersManager()\n"
              "pm.initialize_providers_hooks()\n"
              "print(json.dumps({t: pm._hook_provider_dict[t].package_name\n"
              "                  for t in ('hex', 'hexrun')}))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (target, os.environ.get("PYTHONPATH")) if p))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    owners = json.loads(done.stdout.strip().splitlines()[-1])
    assert owners == {"hex": "airflow-provider-hex", "hexrun": "hexrun"}
    assert "already registered" not in done.stderr, done.stderr[-2000:]


# ---- the "Hex Run" extra link, through Airflow's public API ----

def test_extra_link_to_the_run_through_the_api(sim, dags):
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient
    dag_run = dags["hex_success"].test()
    assert str(dag_run.state) == "success"
    [run] = sim_runs(sim, P_OK)
    with TestClient(create_app()) as api:
        answer = api.get(f"/api/v2/dags/hex_success/dagRuns/{dag_run.run_id}"
                         f"/taskInstances/run/links")
    assert answer.status_code == 200, answer.text
    assert answer.json()["extra_links"] == {"Hex Run": run["runUrl"]}


# ---- status in the task log ----

def test_status_logged_on_change_and_every_interval(sim, airflow_db):
    sim.sim("POST", "/__sim/time_scale", {"scale": 2})  # P_OK: pending 0.5 s, runs 2-4 s
    started = time.monotonic()
    rc, output = tasks_test("hex_status_log")
    wall = time.monotonic() - started
    assert rc == 0 and task_end_state(output) == "success", output[-3000:]
    [run] = sim_runs(sim, P_OK)
    lines = status_lines(output, run["runId"])
    assert lines and lines[0].split()[0] in ("PENDING", "RUNNING"), lines
    assert any(line.startswith("RUNNING") for line in lines), lines  # the change
    assert any(line.startswith("still ") for line in lines), lines   # the heartbeat
    # Not a line per check (every 0.2 s): the changes, and one per 0.5 s while none.
    assert len(lines) <= 2 * wall + 4, (len(lines), wall, lines)
    assert f"Hex run {run['runId']} ended COMPLETED" in output


def test_not_waiting_logs_accepted_not_none(sim, airflow_db):
    rc, output = tasks_test("hex_async")
    assert rc == 0 and task_end_state(output) == "success", output[-3000:]
    [run] = sim_runs(sim, P_OK)
    assert f"Hex run {run['runId']} accepted (status " in output
    assert "not waiting for it (synchronous=False)" in output
    assert "None s" not in output


# ---- dbt Cloud / Databricks parameter names ----

def test_dbt_cloud_and_databricks_parameter_names(sim, dags, out):
    from hexrun.airflow.operators import HexRunProjectOperator
    dag_run = dags["hex_aliases"].test()
    assert str(dag_run.state) == "success"
    seen = out("hex_aliases")
    assert seen["start"]["status"] in ("PENDING", "RUNNING")  # did not wait for its 30 s run
    assert seen["wait"]["status"] == "COMPLETED"
    task = dags["hex_aliases"].get_task("start")
    assert (task.synchronous, task.wait_seconds) == (False, 0.2)
    with pytest.raises(ValueError, match="synchronous=False and wait_for_termination=True"):
        HexRunProjectOperator(task_id="x", project_id=P_OK, synchronous=False,
                              wait_for_termination=True)


# ---- durable retries across hosts: task_state_store, no shared journal ----

def task_state(dag_id):
    """The task's task_state_store rows, read from Airflow's database."""
    with sqlite3.connect(os.path.join(AIRFLOW_HOME, "airflow.db")) as db:
        rows = db.execute("SELECT key, value FROM task_state_store WHERE dag_id = ?",
                          (dag_id,)).fetchall()
    return {key: json.loads(value) for key, value in rows}


def start_worker(dag_id):
    return subprocess.Popen([AIRFLOW, "tasks", "test", dag_id, "run", LOGICAL_DATE],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_when(worker, what, predicate, timeout=CLI_START_S):
    try:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline and worker.poll() is None, what
            time.sleep(0.05)
    finally:
        worker.kill()  # the worker dies: no on_kill, no clean exit
        worker.wait()


def crash_then_retry(sim, dag_id, stored):
    """A worker killed while the run goes on (once the run id is stored, when `stored`),
    then the retry in a new process, with no journal: (the run, the retry's output)."""
    # hexsim's clock all but stopped until the first worker is dead: its run is still
    # PENDING then, however long the worker takes to store the run id on a loaded machine
    # (at time scale 0.5 the run could end, 8-16 s after it was made, before the kill).
    sim.sim("POST", "/__sim/time_scale", {"scale": 0.001})
    first = start_worker(dag_id)
    kill_when(first, "run never started",
              lambda: sim_runs(sim, P_OK) and (not stored or "hexrun_run_id" in task_state(dag_id)))
    [run] = sim_runs(sim, P_OK)
    assert run["status"] == "PENDING"
    sim.sim("POST", "/__sim/time_scale", {"scale": 2})  # P_OK runs 2-4 s
    rc, output = tasks_test(dag_id)
    assert rc == 0 and task_end_state(output) == "success", output[-3000:]
    return run, output


def test_retry_on_another_host_reattaches_through_task_state_store(sim, airflow_db):
    # (The same steps with DAG hex_not_durable, durable=False, make two runs.)
    run, output = crash_then_retry(sim, "hex_durable", stored=True)
    assert sim.runs()["created_per_project"][P_OK] == 1
    # The mixin's words: still running, or already done when the retry came.
    assert ("Reconnecting to existing job" in output or
            "Job already completed successfully" in output), output[-3000:]
    assert f"Hex run {run['runId']} ended COMPLETED" in output


def test_worker_killed_between_post_and_store_still_one_run(sim, airflow_db):
    # RunProject makes its run and the answer is lost; the worker looks for the run at once,
    # but hexsim holds every lookup (GetProjectRuns) for ten minutes: the worker is killed
    # while it waits, with the run made and its id stored nowhere. (A race against the
    # lookup instead failed once on a loaded machine: the worker found and stored the id
    # before the kill.)
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "RunProject", "kind": "drop_after", "count": 1},
        {"endpoint": "GetProjectRuns", "kind": "delay", "delay_ms": 600000, "count": 1000}]})
    first = start_worker("hex_durable_window")
    kill_when(first, "run never started, or never looked for",
              lambda: sim_runs(sim, P_OK) and sim.in_flight("GetProjectRuns") >= 1)
    sim.sim("DELETE", "/__sim/faults")
    state = task_state("hex_durable_window")
    assert "hexrun_run_id" not in state and "run_id" not in state["hexrun_submit"], state
    rc, output = tasks_test("hex_durable_window")
    assert rc == 0 and task_end_state(output) == "success", output[-3000:]
    [run] = sim_runs(sim, P_OK)
    assert sim.runs()["created_per_project"][P_OK] == 1
    assert "looking for its run before starting one" in output
    assert f"Hex run {run['runId']} ended COMPLETED" in output
    assert task_state("hex_durable_window")["hexrun_run_id"] == run["runId"]


# ---- one client per process, under threads and fork (issue 19) ----

def engine_threads(settle_to=None):
    """Threads of this process; with settle_to, waits (<= 5 s) for that many: a direct
    call from the main thread runs on a short-lived helper thread (Ctrl-C gets through),
    which may still be exiting when the call returns."""
    deadline = time.monotonic() + 5
    while True:
        n = len(os.listdir("/proc/self/task"))
        if settle_to is None or n == settle_to or time.monotonic() > deadline:
            return n
        time.sleep(0.01)


def test_shared_client_once_under_32_threads_and_per_child_after_fork(sim, airflow_db):
    from hexrun.airflow import hooks
    settings = (sim.base_url, ADMIN, {"timeout_ms": "12345"})
    for t in threading.enumerate():  # earlier direct calls' helper threads, if any
        if t.name == "hexrun-call":
            t.join(5)
    before = engine_threads()
    barrier, got = threading.Barrier(32), []

    def ask():
        barrier.wait()
        got.append(hooks.shared_client(*settings))
    threads = [threading.Thread(target=ask) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in got}) == 1
    client = got[0]
    client.me()  # starts its engine thread
    assert engine_threads(settle_to=before + 1) == before + 1

    # A fork while another thread holds the table's lock: the child gets a fresh lock and
    # its own client, and does not hang.
    hooks._CLIENTS_LOCK.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # child: report through the exit code only
            signal.alarm(30)
            try:
                mine = hooks.shared_client(*settings)
                mine.me()
                os._exit(0 if mine is not client else 3)
            except BaseException:
                os._exit(4)
    finally:
        hooks._CLIENTS_LOCK.release()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status

    with hooks._CLIENTS_LOCK:
        key = next(k for k, c in hooks._CLIENTS.items() if c is client)
        del hooks._CLIENTS[key]
    client.close()
    deadline = time.monotonic() + 30
    while engine_threads() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine_threads() == before
