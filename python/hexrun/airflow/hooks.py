"""HexHook: an Airflow connection turned into a shared hexrun.Client.

Connections of type `hexrun` (hexrun's own) and `hex` (the type of Hex's provider,
airflow-provider-hex) are read alike, so existing `hex_default` connections keep working:
host = base URL (default https://app.hex.tech), port = its port when not the scheme's,
password = API token. Extras carry hexrun configuration keys (docs/config.md), e.g.
{"timeout_ms": 30000, "ca_file": "/etc/ssl/hex.pem", "journal_path": "/var/lib/hexrun/j"}.
"""
import atexit
import os
import threading
import time
import urllib.parse
from typing import Any, Dict, Optional, Tuple


import hexrun

from . import CONN_TYPE, HEX_CONN_TYPE, HOOK_NAME, UI_FIELD_BEHAVIOUR
from ._compat import BaseHook

DEFAULT_BASE_URL = "https://app.hex.tech"

# One client per (process, base URL, token, config): every task and trigger of a process that
# uses the same connection shares one engine thread, so the engine coalesces their polls
# into one list request per project and one rate budget. A client must not cross fork()
# (Airflow forks task processes from its supervisor; the engine thread stays behind):
# _after_fork gives the child an empty table and a fresh lock (the parent's may have been
# held by another thread at the fork), and the pid in the key covers forks Python did
# not see.
_CLIENTS: Dict[Tuple, hexrun.Client] = {}
_CLIENTS_LOCK = threading.Lock()


def shared_client(base_url: str, token: str, config: Dict[str, str]) -> hexrun.Client:
    """The process-wide client for these settings, created on first use."""
    key = (os.getpid(), base_url, token, tuple(sorted(config.items())))
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = hexrun.Client(base_url=base_url, token=token, **config)
            _CLIENTS[key] = client
        return client


def _after_fork() -> None:
    """In a forked child: the parent's clients are not ours to use or close (their engine
    threads did not come along), so forget them; the child makes its own on first use."""
    global _CLIENTS_LOCK
    _CLIENTS_LOCK = threading.Lock()
    _CLIENTS.clear()


os.register_at_fork(after_in_child=_after_fork)


@atexit.register
def close_clients() -> None:
    """Closes this process's shared clients. Closing waits (bounded by timeout_ms) for
    cancels already requested, so a run that on_kill or a cancelled trigger asked to stop
    is stopped before the process is gone."""
    with _CLIENTS_LOCK:
        mine = [k for k in _CLIENTS if k[0] == os.getpid()]
        clients = [_CLIENTS.pop(k) for k in mine]
    for client in clients:
        try:
            client.close()
        except hexrun.HexrunError:
            pass


def base_url_from_host(host: Optional[str], schema: Optional[str] = None,
                       port: Optional[int] = None) -> str:
    """Hex's provider accepts `https://app.hex.tech` or a bare host name, and joins the API
    path onto the host, dropping any path; hexrun appends /api itself, so keep only
    scheme://host[:port]. The connection's port field (a URI `hex://:tok@host:8443` puts
    the port there) applies when the host names none."""
    if not host:
        host = DEFAULT_BASE_URL
    if "://" not in host:
        host = f"{schema or 'https'}://{host}"
    parts = urllib.parse.urlsplit(host)
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{int(port)}"
    return f"{parts.scheme}://{netloc}"


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Keys naming files whose directory the hook creates (a sample path like
# /var/lib/hexrun/journal must not fail only inside the first task's submit).
PATH_KEYS = ("journal_path", "budget_path")


def _ensure_parent_dir(conn_id: str, key: str, path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise ValueError(f"connection {conn_id!r}: {key} {path!r}: its directory {parent!r} "
                         f"does not exist and cannot be created ({e.strerror}); create it "
                         f"writable for the Airflow user, or change {key}") from None


def _plain_extras(conn_type: Optional[str], extras: Dict[str, Any]) -> Dict[str, Any]:
    """Extras as hexrun keys: the form's fields may come prefixed (extra__<type>__key, as
    older Airflow UIs saved them), and an untouched form field is saved empty."""
    plain = {}
    for key, value in extras.items():
        for prefix in {f"extra__{conn_type}__", f"extra__{CONN_TYPE}__",
                       f"extra__{HEX_CONN_TYPE}__"}:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        if value is None or value == "":
            continue
        plain[key] = value
    return plain


class HexHook(BaseHook):
    """Hex API access through libhexrun.

    :param hex_conn_id: the Airflow connection (type `hexrun` or `hex`) to use.
    """

    conn_name_attr = "hex_conn_id"
    default_conn_name = "hex_default"
    conn_type = HEX_CONN_TYPE
    hook_name = "Hex"

    @classmethod
    def get_ui_field_behaviour(cls) -> Dict[str, Any]:
        """For Airflow before 3.2, which reads the form from the hook rather than from the
        provider info (hexrun.airflow.UI_FIELD_BEHAVIOUR, the one source of both)."""
        return {"hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
                "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
                "placeholders": UI_FIELD_BEHAVIOUR["placeholders"]}

    def __init__(self, hex_conn_id: str = default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hex_conn_id = hex_conn_id

    # ---- connection -> client settings ----

    @staticmethod
    def settings_from_connection(conn, extras: Optional[Dict[str, Any]] = None
                                 ) -> Tuple[str, str, Dict[str, str]]:
        """(base_url, token, hexrun config) from an Airflow Connection. Extras whose key is
        not a hexrun configuration key are rejected, so a typo does not pass silently."""
        extras = _plain_extras(conn.conn_type,
                               conn.extra_dejson if extras is None else extras)
        base_url = base_url_from_host(conn.host or extras.pop("base_url", None), conn.schema,
                                      conn.port)
        extras.pop("base_url", None)
        token = conn.password or extras.pop("token", None)
        extras.pop("token", None)
        if not token:
            raise ValueError(f"connection {conn.conn_id!r}: the Hex API token (password) is empty")
        known = set(hexrun.plugin_info()["config_keys"])
        unknown = sorted(k for k in extras if k not in known)
        if unknown:
            raise ValueError(f"connection {conn.conn_id!r}: unknown hexrun config keys in "
                             f"extras: {', '.join(unknown)} (see docs/config.md)")
        for key in PATH_KEYS:
            if key in extras:
                _ensure_parent_dir(conn.conn_id, key, str(extras[key]))
        return base_url, token, {k: _config_value(v) for k, v in extras.items()}

    def get_conn(self) -> hexrun.Client:
        """The shared hexrun.Client for this connection."""
        conn = self.get_connection(self.hex_conn_id)
        return shared_client(*self.settings_from_connection(conn))

    async def aget_conn(self) -> hexrun.Client:
        """get_conn for triggers: reads the connection without blocking the event loop."""
        conn = await self.aget_connection(self.hex_conn_id)
        # extra_dejson masks secrets synchronously, which Airflow refuses inside a loop.
        extras = await conn.aextra_dejson() if hasattr(conn, "aextra_dejson") else None
        return shared_client(*self.settings_from_connection(conn, extras))

    def test_connection(self) -> Tuple[bool, str]:
        """The connection test button: one GET /v1/users/me."""
        try:
            me = self.get_conn().me()
            return True, f"connected as {me.get('email') or me.get('id')}"
        except Exception as e:  # shown to the user in the UI
            return False, str(e)

    # ---- the calls Hex's HexHook offers, for DAGs that call the hook directly ----

    def run_project(self, project_id: str, inputs: Optional[Dict[str, Any]] = None,
                    update_cache: bool = False, notifications=None,
                    idempotency_key: Optional[str] = None, **options) -> hexrun.Job:
        """Queues a run and returns its Job (Hex's hook returned the RunProject answer)."""
        if update_cache:
            options["updateCache"] = True
        return self.get_conn().submit(project_id, inputs=inputs, notifications=notifications,
                                      idempotency_key=idempotency_key, **options)

    def run_status(self, project_id: str, run_id: str) -> Dict[str, Any]:
        """GetRunStatus, as Hex's hook: the run's JSON (status, runUrl, elapsedTime...)."""
        return self.get_conn().run_status(project_id, run_id)

    def cancel_run(self, project_id: str, run_id: str) -> str:
        """Cancels a run started anywhere and waits (at most 30 s) until Hex confirms."""
        job = self.get_conn().attach(project_id, run_id)
        try:
            # The attached job is PENDING until the engine's first poll says what it is.
            wait_until(job, lambda info: info.hex_status is not None or is_terminal(info), 30)
            if not is_terminal(job.info):
                job.cancel()
                job.wait(timeout=30, raise_on_failure=False)
        finally:
            job.release()
        return run_id


class HexrunHook(HexHook):
    """HexHook registered for hexrun's own connection type `hexrun` (the type to choose when
    Hex's provider is installed too and owns `hex`)."""

    conn_type = CONN_TYPE
    hook_name = HOOK_NAME


TERMINAL_STATES = frozenset(["COMPLETED", "ERRORED", "KILLED", "UNABLE_TO_ALLOCATE_KERNEL",
                             "SUBMIT_FAILED", "LOST", "SUBMIT_UNKNOWN"])
FAILED_STATES = TERMINAL_STATES - {"COMPLETED"}


def is_terminal(info: hexrun.JobInfo) -> bool:
    return info.state in TERMINAL_STATES


def wait_until(job: hexrun.Job, predicate, timeout: float, step: float = 0.05) -> hexrun.JobInfo:
    """Job.info once predicate(info) holds; raises hexrun.Timeout after `timeout` seconds.
    Reading job info makes no request (the engine thread keeps it fresh)."""
    deadline = time.monotonic() + timeout
    while True:
        info = job.info
        if predicate(info):
            return info
        if time.monotonic() >= deadline:
            raise hexrun.Timeout(-5, f"job {job.id}: condition not met within {timeout} s")
        time.sleep(step)


def run_xcom(info: hexrun.JobInfo) -> Dict[str, Any]:
    """What the operator and the sensor return (and so push as XCom)."""
    elapsed = info.elapsed_ms / 1000.0 if info.elapsed_ms is not None else None
    return {"run_id": info.run_id, "run_url": info.run_url, "status": info.state,
            "elapsed": elapsed, "project_id": info.project_id, "trace_id": info.trace_id}


class StatusLog:
    """Status lines for the task log while a run is waited for: one when the status changes,
    and one every `interval` seconds while it does not (dbt Cloud logs at every check,
    every 60 s by default; hexrun looks every second, so it logs changes and a heartbeat)."""

    def __init__(self, log, run_id: str, interval: float):
        self.log, self.run_id, self.interval = log, run_id, interval
        self.status: Optional[str] = None
        self.at = 0.0

    def update(self, info: hexrun.JobInfo) -> None:
        status = info.hex_status or info.state
        now = time.monotonic()
        if status == self.status and now - self.at < self.interval:
            return
        elapsed = (f" after {info.elapsed_ms / 1000.0:.0f} s" if info.elapsed_ms is not None
                   else "")
        self.log.info("Hex run %s: %s%s%s", self.run_id,
                      "still " if status == self.status else "", status, elapsed)
        self.status, self.at = status, now
