"""Failure drills on a real :class:`~etcdlab.real.lab.LocalCluster`: kill, watch, restart, verify.

The drill (:func:`run_drill`) tells one story while a background writer keeps writing a
key every 20 ms:

1. **start** the cluster and write;
2. **kill the leader** (SIGKILL) -- the others notice missing heartbeats, one of them
   wins an election about one election timeout later (``failover_s``); Raft cannot be
   faster than the timeout it waits before suspecting the leader;
3. **kill a majority** -- writes and linearizable reads now fail with ``QuorumLost``
   (``quorum_loss_detect_s`` after the kill), while a *serializable* read is still
   answered by a surviving member from its own copy;
4. **restart** the dead members -- quorum comes back, writes resume (``recovery_s``);
5. **verify** -- every write that was acknowledged is read back from every member.

:func:`chaos` repeats random kill/restart cycles (the durability test). Both return
frozen dataclasses whose ``figures()`` are plain numbers for ``--json``, and
:func:`plot_timeline` draws the writes around the kills and restarts.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..errors import EtcdlabError, EtcdUnavailable, QuorumLost

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster
    from .members import Event, Member

Say = Callable[[str], None]


# -- the background writer ------------------------------------------------------------------

@dataclass(frozen=True)
class WriteRecord:
    """One write: when it was sent and answered (cluster clock), and how it ended."""

    t_start: float
    t_end: float
    key: str
    ok: bool
    error: str | None = None     #: "QuorumLost", "EtcdUnavailable", ... when it failed

    @property
    def latency(self) -> float:
        return self.t_end - self.t_start


class Writer:
    """Writes ``<prefix><n> = v<n>`` every ``interval`` seconds in a thread, recording each outcome.

    A write counts as *acknowledged* only when etcd answered it: a majority has it on
    disk. A write that failed may or may not have been committed; it is not counted.
    """

    def __init__(self, cluster: "Cluster", prefix: str = "/registry/drill/", interval: float = 0.02):
        self.cluster = cluster
        self.prefix = prefix
        self.interval = interval
        self.records: list[WriteRecord] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._n = 0

    def __enter__(self) -> "Writer":
        return self.start()

    def __exit__(self, exc_type, *exc) -> None:
        self.stop(wait=exc_type is None)

    def start(self) -> "Writer":
        self._thread = threading.Thread(target=self._run, name="etcdlab-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop writing. By default wait for the write in flight, so that :attr:`records` is
        final (a write may still be acknowledged after the cluster was asked to stop).

        ``wait=False`` only asks the thread to stop, for when the program is being
        interrupted: a write sent while quorum is lost waits for the client's whole timeout
        before it fails, and nobody should wait that long to get their terminal back. The
        write in flight then ends on its own (at once if the cluster is stopped) and is
        recorded, but nobody reads :attr:`records` any more.
        """
        self._stop.set()
        if wait and self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        clock = self.cluster.clock
        with self.cluster.client() as client:
            while not self._stop.is_set():
                self._n += 1
                key = f"{self.prefix}{self._n:06d}"
                t0 = clock()
                try:
                    client.put(key, f"v{self._n}")
                    self.records.append(WriteRecord(t0, clock(), key, True))
                except EtcdlabError as exc:
                    self.records.append(WriteRecord(t0, clock(), key, False, type(exc).__name__))
                self._stop.wait(self.interval)

    # what the records say -----------------------------------------------------------------
    @property
    def acknowledged(self) -> dict[str, str]:
        return {r.key: f"v{int(r.key[len(self.prefix):])}" for r in list(self.records) if r.ok}

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in list(self.records))

    def first_after(self, t: float, *, ok: bool, started_after: bool = False) -> WriteRecord | None:
        """The first write that ended (or started, with ``started_after``) after ``t`` with outcome ``ok``."""
        for r in list(self.records):
            when = r.t_start if started_after else r.t_end
            if when >= t and r.ok == ok:
                return r
        return None

    def wait_for(self, t: float, *, ok: bool, timeout: float, started_after: bool = False) -> WriteRecord | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.first_after(t, ok=ok, started_after=started_after)
            if r is not None:
                return r
            time.sleep(0.005)
        return None


def missing_writes(cluster: "Cluster", acknowledged: dict[str, str], prefix: str) -> dict[str, list[str]]:
    """For each member, the acknowledged keys it does not have (or has with another value).

    Reads are linearizable *through each member* (a follower first asks the leader how
    far the log is committed and waits to apply that far), so a member that lost data
    would show it. Every member must be running and the cluster must have quorum.
    """
    out: dict[str, list[str]] = {}
    for m in cluster.members:
        with cluster.client(m, timeout=5.0) as client:
            have = client.get_prefix(prefix, endpoint=m.client_url)
        out[m.name] = sorted(k for k, v in acknowledged.items() if have.get(k) != v)
    return out


def _wait_all_healthy(cluster: "Cluster", timeout: float = 15.0) -> bool:
    """Wait until every member runs, a leader exists, and every member reports it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = cluster.status(timeout=0.5)
        if table.up == cluster.size and table.leader and all(r.health == "healthy" for r in table.rows):
            return True
        time.sleep(0.02)
    return False


# -- the drill --------------------------------------------------------------------------------

@dataclass(frozen=True)
class DrillReport:
    """The figures and the timeline of one drill."""

    size: int
    etcd_version: str
    heartbeat_s: float
    election_timeout_s: float
    start_to_first_write_s: float | None
    old_leader: str | None
    new_leader: str | None
    failover_s: float | None              #: leader killed → a new leader reported (None for 1-2 members)
    killed_for_quorum_loss: tuple[str, ...]
    survivors: int                        #: members still running during the quorum loss
    quorum_loss_detect_s: float | None    #: majority killed → first write refused
    quorum_loss_error: str | None         #: "QuorumLost" (or "EtcdUnavailable" when nobody is left)
    serializable_read_during_loss: bool
    linearizable_read_during_loss: bool
    linearizable_read_error: str | None
    recovery_s: float | None              #: first restart → first acknowledged write
    acknowledged_writes: int
    failed_writes: int
    missing_acknowledged_writes: int
    events: tuple = field(default=(), repr=False)
    writes: tuple[WriteRecord, ...] = field(default=(), repr=False)

    def figures(self) -> dict:
        """The drill's figures as a JSON-ready dict (``etcdlab cluster drill --json``)."""
        def r(x):
            return None if x is None else round(x, 3)
        return {
            "size": self.size,
            "etcd_version": self.etcd_version,
            "heartbeat_interval_s": self.heartbeat_s,
            "election_timeout_s": self.election_timeout_s,
            "start_to_first_write_s": r(self.start_to_first_write_s),
            "old_leader": self.old_leader,
            "new_leader": self.new_leader,
            "failover_s": r(self.failover_s),
            "killed_for_quorum_loss": list(self.killed_for_quorum_loss),
            "quorum_loss_detect_s": r(self.quorum_loss_detect_s),
            "quorum_loss_error": self.quorum_loss_error,
            "serializable_read_during_loss": self.serializable_read_during_loss,
            "linearizable_read_during_loss": self.linearizable_read_during_loss,
            "recovery_s": r(self.recovery_s),
            "acknowledged_writes": self.acknowledged_writes,
            "failed_writes": self.failed_writes,
            "missing_acknowledged_writes": self.missing_acknowledged_writes,
        }

    def verdicts(self) -> dict[str, bool]:
        """The answers that do not vary from run to run (what a notebook can compare)."""
        out = {
            "writes refused without quorum": self.quorum_loss_error is not None,
            "linearizable read refused without quorum": not self.linearizable_read_during_loss,
        }
        if self.survivors:   # with nobody left, nobody can answer a read at all
            out["serializable read answered without quorum"] = self.serializable_read_during_loss
        out["no acknowledged write lost"] = self.missing_acknowledged_writes == 0
        return out

    def plot(self, ax=None):
        return plot_timeline(self, ax=ax)

    def __str__(self) -> str:
        f = self.figures()
        lines = [f"{k}: {v}" for k, v in f.items()]
        return "\n".join(lines)


def _refusal_wait(cluster: "Cluster") -> float:
    """How long to wait for a refused write once quorum is lost: the write in flight at the
    kill may still take one client timeout to end, the next one is refused after another;
    the rest is slack for a loaded machine (the wait ends as soon as a write is refused)."""
    return 2 * cluster.client_timeout + 5.0


def _victims_for_quorum_loss(cluster: "Cluster") -> list["Member"]:
    """Enough running members that fewer than a quorum remain: the leader first, then others."""
    up = list(cluster.running)
    need = len(up) - (cluster.quorum - 1)
    leader = cluster.leader()
    ordered = ([leader] if leader in up else []) + [m for m in up if m is not leader]
    return ordered[:max(need, 0)]


def run_drill(size: int = 3, *, cluster: "Cluster | None" = None, say: Say | None = None,
              live: bool = False, interval: float = 0.02, timings=None,
              base_dir: str | None = None) -> DrillReport:
    """Start (or use) a cluster and run the whole drill; ``say`` receives each step in words.

    With ``live=True`` (in Jupyter) a member table above the story refreshes at each step.
    A cluster passed in is left running, with every member restarted; one started here is
    stopped at the end.
    """
    from .binary import etcd_version
    from .cluster import Cluster

    own = cluster is None
    if own:
        kwargs = {"timings": timings} if timings is not None else {}
        cluster = Cluster(size, base_dir=base_dir, **kwargs)
    size = cluster.size
    talk = say or (lambda text: None)
    table = _LiveTable(cluster) if live else None

    def step(text: str) -> None:
        talk(f"[{cluster.clock():6.2f} s] {text}")
        if table is not None:
            table.refresh()

    try:
        if not cluster.started:
            cluster.start()
        if table is not None:
            table.show()
        step(f"{size} member(s) running ({', '.join(cluster.names)}); the first write was acknowledged "
             f"{cluster.start_to_first_write_s:.2f} s after start")
        writer = Writer(cluster, interval=interval).start()
        try:
            time.sleep(0.5)
            leader = cluster.wait_for_leader(5.0)
            step(f"writing a key every {interval * 1000:.0f} ms; leader is {leader.name if leader else 'unknown'}")

            old = new = None
            failover = None
            if size - 1 >= cluster.quorum and leader is not None:
                old = leader.name
                t_kill = cluster.clock()
                cluster.kill(leader)
                step(f"SIGKILL the leader {old}; {size - 1} of {size} left, quorum needs {cluster.quorum}")
                found = cluster.wait_for_leader(10.0, not_=leader)
                if found is not None:
                    failover = cluster.clock() - t_kill
                    new = found.name
                    cluster.note("leader", new, f"new leader after {failover:.2f} s")
                    step(f"{new} is the new leader, {failover:.2f} s after the kill "
                         f"(election timeout {cluster.timings.election_ms} ms)")
                writer.wait_for(cluster.clock(), ok=True, timeout=5.0, started_after=True)
                time.sleep(0.5)
            else:
                step(f"a {size}-member cluster tolerates no failure: there is no failover to watch")

            victims = _victims_for_quorum_loss(cluster)
            t_loss = cluster.clock()
            for m in victims:
                cluster.kill(m)
            left = len(cluster.running)
            step(f"SIGKILL {', '.join(m.name for m in victims)}: {left} of {size} left, quorum needs "
                 f"{cluster.quorum} -- quorum lost")
            refused = writer.wait_for(t_loss, ok=False, timeout=_refusal_wait(cluster))
            detect = (refused.t_end - t_loss) if refused else None
            loss_error = refused.error if refused else None
            if refused:
                cluster.note("quorum-lost", None, f"write refused ({loss_error}) {detect:.2f} s after the kill")
                step(f"writes refused with {loss_error} {detect:.2f} s after the kill")
            else:
                step("no write was refused: the cluster still accepted writes (unexpected)")

            key = next(iter(writer.acknowledged), "/etcdlab/started")
            linear_ok, linear_err, serial_ok = False, None, False
            survivors = cluster.running
            if survivors:
                with cluster.client(survivors[0]) as client:
                    try:
                        client.get(key)
                        linear_ok = True
                        step("a linearizable read was answered (unexpected without quorum)")
                    except (QuorumLost, EtcdUnavailable) as exc:
                        linear_err = type(exc).__name__
                        step(f"a linearizable read of {key} fails too: {linear_err}")
                    try:
                        value = client.get(key, serializable=True)
                        serial_ok = value is not None
                        step(f"a serializable read of {key} on {survivors[0].name} is answered: {value!r} "
                             "(from its own copy, possibly stale)")
                    except EtcdlabError as exc:
                        step(f"a serializable read fails: {type(exc).__name__}")
            else:
                step("no member is left to answer any read")

            t_rec = cluster.clock()
            down = [m for m in cluster.members if not m.running]
            for m in down:
                cluster.start_member(m)
            step(f"restarted {', '.join(m.name for m in down)}")
            back = writer.wait_for(t_rec, ok=True, timeout=15.0, started_after=True)
            recovery = (back.t_end - t_rec) if back else None
            if back:
                cluster.note("quorum-back", None, f"writes acknowledged again after {recovery:.2f} s")
                step(f"quorum is back: writes acknowledged again {recovery:.2f} s after the first restart")
            time.sleep(0.5)
        except BaseException:       # Ctrl-C, SIGTERM (`cluster drill`), an error: leave at once
            writer.stop(wait=False)
            raise
        writer.stop()
        _wait_all_healthy(cluster)
        acked = writer.acknowledged
        missing = missing_writes(cluster, acked, writer.prefix)
        lost = set().union(*missing.values()) if missing else set()
        step(f"checked every member: {len(acked)} acknowledged writes, {len(lost)} missing "
             f"({writer.failed} writes were refused and are not counted)")
        report = DrillReport(
            size=size, etcd_version=etcd_version(cluster.etcd),
            heartbeat_s=cluster.timings.heartbeat_ms / 1000, election_timeout_s=cluster.timings.election_ms / 1000,
            start_to_first_write_s=cluster.start_to_first_write_s, old_leader=old, new_leader=new,
            failover_s=failover, killed_for_quorum_loss=tuple(m.name for m in victims), survivors=len(survivors),
            quorum_loss_detect_s=detect, quorum_loss_error=loss_error,
            serializable_read_during_loss=serial_ok, linearizable_read_during_loss=linear_ok,
            linearizable_read_error=linear_err, recovery_s=recovery,
            acknowledged_writes=len(acked), failed_writes=writer.failed, missing_acknowledged_writes=len(lost),
            events=tuple(cluster.events), writes=tuple(writer.records))
        if table is not None:
            table.refresh()
        return report
    finally:
        if own:
            cluster.stop()


class _LiveTable:
    """A member table in Jupyter that refreshes in place (an IPython display handle)."""

    def __init__(self, cluster: "Cluster"):
        self.cluster = cluster
        self.handle = None

    def show(self) -> None:
        from IPython.display import display

        self.handle = display(self.cluster.status(), display_id=True)

    def refresh(self) -> None:
        if self.handle is not None:
            self.handle.update(self.cluster.status())


# -- chaos: the durability test -------------------------------------------------------------

@dataclass(frozen=True)
class ChaosReport:
    size: int
    cycles: int
    quorum_losses: int           #: cycles that took a majority down
    quorum_loss_refusals: int    #: of those, how many saw a write refused
    kills: int
    acknowledged_writes: int
    failed_writes: int
    missing: dict = field(default_factory=dict)   #: member → acknowledged keys it lacks
    duration_s: float = 0.0
    events: tuple = field(default=(), repr=False)
    writes: tuple[WriteRecord, ...] = field(default=(), repr=False)

    @property
    def missing_acknowledged_writes(self) -> int:
        return len(set().union(*self.missing.values())) if self.missing else 0

    def figures(self) -> dict:
        return {"size": self.size, "cycles": self.cycles, "quorum_losses": self.quorum_losses,
                "kills": self.kills, "acknowledged_writes": self.acknowledged_writes,
                "failed_writes": self.failed_writes,
                "missing_acknowledged_writes": self.missing_acknowledged_writes,
                "duration_s": round(self.duration_s, 2)}


def chaos(cluster: "Cluster", cycles: int = 20, *, seed: int | None = None, quorum_losses: int = 1,
          down_s: tuple[float, float] = (0.05, 0.3), say: Say | None = None,
          interval: float = 0.01) -> ChaosReport:
    """Random kill/restart cycles while writing, then read every acknowledged write back.

    Each cycle SIGKILLs a random set of members -- never more than the cluster tolerates,
    except in ``quorum_losses`` randomly chosen cycles, which take a majority down and
    wait until a write is refused -- keeps them down for a random ``down_s`` time,
    restarts them and waits for an acknowledged write.
    """
    rng = random.Random(seed)
    talk = say or (lambda text: None)
    tolerated = cluster.size - cluster.quorum
    if tolerated < 1 and quorum_losses == 0:
        raise EtcdlabError("a cluster of fewer than 3 members tolerates no failure: every cycle loses quorum.")
    loss_cycles = set(rng.sample(range(cycles), min(quorum_losses, cycles)))
    t0 = time.monotonic()
    kills = losses = refusals = 0
    writer = Writer(cluster, prefix="/registry/chaos/", interval=interval).start()
    try:
        for i in range(cycles):
            loss = i in loss_cycles or tolerated < 1
            if loss:
                victims = rng.sample(list(cluster.members), tolerated + 1)
            else:
                victims = rng.sample(list(cluster.members), rng.randint(1, tolerated))
            t_kill = cluster.clock()
            for m in victims:
                cluster.kill(m)
            kills += len(victims)
            talk(f"cycle {i + 1}: killed {', '.join(m.name for m in victims)}" + (" (quorum lost)" if loss else ""))
            if loss:
                losses += 1
                if writer.wait_for(t_kill, ok=False, timeout=_refusal_wait(cluster)):
                    refusals += 1
            time.sleep(rng.uniform(*down_s))
            t_up = cluster.clock()
            for m in victims:
                cluster.start_member(m)
            if writer.wait_for(t_up, ok=True, timeout=15.0, started_after=True) is None:
                raise EtcdlabError(f"cycle {i + 1}: no write was acknowledged within 15 s of the restart.")
    except BaseException:
        writer.stop(wait=False)     # interrupted or failed: do not wait for a write that cannot commit
        raise
    writer.stop()
    if not _wait_all_healthy(cluster):
        raise EtcdlabError("the cluster did not become healthy again after the cycles.")
    acked = writer.acknowledged
    missing = {k: v for k, v in missing_writes(cluster, acked, writer.prefix).items() if v}
    return ChaosReport(size=cluster.size, cycles=cycles, quorum_losses=losses, quorum_loss_refusals=refusals,
                       kills=kills, acknowledged_writes=len(acked), failed_writes=writer.failed,
                       missing=missing, duration_s=time.monotonic() - t0, events=tuple(cluster.events),
                       writes=tuple(writer.records))


# -- the timeline plot ------------------------------------------------------------------------

_EVENT_STYLE = {"kill": ("#d62728", "kill"), "stop": ("#d62728", "stop"), "restart": ("#2ca02c", "restart"),
                "leader": ("#1f77b4", "new leader"), "quorum-lost": ("#ff7f0e", "quorum lost"),
                "quorum-back": ("#2ca02c", "quorum back")}


def plot_timeline(report: DrillReport | ChaosReport, ax=None):
    """Writes over time (latency of each; red crosses where refused) with the drill's events."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4))
    else:
        fig = ax.figure
    writes = list(report.writes)
    ok = [w for w in writes if w.ok]
    bad = [w for w in writes if not w.ok]
    ax.scatter([w.t_start for w in ok], [w.latency * 1000 for w in ok], s=6, color="#2ca02c",
               label=f"acknowledged ({len(ok)})")
    ax.scatter([w.t_start for w in bad], [w.latency * 1000 for w in bad], s=30, marker="x", color="#d62728",
               label=f"refused ({len(bad)})")
    t_min = writes[0].t_start if writes else 0
    top = max([w.latency * 1000 for w in writes] + [10])
    for ev in report.events:
        if ev.kind not in _EVENT_STYLE or ev.t < t_min - 0.05:
            continue
        color, label = _EVENT_STYLE[ev.kind]
        ax.axvline(ev.t, color=color, linestyle="--", linewidth=1)
        ax.text(ev.t, top * 1.02, f"{label} {ev.member or ''}".strip(), rotation=90, va="bottom", ha="right",
                fontsize=8, color=color)
    ax.set_xlabel("time since the cluster started (s)")
    ax.set_ylabel("write latency (ms)")
    ax.set_ylim(0, top * 1.35)
    ax.set_title("Writes around the kills and restarts")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["Writer", "WriteRecord", "DrillReport", "ChaosReport", "run_drill", "chaos", "plot_timeline",
           "missing_writes"]

