"""Keep one process of ``make run`` going: ``python -m topology.supervise NAME -- COMMAND ...``.

Honcho (``make run``) stops every process as soon as one exits. Each line of the Procfile runs
under this supervisor instead, so that one process dying (killed, crashed, out of memory) never
takes the others down: it is started again, after 1 s, then 2, 4, ... up to 30 s while it keeps
dying young, and the supervisor says so once for each start. It stops for good, passing the
status on (so honcho stops everything, as before), when the command exits with status 2 (a
setting is wrong: see its own one line) and when it is told to stop (SIGTERM or SIGINT, which
it passes to the command once). The command runs in a session of its own and dies with the
supervisor, so nothing outlives it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time

CONFIGURATION_ERROR = 2  # what settings_or_exit exits with: starting again would not help
FIRST_WAIT, LONGEST_WAIT = 1.0, 30.0
STEADY_AFTER = 60.0  # a process that ran this long was fine: the next wait starts from 1 s
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the supervisor dies."""
    name = ctypes.util.find_library("c")
    if name:
        ctypes.CDLL(name, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def say(name: str, text: str) -> None:
    print(f"supervise {name}: {text}", file=sys.stderr, flush=True)


def supervise(name: str, command: list[str]) -> int:
    stop = threading.Event()
    child: subprocess.Popen[bytes] | None = None

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    wait = FIRST_WAIT
    while not stop.is_set():
        started = time.monotonic()
        child = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)
        if stop.is_set():  # told to stop while it was being started
            child.send_signal(signal.SIGTERM)
        status = child.wait()
        if stop.is_set():
            return 0
        if status == CONFIGURATION_ERROR:
            say(name, f"exited with status {status} (a setting is wrong): not started again")
            return status
        wait = FIRST_WAIT if time.monotonic() - started > STEADY_AFTER else wait
        how = f"with status {status}" if status >= 0 else f"on signal {-status}"
        say(name, f"exited {how}; starting it again in {wait:g} s")
        if stop.wait(wait):
            return 0
        wait = min(wait * 2, LONGEST_WAIT)
    return 0


def main(arguments: list[str]) -> int:
    if len(arguments) < 3 or arguments[1] != "--":
        print("usage: python -m topology.supervise NAME -- COMMAND ...", file=sys.stderr)
        return CONFIGURATION_ERROR
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return supervise(arguments[0], arguments[2:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
