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
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import Callable

from ..errors import EtcdNotFound, EtcdUnavailable, EtcdlabError, QuorumLost
from ..model.quorum import member_names, quorum_size
from .binary import find_etcd
from .lab_directory import _base_directory
from .members import Event, Member, Timings, _PortInUse
from .ports import LOOPBACK, free_ports
from .processes import SIGKILL, _Resources, _die_with_parent_fn
from .tables import EtcdctlEnv, MemberRow, MemberTable


_LIVE: "weakref.WeakSet[Cluster]" = weakref.WeakSet()


class Cluster:
    """A real etcd cluster of ``size`` members on 127.0.0.1, set up like kubeadm's: its
    processes, its clients, and what its members say. Notebooks use the
    :class:`~etcdlab.real.lab.LocalCluster` built on it, which adds what the lab does *to* a
    cluster (drills, the apiserver's view, the quorum model's state).

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
    def __enter__(self) -> "Cluster":
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

    def start(self, timeout: float = 20.0) -> "Cluster":
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
    def running_clusters() -> list["Cluster"]:
        """Every cluster started in this Python process and not stopped yet."""
        return [c for c in list(_LIVE) if c.started]

    @staticmethod
    def stop_all() -> int:
        """Stop every cluster of this process (a notebook's first cell, so re-running it leaks nothing)."""
        clusters = Cluster.running_clusters()
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
        from ..sources.loading import load

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
