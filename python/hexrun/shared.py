"""One hexrun.Client per process and settings, shared by every holder that asks for it.

A client owns an engine thread, a connection pool and a rate budget, so a process that
makes one client per thread or per caller multiplies its requests and earns 429s. Holders
(the Dagster resource, your own code) take a `ClientSlot`; slots asking for the same
settings get the same client, under one lock, however many threads ask at once. The client
is closed when the last slot holding it is released, or at exit.

A client is bound to the process that made it (DESIGN: after fork() the child gets
HEXRUN_E_FORKED from it), so a forked child starts with an empty table and a fresh lock,
and makes its own clients; it never closes its parent's.

    slot = ClientSlot()
    client = slot.get(base_url, token, {"timeout_ms": 30000})   # any thread
    ...
    slot.release()                                            # closes it if last holder

`submit_recorded` is the durable submit both integrations use (Airflow's task_state_store,
Dagster's event log): the idempotency key and send time are stored before RunProject can go
out, and a later attempt that finds them without Hex's answer adopts the run instead of
starting a second one.
"""
import atexit
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from .client import Client, Job
from .errors import HexrunError

Settings = Tuple[Optional[str], Optional[str], Tuple[Tuple[str, str], ...]]


class _Entry:
    """A shared client and how many slots hold it."""

    def __init__(self, client: Client):
        self.client, self.holders = client, 0


class _Table:
    """The process's clients by settings; replaced wholesale in a forked child."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries: Dict[Settings, _Entry] = {}
        self.pid = os.getpid()


_table = _Table()


def _forget_parent_clients() -> None:
    """In a forked child: the parent's clients (and possibly its held lock) stay behind."""
    global _table
    _table = _Table()


os.register_at_fork(after_in_child=_forget_parent_clients)


def _current_table() -> _Table:
    """The table of this process (the pid check covers a fork the hook did not see)."""
    if _table.pid != os.getpid():
        _forget_parent_clients()
    return _table


def settings_key(base_url: Optional[str], token: Optional[str],
                 config: Dict[str, Any]) -> Settings:
    return (base_url, token, tuple(sorted((k, str(v)) for k, v in config.items())))


class ClientSlot:
    """One holder's claim on the shared client of its settings."""

    def __init__(self):
        self._key: Optional[Settings] = None
        self._client: Optional[Client] = None
        self._pid = 0

    def get(self, base_url: Optional[str], token: Optional[str],
            config: Dict[str, Any]) -> Client:
        """The process's client for these settings, made on first use by any holder."""
        key = settings_key(base_url, token, config)
        table = _current_table()
        stale = None
        with table.lock:
            if self._pid != table.pid:  # held in a parent process: not ours to close
                self._key = self._client = None
            if self._client is not None and self._key == key and self._client._h:
                return self._client
            if self._client is not None:
                stale = self._drop(table)
            self._client = _take(table, key, base_url, token, config)
            self._key, self._pid = key, table.pid
            client = self._client
        _close(stale)
        return client

    def release(self) -> None:
        """Gives the claim up; the last holder's release closes the client (waiting, at
        most timeout_ms, for cancels already requested)."""
        table = _current_table()
        with table.lock:
            if self._client is None or self._pid != table.pid:
                self._key = self._client = None
                return
            stale = self._drop(table)
        _close(stale)

    def _drop(self, table: _Table) -> Optional[Client]:
        """Called with the lock held: forget the claim; the client to close if it was the
        last one."""
        key, client = self._key, self._client
        self._key = self._client = None
        entry = table.entries.get(key)
        if entry is None or entry.client is not client:
            return None
        entry.holders -= 1
        if entry.holders > 0:
            return None
        del table.entries[key]
        return client


def _take(table: _Table, key: Settings, base_url, token, config) -> Client:
    """Called with the lock held: the shared client of key, made if missing or closed."""
    entry = table.entries.get(key)
    if entry is None or not entry.client._h:  # closed by a caller: replace it
        entry = table.entries[key] = _Entry(Client(base_url=base_url, token=token, **config))
    entry.holders += 1
    return entry.client


def _close(client: Optional[Client]) -> None:
    if client is None:
        return
    try:
        client.close()
    except HexrunError:
        pass


def client_count() -> int:
    """How many shared clients this process holds now (for tests and monitoring)."""
    table = _current_table()
    with table.lock:
        return len(table.entries)


@atexit.register
def _close_all() -> None:
    table = _current_table()
    with table.lock:
        clients = [e.client for e in table.entries.values()]
        table.entries.clear()
    for client in clients:
        _close(client)


@dataclass(frozen=True)
class SubmitIntent:
    """Stored before RunProject can go out: the idempotency key it is sent under, the
    project, and the time (unix ms) from which a run it made can exist."""
    key: Optional[str]  # None: an unkeyed submit (nothing to adopt by later)
    project_id: str
    since_ms: int


def submit_recorded(client: Client, project_id: str, key: str,
                    record: Callable[[SubmitIntent], None],
                    unanswered: Optional[SubmitIntent] = None,
                    log: Optional[Callable[[str], None]] = None, **submit_args) -> Job:
    """Submits a run of project_id so that an attempt dying at any point leaves no second run.

    unanswered: the intent an earlier attempt stored with no run id recorded after it (it
    died between sending RunProject and recording Hex's answer). For the same project, the
    run it may have made is looked for among the project's runs since then and adopted, and
    RunProject is sent (under that intent's key) only when none appeared
    (Client.submit_or_adopt). Otherwise a new intent (key, now) goes to record(), which must
    store it durably before returning, and then the run is submitted under key.
    log: told, in words for the task log, when an earlier attempt's run is looked for.
    submit_args: Client.submit's other arguments (inputs, dry_run, options...)."""
    if unanswered is not None and unanswered.project_id == project_id:
        if log is not None:
            log(f"an earlier attempt sent RunProject (idempotency key {unanswered.key}) and "
                f"stopped before recording Hex's answer: looking for its run before "
                f"starting one")
        return client.submit_or_adopt(project_id, unanswered.since_ms,
                                      idempotency_key=unanswered.key, **submit_args)
    record(SubmitIntent(key, project_id, int(time.time() * 1000)))
    return client.submit(project_id, idempotency_key=key, **submit_args)
