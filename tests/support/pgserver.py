"""A throwaway PostgreSQL server for tests and benchmarks (Debian's postgresql package).

PgServer() runs initdb and pg_ctl in a fresh temporary directory, listening only on a unix
socket there (no TCP port), and removes it all on stop(). PostgreSQL refuses to run as
root, so as root the server runs as `nobody` (runuser), in a directory nobody owns; as any
other user, as that user. `url` is the postgresql:// URL clients use (coord_url).
"""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile

ROLE = "hexrun"


def pg_bindir():
    """The newest Debian PostgreSQL server binaries, or $PG_BINDIR."""
    if os.environ.get("PG_BINDIR"):
        return os.environ["PG_BINDIR"]
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server: install Debian's postgresql package "
                           "(mk/deps.sh debian)")
    return os.path.dirname(found[-1])


class PgServer:
    def __init__(self, durable=False):
        """durable: commits wait for the WAL on disk (fsync and synchronous_commit on), as
        on a production server; the tests' default server skips the disk."""
        self.durable = durable
        self.bindir = pg_bindir()
        self.dir = None
        self.as_nobody = os.geteuid() == 0

    def _run(self, *args, check=True):
        cmd = [os.path.join(self.bindir, args[0]), *args[1:]]
        if self.as_nobody:
            cmd = ["runuser", "-u", "nobody", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    @property
    def sock(self):
        return os.path.join(self.dir, "sock")

    @property
    def url(self):
        return f"postgresql://{ROLE}@/postgres?host={self.sock}"

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="hexrun-pg-")
        os.chmod(self.dir, 0o755)
        for sub in ("data", "sock"):
            os.mkdir(os.path.join(self.dir, sub), 0o700)
            if self.as_nobody:
                nobody = pwd.getpwnam("nobody")
                os.chown(os.path.join(self.dir, sub), nobody.pw_uid, nobody.pw_gid)
        os.chmod(self.sock, 0o755)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", ROLE, "-E", "UTF8",
                  "--no-sync")
        self.resume()
        return self

    def resume(self):
        """Start (or start again) the server on its data directory."""
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.sock, "log"), "-w",
                  "-t", "60", "-o",
                  f"-k {self.sock} -c listen_addresses='' -c max_connections=200"
                  + ("" if self.durable else " -c fsync=off -c synchronous_commit=off"),
                  "start")

    def halt(self):
        """Stop the server (fast: sessions are ended), keeping its data."""
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop",
                  check=False)

    def psql(self, sql):
        out = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-At", "-v",
                              "ON_ERROR_STOP=1", "-c", sql, self.url],
                             check=True, capture_output=True, text=True, timeout=60)
        return out.stdout.strip()

    def stop(self):
        if self.dir:
            self.halt()
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
