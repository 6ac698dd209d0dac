"""The Raft model's engine: seeded, discrete-event, message by message (pre-vote, vote,
append and their answers), with randomized election timeouts as etcd has them.

One piece on purpose (about 520 lines): :class:`_Sim` is a single state machine whose
handlers share its queue, clock and members; split apart, each part would need all the
others.
"""

from __future__ import annotations

import heapq
import random
from typing import Sequence

from ..model.quorum import quorum_size
from .quorum import parse_partition
from .raft_records import Action, CANDIDATE, Commit, DOWN, ElectionTimeline, FOLLOWER, LEADER, Leadership, PRECANDIDATE, RaftEvent, RaftScenarioError, Segment, Write


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
