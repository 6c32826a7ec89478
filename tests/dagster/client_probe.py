"""A fresh interpreter for test_clients.py: python client_probe.py threads|fork|fork-locked.
Prints key=value lines. Native threads = tasks of this process minus Python's threads, so
the only native thread is a client's engine."""
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))

from hexrun import shared  # noqa: E402
from hexrun.dagster import HexResource  # noqa: E402

THREADS = 32
SETTLE_S = 10.0  # bound on a finished thread leaving /proc (it normally has already)


def native_threads():
    return len(os.listdir("/proc/self/task")) - threading.active_count()


def settled_native_threads(want):
    """The native thread count once it is want, or whatever it is at the deadline."""
    event = threading.Event()
    for _ in range(int(SETTLE_S * 20)):
        if native_threads() == want:
            break
        event.wait(0.05)
    return native_threads()


def resource():
    return HexResource(base_url=os.environ["HEX_API_BASE_URL"], api_token="hxtok_admin")


def threads():
    before = native_threads()
    hex_resource, barrier, clients = resource(), threading.Barrier(THREADS), []

    def ask():
        barrier.wait()
        clients.append(hex_resource.get_client())
    workers = [threading.Thread(target=ask) for _ in range(THREADS)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    for client in clients:
        client.me()  # every thread's client makes a request: each started an engine
    print(f"distinct_clients={len({id(c) for c in clients})}")
    print(f"native_threads_before={before}")
    # settled: libcurl may run a short-lived resolver thread beside the engine
    print(f"engine_threads_while_open={settled_native_threads(before + 1) - before}")
    hex_resource.close()
    print(f"native_threads_after_close={settled_native_threads(before)}")


def in_child(hex_resource, parent_client):
    """Exit status 0 when the child's client is its own and works."""
    try:
        client = hex_resource.get_client()
        ok = client is not parent_client and client.me() and shared.client_count() == 1
        os._exit(0 if ok else 1)
    except BaseException:
        os._exit(2)


def fork(hold_lock=False):
    hex_resource = resource()
    parent_client = hex_resource.get_client()
    parent_client.me()
    holder = None
    if hold_lock:  # another thread is inside the table's lock at the moment of fork()
        held, done = threading.Event(), threading.Event()

        def hold():
            with shared._table.lock:
                held.set()
                done.wait()
        holder = threading.Thread(target=hold)
        holder.start()
        held.wait()
    pid = os.fork()
    if pid == 0:
        in_child(hex_resource, parent_client)
    if holder:
        done.set()
        holder.join()
    _, status = os.waitpid(pid, 0)
    print("child=" + ("own-client-works" if os.waitstatus_to_exitcode(status) == 0
                      else f"failed-{os.waitstatus_to_exitcode(status)}"))
    same = hex_resource.get_client() is parent_client and parent_client.me()
    print("parent_after_fork=" + ("same-client-works" if same else "broken"))
    hex_resource.close()


if __name__ == "__main__":
    {"threads": threads, "fork": fork,
     "fork-locked": lambda: fork(hold_lock=True)}[sys.argv[1]]()
