"""What the end-to-end suites share: where the built binaries are, the fixture projects of
hexsim/scenarios/test.json, and the environment that points hexrun-host at a hexsim."""
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


def env_for(sim, token="hxtok_admin"):
    """The caller's environment without HEX_*/HEXRUN_* settings, pointed at sim."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEX_", "HEXRUN_"))}
    env.update(HEXRUN_PLUGIN=PLUGIN, HEX_API_BASE_URL=sim.base_url, HEX_API_TOKEN=token)
    return env
