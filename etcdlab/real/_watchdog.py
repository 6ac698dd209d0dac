"""The clean-up watchdog of a :class:`~etcdlab.real.lab.LocalCluster` (runs as its own process).

Why a separate process: if the Python process that started the cluster is killed
(SIGKILL, the OOM killer, a Jupyter kernel being killed on restart), no ``finally``,
``atexit`` or ``weakref.finalize`` runs in it, so nothing there could stop etcd or
delete the data directory. On Linux the etcd processes get ``PR_SET_PDEATHSIG`` and die
with their parent; this watchdog covers the rest (the data directory, other systems,
members started from a thread).

It is started with a pipe on its standard input and the cluster directory as its only
argument, in a session of its own (Ctrl-C in a terminal or a kernel interrupt does not
reach it). The parent writes one line per event:

* ``pid <n>``  -- an etcd process was started;
* ``exit <n>`` -- the parent saw it end (so the number may be reused: forget it);
* ``done``     -- the parent cleaned up itself; exit without doing anything.

When the pipe closes without ``done`` -- the parent is gone -- it kills every process
it was told about whose command line still mentions the cluster directory (never
anything else: PIDs get reused), waits for them, and deletes the directory.

This file is run as a script (``python -I _watchdog.py DIR``) and imports only the
standard library.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time


def _mentions(pid: int, needle: str) -> bool:
    """Is ``pid`` alive with ``needle`` in its command line? Without /proc: assume yes."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return needle.encode() in f.read()
    except FileNotFoundError:
        return False
    except OSError:
        return not os.path.isdir("/proc")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"   # a zombie is dead
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def clean(directory: str, pids: set[int]) -> None:
    """Kill the cluster's etcd processes, wait for them, delete the cluster directory."""
    doomed = [p for p in pids if _mentions(p, directory)]
    for pid in doomed:
        try:
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        except OSError:
            pass
    deadline = time.monotonic() + 5.0
    while any(_alive(p) for p in doomed) and time.monotonic() < deadline:
        time.sleep(0.02)
    for _ in range(5):
        shutil.rmtree(directory, ignore_errors=True)
        if not os.path.exists(directory):
            break
        time.sleep(0.1)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _watchdog.py CLUSTER_DIR", file=sys.stderr)
        return 2
    directory = os.path.abspath(argv[1])
    for sig in (signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    pids: set[int] = set()
    for raw in sys.stdin.buffer:
        words = raw.decode("ascii", "replace").split()
        if not words:
            continue
        if words[0] == "done":
            return 0
        if words[0] == "pid" and len(words) == 2 and words[1].isdigit():
            pids.add(int(words[1]))
        elif words[0] == "exit" and len(words) == 2 and words[1].isdigit():
            pids.discard(int(words[1]))
    clean(directory, pids)   # the pipe closed without "done": our parent is gone
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
