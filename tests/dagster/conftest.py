"""Fixtures: one hexsim (--time-scale 20) for the module, its URL and token in the
environment the Dagster definitions (defs.py) and the subprocess runs read."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, HERE)
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

from hexsim import HexSim  # noqa: E402


@pytest.fixture(scope="session")
def sim():
    with HexSim(args=["--time-scale", "20"]) as s:
        os.environ["HEX_API_BASE_URL"] = s.base_url
        os.environ["HEX_API_TOKEN"] = "hxtok_admin"
        yield s


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    """A persistent Dagster instance and a submit journal, fresh for each test."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("HEXRUN_TEST_JOURNAL", str(tmp_path / "journal"))
    return home


def runs_of(sim, project_id):
    """hexsim's runs of one project, oldest first."""
    return [r for r in sim.runs()["runs"] if r["projectId"] == project_id]


@pytest.fixture
def real_time(sim):
    """hexsim's clock at real time for one test: P_SLOW runs 10 minutes, so only a cancel
    ends it however long a loaded machine takes to get there (at 20x it ran 30 s)."""
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})
    yield sim
    sim.sim("POST", "/__sim/time_scale", {"scale": 20})
