"""Quorum arithmetic, failures and partitions: what an etcd cluster can still do.

etcd replicates every write through Raft. A write counts once a *majority* of the
voting members (the quorum, ``n // 2 + 1``) has it on disk, and only a member that a
majority voted for can be leader. Everything else follows from that one rule:

* a cluster of ``n`` voting members survives ``n - quorum`` failures, so 4 members
  survive no more failures than 3, and 6 no more than 5 (even sizes don't help);
* when too many members are down, nobody can be elected, so writes and linearizable
  reads (the default kind, which the leader must confirm with a majority) fail; a
  *serializable* read is answered from the member's own copy and still works, but may
  be stale;
* in a network partition at most one side can hold a majority: it keeps (or elects) the
  leader, and a leader stranded on the other side steps down. No split brain.

This module is that rule, as pure Python with no I/O, for any cluster of 1-9 members.
Members are named the way a kubeadm stacked control plane names them: kubeadm gives each
member its node's name (``--name=<node>``), and the nodes here are ``cp1``, ``cp2``...,
as in the bundled ``stacked-ha-3`` data set and the topology drawings. (The member's Pod
is ``etcd-cp1``; that spelling is accepted too, and so is a plain number.)
:func:`etcdlab.sim.raft.simulate_election` shows *how* the election happens over time.

    >>> from etcdlab.sim.quorum import ClusterState
    >>> s = ClusterState(3).with_down("cp2", "cp3")
    >>> s.has_quorum, s.writable, s.serializable_readers
    (False, False, ('cp1',))
    >>> ClusterState(5).with_partition("cp1,cp2/cp3,cp4,cp5").leader_side
    ('cp3', 'cp4', 'cp5')
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import cached_property
from itertools import combinations
from typing import Iterable

from ..model.words import plural
from ..model.quorum import ScenarioError, _check_size, member_name, member_names, quorum_size


#: The three things a client (the kube-apiserver) can ask its etcd member for.
OPERATIONS = ("write", "linearizable read", "serializable read")
#: What etcd answers when a request cannot be committed (no leader or no majority).
TIMEOUT_ERROR = "etcdserver: request timed out"
#: What a learner answers to anything but a serializable read.
LEARNER_ERROR = "etcdserver: rpc not supported for learner"


def parse_members(text: str | Iterable[str | int], size: int) -> tuple[str, ...]:
    """``"cp1, 3"`` (or a list) -> ``('cp1', 'cp3')``, in cluster order, no repeats."""
    items = re.split(r"[,\s]+", text.strip()) if isinstance(text, str) else list(text)
    chosen = {member_name(x, size) for x in items if str(x).strip()}
    return tuple(m for m in member_names(size) if m in chosen)


def parse_partition(text: str | Iterable[Iterable[str | int]], size: int) -> tuple[tuple[str, ...], ...]:
    """``"cp1,cp2/cp3,cp4,cp5"`` -> the sides of a network partition.

    Sides are separated by ``/``, members by commas; numbers stand for member names
    (``"1,2/3"``). Members left out form one more side together, so ``"cp1"`` alone
    cuts cp1 off from everyone else. A member may be on one side only.
    """
    if isinstance(text, str):
        if not text.strip():
            return ()
        groups = [parse_members(part, size) for part in text.split("/")]
    else:
        groups = [parse_members(g, size) for g in text]
    return _normalize_partition(groups, size)


def two_way_splits(size: int) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every way to split a ``size``-member cluster into two non-empty sides, each once.

    >>> two_way_splits(3)
    [(('cp1',), ('cp2', 'cp3')), (('cp1', 'cp2'), ('cp3',)), (('cp1', 'cp3'), ('cp2',))]
    """
    names = member_names(size)
    first, rest = names[0], names[1:]
    out = []
    for k in range(len(rest)):
        for others in combinations(rest, k):
            side_b = tuple(m for m in rest if m not in others)
            out.append(((first, *others), side_b))
    return out


def _normalize_partition(groups: Iterable[Iterable[str]], size: int) -> tuple[tuple[str, ...], ...]:
    names = member_names(size)
    order = {m: i for i, m in enumerate(names)}
    seen: dict[str, int] = {}
    clean: list[tuple[str, ...]] = []
    for g in groups:
        g = tuple(sorted(set(g), key=lambda m: order.get(m, len(order))))
        for m in g:
            if m not in order:
                raise ScenarioError(f"no member {m!r} in a {size}-member cluster; "
                                    f"use one of {', '.join(names)}")
            if m in seen:
                raise ScenarioError(f"member {m} is on two sides of the partition; "
                                    "put each member on one side only")
            seen[m] = len(clean)
        if g:
            clean.append(g)
    rest = tuple(m for m in names if m not in seen)
    if rest:
        clean.append(rest)
    if len(clean) <= 1:
        return ()  # everyone can reach everyone: no partition
    return tuple(sorted(clean, key=lambda g: order[g[0]]))


def _names(members: Iterable[str]) -> str:
    members = list(members)
    return ", ".join(members) if members else "none"


@dataclass(frozen=True)
class MemberStatus:
    """What one member can do in a given :class:`ClusterState`."""

    name: str
    up: bool
    learner: bool
    side: int                    #: index into ``ClusterState.sides``
    is_leader: bool
    can_lead: bool               #: an up voter on a side that holds a majority
    can_write: bool              #: its client's writes commit (forwarded to the leader)
    can_read_linearizable: bool  #: its client gets an up-to-date read
    can_read_serializable: bool  #: its client gets an answer from the local copy
    cut_off: bool = False        #: on a side of a partition without the majority, while another side has it

    @property
    def role(self) -> str:
        if not self.up:
            return "down"
        if self.is_leader:
            return "leader"
        if self.learner:
            return "learner"
        if self.can_write:
            return "follower"
        return "cut off" if self.cut_off else "no quorum"

    def as_dict(self) -> dict:
        return {**asdict(self), "role": self.role}


@dataclass(frozen=True)
class ClientAnswer:
    """What a client (the apiserver next to ``member``) gets for one operation."""

    member: str
    operation: str
    ok: bool
    message: str

    def __str__(self) -> str:
        return f"{self.member}: {self.operation}: {'OK' if self.ok else 'FAILS'}: {self.message}"


@dataclass(frozen=True)
class ClusterState:
    """A cluster of ``size`` etcd members, some down, maybe split by a network partition.

    ``down`` and ``learners`` are sets of member names; ``partition`` is the sides of a
    network partition (each a tuple of names; ``()`` means everyone reaches everyone);
    ``previous_leader`` is who led before the last change, so that switching off a
    follower does not move the leadership around (Raft keeps a healthy leader).

    The state is immutable: ``with_down``, ``with_up``, ``with_partition``, ``healed``,
    ``resized``... return new states. Members are named by :func:`member_names`;
    methods accept ``'cp2'`` or just ``2``.

    Learners (members added by ``kubeadm join`` before promotion) replicate the data but
    do not vote: the quorum is a majority of the *voting* members, and a learner answers
    serializable reads only. etcd allows one learner at a time.
    """

    size: int = 3
    down: frozenset[str] = field(default_factory=frozenset)
    learners: frozenset[str] = field(default_factory=frozenset)
    partition: tuple[tuple[str, ...], ...] = ()
    previous_leader: str | None = None

    def __post_init__(self) -> None:
        size = _check_size(self.size)
        object.__setattr__(self, "size", size)
        for attr in ("down", "learners"):
            value = getattr(self, attr)
            if isinstance(value, int) and not isinstance(value, bool):
                raise ScenarioError(f"{attr} is a set of member names, such as {{'cp2'}}, not the "
                                    f"number {value}; to switch off {value} members use "
                                    f"ClusterState.scenario({size}, down={value})")
            if isinstance(value, str):
                value = [value]
            object.__setattr__(self, attr, frozenset(parse_members(list(value), size)))
        if len(self.learners) > 1:
            raise ScenarioError("etcd allows one learner at a time; promote "
                                f"{min(self.learners)} before adding another")
        if len(self.learners) >= size:
            raise ScenarioError("a cluster needs at least one voting member; "
                                "make fewer members learners")
        part = self.partition
        if isinstance(part, str) or any(not isinstance(g, tuple) for g in part) \
                or part != _normalize_partition(part, size):
            object.__setattr__(self, "partition", parse_partition(part, size))
        if self.previous_leader is not None:
            object.__setattr__(self, "previous_leader", member_name(self.previous_leader, size))

    # ---- building new states -------------------------------------------------------

    @classmethod
    def scenario(cls, size: int = 3, *, down: int | Iterable[str | int] | str = (),
                 partition: str | Iterable[Iterable[str | int]] = (),
                 learners: Iterable[str | int] | str = ()) -> "ClusterState":
        """A state from the CLI's vocabulary.

        ``down`` is a number of members to switch off (the highest-numbered ones, so
        ``cp1`` stays up and keeps leading) or the members themselves.
        """
        size = _check_size(size)
        if isinstance(down, int) and not isinstance(down, bool):
            if not 0 <= down <= size:
                raise ScenarioError(f"cannot switch off {down} members of a {size}-member "
                                    f"cluster; choose 0 to {size}")
            down_names = member_names(size)[size - down:]
        else:
            down_names = parse_members(down, size)
        return cls(size, down=frozenset(down_names),
                   learners=frozenset(parse_members(learners, size)),
                   partition=parse_partition(partition, size))

    def _next(self, **changes) -> "ClusterState":
        """A new state that remembers who leads now."""
        changes.setdefault("previous_leader", self.leader or self.previous_leader)
        values = dict(size=self.size, down=self.down, learners=self.learners,
                      partition=self.partition)
        values.update(changes)
        return ClusterState(**values)

    def with_down(self, *members: str | int) -> "ClusterState":
        """These members switched off (crashed, powered down, etcd stopped)."""
        return self._next(down=self.down | set(parse_members(members, self.size)))

    def with_up(self, *members: str | int) -> "ClusterState":
        """These members back up."""
        return self._next(down=self.down - set(parse_members(members, self.size)))

    def toggled(self, member: str | int) -> "ClusterState":
        """``member`` switched off if it was up, on if it was down."""
        name = member_name(member, self.size)
        return self.with_up(name) if name in self.down else self.with_down(name)

    def with_partition(self, sides: str | Iterable[Iterable[str | int]]) -> "ClusterState":
        """The network split into ``sides`` (see :func:`parse_partition`)."""
        return self._next(partition=parse_partition(sides, self.size))

    def healed(self) -> "ClusterState":
        """The partition is over: everyone reaches everyone again."""
        return self._next(partition=())

    def with_learners(self, *members: str | int) -> "ClusterState":
        """These members are non-voting learners (replace any previous learners)."""
        return self._next(learners=frozenset(parse_members(members, self.size)))

    def resized(self, size: int) -> "ClusterState":
        """The same situation on a cluster of ``size``: members that no longer exist are
        dropped; new members are up and, in a partition, on ``cp1``'s side."""
        size = _check_size(size)
        keep = set(member_names(size))
        part = [[m for m in g if m in keep] for g in self.partition]
        if part:
            part[0] += [m for m in member_names(size) if m not in self.members]
        lead = self.leader or self.previous_leader
        return ClusterState(size, down=self.down & keep, learners=self.learners & keep,
                            partition=_normalize_partition(part, size),
                            previous_leader=lead if lead in keep else None)

    # ---- who is where ----------------------------------------------------------------

    @property
    def members(self) -> tuple[str, ...]:
        return member_names(self.size)

    @property
    def voters(self) -> tuple[str, ...]:
        """The members that vote (everyone but learners)."""
        return tuple(m for m in self.members if m not in self.learners)

    @property
    def quorum(self) -> int:
        """How many votes make a majority: ``voters // 2 + 1``."""
        return quorum_size(len(self.voters))

    @property
    def tolerance(self) -> int:
        """How many voting members this cluster size survives losing, when all are up."""
        return len(self.voters) - self.quorum

    @property
    def up(self) -> tuple[str, ...]:
        return tuple(m for m in self.members if m not in self.down)

    @property
    def sides(self) -> tuple[tuple[str, ...], ...]:
        """The groups of members that can reach each other (one group when not partitioned)."""
        return self.partition or (self.members,)

    @property
    def partitioned(self) -> bool:
        return bool(self.partition)

    def side_of(self, member: str | int) -> int:
        name = member_name(member, self.size)
        return next(i for i, side in enumerate(self.sides) if name in side)

    def up_voters_on(self, side: int) -> tuple[str, ...]:
        return tuple(m for m in self.sides[side] if m not in self.down and m not in self.learners)

    @cached_property
    def _quorum_side(self) -> int | None:
        # At most one side can hold a majority: two disjoint sides with more than half
        # of the voters each would need more voters than there are.
        for i in range(len(self.sides)):
            if len(self.up_voters_on(i)) >= self.quorum:
                return i
        return None

    # ---- what the cluster can do -------------------------------------------------------

    @property
    def has_quorum(self) -> bool:
        """A majority of the voting members is up *and* can reach each other."""
        return self._quorum_side is not None

    @property
    def writable(self) -> bool:
        """Writes commit somewhere (on the leader's side)."""
        return self.has_quorum

    @property
    def leader_side(self) -> tuple[str, ...] | None:
        """The up members on the side that holds the majority (and the leader), or None."""
        if self._quorum_side is None:
            return None
        return tuple(m for m in self.sides[self._quorum_side] if m not in self.down)

    @cached_property
    def leader(self) -> str | None:
        """Who leads: the previous leader if it still can, else one of the eligible members.

        In a real cluster the first eligible member whose randomized election timer fires
        wins (see :mod:`etcdlab.sim.raft`); this model picks the lowest-numbered one.
        """
        if self._quorum_side is None:
            return None
        eligible = self.up_voters_on(self._quorum_side)
        return self.previous_leader if self.previous_leader in eligible else eligible[0]

    @property
    def writers(self) -> tuple[str, ...]:
        """Members whose clients' writes succeed (up voters on the leader's side)."""
        side = self.leader_side or ()
        return tuple(m for m in side if m not in self.learners)

    @property
    def linearizable_readers(self) -> tuple[str, ...]:
        """Members that answer linearizable reads: the leader confirms with a majority first."""
        return self.writers

    @property
    def serializable_readers(self) -> tuple[str, ...]:
        """Members that answer serializable reads: every member that is up, on any side."""
        return self.up

    @property
    def failures_left(self) -> int:
        """How many more voting members may fail before writes stop (0 without quorum)."""
        if self._quorum_side is None:
            return 0
        return len(self.up_voters_on(self._quorum_side)) - self.quorum

    @property
    def members_needed(self) -> int:
        """Without quorum: how many more voters the best-placed side needs (0 with quorum)."""
        best = max(len(self.up_voters_on(i)) for i in range(len(self.sides)))
        return max(0, self.quorum - best)

    def member(self, member: str | int) -> MemberStatus:
        """What ``member`` can do."""
        name = member_name(member, self.size)
        up = name not in self.down
        learner = name in self.learners
        side = self.side_of(name)
        majority = side == self._quorum_side
        return MemberStatus(
            name=name, up=up, learner=learner, side=side,
            is_leader=name == self.leader,
            can_lead=up and not learner and majority,
            can_write=up and not learner and majority,
            can_read_linearizable=up and not learner and majority,
            can_read_serializable=up,
            cut_off=self.has_quorum and not majority,
        )

    def member_statuses(self) -> list[MemberStatus]:
        return [self.member(m) for m in self.members]

    # ---- what a client gets ----------------------------------------------------------

    def request(self, member: str | int, operation: str) -> ClientAnswer:
        """What the apiserver next to ``member`` gets when it asks for ``operation``.

        In a kubeadm stacked control plane each apiserver talks to its own node's etcd
        member only (``--etcd-servers=https://127.0.0.1:2379``), so "a client on that side
        of the partition" is exactly this.
        """
        if operation not in OPERATIONS:
            raise ScenarioError(f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}")
        s = self.member(member)
        name = s.name
        if not s.up:
            return ClientAnswer(name, operation, False,
                                f"no answer: {name} is down (connection refused on 127.0.0.1:2379)")
        if operation == "serializable read":
            if self.has_quorum and s.side == self._quorum_side:
                msg = f"{name} answers from its own copy (current, or a few milliseconds behind the leader)"
            else:
                msg = f"{name} answers from its own copy, which may be stale: nothing new can commit"
                msg += " without a majority" if not self.has_quorum else " on this side"
            return ClientAnswer(name, operation, True, msg)
        if s.learner:
            return ClientAnswer(name, operation, False, f"{LEARNER_ERROR} ({name} is a learner)")
        if not s.can_write:
            why = ("no leader: no side has a majority" if not self.has_quorum
                   else f"no leader on this side: the majority is on the other side "
                        f"({_names(self.leader_side or ())})" if self.partitioned
                   else "no leader")
            return ClientAnswer(name, operation, False, f"{TIMEOUT_ERROR} ({why})")
        via = "" if name == self.leader else f"forwarded to the leader {self.leader}; "
        if operation == "write":
            return ClientAnswer(name, operation, True,
                                f"{via}committed once a majority ({self.quorum} of {len(self.voters)} "
                                "voting members) stored it")
        return ClientAnswer(name, operation, True,
                            f"up to date: {via or ''}the leader {self.leader} confirmed with a "
                            "majority that it still leads")

    def requests(self, operation: str) -> list[ClientAnswer]:
        """:meth:`request` for every member's apiserver."""
        return [self.request(m, operation) for m in self.members]

    # ---- in words ----------------------------------------------------------------------

    def explain(self) -> list[str]:
        """The situation in sentences: quorum, leader, failures left, and why."""
        n_voters = len(self.voters)
        up_voters = [m for m in self.voters if m not in self.down]
        down = [m for m in self.members if m in self.down]
        out: list[str] = []
        if self.partitioned:
            sides = " | ".join(", ".join(g) for g in self.sides)
            out.append(f"Network partition: {sides}.")
        if self.has_quorum:
            side_voters = self.up_voters_on(self._quorum_side)
            where = (f" on the side {_names(self.leader_side)}" if self.partitioned else "")
            downs = f" ({_names(down)} down)" if down else ""
            out.append(f"Quorum holds{where}: {len(side_voters)} of {n_voters} voting members "
                       f"{'is' if len(side_voters) == 1 else 'are'} up and connected{downs}, "
                       f"and {self.quorum} make a majority. {self.leader} leads.")
            for i, side in enumerate(self.sides):
                if i == self._quorum_side:
                    continue
                alive = [m for m in side if m not in self.down]
                if not alive:
                    continue
                out.append(f"Cut off: {_names(alive)} "
                           f"({plural(len(self.up_voters_on(i)), 'vote')}, {self.quorum} needed) "
                           "cannot elect a leader, and a leader stranded there steps down: "
                           "writes and linearizable reads from the apiservers there time out; "
                           "serializable reads answer, maybe stale. "
                           "No split brain: only one side can hold a majority.")
            left = self.failures_left
            if left == 0:
                out.append("It survives 0 more failures: one more voting member down and writes stop.")
            else:
                out.append(f"It survives {plural(left, 'more failure')}.")
        else:
            best = max(len(self.up_voters_on(i)) for i in range(len(self.sides)))
            if self.partitioned and len(up_voters) >= self.quorum:
                out.append(f"No quorum: {len(up_voters)} of {n_voters} voting members are up, "
                           f"but no side holds a majority (the largest has {best}, "
                           f"{self.quorum} needed), so nobody can lead.")
            else:
                out.append(f"No quorum: only {len(up_voters)} of {n_voters} voting members "
                           f"{'is' if len(up_voters) == 1 else 'are'} up"
                           + (" and connected" if self.partitioned else "")
                           + f", and {self.quorum} are needed for a majority, so nobody can lead.")
            readers = self.serializable_readers
            out.append("Writes and linearizable reads fail everywhere (" + TIMEOUT_ERROR + "); "
                       + (f"serializable reads still answer on {_names(readers)}, from local copies "
                          "that may be stale." if readers else "nothing answers at all."))
            fixes = []
            if self.partitioned and len(up_voters) >= self.quorum:
                fixes.append("heal the partition")
            if self.members_needed and not (self.partitioned and len(up_voters) >= self.quorum):
                fixes.append(f"bring back {plural(self.quorum - len(up_voters), 'voting member')}")
            if fixes:
                out.append(" or ".join(fixes).capitalize() + " to restore quorum.")
        if self.learners:
            (learner,) = sorted(self.learners)
            out.append(f"{learner} is a learner: it does not vote and answers serializable reads only.")
        if n_voters % 2 == 0:
            out.append(f"An even size buys nothing: {n_voters} voting members need {self.quorum} "
                       f"for a majority and survive {plural(self.tolerance, 'failure')}, "
                       f"no more than {n_voters - 1} would.")
        return out

    def status_line(self) -> str:
        """:meth:`explain` as one paragraph."""
        return " ".join(self.explain())

    def summary(self) -> dict:
        """Everything the CLI's ``--json`` prints (JSON-ready: lists, strings, numbers, None)."""
        side = self.leader_side
        return {
            "size": self.size,
            "members": list(self.members),
            "voters": list(self.voters),
            "learners": sorted(self.learners),
            "quorum": self.quorum,
            "tolerance": self.tolerance,
            "up": list(self.up),
            "down": [m for m in self.members if m in self.down],
            "partition": [list(g) for g in self.partition],
            "has_quorum": self.has_quorum,
            "leader": self.leader,
            "leader_side": list(side) if side is not None else None,
            "writable": self.writable,
            "linearizable_readers": list(self.linearizable_readers),
            "serializable_readers": list(self.serializable_readers),
            "failures_left": self.failures_left,
            "members_needed": self.members_needed,
            "status": self.status_line(),
        }

    def report(self) -> str:
        """The scenario as aligned text (what ``etcdlab quorum --size ...`` prints), then the
        explanation in words."""
        from textwrap import fill

        s = self.summary()
        rows = [
            ("members", f"{s['size']} ({_names(s['members'])}), quorum {s['quorum']}, "
                        f"tolerates {plural(s['tolerance'], 'failure')}"),
            ("up", _names(s["up"])),
            ("down", _names(s["down"])),
        ]
        if s["learners"]:
            rows.append(("learners", _names(s["learners"])))
        if s["partition"]:
            rows.append(("partition", " | ".join(", ".join(g) for g in s["partition"])))
        rows += [
            ("quorum", "yes" if s["has_quorum"] else "NO"),
            ("leader", s["leader"] or "none"),
            ("leader side", _names(s["leader_side"] or ())),
            ("writable", "yes" if s["writable"] else "no"),
            ("linearizable reads", _names(s["linearizable_readers"])),
            ("serializable reads", _names(s["serializable_readers"])),
            ("failures left", str(s["failures_left"])),
        ]
        width = max(len(k) for k, _ in rows) + 2
        lines = [f"{k + ':':<{width}}{v}" for k, v in rows]
        lines += ["", fill(self.status_line(), width=88)]
        return "\n".join(lines)

    def cut_links(self) -> list[tuple[str, str]]:
        """Peer links (port 2380) a partition cuts: every pair of members on different sides."""
        side = {m: i for i, g in enumerate(self.sides) for m in g}
        ms = self.members
        return [(a, b) for i, a in enumerate(ms) for b in ms[i + 1:] if side[a] != side[b]]

    def __str__(self) -> str:
        return self.status_line()
