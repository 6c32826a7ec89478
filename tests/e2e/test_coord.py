"""coord_url end to end: a real PostgreSQL server (tests/support/pgserver.py) as the store,
hexsim enforcing Hex's limits on a clock 600 times faster, and hexrun-host processes as the
"machines": each in its own working directory, sharing no file, only the store.
"""
import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from e2e_common import BUILD, HOST, P_OK, P_SLOW, ROOT, HexSim, env_for
from pgserver import PgServer

sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(BUILD, "libhexrun.so.1"))
import hexrun  # noqa: E402

SCALE = 600
HEX_LIMITS = {"enabled": True, "run_per_min": 20, "run_per_hour": 60, "api_per_min": 30,
              "api_per_hour": 1800}
TOKEN = "hxtok_admin"


@pytest.fixture(scope="module")
def pg():
    with PgServer() as server:
        yield server


@pytest.fixture(scope="module")
def sim():
    with HexSim(args=["--time-scale", str(SCALE)]) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(sim, pg):
    sim.sim("POST", "/__sim/reset")
    sim.sim("POST", "/__sim/time_scale", {"scale": SCALE})
    sim.sim("POST", "/__sim/limits", HEX_LIMITS)
    pg.psql("DROP SCHEMA IF EXISTS hexrun CASCADE")


def host(pg, *args, log_level="warn"):
    return [HOST, "--json", "--log-level", log_level, "--config", f"coord_url={pg.url}",
            "--config", f"budget_time_scale={SCALE}", "--config", "poll_min_ms=5",
            "--config", "poll_max_ms=50", *args]


def machines(cmds, sim, tmp_path, extra_env=None):
    """Start one process per command, each in its own empty working directory."""
    env = dict(env_for(sim), **(extra_env or {}))
    procs = []
    for i, cmd in enumerate(cmds):
        cwd = tmp_path / f"machine{i}"
        cwd.mkdir(parents=True)
        procs.append(subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def finish(procs, timeout=150):
    results = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        results.append((p.returncode, out, err))
    return results


def load(pg, jobs):
    return host(pg, "load", "--jobs", str(jobs), "--projects", f"{P_OK},{P_SLOW}",
                "--timeout", "120")


def hexsim_429s(sim):
    return sum(by_status.get("429", 0) for by_status in sim.counters()["requests"].values())


def test_processes_on_one_store_stay_within_one_tokens_limits(sim, pg, tmp_path):
    results = finish(machines([load(pg, 30)] * 3, sim, tmp_path))
    for rc, out, err in results:
        assert rc == 0, err
        assert json.loads(out.strip().splitlines()[-1])["end_states"] == {"COMPLETED": 30}
    assert hexsim_429s(sim) == 0
    assert sim.counters()["requests"]["RunProject"] == {"201": 90}


def test_the_store_is_hexruns_own_schema_and_names_the_token_by_its_hash(sim, pg, tmp_path):
    rc, _, err = finish(machines([load(pg, 2)], sim, tmp_path))[0]
    assert rc == 0, err
    assert pg.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM "
                   "hexrun.schema_version") == "1,2"
    tables = pg.psql("SELECT string_agg(table_schema || '.' || table_name, ',' ORDER BY "
                     "table_name) FROM information_schema.tables WHERE table_schema "
                     "NOT IN ('pg_catalog', 'information_schema')")
    assert tables == ("hexrun.board,hexrun.board_lease,hexrun.budget,hexrun.journal,"
                      "hexrun.schema_version")
    assert pg.psql("SELECT string_agg(DISTINCT token_hash, ',') FROM hexrun.budget") == \
        hashlib.sha256(TOKEN.encode()).hexdigest()
    assert TOKEN not in pg.psql("SELECT b::text FROM hexrun.budget AS b")


def run_keyed(pg, key, project=P_OK):
    return host(pg, "run", project, "--idempotency-key", key, "--wait", "--timeout", "60",
                log_level="info")


def test_a_key_is_claimed_once_across_machines(sim, pg, tmp_path):
    results = finish(machines([run_keyed(pg, "nightly-2026-11-30")] * 4, sim, tmp_path))
    run_ids = set()
    for rc, out, err in results:
        assert rc == 0, err
        run_ids.add(json.loads(out.strip().splitlines()[-1])["run_id"])
    assert len(run_ids) == 1
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}
    # A retry on another machine, later, attaches to the recorded run.
    (rc, out, err), = finish(machines([run_keyed(pg, "nightly-2026-11-30")], sim,
                                      tmp_path / "retry"))
    assert rc == 0, err
    assert json.loads(out.strip().splitlines()[-1])["run_id"] in run_ids
    assert "event=journal_attach" in err
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}
    assert pg.psql("SELECT state FROM hexrun.journal WHERE key = 'nightly-2026-11-30'") == "R"


def test_a_key_of_another_project_is_refused(sim, pg, tmp_path):
    (rc, _, err), = finish(machines([run_keyed(pg, "k1")], sim, tmp_path))
    assert rc == 0, err
    (rc, _, err), = finish(machines([run_keyed(pg, "k1", P_SLOW)], sim, tmp_path / "b"))
    assert rc != 0
    assert f"already names a submit of project {P_OK}" in err


def test_without_libpq_coord_url_is_a_config_error(sim, pg, tmp_path):
    (rc, _, err), = finish(machines([load(pg, 1)], sim, tmp_path,
                                    {"HEXRUN_LIBPQ": "/nonexistent/libpq.so.5"}))
    assert rc != 0
    assert "HEXRUN_E_CONFIG" in err or "configuration" in err.lower(), err
    assert "cannot load PostgreSQL's client library /nonexistent/libpq.so.5" in err


def test_coord_url_is_validated_and_excludes_the_file_stores(sim, pg, tmp_path):
    bad = [HOST, "--config", "coord_url=mysql://x", "projects"]
    both = host(pg, "--config", f"budget_path={tmp_path}/b", "projects")
    (rc1, _, err1), (rc2, _, err2) = finish(machines([bad, both], sim, tmp_path))
    assert rc1 != 0 and "expected a PostgreSQL URL" in err1
    assert rc2 != 0 and "leave budget_path and journal_path unset" in err2


def test_an_unreachable_store_at_start_fails_clearly(sim, pg, tmp_path):
    url = f"postgresql://hexrun@/postgres?host={tmp_path}"
    cmd = [HOST, "--config", f"coord_url={url}", "projects"]
    (rc, _, err), = finish(machines([cmd], sim, tmp_path))
    assert rc != 0 and "cannot connect to the PostgreSQL store" in err


def wait_for_runs(sim, n, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if sim.counters()["requests"].get("RunProject", {}).get("201", 0) >= n:
            return True
        time.sleep(0.05)
    return False


def test_store_outage_falls_back_keeps_every_job_and_rejoins(sim, pg, tmp_path):
    """The server stops after 10 runs and starts again after 5 more (made on the fallback
    budgets); 110 runs are still to go then, at least 10 s of Hex's run limit (60 an
    hour-window of 6 s), so both processes rejoin the store before they finish."""
    procs = machines([load(pg, 60)] * 2, sim, tmp_path)
    assert wait_for_runs(sim, 10)
    pg.halt()
    try:
        assert wait_for_runs(sim, 15)  # work goes on, on the fallback budget
    finally:
        pg.resume()
    assert all(p.poll() is None for p in procs)
    reported_429s = 0
    for rc, out, err in finish(procs):
        assert rc == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        assert report["end_states"] == {"COMPLETED": 60}
        reported_429s += report["rate_limited_429"]
        assert err.count("event=coord_offline") == 1, err
        assert err.count("event=coord_online") == 1, err
    # Nothing lost, nothing twice; the 429s of the outage (two fallback budgets starting
    # afresh beside the store's last window) are bounded and every one is reported.
    assert sim.counters()["requests"]["RunProject"].get("201") == 120
    assert reported_429s == hexsim_429s(sim) <= 20


def test_an_outage_after_a_full_window_costs_no_429(sim, pg, tmp_path):
    """The store goes away just after the shared run window filled up (Hex's 60 an hour,
    an hour being 6 s here): each process's fallback budget starts from its share of
    what that window held, so none sends into Hex's full window; when the store returns,
    what the fallbacks sent joins the shared window."""
    procs = start_logged([host(pg, "load", "--jobs", "30", "--projects", P_OK, "--timeout",
                               "120", log_level="info")] * 3, sim, tmp_path)
    assert wait_for_runs(sim, 60)
    pg.halt()
    try:
        # Each process still running notices (one may have made all its runs already).
        end = time.time() + 60
        while time.time() < end and not all(p.poll() is not None or "event=coord_offline" in
                                            log.read_text() for p, log in procs):
            time.sleep(0.05)
        assert any("event=coord_offline" in log.read_text() for _, log in procs)
    finally:
        pg.resume()
    reported_429s = 0
    for p, log in procs:
        out, _ = p.communicate(timeout=150)
        assert p.returncode == 0, log.read_text()
        report = json.loads(out.strip().splitlines()[-1])
        assert report["end_states"] == {"COMPLETED": 30}
        reported_429s += report["rate_limited_429"]
    assert sim.counters()["requests"]["RunProject"].get("201") == 90
    assert hexsim_429s(sim) == 0 == reported_429s


def test_a_keyed_submit_waits_for_the_store_and_is_made_once(sim, pg):
    """A key cannot be claimed without the store: while it is down the submit stays
    QUEUED (nothing is sent), and when it returns the key is claimed and the run made."""
    with hexrun.Client(base_url=sim.base_url, token=TOKEN, coord_url=pg.url,
                       budget_time_scale=SCALE, poll_min_ms=5, poll_max_ms=50) as client:
        pg.halt()
        try:
            job = client.submit(P_OK, idempotency_key="held-during-outage")
            time.sleep(1.0)  # a negative check: in that time nothing may be sent
            assert job.info.state == "QUEUED"
            assert "RunProject" not in sim.counters()["requests"]
        finally:
            pg.resume()
        assert job.wait(timeout=60).state == "COMPLETED"
        again = client.submit(P_OK, idempotency_key="held-during-outage")
        assert again.wait(timeout=60).run_id == job.info.run_id
    assert sim.counters()["requests"]["RunProject"] == {"201": 1}
    assert pg.psql("SELECT state FROM hexrun.journal WHERE key = "
                   "'held-during-outage'") == "R"


def board_load(pg, jobs):
    return host(pg, "load", "--jobs", str(jobs), "--projects", P_OK, "--timeout", "120",
                log_level="info")


def start_logged(cmds, sim, tmp_path):
    """As machines(), with each process's log in its working directory (read while it runs)."""
    procs = []
    for i, cmd in enumerate(cmds):
        cwd = tmp_path / f"machine{i}"
        cwd.mkdir(parents=True)
        log = open(cwd / "log", "w")
        procs.append((subprocess.Popen(cmd, env=env_for(sim), cwd=cwd, stdout=subprocess.PIPE,
                                       stderr=log, text=True), cwd / "log"))
        log.close()
    return procs


def wait_for_log(procs, needle, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        for i, (_, log) in enumerate(procs):
            if needle in log.read_text():
                return i
        time.sleep(0.05)
    raise AssertionError(f"no process logged {needle}")


def test_waiting_processes_read_the_status_board_instead_of_asking_hex(sim, pg, tmp_path):
    reports = []
    for rc, out, err in finish(machines([board_load(pg, 20)] * 4, sim, tmp_path)):
        assert rc == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["end_states"] for r in reports] == [{"COMPLETED": 20}] * 4
    assert hexsim_429s(sim) == 0
    # One process at a time polled the project; the others were answered by the board.
    assert sum(r["stats"]["board_reads"] for r in reports) > 0
    assert int(pg.psql("SELECT count(*) FROM hexrun.board")) == 80
    # Each lease was given up by its last holder, none left to lapse (a client that took
    # a lease over for runs the board showed ended used to keep it, unswept: its readers
    # waited two periods and more).
    assert pg.psql("SELECT count(*) FROM hexrun.board_lease WHERE swept_at <> 0") == "0"


def test_a_killed_board_leader_is_replaced_and_nothing_is_lost(sim, pg, tmp_path):
    procs = start_logged([board_load(pg, 30)] * 3, sim, tmp_path)
    leader = wait_for_log(procs, "event=board_lease")
    procs[leader][0].kill()
    procs[leader][0].wait()
    for i, (p, log) in enumerate(procs):
        if i == leader:
            continue
        out, _ = p.communicate(timeout=150)
        assert p.returncode == 0, log.read_text()
        assert json.loads(out.strip().splitlines()[-1])["end_states"] == {"COMPLETED": 30}
    # Another process took the lease over once the dead leader's expired.
    assert any("event=board_lease" in log.read_text()
               for i, (_, log) in enumerate(procs) if i != leader)
    assert hexsim_429s(sim) == 0


def test_a_reader_learns_of_the_boards_changes_at_once(sim, pg, tmp_path):
    """A waiting process reads the board when the lease holder announces a change, not
    only at its own pace: here its pace is ten minutes (a read a period), yet its run's
    end reaches it within the test's minute, through the holder's sweeps."""
    leader = start_logged([host(pg, "load", "--jobs", "60", "--concurrency", "1", "--projects",
                                P_OK, "--timeout", "120", log_level="info")], sim, tmp_path)
    wait_for_log(leader, "event=board_lease")
    slow_reader = host(pg, "--config", "poll_min_ms=600000", "--config",
                       "poll_max_ms=600000", "run", P_OK, "--wait", "--timeout", "60",
                       log_level="info")
    (rc, out, err), = finish(machines([slow_reader], sim, tmp_path / "reader"), timeout=90)
    assert rc == 0, err
    assert json.loads(out.strip().splitlines()[-1])["state"] == "COMPLETED"
    leader[0][0].terminate()
    leader[0][0].wait(timeout=60)


def test_the_library_does_not_link_libpq():
    """libpq is dlopen'ed when coord_url is used: hosts that never set it never load it."""
    out = subprocess.run(["readelf", "-d", os.path.join(BUILD, "libhexrun.so.1")],
                         capture_output=True, text=True, check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    assert needed and not any("libpq" in n for n in needed), needed


def test_a_run_listed_again_after_a_day_is_kept_and_day_old_runs_are_forgotten(sim, pg,
                                                                               tmp_path):
    """The board put forgets runs not seen for a day and upserts the page's runs in one
    statement: a run whose row is more than a day old and that the sweep lists again is
    both, and must come out fresh (the statement must not fail); a day-old run no sweep
    lists is deleted."""
    (rc, _, err), = finish(machines([board_load(pg, 3)], sim, tmp_path / "first"))
    assert rc == 0, err
    day = 86400000
    pg.psql(f"UPDATE hexrun.board SET seen_at = seen_at - 2 * {day}")
    pg.psql("INSERT INTO hexrun.board SELECT token_hash, "
            "'00000000-0000-4000-8000-00000000dead', project, run, seen_at FROM hexrun.board "
            "LIMIT 1")
    (rc, _, err), = finish(machines([board_load(pg, 2)], sim, tmp_path / "again"))
    assert rc == 0, err
    assert "event=board_lease" in err and "event=coord_offline" not in err, err
    now = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
    # The three runs listed again are on the board, seen by the second process's sweeps.
    assert pg.psql(f"SELECT count(*) FROM hexrun.board WHERE seen_at > {now} - 60000") == "5"
    assert pg.psql(f"SELECT count(*) FROM hexrun.board WHERE seen_at <= {now} - {day}") == "0"


def run_budget_statements(pg, since):
    """The run group's budget statements (group 0) in the server's log since offset since."""
    with open(os.path.join(pg.sock, "log")) as f:
        f.seek(since)
        return sum(1 for line in f if "$2 = '0', $3 = " in line)


def test_a_submit_waiting_for_the_run_budget_asks_the_store_once_per_wait(sim, pg):
    """A RunProject held by the shared run budget is not asked for again at every wake-up
    of the engine (a poll's answer, the board's news): the wait the store named only grows
    as other clients send. Here the first run's polls wake the engine every few ms while
    the second submit waits for the hour's one run."""
    pg.psql("ALTER SYSTEM SET log_min_duration_statement = 0")  # with the parameters
    pg.psql("SELECT pg_reload_conf()")
    since = os.path.getsize(os.path.join(pg.sock, "log"))
    try:
        with hexrun.Client(base_url=sim.base_url, token=TOKEN, coord_url=pg.url,
                           budget_time_scale=str(SCALE), poll_min_ms="5", poll_max_ms="5",
                           run_budget_per_min="1", run_budget_per_hour="1") as client:
            first = client.submit(P_SLOW)
            held = client.submit(P_SLOW)
            assert first.wait(timeout=60).state == "COMPLETED"  # 600 s of Hex time: ~1 s
            assert held.info.state == "QUEUED"  # the hour's one run went to the first
            polls = sum(sum(v.values()) for k, v in client.stats()["requests"].items()
                        if k in ("GetRunStatus", "GetProjectRuns"))
    finally:
        pg.psql("ALTER SYSTEM RESET log_min_duration_statement")
        pg.psql("SELECT pg_reload_conf()")
    assert polls >= 20, polls  # the engine did wake up many times meanwhile
    # The first take, the held one's take and its pause, and perhaps one more of each
    # when the hour's window moves; before, a take and a pause at every wake-up.
    assert run_budget_statements(pg, since) <= 6, polls


def statement_log(pg, since):
    """The server's log lines since offset since."""
    with open(os.path.join(pg.sock, "log")) as f:
        f.seek(since)
        return f.read().splitlines()


def test_a_lease_holder_sweeps_without_asking_the_store_first_on_prepared_statements(sim, pg):
    """The lease holder's put renews its lease, so its next sweep goes to Hex without a
    board_step statement first; and the store parses and plans each statement once per
    connection, not at every call. A sweep period of 200 ms (and hexsim at 60x, so that
    P_SLOW lasts about 10 s) leaves the holder's renewals hundreds of ms of slack."""
    sim.sim("POST", "/__sim/time_scale", {"scale": 60})
    pg.psql("ALTER SYSTEM SET log_min_duration_statement = 0")
    pg.psql("SELECT pg_reload_conf()")
    since = os.path.getsize(os.path.join(pg.sock, "log"))
    try:
        with hexrun.Client(base_url=sim.base_url, token=TOKEN, coord_url=pg.url,
                           budget_time_scale="60", poll_min_ms="200",
                           poll_max_ms="200") as client:
            assert client.submit(P_SLOW).wait(timeout=120).state == "COMPLETED"
            sweeps = sum(client.stats()["requests"]["GetProjectRuns"].values())
    finally:
        pg.psql("ALTER SYSTEM RESET log_min_duration_statement")
        pg.psql("SELECT pg_reload_conf()")
    lines = statement_log(pg, since)
    steps = sum(1 for line in lines if " execute " in line and "hexrun.board_step(" in line)
    parses = [line for line in lines if " parse " in line]
    assert sweeps >= 20, sweeps
    # Before: one board_step before every sweep.
    assert steps <= sweeps // 2, (steps, sweeps)
    # Before: every call was parsed (and planned) again, as an unnamed statement.
    assert parses and all(" parse hexrun_" in line for line in parses), parses[:3]
    assert len(parses) <= 16, len(parses)


def wal_syncs(server):
    """The WAL flushes to disk the server counted, once hexrun's sessions have ended (a
    session reports its counts when it ends)."""
    deadline = time.monotonic() + 60
    while server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                      "'hexrun'") != "0":
        assert time.monotonic() < deadline, "hexrun's sessions did not end"
        time.sleep(0.05)
    return int(server.psql("SELECT wal_sync FROM pg_stat_wal"))


def test_only_the_journals_writes_wait_for_the_disk(sim, tmp_path):
    """On a server whose commits wait for the disk (fsync, synchronous_commit on), the
    budget and board statements do not (a flush before every request to Hex and between a
    sweep and its news); a journal claim and its record do. The WAL writer's own flushes
    are held off (wal_writer_delay 10 s) so that each flush counted is a commit's."""
    with PgServer(durable=True) as server:
        server.psql("ALTER SYSTEM SET wal_writer_delay = '10s'")
        server.psql("SELECT pg_reload_conf()")
        sim.sim("POST", "/__sim/time_scale", {"scale": 60})
        before = wal_syncs(server)
        with hexrun.Client(base_url=sim.base_url, token=TOKEN, coord_url=server.url,
                           budget_time_scale="60", poll_min_ms="200",
                           poll_max_ms="200") as client:
            assert client.submit(P_SLOW).wait(timeout=120).state == "COMPLETED"
            sweeps = sum(client.stats()["requests"]["GetProjectRuns"].values())
        swept = wal_syncs(server)
        with hexrun.Client(base_url=sim.base_url, token=TOKEN, coord_url=server.url,
                           budget_time_scale="60") as client:
            jobs = [client.submit(P_OK, idempotency_key=f"durable-{i}") for i in range(5)]
            assert all(job.wait(timeout=120).state == "COMPLETED" for job in jobs)
        claimed = wal_syncs(server)
    assert sweeps >= 20, sweeps
    # Before: a flush for each budget take and board put, two or more a sweep.
    assert swept - before <= 8, (swept - before, sweeps)
    # Each key's claim and its run's record: ten flushes (two may share one, rarely).
    assert claimed - swept >= 2 * len(jobs) - 2, claimed - swept


def test_a_renewal_committed_while_a_reader_waits_for_the_lease_keeps_it(sim, pg, tmp_path):
    """A holder's put renews its lease while a reader's board_step waits for the lease row:
    the reader must read, not take the lease. Before, board_step read the clock before the
    row lock, the renewal's later stamp looked like one from the future (a clock set back),
    and the lease went to the reader: two clients swept, and one held a lease it never swept
    until it lapsed (runs seen six sweep periods late). The holder's session takes the row
    first and renews it only once the reader's statement waits on its lock."""
    rc, _, err = finish(machines([load(pg, 1)], sim, tmp_path))[0]  # installs the schema
    assert rc == 0, err
    pg.psql("INSERT INTO hexrun.board_lease VALUES ('race', 'p', 1, "
            "(extract(epoch FROM clock_timestamp()) * 1000)::bigint)")
    holder = subprocess.Popen(
        [os.path.join(pg.bindir, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", pg.url, "-c", """
         BEGIN;
         SET LOCAL statement_timeout = '60s';
         SELECT 1 FROM hexrun.board_lease WHERE token_hash = 'race' FOR UPDATE;
         DO $$ BEGIN
           WHILE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                             AND query LIKE '%hexrun.board_step(%') LOOP
             PERFORM pg_sleep(0.01);
             PERFORM pg_stat_clear_snapshot();  -- a transaction sees one snapshot otherwise
           END LOOP;
         END $$;
         SELECT pg_sleep(0.01);
         UPDATE hexrun.board_lease SET swept_at =
           (extract(epoch FROM clock_timestamp()) * 1000)::bigint WHERE token_hash = 'race';
         COMMIT;"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%WHILE NOT EXISTS%' "
                  "AND pid <> pg_backend_pid()") != "1":
        assert holder.poll() is None, holder.communicate()
        assert time.monotonic() < deadline, "the holder's session did not take the row"
        time.sleep(0.01)
    kind = pg.psql("SELECT kind FROM hexrun.board_step('race', 'p', 2, 600000, '{}')")
    _, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    assert kind == "read", kind
    assert pg.psql("SELECT holder FROM hexrun.board_lease WHERE token_hash = 'race'") == "1"
