"""TLS between libhexrun and an HTTPS hexsim whose CA is made at test time (openssl CLI):
verification is on by default, ca_file makes it pass, insecure_skip_verify works and warns."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("HEXRUN_LIBRARY", os.path.join(ROOT, "build", "libhexrun.so.1"))

import hexrun  # noqa: E402
from hexsim import HexSim  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, and a server certificate for 127.0.0.1 signed by it."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=hexrun test CA", "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr", cwd=d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=d)
    return d


@pytest.fixture(scope="module")
def sim(pki):
    with HexSim(args=["--tls-cert", str(pki / "server.pem"),
                      "--tls-key", str(pki / "server.key")]) as s:
        assert s.base_url.startswith("https://")
        yield s


def test_unknown_ca_is_refused_by_default(sim):
    with hexrun.Client(base_url=sim.base_url, token="hxtok_admin") as c:
        with pytest.raises(hexrun.TransportError) as e:
            c.me()
    assert e.value.code == -7  # HEXRUN_E_TLS
    assert "certificate" in e.value.message.lower()


def test_ca_file_makes_it_pass(sim, pki):
    with hexrun.Client(base_url=sim.base_url, token="hxtok_admin",
                       ca_file=str(pki / "ca.pem")) as c:
        assert c.me()["org"]["id"]


def test_insecure_skip_verify_works_and_warns(sim, capfd):
    with hexrun.Client(base_url=sim.base_url, token="hxtok_admin",
                       insecure_skip_verify=True) as c:
        assert c.me()["org"]["id"]
    err = capfd.readouterr().err
    assert "insecure_skip_verify" in err and "hxtok_admin" not in err


# ---- transport floors: TLS version, proxy bypass only for real loopback ----------------

PERMISSIVE_OPENSSL = """openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT@SECLEVEL=0
"""

# Runs one call in a fresh process (its own OpenSSL configuration and proxy environment)
# and prints the outcome as JSON: {"ok": true}, {"code": ..., "message": ...} or {"answer":
# ...} when something answered with what is not JSON.
CLIENT_SNIPPET = """
import json, sys, hexrun
try:
    with hexrun.Client(**json.loads(sys.argv[1])) as c:
        c.me()
    print(json.dumps({"ok": True}))
except hexrun.HexrunError as e:
    print(json.dumps({"code": e.code, "message": e.message}))
except ValueError as e:  # an answer that is not JSON: the session was made
    print(json.dumps({"answer": str(e)}))
"""


def run_client(config, env):
    import json
    full_env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"), **env)
    out = subprocess.run([sys.executable, "-c", CLIENT_SNIPPET, json.dumps(config)],
                         env=full_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tls_below_1_2_is_refused_even_when_openssl_allows_it(pki, tmp_path):
    """A server that speaks only TLS 1.1, and an OpenSSL configuration that would accept
    it: hexrun's own floor (CURLOPT_SSLVERSION TLSv1_2) refuses the handshake."""
    conf = tmp_path / "permissive.cnf"
    conf.write_text(PERMISSIVE_OPENSSL)
    port = free_port()
    env = {"OPENSSL_CONF": str(conf)}
    server = subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki / "server.pem"),
         "-key", str(pki / "server.key"), "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-www",
         "-quiet"], env=dict(os.environ, **env), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        import socket
        import time
        deadline = time.monotonic() + 30
        while True:  # wait until it listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "s_server did not start"
                time.sleep(0.05)
        got = run_client({"base_url": f"https://127.0.0.1:{port}", "token": "hxtok_admin",
                          "ca_file": str(pki / "ca.pem"), "max_retries": "0"}, env)
    finally:
        server.kill()
        server.wait()
    assert got.get("code") == -7, got  # HEXRUN_E_TLS, not a TLS 1.1 session
    assert "version" in got["message"].lower() or "protocol" in got["message"].lower(), got


def test_proxy_bypass_is_for_exact_loopback_only(tmp_path):
    """A host that merely starts with "127." is a name like any other: its requests go
    through the configured proxy (here a socket that records what reaches it)."""
    import socket
    import threading
    seen = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(30)

    def accept_one():
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            seen.append(conn.recv(4096))
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            conn.close()
        except OSError:
            pass

    t = threading.Thread(target=accept_one)
    t.start()
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    got = run_client({"base_url": "http://127.hexrun-test.invalid", "token": "hxtok_admin",
                      "allow_cleartext": "true", "max_retries": "0"},
                     {"http_proxy": proxy, "HTTP_PROXY": proxy, "no_proxy": "", "NO_PROXY": ""})
    t.join(40)
    listener.close()
    assert seen and b"127.hexrun-test.invalid" in seen[0], (got, seen)
