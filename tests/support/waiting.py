"""Waiting on an event with a deadline in the Python suites: poll a condition until it
holds, and when the deadline passes fail naming the test and what it waited for, instead
of hanging (the make target's timeout names no test) or sleeping a fixed time and hoping
the event came meanwhile (on a loaded machine it may not have)."""
import os
import threading
import time


def current_test():
    """The running pytest test's id, or '?' outside pytest."""
    return os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]


def _gave_up(what, timeout):
    return AssertionError(f"{current_test()}: gave up after {timeout:g} s waiting for {what}")


def wait_for(pred, what, timeout=30.0, interval=0.02):
    """pred()'s first true value, polled every interval seconds; AssertionError naming the
    test and `what` once timeout seconds have passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _gave_up(what, timeout)
        time.sleep(interval)


def readline_within(stream, what, timeout=30.0):
    """One line of a child's pipe, read within timeout seconds (an AssertionError naming the
    test and `what` otherwise; the reader left behind is a daemon thread)."""
    line = []
    reader = threading.Thread(target=lambda: line.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not line:
        raise _gave_up(what, timeout)
    return line[0]


def thread_sleeps(pid, tid=None):
    """True while a thread (the main one by default) of process pid sleeps in the kernel:
    blocked in a call, not running Python or C code."""
    path = f"/proc/{pid}/task/{tid or pid}/stat"
    try:
        with open(path) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 1:].split()[0] == "S"
