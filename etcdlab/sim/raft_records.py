"""What the Raft model records: the roles and timings, the scripted actions of a scenario
(kill, restart, partition, write), and the :class:`ElectionTimeline` of events, role
segments, leaderships, writes and commits that :func:`~etcdlab.sim.raft.simulate_election`
returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..errors import EtcdlabError


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
