"""What a hostile or broken server sends never reaches logs or job info raw (issue 13):
a status, trace id or run URL with CR/LF or escape sequences is escaped in every log line,
and one that echoes the token is redacted in hexrun_job_info, like the logs."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402
from waiting import wait_for  # noqa: E402

TOKEN = "hxtok_hardening_secret"
P = "11111111-1111-4111-8111-111111111111"
R_LIVE = "aaaaaaaa-1111-4111-8111-111111111111"
R_GONE = "bbbbbbbb-1111-4111-8111-111111111111"
HOSTILE = "\r\nhexrun level=error event=forged \x1b[31mred\x1b[0m \x07"
SHORT = "\r\nevent=x\x1b[2J"  # fits Hex's short fields (status: 32 bytes)


class Hostile(BaseHTTPRequestHandler):
    """GetRunStatus for R_LIVE: a live run whose status, URL and trace id carry CR/LF,
    escape sequences and the token; for R_GONE: a 404 whose traceId does the same."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith(R_LIVE):
            code, body = 200, {"projectId": P, "runId": R_LIVE,
                               "status": "RUN" + SHORT,
                               "runUrl": "https://app.hex.tech/run?t=" + TOKEN + HOSTILE,
                               "traceId": TOKEN + SHORT}
        else:
            code, body = 404, {"reason": "gone" + HOSTILE, "traceId": TOKEN + "\r\nx"}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def assert_clean_log(err):
    for line in err.splitlines():
        if not line.strip():
            continue
        # One event, one line: nothing in it starts a forged line or drives a terminal.
        assert line.startswith("hexrun level="), repr(line)
        assert "\x1b" not in line and "\x07" not in line and "\r" not in line, repr(line)
        assert TOKEN not in line, repr(line)


def test_server_text_is_escaped_in_logs_and_redacted_in_job_info(server, capfd):
    with hexrun.Client(base_url=server, token=TOKEN, log_level="debug", poll_min_ms="10",
                       poll_max_ms="50", max_retries="0", retry_base_ms="1") as c:
        live = c.attach(P, R_LIVE)
        wait_for(lambda: live.info.hex_status is not None, "a status of the live run")
        info = live.info
        text = json.dumps(info.raw)
        assert TOKEN not in text, text
        assert "<redacted>" in (info.run_url or "")
        gone = c.attach(P, R_GONE)
        wait_for(lambda: gone.info.trace_id is not None or gone.info.state == "LOST",
                 "the gone run's answer (a trace id or LOST)")
        text = json.dumps(gone.info.raw)
        assert TOKEN not in text, text
    assert_clean_log(capfd.readouterr().err)


def test_caller_ids_in_errors_are_escaped(server):
    with hexrun.Client(base_url=server, token=TOKEN) as c:
        with pytest.raises(hexrun.InvalidArgument) as e:
            c.submit("not-a-uuid\r\nhexrun level=error event=forged\x1b[2J")
    assert "\r" not in e.value.message and "\n" not in e.value.message
    assert "\x1b" not in e.value.message and "\\r\\n" in e.value.message
