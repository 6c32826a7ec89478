"""The Python binding never hangs its caller (issue 12): the list generators start from the
caller's own cursor and stop on a cursor that repeats."""
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402


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
