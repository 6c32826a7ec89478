"""hexsim against the rules of Hex's spec (docs/hex-api/openapi.json) that an audit found it
drifting from, and the hexsim points of the hardening review: ListProjects' order and
filters, ListUsers' userIds, EditGroup's add/remove, member shapes, EditDataConnection
without type, ListCollections' parameters, required includeSuccessScreenshot, ids that are
not UUIDs (and %00), bodies without a JSON Content-Type, repeated query keys, secrets
scrubbed by schema, fault delays that are bounded and never hold up SIGTERM.
"""
import http.client
import json
import os
import signal
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from hexsim import HexSim  # noqa: E402
from waiting import wait_for  # noqa: E402

ADMIN = "hxtok_admin"
P_OK = "11111111-1111-4111-8111-111111111111"
U1, U2, U3 = ("aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002",
              "aaaaaaaa-0000-4000-8000-000000000003")
G1 = "bbbbbbbb-0000-4000-8000-000000000001"
C1 = "cccccccc-0000-4000-8000-000000000001"
UNKNOWN = "99999999-9999-4999-8999-999999999999"


@pytest.fixture
def sim():
    with HexSim(args=["--time-scale", "20", "--seed", "5"], profile="default") as s:
        yield s


def ids(values):
    return [v["id"] for v in values]


# ---- ListProjects ------------------------------------------------------------------------

def project(n, **extra):
    return dict({"id": f"{n}0000000-0000-4000-8000-00000000000{n}", "title": f"P{n}"}, **extra)


PROJECTS = [
    project(1, createdAt="2026-01-01T00:00:00.000Z", owner="ann@example.com",
            categories=["Finance"], status="Approved",
            collections=["dddddddd-0000-4000-8000-000000000001"]),
    project(2, createdAt="2026-03-01T00:00:00.000Z", owner="bob@example.com",
            creator="ann@example.com"),
    project(3, createdAt="2026-02-01T00:00:00.000Z", archivedAt="2026-04-01T00:00:00.000Z"),
    project(4, createdAt="2026-02-15T00:00:00.000Z", trashedAt="2026-04-01T00:00:00.000Z"),
    project(5, createdAt="2026-02-20T00:00:00.000Z", type="COMPONENT"),
]


def list_projects(sim, query=""):
    status, _, body = sim.call("GET", f"/v1/projects{query}", token=ADMIN)
    assert status == 200, body
    return [v["title"] for v in body["values"]]


def test_list_projects_newest_first_and_its_filters(sim):
    sim.sim("POST", "/__sim/scenario", {"tokens": [{"token": ADMIN}], "projects": PROJECTS})
    assert list_projects(sim) == ["P2", "P1"]  # newest first; archived, trashed, components out
    assert list_projects(sim, "?sortDirection=ASC") == ["P1", "P2"]
    assert list_projects(sim, "?includeArchived=true&includeTrashed=true&includeComponents=true") \
        == ["P2", "P5", "P4", "P3", "P1"]
    assert list_projects(sim, "?statuses=Approved") == ["P1"]
    assert list_projects(sim, "?statuses=Nope&statuses=Approved") == ["P1"]  # array: repeats
    assert list_projects(sim, "?categories=finance") == ["P1"]
    assert list_projects(sim, "?ownerEmail=bob@example.com") == ["P2"]
    assert list_projects(sim, "?creatorEmail=ann@example.com") == ["P2", "P1"]
    assert list_projects(sim, "?collectionId=dddddddd-0000-4000-8000-000000000001") == ["P1"]
    status, _, body = sim.call("GET", "/v1/projects?includeSharing=true&limit=1", token=ADMIN)
    assert status == 200 and body["values"][0]["sharing"]["workspace"]["access"] == "CAN_VIEW"
    for bad in ("includeArchived=yes", "collectionId=x", "sortBy=NAME"):
        assert sim.call("GET", f"/v1/projects?{bad}", token=ADMIN)[0] == 400, bad


# ---- ListUsers, groups ---------------------------------------------------------------------

def list_users(sim, query):
    status, _, body = sim.call("GET", f"/v1/users{query}", token=ADMIN)
    assert status == 200, body
    return ids(body["values"])


def test_list_users_by_user_ids_and_group(sim):
    assert sorted(list_users(sim, f"?userIds={U1},{U3}")) == sorted([U1, U3])
    assert list_users(sim, f"?userIds={UNKNOWN}") == []
    assert sorted(list_users(sim, f"?groupId={G1}")) == sorted([U1, U2])
    assert list_users(sim, f"?groupId={G1}&userIds={U2},{U3}") == [U2]
    for bad in ("userIds=x", f"userIds={U1},", "userIds=", "groupId=abc"):
        status, _, body = sim.call("GET", f"/v1/users?{bad}", token=ADMIN)
        assert status == 400 and body["code"] == "BAD_REQUEST", bad


def members_of(sim, gid):
    return sorted(list_users(sim, f"?groupId={gid}"))


def test_edit_group_adds_and_removes_members(sim):
    status, _, g = sim.call("POST", "/v1/groups", token=ADMIN,
                            body={"name": "g", "members": {"users": [{"id": U1}]}})
    assert status == 201 and g["members"] == {"users": [{"id": U1}]}
    path = f"/v1/groups/{g['id']}"

    def edit(change):
        status, _, body = sim.call("PATCH", path, token=ADMIN, body={"members": change})
        assert status == 200, body

    edit({"add": {"users": [{"id": U2}, {"id": U1}]}})  # U1 stays once, U2 joins
    assert members_of(sim, g["id"]) == sorted([U1, U2])
    edit({"remove": {"users": [{"id": U1}, {"id": U3}]}})  # U3 was no member: nothing
    assert members_of(sim, g["id"]) == [U2]
    edit({"add": {"users": [{"id": U3}]}, "remove": {"users": [{"id": U2}]}})
    assert members_of(sim, g["id"]) == [U3]
    status, _, body = sim.call("PATCH", path, token=ADMIN, body={"name": "renamed"})
    assert status == 200 and body["name"] == "renamed" and members_of(sim, g["id"]) == [U3]


@pytest.mark.parametrize("members", [
    "x", {"users": "x"}, {"users": [{}]}, {"users": [{"id": "not-a-uuid"}]},
    {"users": [{"id": 7}]}, {"users": [{"id": UNKNOWN}]}, {"users": [{"id": U1}], "groups": []},
    {"users": [{"id": U1}] * 101},
])
def test_member_shapes_are_validated(sim, members):
    status, _, body = sim.call("POST", "/v1/groups", token=ADMIN,
                               body={"name": "g", "members": members})
    assert status == 400 and "members" in body["reason"], body
    status, _, body = sim.call("PATCH", f"/v1/groups/{G1}", token=ADMIN,
                               body={"members": {"add": members}})
    assert status == 400, body


def test_edit_group_takes_only_add_and_remove(sim):
    for change in ({"users": [{"id": U1}]}, [], {"add": {"users": []}, "replace": {}}):
        status, _, body = sim.call("PATCH", f"/v1/groups/{G1}", token=ADMIN,
                                   body={"members": change})
        assert status == 400, change
    assert members_of(sim, G1) == sorted([U1, U2])


# ---- data connections, collections, notifications -----------------------------------------

def test_edit_data_connection_refuses_type(sim):
    status, _, body = sim.call("PATCH", f"/v1/data-connections/{C1}", token=ADMIN,
                               body={"type": "snowflake"})
    assert status == 400 and "type" in body["reason"]
    assert sim.call("PATCH", f"/v1/data-connections/{C1}", token=ADMIN,
                    body={"description": "d"})[0] == 201


SECRETS = {"password": "s1", "pwd": "s2", "apiKey": "s3", "credentials": {"k": "s4"},
           "privateKey": "s5", "passphrase": "s6", "sslRootCert": "s7", "notInTheSpec": "s8"}


def test_data_connection_secrets_are_scrubbed_by_schema(sim):
    details = {"postgres": dict({"hostname": "db", "port": 5432, "database": "d",
                                 "username": "u"}, **SECRETS),
               "madeUp": {"password": "s9"}}
    status, _, created = sim.call("POST", "/v1/data-connections", token=ADMIN, body={
        "name": "pg", "type": "postgres", "connectionDetails": details})
    assert status == 201, created
    cid = created["id"]
    edited = sim.call("PATCH", f"/v1/data-connections/{cid}", token=ADMIN,
                      body={"connectionDetails": details})[2]
    got = sim.call("GET", f"/v1/data-connections/{cid}", token=ADMIN)[2]
    listed = sim.call("GET", "/v1/data-connections?limit=100", token=ADMIN)[2]
    for answer in (created, edited, got, listed):
        text = str(answer)
        assert not any(f"s{i}" in text for i in range(1, 10)), answer
    assert got["connectionDetails"] == {"postgres": {"hostname": "db", "port": 5432,
                                                     "database": "d", "username": "u"}}


def test_list_collections_takes_the_spec_parameters_only(sim):
    assert sim.call("GET", "/v1/collections?sortBy=NAME&limit=100", token=ADMIN)[0] == 200
    for bad in ("sortDirection=ASC", "sortBy=CREATED_AT", "limit=101", "limit=0", "after=x"):
        assert sim.call("GET", f"/v1/collections?{bad}", token=ADMIN)[0] == 400, bad


def test_notifications_require_include_success_screenshot(sim):
    runs = f"/v1/projects/{P_OK}/runs"
    status, _, body = sim.call("POST", runs, token=ADMIN,
                               body={"notifications": [{"type": "ALL"}]})
    assert status == 400 and "includeSuccessScreenshot" in body["reason"]
    assert sim.call("POST", runs, token=ADMIN, body={"notifications": [
        {"type": "ALL", "includeSuccessScreenshot": False}]})[0] == 201


# ---- ids, bodies, query keys --------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/v1/projects/not-a-uuid/runs", f"/v1/projects/{P_OK}/runs/..", f"/v1/projects/{P_OK}/runs/x",
    f"/v1/projects/{P_OK}x", "/v1/groups/%00", "/v1/groups/%00abc", "/v1/groups/a%2Fb",
    "/v1/data-connections/%00", "/v1/collections/%20", "/v1/users/%00/deactivate",
    f"/v1/groups/{G1[:-1]}%00",
])
def test_ids_that_are_not_uuids_are_answered_400(sim, path):
    method = "POST" if path.endswith("deactivate") else "GET"
    status, _, body = sim.call(method, path, token=ADMIN)
    assert status == 400, (path, body)
    assert "values" not in body  # never the list (%00 used to cut the path to it)
    assert "reason" in body or "code" in body


def test_body_is_read_only_with_a_json_content_type(sim):
    runs = f"/v1/projects/{P_OK}/runs"
    before = sim.runs()["created_per_project"][P_OK]
    # Not JSON by its type: the body counts as absent, as with Hex's JSON body parser.
    status, _, _ = sim.call("POST", runs, token=ADMIN, body='{"dryRun": true}',
                            headers={"Content-Type": "text/plain"})
    assert status == 201
    assert sim.runs()["created_per_project"][P_OK] == before + 1  # a real run, not a dry one
    status, _, body = sim.call("POST", "/v1/groups", token=ADMIN, body='{"name": "g"}',
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and "name" in body["reason"]
    for ctype in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.x+json"):
        status, _, _ = sim.call("POST", runs, token=ADMIN, body='{"dryRun": true}',
                                headers={"Content-Type": ctype})
        assert status == 201
    assert sim.runs()["created_per_project"][P_OK] == before + 1


def test_a_repeated_query_key_is_refused(sim):
    for path in (f"/v1/projects/{P_OK}/runs?limit=1&limit=2", "/v1/groups?limit=1&limit=1",
                 "/v1/users?sortBy=NAME&sortBy=EMAIL"):
        status, _, body = sim.call("GET", path, token=ADMIN)
        assert status == 400, path
        assert "more than once" in (body.get("reason") or body.get("message"))


# ---- fault delays --------------------------------------------------------------------------

@pytest.mark.parametrize("delay", [-1, -100000, 600001, 2**40, "5", 1.5])
def test_fault_delays_out_of_range_are_refused(sim, delay):
    for kind in ("delay", "slow_body"):
        status, _, body = sim.call("POST", "/__sim/faults", body={"faults": [
            {"endpoint": "Me", "kind": kind, "delay_ms": delay}]})
        assert status == 400 and "delay_ms" in body["error"], (kind, delay)
    assert sim.call("GET", "/v1/users/me", token=ADMIN)[0] == 200




def hold_one(sim, kind, conn=None):
    """Sends one Me request that a `kind` fault of 10 minutes holds (on conn, else on a
    connection of its own); returns its connection once hexsim counts it in flight."""
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "Me", "kind": kind, "delay_ms": 600000, "count": 1}]})
    conn = conn or http.client.HTTPConnection("127.0.0.1", sim.port, timeout=60)
    conn.request("GET", "/v1/users/me", headers={"Authorization": f"Bearer {ADMIN}"})
    wait_for(lambda: sim.in_flight("Me") == 1, "the held request")
    return conn


def get_on(conn, path):
    conn.request("GET", path, headers={"Authorization": f"Bearer {ADMIN}"})
    resp = conn.getresponse()
    resp.read()
    return resp.status


@pytest.mark.parametrize("threads", [1, 4])
@pytest.mark.parametrize("kind", ["delay", "slow_body"])
def test_a_held_answer_holds_no_thread(kind, threads):
    """A delay (or slow_body) fault used to sleep in one of libmicrohttpd's pool threads, and
    every request on a connection that thread serves (control calls included) waited it
    out. Now the connection is suspended: with one request held for 10 minutes, requests on
    more connections than the pool has threads, kept alive from before the hold as a
    client's connection pool keeps them, are all answered at once."""
    with HexSim(args=["--threads", str(threads)], profile="default") as sim:
        n = 4 * threads + 4
        conns = [http.client.HTTPConnection("127.0.0.1", sim.port, timeout=30)
                 for _ in range(n + 1)]
        try:
            assert [get_on(c, "/__sim/health") for c in conns] == [200] * (n + 1)
            hold_one(sim, kind, conns[n])
            paths = ["/__sim/counters", "/v1/projects", "/__sim/health", "/v1/users"]
            results = [None] * n

            def other(i):
                try:
                    results[i] = get_on(conns[i], paths[i % len(paths)])
                except (OSError, http.client.HTTPException) as e:  # waited behind the held one
                    results[i] = repr(e)

            workers = [threading.Thread(target=other, args=(i,), daemon=True) for i in range(n)]
            t0 = time.monotonic()
            for w in workers:
                w.start()
            for w in workers:
                w.join(max(0.0, 60 - (time.monotonic() - t0)))
            assert results == [200] * n, results
            assert sim.in_flight("Me") == 1  # still held: the fault lasts 10 minutes
        finally:
            for c in conns:
                c.close()


def test_a_held_request_is_served_at_its_deadline_even_if_its_client_left():
    """As before the suspension (and as a server that does not watch its clients): a
    RunProject held by a delay creates its run when the delay ends, answered or not."""
    with HexSim(profile="default") as sim:
        sim.sim("POST", "/__sim/faults", {"faults": [
            {"endpoint": "RunProject", "kind": "delay", "delay_ms": 300, "count": 1}]})
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=60)
        conn.request("POST", f"/v1/projects/{P_OK}/runs", body="{}",
                     headers={"Authorization": f"Bearer {ADMIN}",
                              "Content-Type": "application/json"})
        wait_for(lambda: sim.in_flight("RunProject") == 1, "the held RunProject")
        conn.close()
        wait_for(lambda: sim.runs()["created_per_project"][P_OK] == 1,
                 "its run, made at the deadline")
        wait_for(lambda: sim.in_flight("RunProject") == 0, "no RunProject held")
        assert sim.counters()["requests"]["RunProject"] == {"201": 1}


@pytest.mark.parametrize("kind", ["delay", "slow_body"])
def test_release_answers_every_held_request_now(kind):
    """POST /__sim/release: a test holds an answer as long as it needs (a 10-minute fault)
    and lets it go at the moment it chooses, instead of guessing a delay long enough for
    what it does meanwhile and short enough to be waited out. A released RunProject held by
    a delay makes its run then; a released slow body sends the rest at once."""
    with HexSim(profile="default") as sim:
        sim.sim("POST", "/__sim/faults", {"faults": [
            {"endpoint": "RunProject", "kind": kind, "delay_ms": 600000, "count": 1}]})
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=60)
        conn.request("POST", f"/v1/projects/{P_OK}/runs", body="{}",
                     headers={"Authorization": f"Bearer {ADMIN}",
                              "Content-Type": "application/json"})
        wait_for(lambda: sim.in_flight("RunProject") == 1, "the held RunProject")
        made = sim.runs()["created_per_project"].get(P_OK, 0)
        assert made == (1 if kind == "slow_body" else 0)  # slow_body does the work first
        t0 = time.monotonic()
        assert sim.sim("POST", "/__sim/release") == {"released": 1}
        resp = conn.getresponse()
        body = json.loads(resp.read())
        assert resp.status == 201 and body["runId"], body
        assert time.monotonic() - t0 < 30  # not the 10 minutes (a bound on a hang)
        assert sim.runs()["created_per_project"][P_OK] == 1
        wait_for(lambda: sim.in_flight("RunProject") == 0, "no RunProject held")
        assert sim.sim("POST", "/__sim/release") == {"released": 0}
        conn.close()


@pytest.mark.parametrize("kind", ["delay", "slow_body"])
def test_sigterm_stops_hexsim_during_a_long_delay(kind):
    sim = HexSim(profile="default").start()
    try:
        held = hold_one(sim, kind)
        t0 = time.monotonic()
        sim.proc.send_signal(signal.SIGTERM)
        sim.proc.wait(timeout=10)  # before the fix of issue 13: 600 s
        assert sim.proc.returncode == 0
        assert time.monotonic() - t0 < 10
        held.close()
    finally:
        sim.stop()


# ---- times -------------------------------------------------------------------------------

def test_run_times_are_wall_clock_times(sim):
    """At a time scale of 20 a run's startTime/endTime used to be hexsim times, which run 20
    times faster than the client's clock: every run seemed to start in the future."""
    import datetime

    def unix(ts):
        return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()

    before = time.time()
    status, _, created = sim.call("POST", f"/v1/projects/{P_OK}/runs", token=ADMIN, body={})
    assert status == 201
    path = f"/v1/projects/{P_OK}/runs/{created['runId']}"
    deadline = time.monotonic() + 10
    while (run := sim.call("GET", path, token=ADMIN)[2])["status"] != "COMPLETED":
        assert time.monotonic() < deadline, run
        time.sleep(0.02)
    after = time.time()
    start, end = unix(run["startTime"]), unix(run["endTime"])
    assert before - 0.01 <= start <= end <= after + 0.01, (before, run, after)
    assert run["elapsedTime"] >= 3000  # hexsim milliseconds: 3-6 s of running at 20x
