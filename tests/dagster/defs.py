"""Dagster definitions used by the tests, importable in-process and by the subprocess run
(`python run_job.py`). The Hex server is hexsim at HEX_API_BASE_URL."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

from dagster import Definitions, EnvVar, job  # noqa: E402

from hexrun.dagster import HexResource, build_hex_run_op, hex_run_op  # noqa: E402

def _interrupt_right_after_submit():
    """HEXRUN_TEST_INTERRUPT_AFTER_SUBMIT=1: Dagster's termination lands the moment
    Client.submit has returned (once Hex has made the run), before the step can do anything
    with the job: SIGINT raised in the step's own thread, which Dagster's handler turns into
    DagsterExecutionInterruptedError right there, as a termination signal arriving then would."""
    import signal
    import time

    import hexrun
    submit = hexrun.Client.submit

    def submit_then_interrupted(self, *args, **kwargs):
        job = submit(self, *args, **kwargs)
        deadline = time.monotonic() + 60
        while not job.info.run_id and time.monotonic() < deadline:  # Hex has the run
            time.sleep(0.05)
        signal.raise_signal(signal.SIGINT)
        return job

    hexrun.Client.submit = submit_then_interrupted


if os.environ.get("HEXRUN_TEST_INTERRUPT_AFTER_SUBMIT"):
    _interrupt_right_after_submit()

P_OK = "11111111-1111-4111-8111-111111111111"
P_ERR = "22222222-2222-4222-8222-222222222222"
P_NOKERNEL = "33333333-3333-4333-8333-333333333333"
P_SLOW = "44444444-4444-4444-8444-444444444444"


def hex_resource(**overrides):
    """Short polls so a run at --time-scale 20 is seen finishing quickly, and Hex's rate
    limits scaled like hexsim's clock (else the 30 requests/min budget throttles polls)."""
    settings = dict(base_url=EnvVar("HEX_API_BASE_URL"), api_token=EnvVar("HEX_API_TOKEN"),
                    poll_min_ms=50, poll_max_ms=200, wait_slice_s=0.2,
                    config={"budget_time_scale": "20"},
                    journal_path=os.environ.get("HEXRUN_TEST_JOURNAL"))
    settings.update(overrides)
    return HexResource(**settings)


refresh_ok = build_hex_run_op("refresh_ok", project_id=P_OK, inputs={"region": "emea"})
slow = build_hex_run_op("slow_report", project_id=P_SLOW)


@job(resource_defs={"hex": hex_resource()})
def ok_job():
    refresh_ok()


@job(resource_defs={"hex": hex_resource()})
def slow_job():
    slow()


@job(resource_defs={"hex": hex_resource()})
def configured_job():
    """The generic op: project and inputs come from run config."""
    hex_run_op()


@job(resource_defs={"hex": hex_resource()})
def chained_job():
    """Two runs in sequence: the second starts after the first completed."""
    second = build_hex_run_op("second", project_id=P_OK)
    second(start_after=refresh_ok())


failing = build_hex_run_op("failing", project_id=P_ERR)


@job(resource_defs={"hex": hex_resource()})
def err_job():
    failing()


@job(resource_defs={"hex": hex_resource(
        journal_path=None,
        # Polls (and the look-up for a RunProject whose answer was lost) this far apart:
        # 10 s unless the test says otherwise, so a worker can be killed in that window.
        poll_min_ms=int(os.environ.get("HEXRUN_TEST_WINDOW_POLL_MS", "10000")),
        poll_max_ms=int(os.environ.get("HEXRUN_TEST_WINDOW_POLL_MS", "10000")))})
def window_job():
    """refresh_ok with no journal: the event log is the only record across attempts."""
    refresh_ok()


# What `dagster job execute -f defs.py -j JOB` (and `dagster dev`) load.
definitions = Definitions(jobs=[ok_job, slow_job, configured_job, chained_job, err_job,
                                 window_job])
