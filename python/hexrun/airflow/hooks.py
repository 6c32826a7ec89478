"""HexHook: an Airflow connection of type `hex` turned into a shared hexrun.Client.

The connection has the shape Hex's own provider (airflow-provider-hex) uses, so existing
`hex_default` connections keep working: host = base URL (default https://app.hex.tech),
password = API token. Extras carry hexrun configuration keys (docs/config.md), e.g.
{"timeout_ms": 30000, "ca_file": "/etc/ssl/hex.pem", "journal_path": "/var/lib/hexrun/j"}.
"""
import atexit
import os
import threading
import time
import urllib.parse
from typing import Any, Dict, Optional, Tuple

from airflow.sdk import BaseHook

import hexrun

DEFAULT_BASE_URL = "https://app.hex.tech"

# One client per (process, base URL, token, config): every task and trigger of a process that
# uses the same connection shares one engine thread, so the engine coalesces their polls
# into one list request per project and one rate budget. The pid is part of the key because
# a client must not cross fork() (Airflow forks task processes from its supervisor).
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


@atexit.register
def _close_clients() -> None:
    """Closing waits (bounded by timeout_ms) for cancels already requested, so a run that
    on_kill or a cancelled trigger asked to stop is stopped before the process is gone."""
    with _CLIENTS_LOCK:
        mine = [k for k in _CLIENTS if k[0] == os.getpid()]
        clients = [_CLIENTS.pop(k) for k in mine]
    for client in clients:
        try:
            client.close()
        except hexrun.HexrunError:
            pass


def base_url_from_host(host: Optional[str], schema: Optional[str] = None) -> str:
    """Hex's provider accepts `https://app.hex.tech` or a bare host name, and joins the API
    path onto the host, dropping any path; hexrun appends /api itself, so keep only
    scheme://host[:port]."""
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        host = f"{schema or 'https'}://{host}"
    parts = urllib.parse.urlsplit(host)
    return f"{parts.scheme}://{parts.netloc}"


def _config_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HexHook(BaseHook):
    """Hex API access through libhexrun.

    :param hex_conn_id: the Airflow connection (type `hex`) to use.
    """

    conn_name_attr = "hex_conn_id"
    default_conn_name = "hex_default"
    conn_type = "hex"
    hook_name = "Hex"

    @classmethod
    def get_ui_field_behaviour(cls) -> Dict[str, Any]:
        return {
            "hidden_fields": ["port", "login", "schema"],
            "relabeling": {"password": "Hex API Token", "host": "Hex base URL"},
            "placeholders": {
                "host": DEFAULT_BASE_URL,
                "password": "API token from Hex settings",
                "extra": '{"timeout_ms": 30000, "journal_path": "/var/lib/hexrun/journal"}',
            },
        }

    def __init__(self, hex_conn_id: str = default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hex_conn_id = hex_conn_id

    # ---- connection -> client settings ----

    @staticmethod
    def settings_from_connection(conn, extras: Optional[Dict[str, Any]] = None
                                 ) -> Tuple[str, str, Dict[str, str]]:
        """(base_url, token, hexrun config) from an Airflow Connection. Extras whose key is
        not a hexrun configuration key are rejected, so a typo does not pass silently."""
        extras = dict(conn.extra_dejson if extras is None else extras)
        base_url = base_url_from_host(conn.host or extras.pop("base_url", None), conn.schema)
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
        return base_url, token, {k: _config_value(v) for k, v in extras.items()
                                 if v is not None}

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
