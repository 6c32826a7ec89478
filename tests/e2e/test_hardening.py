"""hexrun-host against hostile input (issue 13): dot ids never reach Hex, names set in Hex
never drive the terminal, and a token on the command line is warned about."""
import os
import subprocess

import pytest

from e2e_common import HOST, PLUGIN, HexSim

TIMEOUT = 60


@pytest.fixture(scope="module")
def sim():
    with HexSim(args=["--time-scale", "20"]) as s:
        yield s


def host(sim, *args, token="hxtok_admin"):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEX_", "HEXRUN_"))}
    env.update(HEXRUN_PLUGIN=PLUGIN, HEX_API_BASE_URL=sim.base_url)
    if token:
        env["HEX_API_TOKEN"] = token
    p = subprocess.run([HOST, *args], env=env, capture_output=True, text=True,
                       timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def total_requests(sim):
    return sum(sum(by.values()) for by in sim.counters()["requests"].values())


def test_dot_ids_never_reach_hex(sim):
    before = total_requests(sim)
    for args in (["groups", "delete", ".."], ["groups", "delete", "."],
                 ["groups", "edit", "..", "--name", "x"]):
        rc, _, err = host(sim, *args)
        assert rc == 2, (args, err)  # a usage error, not an API call
        assert "is not an id" in err, err
    assert total_requests(sim) == before


def test_names_set_in_hex_never_drive_the_terminal(sim):
    evil = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\r\nforged line\u009b31m"
    status, _, body = sim.call("POST", "/api/v1/groups", token="hxtok_admin",
                               body={"name": evil})
    assert status // 100 == 2, body
    for args in (["groups"], ["groups", "--json"]):
        rc, out, err = host(sim, *args)
        assert rc == 0, err
        for text in (out, err):
            assert "\x1b" not in text and "\x07" not in text and "\r" not in text, repr(text)
            assert "\u009b" not in text, repr(text)
        assert "forged line" in out  # still shown, made visible
        assert not any(line.startswith("forged line") for line in out.splitlines())


def test_a_token_on_the_command_line_is_warned_about(sim):
    rc, _, err = host(sim, "--config", "token=hxtok_admin", "users", token=None)
    assert rc == 0, err
    assert "token on the command line" in err and "HEX_API_TOKEN" in err, err
    assert "hxtok_admin" not in err
    rc, _, err = host(sim, "users")
    assert "command line" not in err
