"""Process supervision and clean-up: every etcd dies with its parent (``PR_SET_PDEATHSIG``
on Linux), and a watchdog process (:mod:`etcdlab.real._watchdog`) kills what is left and
deletes the cluster directory even when Python is killed outright.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable


#: SIGKILL where it exists (Windows has none; there ``Popen.kill`` terminates anyway).
SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)


def _die_with_parent_fn() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when this thread's process ends.

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child ends, so it is only
    used from the main thread (which lives as long as the process); members started from
    another thread rely on the watchdog alone.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl   # looked up before fork, not in the child
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    PR_SET_PDEATHSIG = 1

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:        # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGKILL)
    return preexec


class _Resources:
    """Everything that must go away with the cluster: processes, the directory, the watchdog.

    Kept apart from :class:`LocalCluster` so ``weakref.finalize`` can hold it without
    keeping the cluster object alive.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.procs: dict[int, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.watchdog: subprocess.Popen | None = None
        try:
            self.watchdog = subprocess.Popen(
                [sys.executable, "-I", str(Path(__file__).with_name("_watchdog.py")), str(directory)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True)
        except OSError:
            self.watchdog = None   # clean-up still happens in-process; only SIGKILL would leak

    def _tell(self, line: str) -> None:
        w = self.watchdog
        if w is None or w.stdin is None or w.stdin.closed:
            return
        try:
            w.stdin.write(line.encode() + b"\n")
            w.stdin.flush()
        except (OSError, ValueError):
            pass

    def track(self, proc: subprocess.Popen) -> None:
        with self.lock:
            self.procs[proc.pid] = proc
            self._tell(f"pid {proc.pid}")

    def reaped(self, proc: subprocess.Popen) -> None:
        with self.lock:
            self.procs.pop(proc.pid, None)
            self._tell(f"exit {proc.pid}")

    def cleanup(self) -> None:
        """Kill every etcd (SIGKILL: the data is thrown away anyway), delete the directory."""
        with self.lock:
            procs = list(self.procs.values())
            self.procs.clear()
        for p in procs:
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:   # pragma: no cover - a process that ignores SIGKILL
                pass
        for _ in range(5):
            shutil.rmtree(self.directory, ignore_errors=True)
            if not self.directory.exists():
                break
            time.sleep(0.05)
        self._tell("done")
        if self.watchdog is not None:
            try:
                if self.watchdog.stdin:
                    self.watchdog.stdin.close()
                self.watchdog.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
