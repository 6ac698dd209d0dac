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

from dataclasses import replace
from typing import Callable, Iterable

from ..model.quorum import member_name, member_names
from .raft_engine import _Sim
from .raft_records import Action, CANDIDATE, DOWN, ELECTION_TIMEOUT_MS, ElectionTimeline, FOLLOWER, HEARTBEAT_MS, LEADER, PRECANDIDATE, ROLES, RaftScenarioError, plot_timeline


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


#: The model's public names, the records' included, so ``from etcdlab.sim.raft import ...``
#: finds all of it in one place.
__all__ = ["simulate_election", "find_seed", "SCENARIOS", "plot_timeline", "Action", "ElectionTimeline",
           "RaftScenarioError", "ROLES", "FOLLOWER", "PRECANDIDATE", "CANDIDATE", "LEADER", "DOWN",
           "HEARTBEAT_MS", "ELECTION_TIMEOUT_MS"]
