"""The Pythonic face of libhexrun: Client, Job and JobInfo.

    with Client(base_url="https://app.hex.tech", token="...") as hex:
        job = hex.submit(PROJECT_ID, inputs={"region": "EMEA"}, idempotency_key="nightly-1")
        info = job.wait(timeout=3600)          # raises RunFailed unless COMPLETED
        print(info.run_url, info.elapsed_ms)
"""
import ctypes
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional

from . import _lib
from .errors import ProtocolError, RunFailed, Timeout, error_for

_LIB = None
ONE_PAGE, ALL_PAGES = 0, 1  # enum hexrun_list_flags
SHUTDOWN_DEFAULT, SHUTDOWN_CANCEL_LIVE, SHUTDOWN_DETACH = 0, 1, 2
E_TIMEOUT, E_PROTOCOL = -5, -15
# Blocking calls wait in slices of this many ms, so that Python runs its signal handlers
# (Ctrl-C: KeyboardInterrupt) between them: a signal reaches Python only when the main
# thread is back in the interpreter.
SLICE_MS = 200


def lib():
    """The loaded library (loaded on first use)."""
    global _LIB
    if _LIB is None:
        _LIB = _lib.load()
    return _LIB


def _enc(s):
    return None if s is None else str(s).encode()


def _check(rc):
    if rc != 0:
        raise error_for(rc, lib().hexrun_last_error().decode(errors="replace"))


def _take(out):
    """The string behind a char ** output, released with hexrun_free."""
    if not out.value:
        return None
    try:
        return ctypes.string_at(out.value).decode(errors="replace")
    finally:
        lib().hexrun_free(out.value)


def _interruptible(fn, *args):
    """fn(*args) on the main thread: it runs on a helper thread that the main thread joins in
    slices, so Ctrl-C raises KeyboardInterrupt at once. The abandoned call still ends within
    its deadline (docs/config.md) and releases what it returned. Elsewhere: a plain call."""
    if threading.current_thread() is not threading.main_thread():
        return fn(*args)
    result = {}

    def call():
        try:
            result["value"] = fn(*args)
        except BaseException as e:  # handed to the caller below
            result["error"] = e

    t = threading.Thread(target=call, name="hexrun-call", daemon=True)
    t.start()
    while t.is_alive():
        t.join(SLICE_MS / 1000)
    if "error" in result:
        raise result["error"]
    return result["value"]


def _call_json(fn, *args):
    out = ctypes.c_void_p()
    _check(fn(*args, ctypes.byref(out)))
    text = _take(out)
    return json.loads(text) if text else None


def _direct_json(fn, *args):
    """_call_json for a direct call (one request or more): Ctrl-C gets through."""
    return _interruptible(_call_json, fn, *args)


def _wait_sliced(wait_once, timeout):
    """Call wait_once(ms) (a hexrun_wait* returning its code) in SLICE_MS slices until it
    gives something but a timeout, or `timeout` seconds (None: no limit) have passed."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left_ms = SLICE_MS if deadline is None else int((deadline - time.monotonic()) * 1000)
        rc = wait_once(max(0, min(SLICE_MS, left_ms)))
        if rc != E_TIMEOUT or (deadline is not None and left_ms <= SLICE_MS):
            _check(rc)
            return


def version() -> str:
    return lib().hexrun_version().decode()


def plugin_info() -> Dict[str, Any]:
    return _call_json(lib().hexrun_plugin_info)


def state_name(state: int) -> str:
    return lib().hexrun_state_name(state).decode()


@dataclass(frozen=True)
class JobInfo:
    """A snapshot of hexrun_job_info."""
    job: int
    project_id: str
    run_id: Optional[str]
    run_url: Optional[str]
    state: str
    hex_status: Optional[str]
    start_time: Optional[str]
    end_time: Optional[str]
    elapsed_ms: Optional[float]
    attempts: int
    trace_id: Optional[str]
    error_message: Optional[str]
    raw: Dict[str, Any]

    @property
    def succeeded(self) -> bool:
        return self.state == "COMPLETED"

    @classmethod
    def from_json(cls, d):
        err = d.get("last_error") or {}
        return cls(job=d["job"], project_id=d["project_id"], run_id=d.get("run_id"),
                   run_url=d.get("run_url"), state=d["state"], hex_status=d.get("hex_status"),
                   start_time=d.get("start_time"), end_time=d.get("end_time"),
                   elapsed_ms=d.get("elapsed_ms"), attempts=d.get("attempts", 0),
                   trace_id=err.get("trace_id"), error_message=err.get("message"), raw=d)


class Job:
    """One tracked run; an id into the client's job table, never a pointer."""

    def __init__(self, client: "Client", job_id: int):
        self.client, self.id = client, job_id

    def poll(self) -> str:
        """The state the engine knows now; never blocks, never makes a request."""
        state = ctypes.c_int32()
        _check(lib().hexrun_poll(self.client._h, self.id, ctypes.byref(state)))
        return state_name(state.value)

    @property
    def info(self) -> JobInfo:
        return JobInfo.from_json(_call_json(lib().hexrun_job_info, self.client._h, self.id))

    def wait(self, timeout: Optional[float] = None, raise_on_failure: bool = True) -> JobInfo:
        """Blocks (GIL released, Ctrl-C honoured) until the run is terminal; raises Timeout,
        or RunFailed for any end but COMPLETED unless raise_on_failure is False."""
        state = ctypes.c_int32()
        _wait_sliced(lambda ms: lib().hexrun_wait(self.client._h, self.id, ms,
                                                  ctypes.byref(state)), timeout)
        info = self.info
        if raise_on_failure and not info.succeeded:
            raise RunFailed(info)
        return info

    def cancel(self) -> None:
        _check(lib().hexrun_cancel(self.client._h, self.id))

    def release(self) -> None:
        _check(lib().hexrun_job_release(self.client._h, self.id))


class JobSlot:
    """Where submit(), submit_or_adopt() or attach() write the new job's id. Given to the
    call, the slot receives the id inside the library call itself, before any Python code
    runs after it; so a holder that keeps the slot before calling finds the job even when an
    interrupt (Ctrl-C, a Dagster termination) is raised the moment the call returns, before
    the Job it returns could be kept anywhere."""

    def __init__(self):
        self._id = ctypes.c_int64(0)  # job ids start at 1: 0 means no job yet
        self._client: Optional["Client"] = None
        self._job: Optional[Job] = None

    def _out(self, client: "Client") -> ctypes.c_int64:
        """The out-parameter of the library call, bound to the client that makes the job."""
        if self._client is not None and self._id.value:
            raise ValueError("this JobSlot already holds a job")
        self._client = client
        return self._id

    @property
    def job(self) -> Optional[Job]:
        """The job the call made or found, or None if it made none (yet)."""
        if self._job is None and self._id.value > 0:
            self._job = Job(self._client, self._id.value)
        return self._job


class Client:
    """A hexrun client: one token, one base URL, one engine thread.

    Keyword arguments are configuration keys (docs/config.md), e.g. timeout_ms=30000;
    token and base_url fall back to HEX_API_TOKEN and HEX_API_BASE_URL."""

    def __init__(self, base_url: Optional[str] = None, token: Optional[str] = None, **config):
        cfg = ctypes.c_void_p()
        _check(lib().hexrun_config_new(ctypes.byref(cfg)))
        try:
            settings = dict(config, base_url=base_url, token=token)
            for key, value in settings.items():
                if value is None:
                    continue
                if isinstance(value, bool):
                    value = "true" if value else "false"
                _check(lib().hexrun_config_set(cfg, _enc(key), _enc(value)))
            handle = ctypes.c_void_p()
            _check(lib().hexrun_init(cfg, ctypes.byref(handle)))
            self._h = handle
        finally:
            lib().hexrun_config_free(cfg)

    def close(self, cancel_live: bool = False) -> None:
        if self._h:
            h, self._h = self._h, None
            _check(lib().hexrun_shutdown(h, SHUTDOWN_CANCEL_LIVE if cancel_live
                                         else SHUTDOWN_DEFAULT))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- jobs ----

    @staticmethod
    def _run_body(inputs, dry_run, notifications, options) -> Dict[str, Any]:
        body = dict(options)
        if inputs is not None:
            body["inputParams"] = inputs
        if dry_run:
            body["dryRun"] = True
        if notifications is not None:
            body["notifications"] = notifications
        return body

    def submit(self, project_id: str, inputs: Optional[Dict[str, Any]] = None,
               dry_run: bool = False, notifications: Optional[List[Dict[str, Any]]] = None,
               idempotency_key: Optional[str] = None, into: Optional[JobSlot] = None,
               **options) -> Job:
        """Queues a run; RunProject body keys beyond the named ones pass through options
        (useCachedSqlResults, updatePublishedResults, viewId). into: a JobSlot that gets
        the job's id inside the library call (see JobSlot)."""
        body = self._run_body(inputs, dry_run, notifications, options)
        slot = into or JobSlot()
        _check(lib().hexrun_submit(self._h, _enc(project_id),
                                   _enc(json.dumps(body)) if body else None,
                                   _enc(idempotency_key), ctypes.byref(slot._out(self))))
        return slot.job

    def submit_or_adopt(self, project_id: str, since_ms: int,
                        inputs: Optional[Dict[str, Any]] = None, dry_run: bool = False,
                        notifications: Optional[List[Dict[str, Any]]] = None,
                        idempotency_key: Optional[str] = None,
                        into: Optional[JobSlot] = None, **options) -> Job:
        """submit() for a RunProject that another, dead process may have sent at since_ms
        (unix ms): adopts the run it made if one appears, else submits
        (hexrun_submit_or_adopt; needs libhexrun 1.1)."""
        fn = getattr(lib(), "hexrun_submit_or_adopt", None)
        if fn is None:
            raise NotImplementedError("submit_or_adopt needs libhexrun.so.1 ABI 1.1 or later "
                                      f"(this one is {version()})")
        body = self._run_body(inputs, dry_run, notifications, options)
        slot = into or JobSlot()
        _check(fn(self._h, _enc(project_id), _enc(json.dumps(body)) if body else None,
                  _enc(idempotency_key), int(since_ms), ctypes.byref(slot._out(self))))
        return slot.job

    def attach(self, project_id: str, run_id: str, into: Optional[JobSlot] = None) -> Job:
        slot = into or JobSlot()
        _check(lib().hexrun_attach(self._h, _enc(project_id), _enc(run_id),
                                   ctypes.byref(slot._out(self))))
        return slot.job

    def wait_any(self, jobs: List[Job], timeout: Optional[float] = None) -> Job:
        ids = (ctypes.c_int64 * len(jobs))(*[j.id for j in jobs])
        done, state = ctypes.c_int64(), ctypes.c_int32()
        _wait_sliced(lambda ms: lib().hexrun_wait_any(self._h, ids, len(jobs), ms,
                                                      ctypes.byref(done), ctypes.byref(state)),
                     timeout)
        return next(j for j in jobs if j.id == done.value)

    def stats(self) -> Dict[str, Any]:
        return _call_json(lib().hexrun_stats, self._h)

    # ---- direct calls ----

    def runs(self, project_id: str, status: Optional[str] = None,
             trigger: Optional[str] = None, limit: int = 0, offset: int = 0,
             all_pages: bool = False) -> List[Dict[str, Any]]:
        page = _direct_json(lib().hexrun_runs_list, self._h, _enc(project_id), _enc(status),
                            _enc(trigger), limit, offset, ALL_PAGES if all_pages else ONE_PAGE)
        return page["runs"]

    def run_status(self, project_id: str, run_id: str) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_run_get, self._h, _enc(project_id), _enc(run_id))

    def _pages(self, fn, query) -> Iterator[Dict[str, Any]]:
        """Every item, one page request at a time, following Hex's cursor from the query's
        own (after=) if it has one. A cursor that comes back again raises ProtocolError:
        following it would read the same pages for ever."""
        params = [p for p in (query or "").split("&") if p]
        base = [p for p in params if not p.startswith(("after=", "before="))]
        seen = {urllib.parse.unquote(p[len("after="):]) for p in params
                if p.startswith("after=")}
        page_query = query or None
        while True:
            page = _direct_json(fn, self._h, _enc(page_query), ONE_PAGE)
            yield from page["values"]
            after = (page.get("pagination") or {}).get("after")
            if not after:
                return
            if after in seen:
                raise ProtocolError(E_PROTOCOL, f"pagination: the cursor {after[:80]!r} came "
                                    "back again, so the pages would never end; stopped")
            seen.add(after)
            page_query = "&".join(base + ["after=" + urllib.parse.quote(after, safe="")])

    def projects(self, query: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        return self._pages(lib().hexrun_projects_list, query)

    def project(self, project_id: str) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_project_get, self._h, _enc(project_id))

    def me(self) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_user_me, self._h)

    def users(self, query: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        return self._pages(lib().hexrun_users_list, query)

    def deactivate_user(self, user_id: str) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_user_deactivate, self._h, _enc(user_id))

    def groups(self, query: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        return self._pages(lib().hexrun_groups_list, query)

    def group(self, group_id: str) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_group_get, self._h, _enc(group_id))

    def create_group(self, name: str, user_ids: Optional[List[str]] = None) -> Dict[str, Any]:
        body = {"name": name}
        if user_ids:
            body["members"] = {"users": [{"id": u} for u in user_ids]}
        return _direct_json(lib().hexrun_group_create, self._h, _enc(json.dumps(body)))

    def edit_group(self, group_id: str, **body) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_group_edit, self._h, _enc(group_id),
                            _enc(json.dumps(body)))

    def delete_group(self, group_id: str) -> None:
        _interruptible(lambda: _check(lib().hexrun_group_delete(self._h, _enc(group_id))))

    def connections(self, query: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        return self._pages(lib().hexrun_connections_list, query)

    def connection(self, connection_id: str) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_connection_get, self._h, _enc(connection_id))

    def create_connection(self, body: Dict[str, Any]) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_connection_create, self._h, _enc(json.dumps(body)))

    def edit_connection(self, connection_id: str, body: Dict[str, Any]) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_connection_edit, self._h, _enc(connection_id),
                            _enc(json.dumps(body)))

    def collections(self, query: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        return self._pages(lib().hexrun_collections_list, query)

    def collection(self, collection_id: str) -> Dict[str, Any]:
        return _direct_json(lib().hexrun_collection_get, self._h, _enc(collection_id))

    def request(self, method: str, path: str, body: Any = None):
        """Any endpoint: returns (HTTP status, parsed JSON or text or None)."""
        status, out = ctypes.c_int32(), ctypes.c_void_p()

        def call():  # hexrun_last_error is per thread: checked on the calling one
            rc = lib().hexrun_request(self._h, _enc(method), _enc(path),
                                      _enc(json.dumps(body)) if body is not None else None,
                                      ctypes.byref(status), ctypes.byref(out))
            text = _take(out)
            if rc != 0 and status.value == 0:
                _check(rc)
            return text

        text = _interruptible(call)
        try:
            return status.value, json.loads(text) if text else None
        except ValueError:
            return status.value, text


__all__ = ["Client", "Job", "JobInfo", "JobSlot", "Timeout", "version", "plugin_info"]
