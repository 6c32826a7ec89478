"""What the end-to-end suites share: where the built binaries are, the fixture projects of
hexsim/scenarios/test.json, and the environment that points hexrun-host at a hexsim."""
import contextlib
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from hexsim import HexSim  # noqa: E402,F401  (re-exported for the suites)

BUILD = os.environ.get("HEXRUN_BUILD", os.path.join(ROOT, "build"))
# HEXRUN_HOST_WRAPPER (e.g. tests/e2e/valgrind-host.sh) runs hexrun-host under a tool.
HOST = os.environ.get("HEXRUN_HOST_WRAPPER") or os.path.join(BUILD, "hexrun-host")
PLUGIN = os.path.join(BUILD, "libhexrun.so.1")

P_OK = "11111111-1111-4111-8111-111111111111"
P_SLOW = "44444444-4444-4444-8444-444444444444"


# Each switch of hexsim's variant profile as the default profile has it (docs/hexsim.md).
VARIANT_OFF = {"unknown_object_status": 404, "run_project_after_work": None,
               "cancel_after_work": None, "odd_fields": False, "extra_fields": False,
               "opaque_next_page": False, "async_cancel_ms": 0, "cancel_race_every": 0,
               "unknown_status": None, "retry_after_date": False}


@contextlib.contextmanager
def variant_off(sim, *switches):
    """Turns the named switches of hexsim's variant profile off for a block, then puts them
    back: for a test whose point is not that answer (under the default profile, a no-op)."""
    saved = sim.sim("GET", "/__sim/variant")
    sim.sim("POST", "/__sim/variant", {s: VARIANT_OFF[s] for s in switches})
    try:
        yield
    finally:
        sim.sim("POST", "/__sim/variant", {s: saved[s] for s in switches})


def env_for(sim, token="hxtok_admin"):
    """The caller's environment without HEX_*/HEXRUN_* settings, pointed at sim."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEX_", "HEXRUN_"))}
    env.update(HEXRUN_PLUGIN=PLUGIN, HEX_API_BASE_URL=sim.base_url, HEX_API_TOKEN=token)
    return env
