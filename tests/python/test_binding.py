"""The hexrun Python package (ctypes) against the built libhexrun.so.1 and hexsim."""
import os
import re
import subprocess
import sys
import threading
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402
from hexsim import HexSim  # noqa: E402
from waiting import thread_sleeps, wait_for  # noqa: E402

ADMIN = "hxtok_admin"
P_OK = "11111111-1111-4111-8111-111111111111"
P_ERR = "22222222-2222-4222-8222-222222222222"
P_SLOW = "44444444-4444-4444-8444-444444444444"
P_UNPUB = "55555555-5555-4555-8555-555555555555"


@pytest.fixture(scope="module")
def sim():
    with HexSim(args=["--time-scale", "20"]) as s:
        yield s


@pytest.fixture
def client(sim):
    with hexrun.Client(base_url=sim.base_url, token=ADMIN, poll_min_ms=50,
                       poll_max_ms=200) as c:
        yield c


def test_version_and_plugin_info():
    info = hexrun.plugin_info()
    assert info["name"] == "hexrun" and info["abi"]["major"] == 1
    assert hexrun.version() == info["version"]
    assert "submit" in info["capabilities"] and "token" in info["config_keys"]


def test_submit_wait_completed_with_info(client):
    job = client.submit(P_OK, inputs={"region": "emea", "days": 3})
    info = job.wait(timeout=30)
    assert info.succeeded and info.hex_status == "COMPLETED"
    assert re.fullmatch(r"[0-9a-f-]{36}", info.run_id)
    assert info.run_url.startswith("http://") and info.elapsed_ms >= 3000
    assert job.poll() == "COMPLETED"


def test_failed_run_raises_with_its_url(client):
    job = client.submit(P_ERR)
    with pytest.raises(hexrun.RunFailed) as e:
        job.wait(timeout=30)
    assert e.value.info.state == "ERRORED"
    assert e.value.info.run_url in str(e.value)
    assert job.wait(timeout=1, raise_on_failure=False).state == "ERRORED"


def test_refused_submit_carries_hex_reason(client):
    info = client.submit(P_UNPUB).wait(timeout=10, raise_on_failure=False)
    assert info.state == "SUBMIT_FAILED"
    assert "published" in info.error_message and info.trace_id


def test_cancel_and_attach(sim, client):
    job = client.submit(P_SLOW)
    wait_for(lambda: job.info.run_id, "the submitted job's run id")
    other = client.attach(P_SLOW, job.info.run_id)
    job.cancel()
    assert job.wait(timeout=30, raise_on_failure=False).state == "KILLED"
    assert other.wait(timeout=30, raise_on_failure=False).state == "KILLED"
    with pytest.raises(hexrun.StateError):
        job.cancel()
    assert client.wait_any([job, other], timeout=1) in (job, other)


def test_a_job_slot_holds_the_job_however_the_call_returns(client, monkeypatch):
    """The id is written into the slot inside the library call: a caller whose call is
    interrupted right after it (here: the error check raising) still finds the job."""
    slot = hexrun.JobSlot()
    assert slot.job is None
    real_check = hexrun.client._check

    def interrupted_check(rc):
        real_check(rc)
        raise KeyboardInterrupt

    monkeypatch.setattr(hexrun.client, "_check", interrupted_check)
    with pytest.raises(KeyboardInterrupt):
        client.submit(P_SLOW, into=slot)
    monkeypatch.setattr(hexrun.client, "_check", real_check)
    assert slot.job is not None and slot.job.info.project_id == P_SLOW
    wait_for(lambda: slot.job.info.run_id, "the slot's job's run id")
    slot.job.cancel()
    assert slot.job.wait(timeout=30, raise_on_failure=False).state == "KILLED"
    attached = hexrun.JobSlot()
    assert client.attach(P_SLOW, slot.job.info.run_id, into=attached) is attached.job
    with pytest.raises(ValueError):  # one slot, one job
        client.submit(P_SLOW, into=slot)


def test_wait_timeout_and_released_job(client):
    job = client.submit(P_SLOW)
    with pytest.raises(hexrun.Timeout):
        job.wait(timeout=0.05)
    job.cancel()
    job.release()
    with pytest.raises(hexrun.NoSuchJob):
        job.poll()


def test_wait_releases_the_gil(client):
    job = client.submit(P_SLOW)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    with pytest.raises(hexrun.Timeout):
        job.wait(timeout=0.5)
    stop.set()
    t.join()
    job.cancel()
    assert len(ticks) > 50, "another Python thread did not run during wait"


def test_threads_share_one_client(client):
    jobs, errors = [], []

    def worker():
        try:
            for _ in range(5):
                jobs.append(client.submit(P_OK))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a thread still submitting after 60 s"
    assert not errors
    assert all(j.wait(timeout=60).succeeded for j in jobs)
    assert len({j.id for j in jobs}) == 20


def test_lists_and_admin_calls(client):
    assert any(p["id"] == P_OK for p in client.projects())
    assert client.project(P_OK)["title"]
    assert client.me()["org"]["id"]
    users = list(client.users("limit=1"))  # one item per page: the iterator follows cursors
    assert len(users) >= 3 and len({u["id"] for u in users}) == len(users)
    group = client.create_group("python", user_ids=[users[0]["id"]])
    assert client.group(group["id"])["name"] == "python"
    assert client.edit_group(group["id"], name="renamed")["name"] == "renamed"
    client.delete_group(group["id"])
    with pytest.raises(hexrun.NotFound):
        client.group(group["id"])
    conns = list(client.connections())
    assert client.connection(conns[0]["id"])["name"]
    assert len(list(client.collections())) >= 2
    runs = client.runs(P_OK, all_pages=True)
    assert runs and all(r["projectId"] == P_OK for r in runs)
    status, body = client.request("GET", "/v1/users/me")
    assert status == 200 and body["org"]["id"]


def test_errors_name_the_problem(sim):
    with pytest.raises(hexrun.ConfigError, match="no_such_key"):
        hexrun.Client(base_url=sim.base_url, token=ADMIN, no_such_key=1)
    with pytest.raises(hexrun.ConfigError, match="timeout_ms"):
        hexrun.Client(base_url=sim.base_url, token=ADMIN, timeout_ms="soon")
    with hexrun.Client(base_url=sim.base_url, token="wrong") as bad:
        with pytest.raises(hexrun.AuthError):
            bad.me()
    with hexrun.Client(base_url=sim.base_url, token=ADMIN) as c:
        with pytest.raises(hexrun.InvalidArgument, match="project"):
            c.submit("not-a-uuid")
        with pytest.raises(hexrun.InvalidArgument):
            c.submit(P_OK, bogusKey=1)
        with pytest.raises(hexrun.NotFound):
            c.project("99999999-9999-4999-8999-999999999999")


def test_token_never_in_errors(sim):
    secret = "hxtok_secret_value_123"
    with hexrun.Client(base_url=sim.base_url, token=secret) as c:
        with pytest.raises(hexrun.AuthError) as e:
            c.me()
    assert secret not in str(e.value)


def test_header_parses_with_cffi():
    import cffi

    pre = subprocess.run(["cc", "-E", "-P", "-DHEXRUN_API=", os.path.join(ROOT, "include",
                                                                          "hexrun.h")],
                         check=True, capture_output=True, text=True).stdout
    # cffi has its own fixed-width integer types; drop the C library's definitions.
    decls = "\n".join(l for l in pre.splitlines()
                      if not re.match(r"\s*typedef .*\b(u?int\d+_t|__\w+)\s*;", l)
                      and "__" not in l)
    ffi = cffi.FFI()
    ffi.cdef(decls)
    lib = ffi.dlopen(os.environ["HEXRUN_LIBRARY"])
    assert lib.hexrun_abi_version() >> 16 == 1
    assert ffi.string(lib.hexrun_state_name(lib.HEXRUN_STATE_KILLED)) == b"KILLED"


def test_a_requested_cancel_survives_close(sim):
    """Closing the client right after cancel() must not leave the run going in Hex."""
    with hexrun.Client(base_url=sim.base_url, token=ADMIN, poll_min_ms=20) as c:
        job = c.submit(P_SLOW)
        run_id = wait_for(lambda: job.info.run_id, "the submitted job's run id")
        job.cancel()
    status, _, body = sim.call("GET", f"/v1/projects/{P_SLOW}/runs/{run_id}", token=ADMIN)
    assert status == 200 and body["status"] == "KILLED"


def test_token_file_readable_by_others_warns(sim, tmp_path, capfd):
    path = tmp_path / "token"
    path.write_text(ADMIN + "\n")
    for mode, warned in ((0o644, True), (0o600, False)):
        os.chmod(path, mode)
        with hexrun.Client(base_url=sim.base_url, token_file=str(path)) as c:
            assert c.me()["org"]["id"]
        err = capfd.readouterr().err
        assert ("token_file_permissions" in err) == warned, err
        assert ADMIN not in err


def test_close_cancel_live_cancels_a_submit_whose_answer_is_still_coming(sim):
    """Airflow's on_kill closes with cancel_live while RunProject may be in flight: Hex makes
    the run all the same, so close must wait for its id (or find it) and cancel it."""
    sim.sim("POST", "/__sim/reset")
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})
    # hexsim holds the RunProject (a 10-minute delay) until close is waiting for its answer,
    # then lets it go (the run is made then): the job is SUBMITTING when close starts,
    # however slowly this test runs (a 1 s delay could pass before the close).
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "RunProject", "kind": "delay", "delay_ms": 600000, "count": 1}]})
    try:
        c = hexrun.Client(base_url=sim.base_url, token=ADMIN, poll_min_ms=50, poll_max_ms=200)
        job = c.submit(P_SLOW)
        wait_for(lambda: sim.in_flight("RunProject") == 1, "the held RunProject")
        assert job.poll() == "SUBMITTING"
        closer = threading.Thread(target=c.close, kwargs={"cancel_live": True})
        closer.start()
        wait_for(lambda: thread_sleeps(os.getpid(), closer.native_id),
                 "close waiting for the RunProject's answer")
        sim.sim("POST", "/__sim/release")
        closer.join(60)
        assert not closer.is_alive(), "close still waiting 60 s after the answer"
        runs = sim.runs()["runs"]
        assert [r["status"] for r in runs] == ["KILLED"]
    finally:
        sim.sim("POST", "/__sim/reset")
        sim.sim("POST", "/__sim/time_scale", {"scale": 20})


# ---- submit_or_adopt (ABI 1.1): a RunProject another, dead process may have sent ----

def earlier_process_runs(sim, count):
    """hexsim makes `count` API runs of P_OK, as the lost RunProjects of a dead process."""
    return sim.sim("POST", "/__sim/runs", {"projectId": P_OK, "count": count,
                                           "runTrigger": "API"})["runIds"]


def run_projects_sent(sim):
    return sum(sim.counters()["requests"].get("RunProject", {}).values())


def test_submit_or_adopt_adopts_the_earlier_run(sim, client):
    sim.sim("POST", "/__sim/reset")
    since = int(time.time() * 1000)
    [earlier] = earlier_process_runs(sim, 1)
    job = client.submit_or_adopt(P_OK, since, idempotency_key="dead-worker-1")
    info = job.wait(timeout=30)
    assert info.run_id == earlier and info.succeeded
    assert "adopted run " + earlier in info.error_message
    assert run_projects_sent(sim) == 0


def test_submit_or_adopt_submits_when_no_run_appeared(sim, client):
    sim.sim("POST", "/__sim/reset")
    # Long enough ago (more than 31 poll_min_ms) that a run it made would be listed.
    since = int(time.time() * 1000) - 5000
    job = client.submit_or_adopt(P_OK, since, idempotency_key="dead-worker-2")
    info = job.wait(timeout=30)
    assert info.succeeded and info.error_message is None
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}
    assert [r["runId"] for r in sim.runs()["runs"]] == [info.run_id]


def test_submit_or_adopt_never_guesses_between_two_runs(sim, client):
    sim.sim("POST", "/__sim/reset")
    since = int(time.time() * 1000)
    earlier_process_runs(sim, 2)
    job = client.submit_or_adopt(P_OK, since)
    info = job.wait(timeout=30, raise_on_failure=False)
    assert info.state == "SUBMIT_UNKNOWN" and info.run_id is None
    assert "2 API run(s) of the project appeared" in info.error_message
    assert run_projects_sent(sim) == 0


def test_submit_or_adopt_checks_its_arguments(client):
    with pytest.raises(hexrun.InvalidArgument, match="since_unix_ms 0 is not a past time"):
        client.submit_or_adopt(P_OK, 0)
    future = int(time.time() * 1000) + 3600 * 1000
    with pytest.raises(hexrun.InvalidArgument, match="since_unix_ms"):
        client.submit_or_adopt(P_OK, future)
