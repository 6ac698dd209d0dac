"""A small Raft model: how etcd members elect a leader, replicate writes and survive failures.

:mod:`etcdlab.sim.quorum` says *what* a cluster can do in a given situation; this module
shows *how it gets there* over time. It is a discrete-event simulation: nothing
sleeps, simulated milliseconds pass as fast as Python can process the events (many
thousands of simulated seconds per real second), and a seed makes every run
reproducible.

What it models, the way etcd 3.5 does it:

* **terms** - a logical clock. Each election starts a new term; a member that sees a
  higher term than its own adopts it and becomes a follower.
* **randomized election timeouts** - a follower that hears nothing from a leader for
  its election timeout (a random time between ``election_timeout_ms`` and twice that,
  drawn again each time) stands for election. The randomness is what makes two members
  standing at the same moment rare.
* **pre-vote** (on by default since etcd 3.5) - before starting a real election a member
  asks whether it *could* win; a member cut off from the majority never can, so it does
  not keep raising its term and does not disrupt the cluster when it comes back.
* **votes** - one vote per member per term, only for a candidate whose log is at least as
  up to date as the voter's. A majority of votes makes a leader. Two candidates can
  split the votes so that neither wins: a *split vote*; both retry after a new random
  timeout.
* **heartbeats and log replication** - the leader sends an AppendEntries message every
  heartbeat interval (100 ms by default), carrying the entries a follower lacks. An
  entry is *committed* once a majority stores it; a new leader first commits an empty
  entry of its own term.
* **check quorum** - a leader that has not heard from a majority for an election timeout
  steps down: a leader stranded on the minority side of a partition stops accepting
  writes. Its uncommitted entries are discarded when it rejoins and the new leader's
  log overwrites them.

What it leaves out: disk writes, snapshots, membership changes, learners, flow control
and etcd's tick granularity (etcd counts time in ticks of one heartbeat interval; this
model uses continuous milliseconds).

    >>> t = simulate_election("leader-failure", size=3, seed=1)
    >>> t.leaders[0].member != t.leaders[-1].member
    True
    >>> all(w.status == "committed" for w in t.writes if w.time < 2500)
    True
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

from ..errors import EtcdlabError
from ..model.quorum import member_name, member_names, quorum_size
from .quorum import parse_partition

# ---------------------------------------------------------------- public records

FOLLOWER, PRECANDIDATE, CANDIDATE, LEADER, DOWN = (
    "follower", "pre-candidate", "candidate", "leader", "down")
ROLES = (FOLLOWER, PRECANDIDATE, CANDIDATE, LEADER, DOWN)

#: etcd's ``--heartbeat-interval`` and ``--election-timeout`` defaults (milliseconds).
HEARTBEAT_MS = 100
ELECTION_TIMEOUT_MS = 1000
#: How long a client (the apiserver) waits for a write: etcd's request timeout is
#: 5 s plus two election timeouts.
REQUEST_TIMEOUT_MS = 5000 + 2 * ELECTION_TIMEOUT_MS


@dataclass(frozen=True)
class Action:
    """Something the scenario does to the cluster at ``time`` (ms).

    ``kind`` is one of:

    * ``"crash"`` / ``"restart"`` - ``target`` is a member, ``"leader"`` (whoever leads
      at that moment) or, for restart, ``"crashed"`` (every member that is down);
    * ``"partition"`` - ``target`` is the sides (``"cp1,cp2/cp3,cp4,cp5"``,
      see :func:`etcdlab.sim.quorum.parse_partition`) or ``"leader-minority"``: the leader and
      as many others as still make a minority, cut off from the rest;
    * ``"heal"`` - the partition is over;
    * ``"write"`` - the apiserver next to ``target`` (a member, ``"leader"`` or
      ``"majority"``: a member on the side that holds the majority) writes ``value``.
    """

    time: float
    kind: str
    target: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class RaftEvent:
    """One line of the story: at ``time`` (ms), ``member`` did or saw ``kind``."""

    time: float
    kind: str
    member: str | None
    term: int
    text: str

    def __str__(self) -> str:
        who = f"{self.member:<7} " if self.member else " " * 8
        return f"{self.time / 1000:7.3f} s  {who}{self.text}"


@dataclass(frozen=True)
class Segment:
    """``member`` had ``role`` in ``term`` from ``start`` to ``end`` (ms)."""

    member: str
    start: float
    end: float
    role: str
    term: int


@dataclass(frozen=True)
class Leadership:
    """``member`` became leader of ``term`` at ``time`` (ms)."""

    time: float
    member: str
    term: int


@dataclass(frozen=True)
class Write:
    """A client write and what became of it.

    ``status``: ``"committed"`` (a majority stored it), ``"discarded"`` (it reached a
    leader's log but never a majority, and a newer leader overwrote it), ``"timed out"``
    (no answer within the request timeout) or ``"failed"`` (rejected at once: member
    down or no leader known).
    """

    id: int
    time: float
    member: str
    value: str
    status: str
    done: float | None = None
    index: int | None = None
    term: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Commit:
    """Log entry ``index`` (of ``term``, carrying ``value``; None = a leader's empty entry)."""

    time: float
    index: int
    term: int
    value: str | None
    leader: str


@dataclass
class ElectionTimeline:
    """The result of :func:`simulate_election`: what happened, when, to whom."""

    scenario: str
    members: tuple[str, ...]
    seed: int
    duration: float
    heartbeat_ms: float
    election_timeout_ms: float
    pre_vote: bool
    actions: tuple[Action, ...]
    events: list[RaftEvent] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    leaders: list[Leadership] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    campaigns: list[tuple[float, str, int]] = field(default_factory=list)
    messages: int = 0
    #: each member's log at the end: (term, value) per entry from index 1; value None is a
    #: new leader's empty entry
    logs: dict[str, tuple[tuple[int, str | None], ...]] = field(default_factory=dict)
    #: each member's commit index at the end
    commit_index: dict[str, int] = field(default_factory=dict)

    # ---- questions a student asks ------------------------------------------------------

    def leader_at(self, time: float) -> str | None:
        """Who was leader at ``time`` (ms), or None."""
        for seg in self.segments:
            if seg.role == LEADER and seg.start <= time < seg.end:
                return seg.member
        return None

    def role_at(self, member: str, time: float) -> str:
        for seg in self.segments:
            if seg.member == member and seg.start <= time < seg.end:
                return seg.role
        return DOWN

    @property
    def split_votes(self) -> list[int]:
        """Terms in which two or more members stood for election and none won."""
        by_term: dict[int, set[str]] = {}
        for _, member, term in self.campaigns:
            by_term.setdefault(term, set()).add(member)
        won = {lead.term for lead in self.leaders}
        return sorted(t for t, who in by_term.items() if len(who) > 1 and t not in won)

    @property
    def final_term(self) -> int:
        return max((s.term for s in self.segments), default=0)

    def without_leader(self) -> list[tuple[float, float]]:
        """The intervals (ms) with no leader anywhere: when writes had to wait."""
        gaps, start = [], 0.0
        for seg in sorted((s for s in self.segments if s.role == LEADER), key=lambda s: s.start):
            if seg.start > start:
                gaps.append((start, seg.start))
            start = max(start, seg.end)
        if start < self.duration:
            gaps.append((start, self.duration))
        return gaps

    def failover_ms(self, after: float) -> float | None:
        """How long after ``after`` (ms) a *new* leader was elected, or None."""
        before = self.leader_at(after - 1e-6)
        for lead in self.leaders:
            if lead.time >= after and (lead.member != before or before is None):
                return lead.time - after
        return None

    def story(self, kinds: Iterable[str] | None = None) -> str:
        """The events as text, one per line (times in seconds since the start)."""
        keep = set(kinds) if kinds is not None else None
        return "\n".join(str(e) for e in self.events if keep is None or e.kind in keep)

    def summary(self) -> str:
        """A few lines: leaders, split votes, writes."""
        lines = [f"{len(self.members)} members, seed {self.seed}, {self.duration / 1000:g} s simulated, "
                 f"{self.messages} messages"]
        for lead in self.leaders:
            lines.append(f"  {lead.time / 1000:6.3f} s  {lead.member} leads term {lead.term}")
        if self.split_votes:
            lines.append(f"  split votes in term(s) {', '.join(map(str, self.split_votes))}")
        counts: dict[str, int] = {}
        for w in self.writes:
            counts[w.status] = counts.get(w.status, 0) + 1
        if counts:
            lines.append("  writes: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        return "\n".join(lines)

    def plot(self, ax=None, *, title: str | None = None):
        """Draw the timeline: one lane per member coloured by role, terms written on it,
        commits and discarded writes marked, scenario actions as dashed lines.

        Returns the matplotlib Axes (in a notebook, assign it, ``ax = timeline.plot()``, so
        its text repr does not become the cell's output).
        """
        return plot_timeline(self, ax=ax, title=title)


class RaftScenarioError(EtcdlabError, ValueError):
    """A Raft scenario that cannot run (unknown scenario, bad action or size)."""


# ---------------------------------------------------------------- the simulation

# message types
_PREVOTE, _PREVOTE_RESP, _VOTE, _VOTE_RESP, _APP, _APP_RESP, _PROP = range(7)


class _Node:
    __slots__ = ("name", "up", "term", "voted_for", "role", "leader", "log", "commit",
                 "votes", "rejects", "next_index", "match", "active", "deadline",
                 "timer_gen", "lead_epoch", "last_contact", "cq_deadline", "since")

    def __init__(self, name: str):
        self.name = name
        self.up = True
        self.term = 1
        self.voted_for: str | None = None
        self.role = FOLLOWER
        self.leader: str | None = None
        self.log: list[tuple[int, str | None, int | None]] = [(0, None, None)]  # (term, value, write id)
        self.commit = 0
        self.votes: set[str] = set()
        self.rejects: set[str] = set()
        self.next_index: dict[str, int] = {}
        self.match: dict[str, int] = {}
        self.active: set[str] = set()
        self.deadline = 0.0
        self.timer_gen = 0
        self.lead_epoch = 0
        self.last_contact = -1e18
        self.cq_deadline = 0.0
        self.since = 0.0


class _Sim:
    def __init__(self, names, *, seed, heartbeat_ms, election_timeout_ms, latency_ms,
                 pre_vote, check_quorum, request_timeout_ms, record_heartbeats=False):
        self.names = tuple(names)
        self.nodes = {n: _Node(n) for n in self.names}
        self.quorum = quorum_size(len(self.names))
        self.rng = random.Random(seed)
        self.hb = float(heartbeat_ms)
        self.et = float(election_timeout_ms)
        self.lat_lo, self.lat_hi = (float(x) for x in latency_ms)
        self.pre_vote = pre_vote
        self.check_quorum = check_quorum
        self.req_timeout = float(request_timeout_ms)
        self.side: dict[str, int] | None = None  # member -> side; None = no partition
        self.now = 0.0
        self.queue: list = []
        self.seq = 0
        self.timeline: ElectionTimeline | None = None
        self.pending: dict[int, dict] = {}
        self.messages = 0

    # ---- plumbing --------------------------------------------------------------------

    def push(self, time, kind, payload):
        self.seq += 1
        heapq.heappush(self.queue, (time, self.seq, kind, payload))

    def log_event(self, kind, member, text):
        term = self.nodes[member].term if member else 0
        self.timeline.events.append(RaftEvent(round(self.now, 3), kind, member, term, text))

    def connected(self, a: str, b: str) -> bool:
        return self.side is None or self.side[a] == self.side[b]

    def send(self, src: str, dst: str, msg: tuple):
        if not self.nodes[dst].up or not self.connected(src, dst):
            return
        self.messages += 1
        self.push(self.now + self.rng.uniform(self.lat_lo, self.lat_hi), "msg", msg)

    def reset_timer(self, n: _Node):
        n.deadline = self.now + self.rng.uniform(self.et, 2 * self.et)

    def start_timer(self, n: _Node):
        n.timer_gen += 1
        self.reset_timer(n)
        self.push(n.deadline, "timer", (n.name, n.timer_gen))

    def last(self, n: _Node) -> tuple[int, int]:
        i = len(n.log) - 1
        return i, n.log[i][0]

    # ---- state changes -----------------------------------------------------------------

    def become_follower(self, n: _Node, term: int, leader: str | None):
        changed = term != n.term or n.role != FOLLOWER
        if changed:
            self._close(n)
        if term > n.term:
            n.term = term
            n.voted_for = None
        n.role = FOLLOWER
        n.leader = leader
        n.votes, n.rejects = set(), set()

    def _close(self, n: _Node):
        """End the member's current segment now (its role/term is about to change)."""
        if self.now > n.since:
            self.timeline.segments.append(Segment(
                n.name, round(n.since, 3), round(self.now, 3),
                n.role if n.up else DOWN, n.term))
        n.since = self.now

    def campaign(self, n: _Node):
        self._close(n)
        n.term += 1
        n.role = CANDIDATE
        n.voted_for = n.name
        n.leader = None
        n.votes, n.rejects = {n.name}, set()
        self.timeline.campaigns.append((round(self.now, 3), n.name, n.term))
        self.log_event("campaign", n.name, f"stands for election in term {n.term}, votes for itself")
        li, lt = self.last(n)
        for p in self.names:
            if p != n.name:
                self.send(n.name, p, (_VOTE, n.name, p, n.term, li, lt))
        if len(n.votes) >= self.quorum:
            self.become_leader(n)

    def pre_campaign(self, n: _Node):
        self._close(n)
        n.role = PRECANDIDATE
        n.leader = None
        n.votes, n.rejects = {n.name}, set()
        self.log_event("pre-vote", n.name,
                       f"hears no leader: asks whether it could win term {n.term + 1} (pre-vote)")
        li, lt = self.last(n)
        for p in self.names:
            if p != n.name:
                self.send(n.name, p, (_PREVOTE, n.name, p, n.term + 1, li, lt))
        if len(n.votes) >= self.quorum:
            self.campaign(n)

    def become_leader(self, n: _Node):
        self._close(n)
        n.role = LEADER
        n.leader = n.name
        n.lead_epoch += 1
        voters = sorted(n.votes)
        n.log.append((n.term, None, None))  # the new leader's empty entry
        li = len(n.log) - 1
        n.next_index = {p: li for p in self.names}  # li = first index they may lack (the new entry)
        n.match = {p: 0 for p in self.names}
        n.match[n.name] = li
        n.active = {n.name}
        n.cq_deadline = self.now + self.et
        n.last_contact = self.now  # a leader is "in lease" too: it ignores disruptive votes
        self.timeline.leaders.append(Leadership(round(self.now, 3), n.name, n.term))
        self.log_event("elected", n.name,
                       f"becomes leader of term {n.term} with votes from {', '.join(voters)}")
        self.broadcast(n)
        self.push(self.now + self.hb, "heartbeat", (n.name, n.lead_epoch))
        self.maybe_commit(n)

    def step_down(self, n: _Node, why: str):
        self.become_follower(n, n.term, None)
        self.log_event("step-down", n.name, why)
        self.start_timer(n)

    # ---- replication --------------------------------------------------------------------

    def send_append(self, n: _Node, p: str):
        ni = n.next_index[p]
        prev = ni - 1
        entries = tuple(n.log[ni:])
        self.send(n.name, p, (_APP, n.name, p, n.term, prev, n.log[prev][0], entries, n.commit))

    def broadcast(self, n: _Node):
        for p in self.names:
            if p != n.name:
                self.send_append(n, p)

    def maybe_commit(self, n: _Node):
        ranked = sorted(n.match.values(), reverse=True)
        target = ranked[self.quorum - 1]
        # Raft commits only entries of the leader's own term by counting replicas;
        # earlier entries commit along with them.
        if target > n.commit and n.log[target][0] == n.term:
            for i in range(n.commit + 1, target + 1):
                term, value, wid = n.log[i]
                self.timeline.commits.append(Commit(round(self.now, 3), i, term, value, n.name))
                if wid is not None and wid in self.pending:
                    self.finish_write(wid, "committed", index=i, term=term)
                    self.log_event("commit", n.name,
                                   f"commits {value!r} (entry {i}): a majority stored it")
            n.commit = target

    def propose(self, n: _Node, value: str, wid: int):
        n.log.append((n.term, value, wid))
        n.match[n.name] = len(n.log) - 1
        w = self.pending[wid]
        w["index"], w["term"] = len(n.log) - 1, n.term
        self.log_event("append", n.name, f"appends {value!r} as entry {len(n.log) - 1}, "
                                         f"replicates it")
        self.broadcast(n)
        self.maybe_commit(n)

    def finish_write(self, wid: int, status: str, reason: str = "", **extra):
        w = self.pending.pop(wid)
        w.update(extra)
        self.timeline.writes.append(Write(
            id=wid, time=w["time"], member=w["member"], value=w["value"], status=status,
            done=round(self.now, 3), index=w.get("index"), term=w.get("term"), reason=reason))

    # ---- events ---------------------------------------------------------------------------

    def on_timer(self, name: str, gen: int):
        n = self.nodes[name]
        if not n.up or gen != n.timer_gen or n.role == LEADER:
            return
        if self.now < n.deadline:  # reset since: sleep until the new deadline
            self.push(n.deadline, "timer", (name, gen))
            return
        if n.role == CANDIDATE:
            self.log_event("no-majority", name,
                           f"no majority in term {n.term} (split vote or too few members): tries again")
        self.reset_timer(n)
        self.push(n.deadline, "timer", (name, gen))
        if self.pre_vote:
            self.pre_campaign(n)
        else:
            self.campaign(n)

    def on_heartbeat(self, name: str, epoch: int):
        n = self.nodes[name]
        if not n.up or n.role != LEADER or n.lead_epoch != epoch:
            return
        if self.check_quorum and self.now >= n.cq_deadline:
            if len(n.active) < self.quorum:
                self.step_down(n, f"has not heard from a majority for {self.et:g} ms: "
                                  "steps down (check quorum)")
                return
            n.active = {n.name}
            n.cq_deadline = self.now + self.et
            n.last_contact = self.now
        self.broadcast(n)
        self.push(self.now + self.hb, "heartbeat", (name, epoch))

    def on_message(self, m: tuple):
        typ, src, dst, term = m[0], m[1], m[2], m[3]
        n = self.nodes[dst]
        if not n.up or not self.connected(src, dst):
            return
        if typ == _PROP:
            self.on_prop(n, m)
            return
        if term > n.term:
            if typ in (_PREVOTE, _VOTE):
                in_lease = (self.check_quorum and n.leader is not None
                            and self.now - n.last_contact < self.et)
                if in_lease:  # a leader is alive: ignore the disruptive candidate
                    return
            if typ == _PREVOTE or (typ == _PREVOTE_RESP and m[4]):
                pass  # a pre-vote never changes anyone's term
            else:
                if n.role == LEADER:
                    self.log_event("step-down", dst, f"sees term {term} from {src}: steps down")
                self.become_follower(n, term, None)
                if typ not in (_APP, _VOTE):  # on_append / on_vote_request say the rest
                    self.log_event("new-term", dst, f"learns of term {term} from {src}")
        elif term < n.term:
            if typ == _APP:  # a stale leader: tell it about the newer term
                self.send(dst, src, (_APP_RESP, dst, src, n.term, False, 0))
            elif typ == _PREVOTE:
                self.send(dst, src, (_PREVOTE_RESP, dst, src, n.term, False))
            return
        if typ == _APP:
            self.on_append(n, m)
        elif typ == _APP_RESP:
            self.on_append_resp(n, m)
        elif typ == _PREVOTE or typ == _VOTE:
            self.on_vote_request(n, m)
        elif typ == _PREVOTE_RESP:
            if n.role == PRECANDIDATE and (term == n.term + 1 or not m[4]):
                self.tally(n, src, m[4], pre=True)
        elif typ == _VOTE_RESP:
            if n.role == CANDIDATE and term == n.term:
                self.tally(n, src, m[4], pre=False)

    def on_vote_request(self, n: _Node, m: tuple):
        typ, src, _, term, li, lt = m
        my_li, my_lt = self.last(n)
        up_to_date = lt > my_lt or (lt == my_lt and li >= my_li)
        if typ == _PREVOTE:
            can = (n.voted_for == src or (n.voted_for is None and n.leader is None)
                   or term > n.term)
            granted = can and up_to_date
            self.send(n.name, src, (_PREVOTE_RESP, n.name, src, term if granted else n.term, granted))
            return
        granted = (n.voted_for in (None, src) and n.leader is None and up_to_date)
        if granted:
            n.voted_for = src
            self.reset_timer(n)
            self.log_event("vote", n.name, f"votes for {src} in term {term}")
        self.send(n.name, src, (_VOTE_RESP, n.name, src, n.term, granted))

    def tally(self, n: _Node, src: str, granted: bool, pre: bool):
        (n.votes if granted else n.rejects).add(src)
        if len(n.votes) >= self.quorum:
            if pre:
                self.log_event("pre-vote-won", n.name,
                               f"a majority would vote for it ({', '.join(sorted(n.votes))})")
                self.campaign(n)
            else:
                self.become_leader(n)
        elif len(n.rejects) >= self.quorum:
            self.become_follower(n, n.term, None)

    def on_append(self, n: _Node, m: tuple):
        _, src, _, term, prev, prev_term, entries, leader_commit = m
        if n.role != FOLLOWER:
            self.become_follower(n, term, None)
        if n.leader != src:
            self.log_event("follow", n.name, f"follows {src}, leader of term {term}")
        n.leader = src
        n.last_contact = self.now
        self.reset_timer(n)
        log = n.log
        if prev >= len(log) or log[prev][0] != prev_term:
            self.send(n.name, src, (_APP_RESP, n.name, src, n.term, False, min(prev - 1, len(log) - 1)))
            return
        index = prev
        for entry in entries:
            index += 1
            if index < len(log):
                if log[index][0] == entry[0]:
                    continue
                self.discard(n, index)
            log.append(entry)
        if leader_commit > n.commit:
            n.commit = min(leader_commit, index)
        self.send(n.name, src, (_APP_RESP, n.name, src, n.term, True, index))

    def discard(self, n: _Node, index: int):
        """Cut ``n``'s log from ``index`` on: those entries lost to a newer leader's."""
        for i, (term, value, wid) in enumerate(n.log[index:], start=index):
            if value is not None:
                self.log_event("discard", n.name,
                               f"drops uncommitted {value!r} (entry {i}, term {term}): "
                               "the new leader's log wins")
            if wid is not None and wid in self.pending:
                self.finish_write(wid, "discarded", reason="overwritten by a newer leader's log")
        del n.log[index:]

    def on_append_resp(self, n: _Node, m: tuple):
        _, src, _, term, ok, index = m
        if n.role != LEADER:
            return
        n.active.add(src)
        if ok:
            if index > n.match[src]:
                n.match[src] = index
                self.maybe_commit(n)
            n.next_index[src] = max(n.next_index[src], index + 1)
        else:
            n.next_index[src] = max(1, min(n.next_index[src] - 1, index + 1))
            self.send_append(n, src)

    def on_prop(self, n: _Node, m: tuple):
        _, src, _, value, wid = m
        if wid not in self.pending:
            return
        if n.role == LEADER:
            self.propose(n, value, wid)
        # otherwise etcd drops the proposal; the client times out

    def on_action(self, a: Action):
        kind = a.kind
        if kind == "crash":
            name = self.resolve(a.target)
            if name is None:
                return
            n = self.nodes[name]
            if not n.up:
                return
            self._close(n)
            n.up = False
            n.role = FOLLOWER
            n.timer_gen += 1
            n.lead_epoch += 1
            self.log_event("crash", name, "crashes" + (" (it was the leader)" if a.target == "leader" else ""))
        elif kind == "restart":
            targets = ([x for x in self.names if not self.nodes[x].up] if a.target == "crashed"
                       else [self.resolve(a.target)])
            for name in targets:
                n = self.nodes[name]
                if n.up:
                    continue
                self._close(n)
                n.up = True
                n.role, n.leader = FOLLOWER, None
                n.votes, n.rejects = set(), set()
                self.log_event("restart", name, f"restarts as a follower (term {n.term}, "
                                                f"{len(n.log) - 1} entries on disk)")
                self.start_timer(n)
        elif kind == "partition":
            sides = self.partition_sides(a.target)
            self.side = {m: i for i, g in enumerate(sides) for m in g}
            self.log_event("partition", None,
                           "network partition: " + " | ".join(", ".join(g) for g in sides))
        elif kind == "heal":
            self.side = None
            self.log_event("heal", None, "the partition heals: everyone reaches everyone")
        elif kind == "write":
            self.client_write(a)
        else:  # pragma: no cover - checked when the script is built
            raise RaftScenarioError(f"unknown action {kind!r}")

    def current_leader(self) -> str | None:
        best = None
        for n in self.nodes.values():
            if n.up and n.role == LEADER and (best is None or n.term > best.term):
                best = n
        return best.name if best else None

    def resolve(self, target: str | None) -> str | None:
        if target == "leader":
            return self.current_leader()
        if target == "majority":  # an up member on the biggest side, the last one by name
            if self.side is None:
                big = list(self.names)
            else:
                counts: dict[int, list[str]] = {}
                for m, s in self.side.items():
                    counts.setdefault(s, []).append(m)
                big = sorted(max(counts.values(), key=len), key=self.names.index)
            alive = [m for m in big if self.nodes[m].up]
            return (alive or big)[-1]
        return target

    def partition_sides(self, spec: str) -> tuple[tuple[str, ...], ...]:
        if spec == "leader-minority":
            lead = self.current_leader() or self.names[0]
            minority = len(self.names) - self.quorum  # the largest minority (under half): the fault tolerance
            others = [m for m in self.names if m != lead]
            # the leader and the members just "after" it in name order
            k = self.names.index(lead)
            others.sort(key=lambda m: (self.names.index(m) - k) % len(self.names))
            small = {lead, *others[:max(0, minority - 1)]}
            return (tuple(m for m in self.names if m in small),
                    tuple(m for m in self.names if m not in small))
        return parse_partition(spec, len(self.names))

    def client_write(self, a: Action):
        name = self.resolve(a.target)
        wid = len(self.pending) + len(self.timeline.writes) + 1
        value = a.value or f"v{wid}"
        self.pending[wid] = {"time": round(self.now, 3), "member": name, "value": value}
        n = self.nodes[name]
        if not n.up:
            self.finish_write(wid, "failed", reason=f"{name} is down")
            self.log_event("write-failed", None, f"write {value!r} via {name} fails: {name} is down")
            return
        self.push(self.now + self.req_timeout, "request-timeout", wid)
        if n.role == LEADER:
            self.log_event("write", name, f"client writes {value!r} to the leader")
            self.propose(n, value, wid)
        elif n.leader is not None:
            self.log_event("write", name, f"client writes {value!r}; forwarded to {n.leader}")
            self.send(name, n.leader, (_PROP, name, n.leader, value, wid))
        else:
            self.finish_write(wid, "failed", reason="no leader")
            self.log_event("write-failed", name, f"client write {value!r} fails: no leader")

    def on_request_timeout(self, wid: int):
        if wid in self.pending:
            w = self.pending[wid]
            self.finish_write(wid, "timed out", reason="no majority stored it in time")
            self.log_event("write-timeout", None,
                           f"write {w['value']!r} via {w['member']} times out "
                           f"({self.req_timeout / 1000:g} s): etcdserver: request timed out")

    # ---- the loop -------------------------------------------------------------------------

    def run(self, actions: Sequence[Action], duration: float) -> None:
        for n in self.nodes.values():
            self.start_timer(n)
        for a in actions:
            self.push(float(a.time), "action", a)
        queue = self.queue
        pop = heapq.heappop
        handlers = {"action": self.on_action, "request-timeout": self.on_request_timeout}
        on_message, on_timer, on_heartbeat = self.on_message, self.on_timer, self.on_heartbeat
        while queue and queue[0][0] <= duration:
            time, _, kind, payload = pop(queue)
            self.now = time
            if kind == "msg":
                on_message(payload)
            elif kind == "timer":
                on_timer(*payload)
            elif kind == "heartbeat":
                on_heartbeat(*payload)
            else:
                handlers[kind](payload)
        self.now = duration
        for n in self.nodes.values():
            self._close(n)
        for wid in list(self.pending):
            self.finish_write(wid, "timed out", reason="still waiting when the simulation ended")
        self.timeline.segments.sort(key=lambda s: (self.names.index(s.member), s.start))
        self.timeline.writes.sort(key=lambda w: w.id)
        self.timeline.messages = self.messages
        for n in self.nodes.values():
            self.timeline.logs[n.name] = tuple((term, value) for term, value, _ in n.log[1:])
            self.timeline.commit_index[n.name] = n.commit


# ---------------------------------------------------------------- scenarios

def _writes(start: float, stop: float, every: float, target: str, prefix: str = "w") -> list[Action]:
    out, t, i = [], start, 1
    while t < stop:
        out.append(Action(t, "write", target, f"{prefix}{i}"))
        t += every
        i += 1
    return out


def _scenario(name: str) -> tuple[list[Action], float, int]:
    """(actions, duration ms, default size) of a named scenario."""
    if name == "steady":
        return _writes(2500, 6000, 500, "leader"), 6000, 3
    if name in ("leader-failure", "split-vote"):
        acts = [Action(3000, "crash", "leader")]
        acts += _writes(2000, 9000, 500, "majority")
        acts += [Action(7500, "restart", "crashed")]
        return sorted(acts, key=lambda a: a.time), 10000, 3
    if name == "partition":
        acts = [Action(3000, "partition", "leader-minority"),
                Action(3300, "write", "leader", "lost-1"),
                Action(3600, "write", "leader", "lost-2"),
                Action(9000, "heal")]
        acts += _writes(2000, 11000, 1000, "majority", "ok")
        return sorted(acts, key=lambda a: a.time), 12000, 5
    raise RaftScenarioError(f"unknown scenario {name!r}; use one of {', '.join(SCENARIOS)}")


#: The built-in scenarios, with what each shows.
SCENARIOS = {
    "steady": "a healthy cluster elects a leader and commits writes",
    "leader-failure": "the leader crashes at 3 s; a new one is elected about one election timeout later; "
                      "the old one restarts at 7.5 s and follows",
    "split-vote": "leader-failure with the first seed (from the one given) in which two members "
                  "stand at once and split the vote",
    "partition": "5 members; at 3 s the leader and one follower are cut off; the old leader keeps "
                 "taking writes it cannot commit, steps down, and loses them when the partition "
                 "heals at 9 s",
}


def _as_action(a) -> Action:
    if isinstance(a, Action):
        return a
    return Action(*a)


def simulate_election(scenario: str = "leader-failure", *, size: int | None = None, seed: int = 0,
                      actions: Iterable[Action | tuple] | None = None, duration_ms: float | None = None,
                      heartbeat_ms: float = HEARTBEAT_MS,
                      election_timeout_ms: float = ELECTION_TIMEOUT_MS,
                      latency_ms: tuple[float, float] = (0.5, 2.0), pre_vote: bool = True,
                      check_quorum: bool = True, request_timeout_ms: float | None = None,
                      max_seeds: int = 2000) -> ElectionTimeline:
    """Run a Raft scenario in simulated time and return its :class:`ElectionTimeline`.

    ``scenario`` is one of :data:`SCENARIOS`, or ``"custom"`` with your own ``actions``
    (:class:`Action` objects or ``(time_ms, kind, target, value)`` tuples). The same
    seed always gives the same run; ``latency_ms`` is the range of one-way network
    delays between members. ``"split-vote"`` searches seeds from ``seed`` on (at most
    ``max_seeds``) for a run with a split vote and reports the one it used in ``.seed``.
    """
    if scenario == "split-vote":
        def has_split(t: ElectionTimeline) -> bool:
            return bool(t.split_votes)
        found = find_seed(has_split, "leader-failure", size=size, start=seed, limit=max_seeds,
                          actions=actions, duration_ms=duration_ms, heartbeat_ms=heartbeat_ms,
                          election_timeout_ms=election_timeout_ms, latency_ms=latency_ms,
                          pre_vote=pre_vote, check_quorum=check_quorum,
                          request_timeout_ms=request_timeout_ms)
        if found is None:
            raise RaftScenarioError(f"no split vote in seeds {seed}-{seed + max_seeds - 1}; "
                                    "try another start seed or more members")
        found.scenario = "split-vote"
        return found
    if scenario == "custom":
        if actions is None:
            raise RaftScenarioError("a custom scenario needs actions=[(time_ms, kind, target, value), ...]")
        script, default_duration, default_size = [], 10000.0, 3
    else:
        script, default_duration, default_size = _scenario(scenario)
    if actions is not None:
        script = [_as_action(a) for a in actions]
    size = size or default_size
    names = member_names(size)
    checked = []
    for a in script:
        if a.kind not in ("crash", "restart", "partition", "heal", "write"):
            raise RaftScenarioError(f"unknown action {a.kind!r} at {a.time} ms; use crash, restart, "
                                    "partition, heal or write")
        if a.kind in ("crash", "restart", "write") and a.target not in ("leader", "crashed", "majority"):
            a = replace(a, target=member_name(a.target, size))  # clear error for unknown members
        checked.append(a)
    script = checked
    duration = float(duration_ms if duration_ms is not None else max(
        default_duration, max((a.time for a in script), default=0) + 2000))
    if request_timeout_ms is None:
        request_timeout_ms = 5000 + 2 * election_timeout_ms
    sim = _Sim(names, seed=seed, heartbeat_ms=heartbeat_ms, election_timeout_ms=election_timeout_ms,
               latency_ms=latency_ms, pre_vote=pre_vote, check_quorum=check_quorum,
               request_timeout_ms=request_timeout_ms)
    sim.timeline = ElectionTimeline(
        scenario=scenario, members=names, seed=seed, duration=duration, heartbeat_ms=heartbeat_ms,
        election_timeout_ms=election_timeout_ms, pre_vote=pre_vote, actions=tuple(script))
    sim.run(script, duration)
    return sim.timeline


def find_seed(predicate: Callable[[ElectionTimeline], bool], scenario: str = "leader-failure", *,
              start: int = 0, limit: int = 2000, **kwargs) -> ElectionTimeline | None:
    """The first run (seeds ``start``, ``start + 1``, ...) for which ``predicate`` holds, or None."""
    for seed in range(start, start + limit):
        t = simulate_election(scenario, seed=seed, **kwargs)
        if predicate(t):
            return t
    return None


# ---------------------------------------------------------------- the plot

ROLE_COLORS = {
    FOLLOWER: "#c6dbef",
    PRECANDIDATE: "#fee391",
    CANDIDATE: "#fd8d3c",
    LEADER: "#31a354",
    DOWN: "#636363",
}


def plot_timeline(timeline: ElectionTimeline, ax=None, *, title: str | None = None):
    """Draw an :class:`ElectionTimeline` (see :meth:`ElectionTimeline.plot`)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    members = timeline.members
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 1.1 + 0.55 * (len(members) + 1)))
    lane = {m: len(members) - i for i, m in enumerate(members)}  # first member on top
    for seg in timeline.segments:
        y = lane[seg.member]
        ax.broken_barh([(seg.start / 1000, (seg.end - seg.start) / 1000)], (y - 0.35, 0.7),
                       facecolors=ROLE_COLORS[seg.role], edgecolors="white", linewidth=0.5,
                       hatch="//" if seg.role == DOWN else None)
    # term labels where a member's term changes (skip slivers too narrow to read)
    labelled: set[tuple[str, int]] = set()
    for seg in timeline.segments:
        if seg.role == DOWN or (seg.member, seg.term) in labelled:
            continue
        if (seg.end - seg.start) > timeline.duration / 60:
            ax.text(seg.start / 1000 + timeline.duration / 1000 / 200, lane[seg.member], f"t{seg.term}",
                    va="center", ha="left", fontsize=8,
                    color="white" if seg.role == LEADER else "black")
            labelled.add((seg.member, seg.term))
    # commits on their own lane at the bottom; discarded writes as red crosses
    commit_lane = 0
    ct = [c.time / 1000 for c in timeline.commits if c.value is not None]
    ax.plot(ct, [commit_lane] * len(ct), "|", color="#08519c", markersize=14, mew=2, label="commit")
    empties = [c.time / 1000 for c in timeline.commits if c.value is None]
    ax.plot(empties, [commit_lane] * len(empties), "|", color="#9ecae1", markersize=10, mew=1.5,
            label="leader's empty entry")
    for e in timeline.events:
        if e.kind == "discard":
            ax.plot(e.time / 1000, lane[e.member], "x", color="#cb181d", markersize=9, mew=2)
    lost = [w.time / 1000 for w in timeline.writes if w.status != "committed"]
    ax.plot(lost, [commit_lane] * len(lost), "x", color="#cb181d", markersize=8, mew=2,
            label="write never committed (timed out / discarded)")
    for e in timeline.events:
        if e.kind in ("crash", "restart", "partition", "heal"):
            ax.axvline(e.time / 1000, color="black", linestyle="--", linewidth=1)
            label = f"{e.member} {e.kind}" + ("es" if e.kind == "crash" else "s") if e.member else e.kind
            ax.text(e.time / 1000, len(members) + 0.55, label, ha="center", va="bottom", fontsize=8,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_yticks([commit_lane] + [lane[m] for m in members], ["commits"] + list(members))
    ax.set_ylim(-0.6, len(members) + 1.0)
    ax.set_xlim(0, timeline.duration / 1000)
    ax.set_xlabel("simulated time (s)")
    handles = [Patch(facecolor=ROLE_COLORS[r], label=r, hatch="//" if r == DOWN else None) for r in ROLES]
    h2, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + h2, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
              frameon=False)
    if title is None:
        title = (f"Raft, {len(members)} members, scenario {timeline.scenario!r}, seed {timeline.seed} "
                 f"(heartbeat {timeline.heartbeat_ms:g} ms, election timeout "
                 f"{timeline.election_timeout_ms:g} ms)")
    ax.set_title(title, fontsize=10)
    return ax
