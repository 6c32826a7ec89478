"""hexsim's behaviour: auth, RunProject validation, run lifecycle, cancel, pagination, rate
limits, every fault kind, the /__sim/ control API and robustness against bad clients.

Each test that changes server-wide state (faults, limits, scenario) gets its own hexsim.
"""
import json
import os
import socket
import sys
import tempfile
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from hexsim import ROOT, HexSim  # noqa: E402
from waiting import wait_for  # noqa: E402

ADMIN, LIMITED = "hxtok_admin", "hxtok_limited"
P_OK = "11111111-1111-4111-8111-111111111111"
P_ERR = "22222222-2222-4222-8222-222222222222"
P_KERNEL = "33333333-3333-4333-8333-333333333333"
P_SLOW = "44444444-4444-4444-8444-444444444444"
P_UNPUB = "55555555-5555-4555-8555-555555555555"
P_MIX = "66666666-6666-4666-8666-666666666666"
RUNS = f"/v1/projects/{P_OK}/runs"


@pytest.fixture
def sim():
    with HexSim(args=["--time-scale", "20", "--seed", "1"]) as s:
        yield s


def run(sim, project=P_OK, body=None, token=ADMIN):
    status, _, created = sim.call("POST", f"/v1/projects/{project}/runs", token=token,
                                  body=body or {})
    assert status == 201, created
    return created["runId"]


def status_of(sim, run_id, project=P_OK):
    status, _, body = sim.call("GET", f"/v1/projects/{project}/runs/{run_id}", token=ADMIN)
    assert status == 200, body
    return body


def wait_status(sim, run_id, project, want, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = status_of(sim, run_id, project)
        if body["status"] == want:
            return body
        time.sleep(0.02)
    raise AssertionError(f"run {run_id} never reached {want}")


def created(sim, project):
    return sim.runs()["created_per_project"][project]


# ---- auth --------------------------------------------------------------------------

def test_auth_missing_unknown_and_forbidden(sim):
    assert sim.call("GET", RUNS)[0] == 401
    assert sim.call("GET", RUNS, token="nope")[0] == 401
    assert sim.call("GET", RUNS, token=LIMITED)[0] == 200
    status, _, body = sim.call("GET", f"/v1/projects/{P_ERR}/runs", token=LIMITED)
    assert status == 403 and body["reason"] and body["traceId"]
    sim.sim("POST", "/__sim/tokens/revoke", {"token": LIMITED})
    assert sim.call("GET", RUNS, token=LIMITED)[0] == 401


# ---- RunProject validation -----------------------------------------------------------

@pytest.mark.parametrize("body,status", [
    ({"bogus": True}, 400),
    ({"dryRun": 1}, 400),
    ({"viewId": "v", "inputParams": {"region": "a"}}, 422),
    ({"updatePublishedResults": True, "inputParams": {"region": "a"}}, 422),
    ({"notifications": [{"type": "ALL", "screenshotFormat": "gif"}]}, 400),
])
def test_run_body_rules(sim, body, status):
    got, _, answer = sim.call("POST", RUNS, token=ADMIN, body=body)
    assert got == status, answer
    assert created(sim, P_OK) == 0


def test_inputs_checked_against_the_project(sim):
    status, _, body = sim.call("POST", RUNS, token=ADMIN,
                               body={"inputParams": {"region": 5, "nosuch": 1, "days": 3}})
    assert status == 422
    assert body["notFound"] == ["nosuch"]
    assert [i["paramName"] for i in body["invalid"]] == ["region"]
    run(sim, body={"inputParams": {"region": "emea", "days": 3, "full": True}})


def test_unpublished_invalid_json_and_dry_run(sim):
    assert sim.call("POST", f"/v1/projects/{P_UNPUB}/runs", token=ADMIN, body={})[0] == 422
    status, _, body = sim.call("POST", RUNS, token=ADMIN, body="{not json")
    assert status == 400 and "not valid JSON" in body["reason"]
    status, _, body = sim.call("POST", RUNS, token=ADMIN, body={"dryRun": True})
    assert status == 201 and body["runId"]
    assert created(sim, P_OK) == 0
    assert sim.call("GET", f"{RUNS}/{body['runId']}", token=ADMIN)[0] == 404


def test_concurrency_cap_answers_503():
    scenario = json.load(open(os.path.join(ROOT, "hexsim", "scenarios", "test.json")))
    scenario["max_concurrent_runs"] = 2
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(scenario, f)
    try:
        with HexSim(scenario=f.name) as s:
            run(s, P_SLOW)
            run(s, P_SLOW)
            status, _, body = s.call("POST", f"/v1/projects/{P_SLOW}/runs", token=ADMIN, body={})
            assert status == 503 and body["reason"]
            assert created(s, P_SLOW) == 2
    finally:
        os.unlink(f.name)


# ---- lifecycle -------------------------------------------------------------------------

def test_lifecycle_pending_running_completed_with_times(sim):
    rid = run(sim)
    first = status_of(sim, rid)
    assert first["status"] == "PENDING" and first["startTime"] is None
    assert first["elapsedTime"] is None and first["runTrigger"] == "API"
    wait_status(sim, rid, P_OK, "RUNNING")
    done = wait_status(sim, rid, P_OK, "COMPLETED")
    assert done["startTime"] < done["endTime"]
    assert 3000 <= done["elapsedTime"] <= 6000  # running 3-6 s of hexsim time
    seen = [t["status"] for t in next(r for r in sim.runs()["runs"]
                                      if r["runId"] == rid)["transitions"]]
    assert seen == ["PENDING", "RUNNING", "COMPLETED"]


def test_failure_outcomes(sim):
    err, kernel = run(sim, P_ERR), run(sim, P_KERNEL)
    wait_status(sim, err, P_ERR, "ERRORED")
    body = wait_status(sim, kernel, P_KERNEL, "UNABLE_TO_ALLOCATE_KERNEL")
    assert body["status"] == "UNABLE_TO_ALLOCATE_KERNEL"


def test_outcome_mix_follows_the_scenario(sim):
    sim.sim("POST", "/__sim/runs", {"projectId": P_MIX, "count": 2000})
    sim.sim("POST", "/__sim/time_scale", {"scale": 100000})
    time.sleep(0.1)
    counts = {}
    for r in sim.runs()["runs"]:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    assert 0.75 < counts["COMPLETED"] / 2000 < 0.85
    assert 0.11 < counts["ERRORED"] / 2000 < 0.19
    assert 0.02 < counts["UNABLE_TO_ALLOCATE_KERNEL"] / 2000 < 0.08


def test_cancel_then_cancel_again_and_404s(sim):
    rid = run(sim, P_SLOW)
    path = f"/v1/projects/{P_SLOW}/runs/{rid}"
    assert sim.call("DELETE", path, token=ADMIN)[0] == 204
    assert status_of(sim, rid, P_SLOW)["status"] == "KILLED"
    assert sim.call("DELETE", path, token=ADMIN)[0] == 422
    unknown = "99999999-9999-4999-8999-999999999999"
    assert sim.call("DELETE", f"/v1/projects/{P_SLOW}/runs/{unknown}", token=ADMIN)[0] == 404
    assert sim.call("GET", f"/v1/projects/{unknown}/runs", token=ADMIN)[0] == 404


def test_legacy_paths_behave_the_same(sim):
    status, _, body = sim.call("POST", f"/v1/project/{P_SLOW}/run", token=ADMIN, body={})
    assert status == 201
    legacy = f"/v1/project/{P_SLOW}/run/{body['runId']}"
    assert sim.call("GET", legacy, token=ADMIN)[2]["runId"] == body["runId"]
    assert sim.call("GET", f"/v1/project/{P_SLOW}/runs", token=ADMIN)[2]["runs"][0]["runId"] \
        == body["runId"]
    assert sim.call("DELETE", legacy, token=ADMIN)[0] == 204
    assert sim.call("GET", f"/api{legacy}", token=ADMIN)[2]["status"] == "KILLED"


# ---- pagination ------------------------------------------------------------------------

def test_offset_pagination_newest_first_with_absolute_urls(sim):
    ids = sim.sim("POST", "/__sim/runs", {"projectId": P_OK, "count": 7})["runIds"]
    status, _, page = sim.call("GET", f"{RUNS}?limit=3", token=ADMIN)
    assert [r["runId"] for r in page["runs"]] == ids[::-1][:3]
    assert page["previousPage"] is None
    assert page["nextPage"].startswith(sim.base_url)
    seen = []
    url = f"{RUNS}?limit=3"
    while url:
        _, _, page = sim.call("GET", url, token=ADMIN)
        seen += [r["runId"] for r in page["runs"]]
        url = page["nextPage"] and page["nextPage"][len(sim.base_url):]
    assert seen == ids[::-1]
    for bad in ("limit=0", "limit=101", "offset=-1", "statusFilter=NOPE"):
        assert sim.call("GET", f"{RUNS}?{bad}", token=ADMIN)[0] == 400


def test_run_filters(sim):
    sim.sim("POST", "/__sim/runs", {"projectId": P_OK, "count": 2, "runTrigger": "SCHEDULED"})
    run(sim)
    _, _, page = sim.call("GET", f"{RUNS}?runTriggerFilter=SCHEDULED", token=ADMIN)
    assert len(page["runs"]) == 2
    _, _, page = sim.call("GET", f"{RUNS}?runTriggerFilter=ALL&statusFilter=PENDING", token=ADMIN)
    assert len(page["runs"]) == 3


@pytest.mark.parametrize("path,limit_max", [("/v1/users", 500), ("/v1/groups", 500),
                                            ("/v1/data-connections", 100),
                                            ("/v1/collections", 100), ("/v1/projects", 100)])
def test_cursor_pages_walk_without_gaps(sim, path, limit_max):
    _, _, everything = sim.call("GET", f"{path}?limit={limit_max}", token=ADMIN)
    all_ids = [v["id"] for v in everything["values"]]
    assert len(all_ids) >= 2 and everything["pagination"]["after"] is None
    seen, after = [], None
    while True:
        q = f"{path}?limit=1" + (f"&after={after}" if after else "")
        status, _, page = sim.call("GET", q, token=ADMIN)
        assert status == 200
        seen += [v["id"] for v in page["values"]]
        after = page["pagination"]["after"]
        if after is None:
            break
    assert seen == all_ids
    _, _, back = sim.call("GET", f"{path}?limit=1&before={page['pagination']['before']}",
                          token=ADMIN)
    assert [v["id"] for v in back["values"]] == all_ids[-2:-1]
    assert sim.call("GET", f"{path}?limit={limit_max + 1}", token=ADMIN)[0] == 400
    assert sim.call("GET", f"{path}?limit=0", token=ADMIN)[0] == 400


# ---- rate limits -----------------------------------------------------------------------

def test_rate_limits_per_token_with_retry_after(sim):
    sim.sim("POST", "/__sim/time_scale", {"scale": 1})
    sim.sim("POST", "/__sim/limits", {"enabled": True, "api_per_min": 3, "run_per_min": 2})
    codes = [sim.call("GET", RUNS, token=ADMIN)[0] for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    status, headers, body = sim.call("GET", RUNS, token=ADMIN)
    assert status == 429 and body["reason"] and body["traceId"]
    assert 1 <= int(headers["retry-after"]) <= 60
    assert sim.call("GET", RUNS, token=LIMITED)[0] == 200  # another token, another budget
    runs = [sim.call("POST", f"/v1/projects/{P_SLOW}/runs", token=ADMIN, body={})[0]
            for _ in range(3)]
    assert runs == [201, 201, 429]
    assert created(sim, P_SLOW) == 2


def test_rate_limit_windows_follow_the_time_scale(sim):
    """At 60x a hexsim minute is 1 s: a spent budget's Retry-After says 1 (real seconds, not
    up to 60) and the next window comes within seconds. Windows are fixed hexsim minutes,
    so the calls go on until one is refused (a window may end between two of them): nothing
    depends on how fast a loaded machine makes them."""
    sim.sim("POST", "/__sim/time_scale", {"scale": 60})
    sim.sim("POST", "/__sim/limits", {"enabled": True, "api_per_min": 2})

    def refused():
        answer = sim.call("GET", RUNS, token=ADMIN)
        return answer if answer[0] == 429 else None
    _, headers, _ = wait_for(refused, "a 429 at 2 calls a hexsim minute", timeout=30)
    assert headers["retry-after"] == "1"
    wait_for(lambda: sim.call("GET", RUNS, token=ADMIN)[0] == 200, "the next window",
             timeout=10)


# ---- faults ----------------------------------------------------------------------------

def fault(sim, **f):
    sim.sim("POST", "/__sim/faults", {"faults": [f]})


def raw_request(sim, method, path, body=b"", token=ADMIN, timeout=5):
    """Returns the raw bytes the server sent before closing (Connection: close)."""
    s = socket.create_connection(("127.0.0.1", sim.port), timeout=timeout)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
              f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    return out


@pytest.mark.parametrize("code,retry_after", [(500, None), (502, None), (503, "2"),
                                               (429, "3"), (429, None)])
def test_status_faults(sim, code, retry_after):
    f = {"endpoint": "GetProjectRuns", "kind": "status", "status": code, "count": 2}
    if retry_after:
        f["retry_after"] = retry_after
    fault(sim, **f)
    for _ in range(2):
        status, headers, _ = sim.call("GET", RUNS, token=ADMIN)
        assert status == code
        assert headers.get("retry-after") == retry_after
    assert sim.call("GET", RUNS, token=ADMIN)[0] == 200
    assert sim.counters()["requests"]["GetProjectRuns"][str(code)] == 2


def test_delay_fault(sim):
    fault(sim, endpoint="Me", kind="delay", delay_ms=300, count=1)
    t0 = time.time()
    assert sim.call("GET", "/v1/users/me", token=ADMIN)[0] == 200
    assert time.time() - t0 >= 0.3


def test_drop_before_creates_nothing_and_drop_after_creates_the_run(sim):
    fault(sim, endpoint="RunProject", kind="drop_before", count=1)
    assert raw_request(sim, "POST", RUNS, b"{}") == b""
    assert created(sim, P_OK) == 0
    fault(sim, endpoint="RunProject", kind="drop_after", count=1)
    assert raw_request(sim, "POST", RUNS, b"{}") == b""
    assert created(sim, P_OK) == 1  # the run exists though its answer was lost
    assert sim.counters()["requests"]["RunProject"]["0"] == 2


def test_truncate_malformed_slow_and_oversize_bodies(sim):
    fault(sim, endpoint="Me", kind="truncate", count=1)
    raw = raw_request(sim, "GET", "/v1/users/me")
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0]
                 .split(b":")[1])
    assert 0 < len(body) < length
    fault(sim, endpoint="Me", kind="malformed", count=1)
    status, _, body = sim.call("GET", "/v1/users/me", token=ADMIN)
    assert status == 200 and isinstance(body, str)
    with pytest.raises(ValueError):
        json.loads(body)
    fault(sim, endpoint="Me", kind="slow_body", delay_ms=20, count=1)
    t0 = time.time()
    status, _, body = sim.call("GET", "/v1/users/me", token=ADMIN)
    assert status == 200 and body["org"]["id"] and time.time() - t0 > 0.1
    fault(sim, endpoint="Me", kind="oversize", bytes=3_000_000, count=1)
    status, _, body = sim.call("GET", "/v1/users/me", token=ADMIN)
    assert status == 200 and len(body["padding"]) > 2_900_000 and body["org"]["id"]


def test_probability_faults_are_deterministic_given_a_seed():
    def pattern():
        with HexSim(args=["--seed", "99"]) as s:
            fault(s, endpoint="Me", kind="status", status=500, probability=0.5)
            return [s.call("GET", "/v1/users/me", token=ADMIN)[0] for _ in range(30)]
    first = pattern()
    assert first == pattern()
    assert 5 < first.count(500) < 25


def test_fault_control_errors_and_clear(sim):
    status, _, body = sim.call("POST", "/__sim/faults", body={"faults": [{"kind": "explode"}]})
    assert status == 400 and "explode" in body["error"]
    for bad in (7, 200, 600):  # found by tests/fuzz/fuzz_hexsim.c
        status, _, body = sim.call("POST", "/__sim/faults",
                                   body={"faults": [{"kind": "status", "status": bad}]})
        assert status == 400 and "400 to 599" in body["error"]
    assert sim.call("GET", "/v1/users/me", token=ADMIN)[0] == 200
    fault(sim, endpoint="*", kind="status", status=500, count=5)
    sim.sim("DELETE", "/__sim/faults")
    assert sim.call("GET", "/v1/users/me", token=ADMIN)[0] == 200


# ---- /__sim/ ---------------------------------------------------------------------------

def test_sim_reset_health_counters_and_scenario(sim):
    assert sim.sim("GET", "/__sim/health") == {"ok": True}
    run(sim)
    assert sim.counters()["requests"]["RunProject"]["201"] == 1
    sim.sim("POST", "/__sim/reset")
    assert sim.counters()["total"] == 0 and created(sim, P_OK) == 0
    sim.sim("POST", "/__sim/scenario", {"tokens": [{"token": "t2"}], "projects": []})
    assert sim.call("GET", "/v1/users/me", token=ADMIN)[0] == 401
    assert sim.call("GET", "/v1/projects", token="t2")[2]["values"] == []
    assert sim.call("GET", "/__sim/nope")[0] == 404


def test_a_reset_never_gives_a_run_id_again(sim):
    """Hex never reuses a run id; hexsim's worlds after a reset draw new ones (before, a
    reset replayed the seed's ids: a journal kept across resets met its old runs' ids)."""
    seen = [run(sim)]
    for _ in range(3):
        sim.sim("POST", "/__sim/reset")
        seen.append(run(sim))
    assert len(set(seen)) == len(seen), seen


def test_refused_scenario_keeps_the_loaded_world(sim):
    # Found by tests/fuzz/fuzz_hexsim.c: each of these aborted or crashed hexsim, at once
    # or at the next POST /v1/groups or RunProject.
    bad = [{"tokens": 5}, {"projects": {"a": 1}}, {"tokens": [{"token": ADMIN}, {}]},
           {"tokens": [{"token": ADMIN, "projects": [None]}]},
           {"tokens": [{"token": ADMIN}], "projects": [{"id": P_OK, "inputs": [{"name": None}]}]}]
    for scenario in bad:
        status, _, body = sim.call("POST", "/__sim/scenario", body=scenario)
        assert status == 400 and "scenario" in body["error"], (scenario, body)
        assert sim.call("POST", "/v1/groups", token=ADMIN, body={"name": "g"})[0] == 201
        run(sim)


def test_transitions_give_real_times(sim):
    rid = run(sim)
    t0 = int(time.time() * 1000)
    wait_status(sim, rid, P_OK, "COMPLETED")
    r = next(x for x in sim.runs()["runs"] if x["runId"] == rid)
    times = [t["at_ms"] for t in r["transitions"]]
    assert times == sorted(times)
    assert abs(times[0] - t0) < 2000 and times[-1] - times[0] < 1000  # 20x faster


# ---- bad clients -----------------------------------------------------------------------

def test_malformed_http_and_large_bodies_leave_the_server_healthy():
    with HexSim(args=["--max-body", "4096"]) as s:
        for junk in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\xff" * 100,
                     b"POST /v1/projects HTTP/1.1\r\nContent-Length: -5\r\n\r\n"):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            c.sendall(junk)
            try:
                c.recv(4096)
            except (ConnectionResetError, socket.timeout):
                pass
            c.close()
        big = b"{" + b'"a":"' + b"x" * 10000 + b'"}'
        reply = raw_request(s, "POST", RUNS, big)
        assert reply.startswith(b"HTTP/1.1 413")
        slow = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        slow.sendall(b"GET /v1/users/me HTTP/1.1\r\nHost: x\r\n")  # never finishes
        assert s.sim("GET", "/__sim/health") == {"ok": True}
        slow.close()
        assert s.call("GET", "/v1/users/me", token=ADMIN)[0] == 200


def test_ipv6_loopback_is_served(sim):
    if not socket.has_ipv6:
        pytest.fail("this machine has no IPv6 support")
    c = socket.create_connection(("::1", sim.port), timeout=5)
    c.sendall(b"GET /__sim/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert c.recv(4096).startswith(b"HTTP/1.1 200")
    c.close()
