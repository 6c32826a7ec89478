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
