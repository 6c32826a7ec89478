"""End-to-end tests of build/hexrun-host: the real plugin against hexsim (test scenario).

Every subcommand, its exit code and its --json output; SIGINT during `run --wait`; usage
errors; plugin loading errors; the scheduler firing the right slots and never twice.
"""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from e2e_common import BUILD, HOST, P_OK, P_SLOW, PLUGIN, HexSim, variant_off
from waiting import readline_within, wait_for

P_ERR = "22222222-2222-4222-8222-222222222222"
P_KERNEL = "33333333-3333-4333-8333-333333333333"
P_UNPUB = "55555555-5555-4555-8555-555555555555"
P_MIX = "66666666-6666-4666-8666-666666666666"
ALL_PROJECTS = [P_OK, P_ERR, P_KERNEL, P_SLOW, P_UNPUB, P_MIX]

TIMEOUT = 60  # seconds for any single hexrun-host invocation


@pytest.fixture(scope="module")
def sim():
    with HexSim(args=["--time-scale", "20"]) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(request):
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").sim("POST", "/__sim/reset")


def host_env(sim=None, token="hxtok_admin", **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEX_", "HEXRUN_"))}
    env["HEXRUN_PLUGIN"] = PLUGIN
    if sim is not None:
        env["HEX_API_BASE_URL"] = sim.base_url
    if token is not None:
        env["HEX_API_TOKEN"] = token
    env.update(extra)
    return env


def host(*args, sim=None, token="hxtok_admin", env=None, timeout=TIMEOUT):
    """Runs hexrun-host; returns (exit code, stdout, stderr)."""
    p = subprocess.run([HOST, *args], env=env or host_env(sim, token), capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def sim_run(sim, run_id):
    for r in sim.runs()["runs"]:
        if r["runId"] == run_id:
            return r
    raise AssertionError(f"hexsim has no run {run_id}")


def wait_sim_status(sim, run_id, want, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if sim_run(sim, run_id)["status"] == want:
            return
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} is {sim_run(sim, run_id)['status']}, not {want}")


# ------------------------------------------------------------------ usage and loading ----

def test_help_lists_every_command_and_exit_code():
    rc, out, _ = host("--help")
    assert rc == 0
    for cmd in ["run", "status", "wait", "cancel", "runs", "projects", "users", "groups",
                "connections", "collections", "schedule", "load"]:
        assert f"\n  {cmd} " in out
    for code in ["0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130 "]:
        assert f"\n  {code}" in out


@pytest.mark.parametrize("cmd", ["run", "status", "wait", "cancel", "runs", "projects", "users",
                                 "groups", "connections", "collections", "schedule", "load"])
def test_every_command_has_help(cmd):
    rc, out, _ = host(cmd, "--help")
    assert rc == 0
    assert out.startswith(f"Usage: hexrun-host {cmd}")


@pytest.mark.parametrize("args, reason", [
    ([], "missing command"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["run"], "missing argument"),
    (["run", P_OK, "--bogus"], "unknown option '--bogus'"),
    (["run", P_OK, "--param", "novalue"], "expected NAME=VALUE or NAME:=JSON"),
    (["run", P_OK, "--param", "days:=not-json"], "not valid JSON"),
    (["run", P_OK, "--wait", "--timeout", "soon"], "--timeout must be a number of seconds"),
    (["run", P_OK, "--wait", "--cancel-on-timeout"], "--cancel-on-timeout needs --timeout"),
    (["run", P_OK, "--timeout", "5"], "only make sense with --wait"),
    (["run", P_OK, "--notify", "SOMETIMES"], "must start with SUCCESS, FAILURE or ALL"),
    (["run", P_OK, "--notify", "ALL,fax=1"], "unknown part 'fax=1'"),
    (["run", P_OK, "--params-json", "/nonexistent.json"], "--params-json /nonexistent.json"),
    (["run", P_OK, "--wait="], "takes no value"),
    (["status", P_OK], "missing argument"),
    (["runs", P_OK, "--limit", "500"], "--limit must be an integer from 1 to 100"),
    (["runs", P_OK, "extra"], "unexpected argument 'extra'"),
    (["users", "promote"], "unknown action 'promote'"),
    (["groups", "edit", "g1"], "edit needs --name, --add-member or --remove-member"),
    (["load", "--jobs", "3"], "--jobs N and --projects P[,P...] are required"),
    (["schedule", "/nonexistent.json"], "/nonexistent.json"),
    (["cancel", P_OK, "../../etc"], "is not a valid id"),
    (["projects", "--config", "novalue"], "--config 'novalue': expected KEY=VALUE"),
])
def test_bad_arguments_give_a_usage_error_naming_the_problem(args, reason):
    rc, out, err = host(*args)
    assert rc == 2, err
    assert reason in err
    assert out == "" or args == []


def test_a_missing_plugin_is_a_clear_error():
    rc, _, err = host("info", "--plugin", "/nonexistent/libhexrun.so.1")
    assert rc == 5
    assert "cannot load plugin /nonexistent/libhexrun.so.1" in err


def test_a_plugin_with_another_abi_major_is_refused():
    fake = os.path.join(BUILD, "tests", "e2e", "abi2", "libhexrun.so.1")
    rc, _, err = host("run", P_OK, "--plugin", fake)
    assert rc == 5
    assert "has ABI 2.7; this hexrun-host needs ABI major 1" in err


def test_a_plugin_lacking_required_symbols_is_refused():
    fake = os.path.join(BUILD, "tests", "e2e", "incomplete", "libhexrun.so.1")
    rc, _, err = host("users", env=host_env(HEXRUN_PLUGIN=fake))
    assert rc == 5
    assert "lacks the required symbol hexrun_version" in err


def test_the_plugin_beside_the_binary_is_found():
    env = host_env()
    del env["HEXRUN_PLUGIN"]
    rc, out, _ = host("info", "--json", env=env)
    assert rc == 0
    info = json_lines(out)[0]
    assert os.path.realpath(info["path"]) == os.path.realpath(PLUGIN)


def test_info_describes_the_plugin():
    rc, out, _ = host("info", "--json")
    assert rc == 0
    info = json_lines(out)[0]
    assert info["abi"]["major"] == 1
    assert "submit" in info["capabilities"]


# ------------------------------------------------------------------ runs ----

def test_run_wait_completes_with_parameters(sim):
    rc, out, err = host("run", P_OK, "--param", "region=EMEA", "--param", "days:=7",
                        "--param", "full:=true", "--wait", "--json", sim=sim)
    assert rc == 0, err
    info = json_lines(out)[-1]
    assert info["state"] == "COMPLETED"
    assert sim_run(sim, info["run_id"])["status"] == "COMPLETED"


def test_run_wait_prints_plain_progress_lines_off_a_terminal(sim):
    rc, out, err = host("run", P_OK, "--wait", sim=sim)
    assert rc == 0, err
    assert "state=" in err and "run_url=" in err
    assert out.startswith("COMPLETED  run ")


def test_run_wait_redraws_one_progress_line_on_a_terminal(sim):
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([HOST, "run", P_OK, "--wait"], env=host_env(sim),
                         stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    out, _ = p.communicate(timeout=TIMEOUT)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closes with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert p.returncode == 0
    text = seen.decode(errors="replace")
    assert text.count("\r\x1b[K") >= 2  # redrawn in place, not one line per tick
    assert "COMPLETED" in text and "/runs/" in text
    assert "state=" not in text
    assert out.startswith("COMPLETED")


def test_run_without_wait_prints_the_run_and_status_and_wait_follow_it(sim):
    rc, out, err = host("run", P_OK, "--json", sim=sim)
    assert rc == 0, err
    info = json_lines(out)[0]
    run_id = info["run_id"]
    assert info["state"] in ("PENDING", "RUNNING")
    rc, out, _ = host("status", P_OK, run_id, "--json", sim=sim)
    assert rc == 0
    assert json_lines(out)[0]["runId"] == run_id
    rc, out, _ = host("wait", P_OK, run_id, "--json", sim=sim)
    assert rc == 0
    assert json_lines(out)[-1]["state"] == "COMPLETED"
    rc, out, _ = host("status", P_OK, run_id, sim=sim)
    assert rc == 0
    assert "status   COMPLETED" in out


@pytest.mark.parametrize("project, state", [(P_ERR, "ERRORED"),
                                            (P_KERNEL, "UNABLE_TO_ALLOCATE_KERNEL")])
def test_a_failed_run_exits_1(sim, project, state):
    rc, out, _ = host("run", project, "--wait", "--json", sim=sim)
    assert rc == 1
    assert json_lines(out)[-1]["state"] == state


def test_an_unpublished_project_is_an_api_error(sim):
    rc, out, err = host("run", P_UNPUB, "--wait", "--json", sim=sim)
    assert rc == 3, err
    assert json_lines(out)[-1]["state"] == "SUBMIT_FAILED"
    assert sim.runs()["created_per_project"].get(P_UNPUB, 0) == 0


def test_an_unknown_token_is_an_api_error(sim):
    rc, _, err = host("projects", sim=sim, token="hxtok_nobody")
    assert rc == 3
    assert "401" in err or "auth" in err.lower()


def test_a_limited_token_cannot_run_another_project(sim):
    rc, _, err = host("run", P_SLOW, sim=sim, token="hxtok_limited")
    assert rc == 3, err


def test_config_keys_reach_the_plugin(sim):
    rc, _, err = host("projects", "--config", "no_such_key=1", sim=sim)
    assert rc == 2
    assert "no_such_key" in err
    # The point is speed with the budget raised; under the variant profile a 504 after
    # RunProject makes the load look its runs up (adoption), which takes seconds.
    with variant_off(sim, "run_project_after_work"):
        rc, out, err = host("load", "--jobs", "25", "--projects", P_OK, "--json",
                            "--config", "run_budget_per_min=1000", "--config",
                            "run_budget_per_hour=1000", sim=sim)
    assert rc == 0, err
    # With Hex's default budget (20 a minute) the 21st submit would wait about 3 s.
    assert json_lines(out)[0]["end_states"] == {"COMPLETED": 25}
    assert json_lines(out)[0]["wall_s"] < 3


def test_no_token_is_a_configuration_error(sim):
    rc, _, err = host("projects", sim=sim, token=None)
    assert rc == 2
    assert "HEX_API_TOKEN" in err


def test_dry_run_starts_no_run(sim):
    rc, out, err = host("run", P_OK, "--dry-run", "--param", "region=EU", "--json", sim=sim)
    assert rc == 0, err
    assert json_lines(out)[-1]["state"] == "COMPLETED"
    assert sim.runs()["created_per_project"].get(P_OK, 0) == 0


def test_timeout_exits_4_and_leaves_the_run(sim):
    rc, out, err = host("run", P_SLOW, "--wait", "--timeout", "1", "--json", sim=sim)
    assert rc == 4, err
    run_id = json_lines(out)[-1]["run_id"]
    assert sim_run(sim, run_id)["status"] == "RUNNING"


def test_timeout_with_cancel_kills_the_run(sim):
    rc, out, err = host("run", P_SLOW, "--wait", "--timeout", "1", "--cancel-on-timeout",
                        "--json", sim=sim)
    assert rc == 4, err
    run_id = json_lines(out)[-1]["run_id"]
    wait_sim_status(sim, run_id, "KILLED")


def polls_of(sim):
    """Status answers hexsim gave, by GetRunStatus or GetProjectRuns."""
    requests = sim.counters()["requests"]
    return sum(requests.get(ep, {}).get("200", 0) for ep in ("GetRunStatus", "GetProjectRuns"))


def start_and_interrupt(sim, *extra):
    p = subprocess.Popen([HOST, "run", P_SLOW, "--wait", "--json", *extra],
                         env=host_env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    # The host's plugin has the run's id once it polls the run (a poll needs the id): only
    # then can the interrupt cancel the run or name it.
    wait_for(lambda: polls_of(sim) >= 1, "hexrun-host's first poll of its run", timeout=20)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=TIMEOUT)
    return p.returncode, out, err


def test_sigint_during_run_wait_cancels_the_hex_run(sim):
    rc, out, err = start_and_interrupt(sim)
    assert rc == 130, err
    assert "cancelling the run" in err
    run_id = json_lines(out)[-1]["run_id"]
    assert json_lines(out)[-1]["state"] == "KILLED"
    assert sim_run(sim, run_id)["status"] == "KILLED"


def test_sigint_with_detach_leaves_the_run_going(sim):
    rc, _, err = start_and_interrupt(sim, "--detach")
    assert rc == 130, err
    assert "detached" in err
    runs = [r for r in sim.runs()["runs"] if r["projectId"] == P_SLOW]
    assert len(runs) == 1 and runs[0]["status"] in ("PENDING", "RUNNING")


def test_cancel_kills_a_run_and_a_second_cancel_is_refused(sim):
    rc, out, _ = host("run", P_SLOW, "--json", sim=sim)
    assert rc == 0
    run_id = json_lines(out)[0]["run_id"]
    rc, out, err = host("cancel", P_SLOW, run_id, "--json", sim=sim)
    assert rc == 0, err
    assert json_lines(out)[0]["status"] == "KILLED"
    assert sim_run(sim, run_id)["status"] == "KILLED"
    rc, _, err = host("cancel", P_SLOW, run_id, sim=sim)
    assert rc == 3
    assert "cancel" in err


# ------------------------------------------------------------------ the CLI's own output ----

def test_version_names_the_host_and_the_plugin():
    info = json_lines(host("info", "--json")[1])[0]
    rc, out, err = host("--version")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == f"hexrun-host {info['host_version']}"
    abi = info["abi"]
    assert lines[1] == (f"plugin   {PLUGIN} (libhexrun {info['version']}, "
                        f"ABI {abi['major']}.{abi['minor']})")
    rc, out, err = host("--version", "--plugin", "/nonexistent/libhexrun.so.1")
    assert rc == 0, err
    assert out.splitlines()[0] == f"hexrun-host {info['host_version']}"
    assert "cannot load plugin /nonexistent/libhexrun.so.1" in out


@pytest.mark.parametrize("args", [["run", P_OK, "--wait"], ["run", P_OK],
                                  ["wait", P_OK, "00000000-0000-4000-8000-000000000000"]])
def test_an_error_is_printed_once(sim, args):
    # The plugin's own warnings still show (insecure_skip_verify), but a job's failure that
    # the tool reports is not also logged by the plugin.
    rc, _, err = host(*args, "--config", "insecure_skip_verify=true", sim=sim,
                      token="hxtok_nobody")
    assert rc in (1, 3), err
    assert err.count("The API token is not valid") == 1, err
    assert "insecure_skip_verify" in err


def read_terminal(argv, env, columns):
    """Runs argv with stderr on a pseudo-terminal `columns` wide; returns (rc, stdout, the
    terminal's bytes as text)."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
    os.close(slave)
    out, _ = p.communicate(timeout=TIMEOUT)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return p.returncode, out, seen.decode(errors="replace")


def redrawn_lines(text):
    """The progress line's successive contents (what follows each carriage return)."""
    return [part.split("\r\n")[0].split("\n")[0] for part in text.split("\r\x1b[K")[1:]]


@pytest.mark.parametrize("columns, env_columns", [(40, None), (200, "32")])
def test_the_progress_line_fits_the_terminal_and_labels_its_times(sim, columns, env_columns):
    extra = {"COLUMNS": env_columns} if env_columns else {}
    env = host_env(sim, **extra)
    env.pop("COLUMNS", None) if env_columns is None else None
    rc, out, text = read_terminal([HOST, "run", P_SLOW, "--wait", "--timeout", "2"], env,
                                  columns)
    assert rc == 4, text
    width = int(env_columns or columns)
    lines = [line for line in redrawn_lines(text) if not line.startswith("run page: ")]
    assert len(lines) >= 2, text
    assert all(len(line) < width for line in lines), lines
    assert any("waited " in line for line in lines), lines
    assert text.count("run page: ") == 1 and "/runs/" in text  # in full, once, above the line


def test_plain_progress_lines_label_their_times(sim):
    rc, _, err = host("run", P_OK, "--wait", sim=sim)
    assert rc == 0, err
    lines = [line for line in err.splitlines() if line.startswith("state=")]
    assert lines and all(" waited=" in line for line in lines), err
    assert any(" run_time=" in line for line in lines if "state=COMPLETED" in line), err


@pytest.mark.parametrize("wait", [[], ["--wait"]])
def test_a_dry_run_prints_no_link_to_a_run(sim, wait):
    rc, out, err = host("run", P_OK, "--dry-run", *wait, sim=sim)
    assert rc == 0, err
    assert "/runs/" not in out + err and "run_url=" not in err
    assert out.startswith("COMPLETED  dry run: Hex accepted the request and started no run")


@pytest.mark.parametrize("config, reason", [
    (["no_such_key=1"], "unknown configuration key 'no_such_key'"),
    (["max_retries=lots"], "config key 'max_retries': 'lots' is not allowed"),
    (["poll_min_ms=5000", "poll_max_ms=100"], "poll_min_ms must not exceed poll_max_ms"),
    (["token_file=/nonexistent/token"], "cannot open '/nonexistent/token'"),
])
def test_config_errors_cite_no_c_function(sim, config, reason):
    import re
    args = [a for kv in config for a in ("--config", kv)]
    rc, out, err = host("projects", *args, sim=sim)
    assert rc in (2, 3), err
    assert reason in err
    assert not re.search(r"hexrun_[a-z_]+", err), err
    assert "is HEX_API_TOKEN" not in err  # no hint about a token that is there


# ------------------------------------------------------------------ lists ----

def test_runs_lists_a_projects_runs_with_filters(sim):
    made = sim.sim("POST", "/__sim/runs", {"projectId": P_SLOW, "count": 3})["runIds"]
    rc, out, _ = host("runs", P_SLOW, "--json", sim=sim)
    assert rc == 0
    runs = json_lines(out)
    assert sorted(r["runId"] for r in runs) == sorted(made)
    rc, out, _ = host("runs", P_SLOW, "--status", "COMPLETED", "--json", sim=sim)
    assert rc == 0 and json_lines(out) == []
    rc, out, _ = host("runs", P_SLOW, "--limit", "2", "--json", sim=sim)
    assert rc == 0 and len(json_lines(out)) == 2
    rc, out, _ = host("runs", P_SLOW, sim=sim)
    assert rc == 0
    assert out.splitlines()[0].split() == ["RUN", "ID", "STATUS", "TRIGGER", "START", "->",
                                           "END", "ELAPSED"]
    assert "running" in out


def test_runs_of_an_unknown_project_is_an_api_error(sim):
    rc, _, err = host("runs", "99999999-9999-4999-8999-999999999999", sim=sim)
    assert rc == 3, err


def test_projects_lists_every_project_with_schedules(sim):
    rc, out, _ = host("projects", "--json", sim=sim)
    assert rc == 0
    ids = [p["id"] for p in json_lines(out)]
    assert set(ALL_PROJECTS) <= set(ids)
    rc, out, _ = host("projects", sim=sim)
    assert rc == 0
    assert "SCHEDULES" in out.splitlines()[0]
    assert P_OK in out


def test_projects_with_one_page(sim):
    rc, out, _ = host("projects", "--limit", "2", "--json", sim=sim)
    assert rc == 0
    assert len(json_lines(out)) == 2


def test_users_list_and_deactivate(sim):
    rc, out, _ = host("users", "--json", sim=sim)
    assert rc == 0
    users = json_lines(out)
    assert len(users) >= 3 and all("email" in u for u in users)
    _, _, me = sim.call("GET", "/v1/users/me", token="hxtok_admin")
    victim = next(u["id"] for u in users if u["id"] != me.get("id"))
    rc, out, err = host("users", "deactivate", victim, "--json", sim=sim)
    assert rc == 0, err
    rc, _, err = host("users", "deactivate", "no-such-user", sim=sim)
    assert rc == 3, err


def test_groups_create_edit_delete(sim):
    rc, out, _ = host("groups", "--json", sim=sim)
    assert rc == 0
    before = json_lines(out)
    assert len(before) >= 2
    users = json_lines(host("users", "--json", sim=sim)[1])
    rc, out, err = host("groups", "create", "analysts", "--member", users[0]["id"], "--json",
                        sim=sim)
    assert rc == 0, err
    gid = json_lines(out)[0]["id"]
    rc, out, err = host("groups", "edit", gid, "--name", "analysts-2", "--add-member",
                        users[1]["id"], "--json", sim=sim)
    assert rc == 0, err
    assert json_lines(out)[0]["name"] == "analysts-2"
    names = [g["name"] for g in json_lines(host("groups", "--json", sim=sim)[1])]
    assert "analysts-2" in names
    rc, _, err = host("groups", "delete", gid, sim=sim)
    assert rc == 0, err
    ids = [g["id"] for g in json_lines(host("groups", "--json", sim=sim)[1])]
    assert gid not in ids
    rc, _, _ = host("groups", "delete", gid, sim=sim)
    assert rc == 3


def test_connections_and_collections(sim):
    rc, out, _ = host("connections", "--json", sim=sim)
    assert rc == 0
    conns = json_lines(out)
    assert len(conns) >= 2 and all("type" in c for c in conns)
    rc, out, _ = host("collections", "--json", sim=sim)
    assert rc == 0
    assert len(json_lines(out)) >= 2
    rc, out, _ = host("connections", sim=sim)
    assert rc == 0 and out.splitlines()[0].split() == ["ID", "NAME", "TYPE", "DESCRIPTION"]


def test_quiet_and_human_tables(sim):
    rc, out, err = host("run", P_OK, "--wait", "--quiet", sim=sim)
    assert rc == 0
    assert err == ""
    assert out.startswith("COMPLETED")


# ------------------------------------------------------------------ load ----

def test_load_submits_waits_and_reports(sim):
    rc, out, err = host("load", "--jobs", "6", "--projects", P_OK, "--concurrency", "3",
                        "--json", sim=sim)
    assert rc == 0, err
    report = json_lines(out)[0]
    assert report["end_states"] == {"COMPLETED": 6}
    assert report["wall_s"] > 0 and report["peak_rss_kb"] > 0
    # hexsim's clock runs 20x: its end times are not this host's, so no latency is claimed.
    p50 = report["detect_latency_p50_ms"]
    assert p50 is None or report["detect_latency_p95_ms"] >= p50 >= 0
    assert sim.runs()["created_per_project"][P_OK] == 6


def test_load_with_failures_exits_1_and_reports_them(sim):
    rc, out, _ = host("load", "--jobs", "2", "--projects", f"{P_OK},{P_ERR}", sim=sim)
    assert rc == 1
    assert "end states:" in out and "ERRORED" in out


# ------------------------------------------------------------------ schedule ----

def write_schedule(tmp, entries, state=None):
    path = os.path.join(tmp, "schedule.json")
    doc = {"entries": entries}
    if state:
        doc["state_file"] = state
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def test_schedule_next_prints_fire_times():
    with tempfile.TemporaryDirectory() as tmp:
        path = write_schedule(tmp, [
            {"name": "weekday", "cron": "0 6 * * mon-fri", "timezone": "Europe/Paris",
             "project": P_OK},
            {"name": "hourly", "cron": "@hourly", "project": P_OK}])
        rc, out, err = host("schedule", "--next", path, "3", "--start-at",
                            "2026-01-02T12:00:00Z", "--json")
        assert rc == 0, err
        got = {o["entry"]: o["next"] for o in json_lines(out)}
        assert got["weekday"] == ["2026-01-05T05:00:00Z", "2026-01-06T05:00:00Z",
                                  "2026-01-07T05:00:00Z"]
        assert got["hourly"] == ["2026-01-02T13:00:00Z", "2026-01-02T14:00:00Z",
                                 "2026-01-02T15:00:00Z"]
        rc, out, _ = host("schedule", "--next", path, "1", "--start-at", "2026-01-02T12:00:00Z")
        assert "2026-01-05T06:00:00+01:00" in out


def test_schedule_rejects_a_bad_expression_with_the_reason():
    with tempfile.TemporaryDirectory() as tmp:
        path = write_schedule(tmp, [{"name": "x", "cron": "0 25 * * *", "project": P_OK}])
        rc, _, err = host("schedule", path)
        assert rc == 2
        assert "hour: value 25 out of range 0-23" in err


def schedule_events(out):
    return [e for e in json_lines(out)]


def test_scheduler_fires_the_right_slots_and_never_twice_across_a_restart(sim):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_schedule(tmp, [{"name": "every-minute", "cron": "* * * * *",
                                     "project": P_OK, "overlap": "allow",
                                     "params": {"region": "{{ds}}", "days": 1}}])
        args = ["schedule", path, "--start-at", "2026-01-01T00:00:30Z", "--time-scale", "60",
                "--json"]
        rc, out, err = host(*args, "--max-fires", "2", sim=sim)
        assert rc == 0, err
        ev = schedule_events(out)
        fires = [e for e in ev if e["event"] == "fire"]
        assert [e["slot"] for e in fires] == ["2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"]
        assert fires[0]["params"] == {"inputParams": {"region": "2026-01-01", "days": 1}}
        assert [e["state"] for e in ev if e["event"] == "end"] == ["COMPLETED", "COMPLETED"]
        # Same clock again: the recorded slots are not fired a second time.
        rc, out, err = host(*args, "--max-fires", "1", sim=sim)
        assert rc == 0, err
        fires = [e for e in schedule_events(out) if e["event"] == "fire"]
        assert [e["slot"] for e in fires] == ["2026-01-01T00:03:00Z"]
        assert sim.runs()["created_per_project"][P_OK] == 3


def test_scheduler_skips_a_slot_while_the_previous_run_is_live(sim):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_schedule(tmp, [{"name": "slow", "cron": "* * * * *", "project": P_SLOW,
                                     "overlap": "skip"}])
        rc, out, err = host("schedule", path, "--start-at", "2026-01-01T00:00:50Z",
                            "--time-scale", "60", "--exit-after", "2.5", "--json", sim=sim)
        assert rc == 0, err
        ev = schedule_events(out)
        assert [e["slot"] for e in ev if e["event"] == "fire"] == ["2026-01-01T00:01:00Z"]
        assert [e["slot"] for e in ev if e["event"] == "skip"][:1] == ["2026-01-01T00:02:00Z"]
        assert sim.runs()["created_per_project"][P_SLOW] == 1


def test_scheduler_queues_a_slot_until_the_previous_run_ends(sim):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_schedule(tmp, [{"name": "q", "cron": "* * * * *", "project": P_OK,
                                     "overlap": "queue"}])
        # 600x: a minute every 0.1 s, while P_OK takes 0.2-0.4 s at hexsim's 20x.
        rc, out, err = host("schedule", path, "--start-at", "2026-01-01T00:00:59Z",
                            "--time-scale", "600", "--max-fires", "3", "--json", sim=sim)
        assert rc == 0, err
        ev = schedule_events(out)
        fire_slots = [e["slot"] for e in ev if e["event"] == "fire"]
        assert len(fire_slots) == 3 and fire_slots == sorted(fire_slots)
        assert any(e["event"] == "queued" for e in ev)
        assert not any(e["event"] == "skip" for e in ev)


def test_scheduler_prints_a_failed_run_s_error_once(sim):
    # The scheduler's `end` line carries the error; the plugin's warning saying the same is
    # dropped (and, over a long run, held lines are let go at each tick, not kept to exit).
    with tempfile.TemporaryDirectory() as tmp:
        path = write_schedule(tmp, [{"name": "denied", "cron": "* * * * *", "project": P_OK,
                                     "overlap": "allow"}])
        rc, out, err = host("schedule", path, "--start-at", "2026-01-01T00:00:59Z",
                            "--time-scale", "600", "--max-fires", "3", sim=sim,
                            token="hxtok_nobody")
        assert rc == 0, err
        ends = [line for line in out.splitlines() if " event=end " in line]
        assert len(ends) == 3 and all("state=SUBMIT_FAILED" in e for e in ends), out
        assert (out + err).count("The API token is not valid") == 3, (out, err)


def test_scheduler_reloads_on_sighup(sim):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_schedule(tmp, [{"name": "a", "cron": "@yearly", "project": P_OK}])
        # --exit-after only bounds a hang (the test stops it with SIGTERM): 20 s could pass
        # between the start line and the SIGHUP on a loaded machine.
        p = subprocess.Popen([HOST, "schedule", path, "--json", "--exit-after", "600"],
                             env=host_env(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        first = json.loads(readline_within(p.stdout, "the scheduler's start line"))
        assert first["event"] == "start" and first["entries"] == 1
        write_schedule(tmp, [{"name": "a", "cron": "@yearly", "project": P_OK},
                             {"name": "b", "cron": "@daily", "project": P_OK}])
        p.send_signal(signal.SIGHUP)
        second = json.loads(readline_within(p.stdout, "the scheduler's reload line"))
        assert second["event"] == "reload" and second["entries"] == 2
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0
        assert json_lines(out)[-1]["event"] == "stop"
