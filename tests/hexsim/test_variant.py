"""hexsim's variant profile: answers Hex's spec allows that the default profile never gives
(docs/hexsim.md, "The variant profile"). Each switch on its own through /__sim/variant, the
`spec-variant` preset through --profile and the scenario, and the default left as it was.

Waits are on observed states with deadlines, never on sleeps alone.
"""
import email.utils
import os
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from hexsim import HexSim  # noqa: E402

ADMIN = "hxtok_admin"
P_OK = "11111111-1111-4111-8111-111111111111"
P_SLOW = "44444444-4444-4444-8444-444444444444"
UNKNOWN = "99999999-9999-4999-8999-999999999999"
RUNS = f"/v1/projects/{P_OK}/runs"
OFF = {"unknown_object_status": 404, "run_project_after_work": None, "cancel_after_work": None,
       "odd_fields": False, "extra_fields": False, "opaque_next_page": False,
       "async_cancel_ms": 0, "cancel_race_every": 0, "unknown_status": None,
       "retry_after_date": False}


@pytest.fixture
def sim():
    # profile="default" so that HEXSIM_PROFILE (check-e2e-variant) cannot change these tests.
    with HexSim(args=["--time-scale", "20", "--seed", "3"], profile="default") as s:
        yield s


def switch(sim, **switches):
    return sim.sim("POST", "/__sim/variant", switches)


def wait_for(sim, path, pred, timeout=10.0):
    """Polls GET path until pred(body) holds; returns that body."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = sim.call("GET", path, token=ADMIN)
        if status == 200 and pred(body):
            return body
        assert time.monotonic() < deadline, f"{path}: still {status} {body}"
        time.sleep(0.02)


def created_runs(sim, project):
    return sim.runs()["created_per_project"][project]


def test_default_profile_has_every_switch_off(sim):
    assert sim.sim("GET", "/__sim/variant") == OFF
    assert sim.call("GET", f"{RUNS}/{UNKNOWN}", token=ADMIN)[0] == 404


def test_spec_variant_profile_from_the_command_line_and_reset_keeps_it():
    with HexSim(args=["--time-scale", "20"], profile="spec-variant") as s:
        v = s.sim("GET", "/__sim/variant")
        assert v["unknown_object_status"] == "spec" and v["odd_fields"] and v["retry_after_date"]
        assert v["run_project_after_work"] == {"status": 504, "every": 3}
        s.sim("POST", "/__sim/variant", {"odd_fields": False})
        s.sim("POST", "/__sim/reset")
        assert s.sim("GET", "/__sim/variant")["odd_fields"] is True
        assert s.sim("POST", "/__sim/variant", {"profile": "default"}) == OFF


def test_bad_switches_are_refused_with_their_name(sim):
    for body in ({"nope": 1}, {"unknown_object_status": 410}, {"odd_fields": 1},
                 {"run_project_after_work": {"status": 404}}, {"unknown_status": "RUNNING"},
                 {"async_cancel_ms": -1}, {"profile": "other"}):
        status, _, err = sim.call("POST", "/__sim/variant", body=body)
        assert status == 400 and "error" in err, body
    assert sim.sim("GET", "/__sim/variant") == OFF


def test_unknown_objects_as_422_or_400(sim):
    switch(sim, unknown_object_status="spec")
    # 422 where the operation declares it, else 400.
    assert sim.call("GET", f"{RUNS}/{UNKNOWN}", token=ADMIN)[0] == 422
    assert sim.call("DELETE", f"{RUNS}/{UNKNOWN}", token=ADMIN)[0] == 422
    assert sim.call("GET", f"/v1/projects/{UNKNOWN}/runs", token=ADMIN)[0] == 422
    assert sim.call("GET", f"/v1/groups/{UNKNOWN}", token=ADMIN)[0] == 400
    status, _, body = sim.call("GET", f"/v1/projects/{UNKNOWN}", token=ADMIN)
    assert status == 400 and body["code"] == "BAD_REQUEST"
    switch(sim, unknown_object_status=422)
    assert sim.call("GET", f"/v1/groups/{UNKNOWN}", token=ADMIN)[0] == 422


def test_run_project_answers_5xx_after_creating_the_run(sim):
    switch(sim, run_project_after_work={"status": 504, "every": 2})
    answers = []
    for _ in range(4):
        status, headers, body = sim.call("POST", RUNS, token=ADMIN, body={})
        answers.append(status)
        if status == 504:
            assert headers["content-type"].startswith("text/html") and "504" in body
    assert answers == [201, 504, 201, 504]
    assert created_runs(sim, P_OK) == 4  # every answer, 504 or not, started a run
    # dryRun and refused requests do no work, so they neither count nor fail.
    assert sim.call("POST", RUNS, token=ADMIN, body={"dryRun": True})[0] == 201
    assert sim.call("POST", RUNS, token=ADMIN, body={"bad": 1})[0] == 400
    assert sim.call("POST", RUNS, token=ADMIN, body={})[0] == 201


def test_status_after_fault_does_the_work_then_fails(sim):
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "RunProject", "kind": "status_after", "status": 502, "count": 1}]})
    status, _, body = sim.call("POST", RUNS, token=ADMIN, body={})
    assert status == 502 and "reason" in body
    assert created_runs(sim, P_OK) == 1
    assert sim.call("POST", RUNS, token=ADMIN, body={})[0] == 201


def test_cancel_answers_5xx_after_cancelling(sim):
    _, _, run = sim.call("POST", f"/v1/projects/{P_SLOW}/runs", token=ADMIN, body={})
    switch(sim, cancel_after_work={"status": 502, "every": 1})
    path = f"/v1/projects/{P_SLOW}/runs/{run['runId']}"
    assert sim.call("DELETE", path, token=ADMIN)[0] == 502
    assert sim.call("GET", path, token=ADMIN)[2]["status"] == "KILLED"


def test_odd_and_extra_optional_fields(sim):
    switch(sim, odd_fields=True, extra_fields=True)
    status, _, created = sim.call("POST", RUNS, token=ADMIN, body={})
    assert status == 201
    assert len(created["traceId"]) == 70
    assert created["projectVersion"] == 1.0 and isinstance(created["projectVersion"], float)
    assert "kernel" in created
    done = wait_for(sim, f"{RUNS}/{created['runId']}", lambda b: b["status"] == "COMPLETED")
    assert done["elapsedTime"] < 0 and len(done["traceId"]) == 70 and "labels" in done
    page = sim.call("GET", RUNS, token=ADMIN)[2]
    assert len(page["traceId"]) == 70 and page["matched"] == 1
    assert page["runs"][0]["elapsedTime"] < 0
    # /__sim/runs shows the truth.
    assert sim.runs()["runs"][0]["elapsedTime"] >= 0


def test_opaque_next_page_walks_every_run_without_offset(sim):
    ids = sim.sim("POST", "/__sim/runs", {"projectId": P_OK, "count": 25})["runIds"]
    switch(sim, opaque_next_page=True)
    seen, url = [], f"{RUNS}?limit=10"
    while url:
        _, _, page = sim.call("GET", url, token=ADMIN)
        seen += [r["runId"] for r in page["runs"]]
        nxt = page["nextPage"]
        assert nxt is None or ("offset=" not in nxt and nxt.startswith(sim.base_url))
        assert page["previousPage"] is None or "offset=" not in page["previousPage"]
        url = nxt and nxt[len(sim.base_url):]
    assert seen == ids[::-1]
    # offset= still works (a client may count), but not together with a cursor.
    assert sim.call("GET", f"{RUNS}?limit=10&offset=20", token=ADMIN)[2]["runs"][0]["runId"] \
        == ids[4]
    for bad in ("cursor=zzz", "cursor=c00000000x", "cursor=c5bd1e99f&offset=1"):
        assert sim.call("GET", f"{RUNS}?{bad}", token=ADMIN)[0] == 400, bad


def test_asynchronous_cancel(sim):
    # 4000 hexsim ms = 200 real ms at a time scale of 20.
    switch(sim, async_cancel_ms=4000)
    _, _, run = sim.call("POST", f"/v1/projects/{P_SLOW}/runs", token=ADMIN, body={})
    path = f"/v1/projects/{P_SLOW}/runs/{run['runId']}"
    t0 = time.monotonic()
    assert sim.call("DELETE", path, token=ADMIN)[0] == 204
    live = sim.call("GET", path, token=ADMIN)[2]["status"]
    if time.monotonic() - t0 < 0.15:  # on a loaded machine the window may already be gone
        assert live in ("PENDING", "RUNNING")
    assert sim.call("DELETE", path, token=ADMIN)[0] in (204, 422)  # a cancel under way
    wait_for(sim, path, lambda b: b["status"] == "KILLED")


def test_run_completes_while_the_cancel_is_in_flight(sim):
    switch(sim, cancel_race_every=1, async_cancel_ms=2000)
    _, _, run = sim.call("POST", f"/v1/projects/{P_SLOW}/runs", token=ADMIN, body={})
    path = f"/v1/projects/{P_SLOW}/runs/{run['runId']}"
    assert sim.call("DELETE", path, token=ADMIN)[0] == 204
    done = wait_for(sim, path, lambda b: b["status"] not in ("PENDING", "RUNNING"))
    assert done["status"] == "COMPLETED"
    assert sim.call("DELETE", path, token=ADMIN)[0] == 422


def test_unknown_status_instead_of_pending(sim):
    switch(sim, unknown_status="QUEUED_FOR_KERNEL")
    _, _, run = sim.call("POST", f"/v1/projects/{P_SLOW}/runs", token=ADMIN, body={})
    path = f"/v1/projects/{P_SLOW}/runs/{run['runId']}"
    body = sim.call("GET", path, token=ADMIN)[2]
    if body["status"] != "RUNNING":  # P_SLOW is pending for 1-2 hexsim s (50-100 real ms)
        assert body["status"] == "QUEUED_FOR_KERNEL"
    assert sim.runs()["runs"][0]["transitions"][0]["status"] == "PENDING"


def test_retry_after_as_an_http_date(sim):
    switch(sim, retry_after_date=True)
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "GetProjectRuns", "kind": "status", "status": 429, "retry_after": "30"}]})
    before = time.time()
    status, headers, _ = sim.call("GET", RUNS, token=ADMIN)
    assert status == 429
    when = email.utils.parsedate_to_datetime(headers["retry-after"]).timestamp()
    assert before + 30 <= when <= time.time() + 32
