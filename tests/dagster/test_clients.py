"""One hexrun.Client per process and settings (issue 19): HexResource.get_client() from 32
threads at once, across fork(), and no engine thread left behind. The thread counts are
taken in a fresh interpreter (client_probe.py), where no other native thread runs."""
import os
import subprocess
import sys
import threading

from dagster import OpExecutionContext, job, op

import defs
from conftest import HERE
from hexrun import shared
from hexrun.dagster import HexResource

THREADS = 32


def probe(sim, scenario):
    out = subprocess.run([sys.executable, os.path.join(HERE, "client_probe.py"), scenario],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, HEX_API_BASE_URL=sim.base_url))
    assert out.returncode == 0, out.stdout + out.stderr
    return dict(line.split("=", 1) for line in out.stdout.split())


def test_32_threads_get_one_client_and_close_leaves_no_engine_thread(sim):
    result = probe(sim, "threads")
    assert result["distinct_clients"] == "1"
    assert result["engine_threads_while_open"] == "1"
    assert result["native_threads_after_close"] == result["native_threads_before"] == "0"


def test_forked_child_makes_its_own_client(sim):
    result = probe(sim, "fork")
    assert result["child"] == "own-client-works", result
    assert result["parent_after_fork"] == "same-client-works"


def test_forked_child_does_not_inherit_a_held_lock(sim):
    """A fork while another thread holds the table's lock: the child still gets a client."""
    assert probe(sim, "fork-locked")["child"] == "own-client-works"


def test_resources_with_the_same_settings_share_a_client_until_the_last_closes(sim):
    def resource(**settings):
        return HexResource(base_url=sim.base_url, api_token="hxtok_admin", **settings)
    first, second, other = resource(), resource(), resource(max_retries=2)
    client = first.get_client()
    assert second.get_client() is client and other.get_client() is not client
    first.close()
    assert client._h and second.get_client() is client  # second still holds it
    second.close()
    other.close()
    assert client._h is None  # the last holder closed it
    assert first.get_client() is not client  # a new one for the next holder
    first.close()
    assert shared.client_count() == 0


def test_fan_out_op_uses_one_client_from_many_threads(sim):
    @op
    def fan_out(context: OpExecutionContext, hex: HexResource) -> int:
        barrier, clients = threading.Barrier(THREADS, timeout=30), []

        def ask():
            barrier.wait()
            clients.append(hex.get_client())
        threads = [threading.Thread(target=ask) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
            assert not t.is_alive(), "a thread still in get_client after 30 s"
        return len({id(c) for c in clients})

    @job(resource_defs={"hex": defs.hex_resource(journal_path=None)})
    def fan_out_job():
        fan_out()

    result = fan_out_job.execute_in_process()
    assert result.output_for_node("fan_out") == 1
    assert shared.client_count() == 0  # the run's teardown closed it
