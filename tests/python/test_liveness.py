"""The Python binding never hangs its caller (issue 12): Ctrl-C gets through a blocking
wait or direct call, and the list generators stop on a cursor that repeats."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402
from hexsim import HexSim  # noqa: E402
from waiting import readline_within, thread_sleeps, wait_for  # noqa: E402

ADMIN = "hxtok_admin"
P_OK = "11111111-1111-4111-8111-111111111111"
# Ctrl-C must end the call well before what it waits for would (60 s and 30 s below).
INTERRUPT_BOUND_S = 10


@pytest.fixture(scope="module")
def sim():
    with HexSim(args=["--time-scale", "20"]) as s:
        yield s


def interrupted_within(body, sim, **config):
    """Run body (Python using `c`, a client of sim with config) in a child process, press
    Ctrl-C once it says it blocks, and return the seconds until it exited with
    KeyboardInterrupt."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.join(ROOT, "python")!r})
        import hexrun
        c = hexrun.Client(base_url={sim.base_url!r}, token={ADMIN!r}, **{config!r})
        try:
    """) + textwrap.indent(textwrap.dedent(body), "    ") + textwrap.dedent("""
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            c.close()
            sys.exit(3)
        sys.exit(0)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = readline_within(child.stdout, "the child's 'blocking' line")
        assert line.strip() == "blocking", line + child.stderr.read()
        # Into the blocking call: the child's main thread asleep in the kernel (an earlier
        # Ctrl-C would be caught all the same, but would not test the call).
        wait_for(lambda: thread_sleeps(child.pid), "the child asleep in the blocking call",
                 timeout=INTERRUPT_BOUND_S)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        rc = child.wait(timeout=INTERRUPT_BOUND_S * 3)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert rc == 3, child.stderr.read()
    return took


def test_ctrl_c_gets_through_a_wait(sim):
    # One RunProject a minute: the second job stays QUEUED for about a minute.
    took = interrupted_within(f"""
        c.submit({P_OK!r})
        job = c.submit({P_OK!r})
        print("blocking", flush=True)
        job.wait()
    """, sim, run_budget_per_min=1)
    assert took < INTERRUPT_BOUND_S


def test_ctrl_c_gets_through_a_direct_call(sim):
    sim.sim("POST", "/__sim/faults", {"faults": [
        {"endpoint": "ListProjects", "kind": "delay", "delay_ms": 30000, "count": 1}]})
    try:
        took = interrupted_within("""
            print("blocking", flush=True)
            list(c.projects())
        """, sim)
    finally:
        sim.sim("DELETE", "/__sim/faults")
    assert took < INTERRUPT_BOUND_S


class CursorStub(BaseHTTPRequestHandler):
    """ListProjects: after=A -> after=B -> the end; with `repeat`, after=A for ever (it
    reads the first after= of a query, as servers do; it ends after 20 pages anyway)."""
    queries = []
    repeat = False

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        self.queries.append(url.query)
        after = urllib.parse.parse_qs(url.query).get("after", [None])[0]
        if self.repeat:
            nxt = "A"
        else:
            nxt = {None: "A", "A": "B"}.get(after)
        if len(self.queries) >= 20:
            nxt = None
        body = json.dumps({"values": [{"id": f"p-{after}"}],
                           "pagination": {"after": nxt, "before": None}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def cursor_stub():
    CursorStub.queries, CursorStub.repeat = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), CursorStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with hexrun.Client(base_url=f"http://127.0.0.1:{server.server_address[1]}",
                       token="hxtok_stub") as c:
        yield c
    server.shutdown()
    server.server_close()


def test_pages_start_from_the_callers_own_cursor(cursor_stub):
    ids = [p["id"] for p in cursor_stub.projects("limit=1&after=A")]
    assert ids == ["p-A", "p-B"]
    assert CursorStub.queries == ["limit=1&after=A", "limit=1&after=B"]


def test_a_repeated_cursor_stops_the_generator(cursor_stub):
    CursorStub.repeat = True
    with pytest.raises(hexrun.ProtocolError, match="came back again"):
        list(cursor_stub.projects())
    assert CursorStub.queries == ["", "after=A"]
