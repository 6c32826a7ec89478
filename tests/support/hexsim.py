"""Start, call and stop a hexsim process from Python tests (stdlib only).

    with HexSim(args=["--time-scale", "20"]) as sim:
        status, headers, body = sim.call("GET", "/v1/users/me", token="hxtok_admin")
        sim.sim("POST", "/__sim/faults", {"faults": [...]})

The binary and scenario default to build/hexsim and hexsim/scenarios/test.json relative to
the repository root; HEXSIM_BIN and HEXSIM_SCENARIO override them. HEXSIM_PROFILE (e.g.
spec-variant) starts every hexsim with that --profile, to run a suite against the variant;
a test that needs one profile passes profile= (which wins).
"""
import http.client
import json
import os
import re
import select
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
START_TIMEOUT_S = 5.0


class HexSimError(RuntimeError):
    pass


class HexSim:
    def __init__(self, args=None, scenario=None, binary=None, timeout=10.0, profile=None):
        self.binary = binary or os.environ.get("HEXSIM_BIN") or os.path.join(ROOT, "build", "hexsim")
        self.scenario = (scenario or os.environ.get("HEXSIM_SCENARIO")
                         or os.path.join(ROOT, "hexsim", "scenarios", "test.json"))
        self.args = list(args or [])
        profile = profile or os.environ.get("HEXSIM_PROFILE")
        if profile:
            self.args = ["--profile", profile] + self.args
        self.timeout = timeout
        self.proc = None
        self.port = None
        self.base_url = None

    def start(self):
        cmd = [self.binary, "--port", "0", "--scenario", self.scenario] + self.args
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self._first_line()
        m = re.match(r"listening on (https?)://127\.0\.0\.1:(\d+)$", line.strip())
        if not m:
            err = self.proc.stderr.read1(4096).decode(errors="replace") if self.proc.poll() is not None else ""
            self.stop()
            raise HexSimError(f"hexsim did not report a port: {line!r} {err}")
        self.port = int(m.group(2))
        self.base_url = f"{m.group(1)}://127.0.0.1:{self.port}"
        return self

    def _first_line(self):
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        if not ready:
            return ""
        return self.proc.stdout.readline().decode(errors="replace")

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        errors = self.proc.stderr.read().decode(errors="replace")
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        self.proc = None
        # A sanitizer build of hexsim (make hexsim-asan) reports here; make it a failure.
        if "Sanitizer" in errors or "runtime error:" in errors:
            raise HexSimError("hexsim reported a sanitizer error:\n" + errors[-4000:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def call(self, method, path, token=None, body=None, headers=None):
        """One request. Returns (status, headers dict with lower-case keys, body), where body
        is the parsed JSON when it parses, else the text ('' when empty)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            raw = resp.read()
            resp_headers = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, resp_headers, _decode(raw)
        finally:
            conn.close()

    def sim(self, method, path, body=None):
        """A /__sim/ control call; raises on a non-2xx answer, returns the parsed body."""
        status, _, parsed = self.call(method, path, body=body)
        if status // 100 != 2:
            raise HexSimError(f"{method} {path} -> {status}: {parsed}")
        return parsed

    def counters(self):
        return self.sim("GET", "/__sim/counters")

    def in_flight(self, op):
        """Requests of op that hexsim has read and not yet answered (docs/hexsim.md)."""
        return self.counters()["in_flight"].get(op, 0)

    def runs(self):
        return self.sim("GET", "/__sim/runs")


def _decode(raw):
    text = raw.decode("utf-8", errors="replace")
    if not text:
        return ""
    try:
        return json.loads(text)
    except ValueError:
        return text
