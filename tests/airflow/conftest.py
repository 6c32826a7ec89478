"""Fixtures for the hexrun.airflow tests: a throwaway AIRFLOW_HOME (sqlite), hexsim, and the
`hex_default` connection pointing at it. Airflow reads its configuration at import, so the
environment is set here, before any test module imports airflow."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

AIRFLOW_HOME = tempfile.mkdtemp(prefix="hexrun-airflow-")
OUT_DIR = os.path.join(AIRFLOW_HOME, "out")
os.makedirs(OUT_DIR)
os.environ.update({
    "AIRFLOW_HOME": AIRFLOW_HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(HERE, "dags"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    "HEXRUN_AIRFLOW_OUT": OUT_DIR,
    # The public API (extra links) through FastAPI's test client, without a login.
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
})

from hexsim import HexSim  # noqa: E402

ADMIN = "hxtok_admin"
# Fast polling and no client-side budget, so the DAG tests are quick; the trigger test
# uses its own connection with hexrun's defaults.
FAST_EXTRAS = {"poll_min_ms": 50, "poll_max_ms": 200, "run_budget_per_min": 0,
               "run_budget_per_hour": 0, "api_budget_per_min": 0, "api_budget_per_hour": 0}


def airflow_cli(*args, timeout=120, **kwargs):
    """Runs the `airflow` command of this venv with the test environment."""
    exe = os.path.join(os.path.dirname(sys.executable), "airflow")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout,
                          **kwargs)


def set_connection(conn_id, base_url, extras, conn_type="hex"):
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(
        {"conn_type": conn_type, "host": base_url, "password": ADMIN, "extra": extras})


def pytest_unconfigure(config):
    """The throwaway AIRFLOW_HOME goes at the end of every session, whatever ran."""
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_db():
    done = airflow_cli("db", "migrate", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def sim_session():
    with HexSim(args=["--time-scale", "20"]) as s:
        # hexrun's own connection type here, Hex's provider's type `hex` elsewhere.
        set_connection("hex_default", s.base_url, FAST_EXTRAS, conn_type="hexrun")
        set_connection("hex_defaults", s.base_url, {})
        # The submit journal (docs/journal.md) lets a retry in another process re-attach;
        # hexrun's info lines (journal_attach, adopted...) say in the task's output how.
        set_connection("hex_journal", s.base_url,
                       dict(FAST_EXTRAS, journal_path=os.path.join(AIRFLOW_HOME, "journal"),
                            log_level="info"))
        set_connection("hex_one_run_per_min", s.base_url,
                       dict(FAST_EXTRAS, run_budget_per_min=1, run_budget_per_hour=1))
        yield s


@pytest.fixture
def sim(sim_session):
    """hexsim back to its scenario (no runs, zero counters, time scale 20) for each test."""
    sim_session.sim("POST", "/__sim/reset")
    sim_session.sim("POST", "/__sim/time_scale", {"scale": 20})
    return sim_session


@pytest.fixture
def out():
    """Reads what the DAG's record task and failure callbacks wrote."""
    for name in os.listdir(OUT_DIR):
        os.unlink(os.path.join(OUT_DIR, name))

    def read(dag_id):
        path = os.path.join(OUT_DIR, f"{dag_id}.json")
        if not os.path.exists(path):
            return {}
        with open(path) as f:
            return json.load(f)
    return read
