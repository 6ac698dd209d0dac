"""The Raft model: deterministic, safe (one leader per term, no committed write lost), and
showing what FACTS.md §3 says: a new leader about one election timeout after the old
one fails, a split vote now and then, a minority leader stepping down and losing its
uncommitted writes when the partition heals."""

from __future__ import annotations

import pytest

from etcdlab import EtcdlabError, simulate_election
from etcdlab.sim.raft import find_seed
from etcdlab.sim.raft_records import LEADER, Action

SEEDS = range(40)


def leaders_per_term(t):
    out = {}
    for lead in t.leaders:
        out.setdefault(lead.term, set()).add(lead.member)
    return out


def assert_safe(t):
    """Raft's guarantees: one leader per term; a committed entry is in every later leader's
    log and, once caught up, in every member's log at the same index."""
    assert all(len(who) == 1 for who in leaders_per_term(t).values()), leaders_per_term(t)
    final = t.logs[t.leaders[-1].member]
    for w in t.writes:
        if w.status == "committed":
            assert final[w.index - 1] == (w.term, w.value), w
    # the same index never commits two different entries
    seen = {}
    for c in t.commits:
        assert seen.setdefault(c.index, (c.term, c.value)) == (c.term, c.value)


def test_same_seed_same_story_other_seed_other_story():
    a = simulate_election("leader-failure", seed=7)
    b = simulate_election("leader-failure", seed=7)
    c = simulate_election("leader-failure", seed=8)
    assert a.events == b.events and a.segments == b.segments
    assert a.story() != c.story()


@pytest.mark.parametrize("scenario", ["steady", "leader-failure", "partition"])
def test_safety_over_many_seeds(scenario):
    for seed in SEEDS:
        assert_safe(simulate_election(scenario, seed=seed))


def test_steady_cluster_elects_once_and_commits_everything():
    t = simulate_election("steady", seed=3)
    assert len(t.leaders) == 1 and t.leaders[0].term == 2
    assert 1000 <= t.leaders[0].time <= 2100  # first election timeout: 1-2 s, plus a round trip
    assert t.writes and all(w.status == "committed" for w in t.writes)
    assert all(w.done - w.time < 10 for w in t.writes), "a commit takes a round trip, milliseconds"
    # every member ends with the same log
    assert len(set(t.logs.values())) == 1


def test_leader_failure_new_leader_after_about_one_election_timeout():
    failovers = []
    for seed in SEEDS:
        t = simulate_election("leader-failure", seed=seed)
        crashed = next(e.member for e in t.events if e.kind == "crash")
        new = [lead for lead in t.leaders if lead.time > 3000]
        assert new and new[0].member != crashed and new[0].term > t.leaders[0].term
        failovers.append(t.failover_ms(3000))
        # the old leader restarts at 7.5 s, follows and catches up
        assert t.role_at(crashed, 9000) == "follower"
        assert t.logs[crashed] == t.logs[new[-1].member]
        # writes made while nobody led fail or time out; the others commit
        for w in t.writes:
            if w.time > new[-1].time + 10:
                assert w.status == "committed", w
    # randomized in [1, 2) election timeouts after the last heartbeat, plus pre-vote and vote
    assert 900 <= min(failovers) and max(failovers) <= 2100
    assert max(failovers) - min(failovers) > 300, "the timeouts are randomized"


def test_split_vote():
    t = simulate_election("split-vote", seed=0)
    assert t.split_votes, "the search returns a run with a split vote"
    (term,) = t.split_votes
    candidates = {m for _, m, tm in t.campaigns if tm == term}
    assert len(candidates) == 2
    # nobody won that term; a later term has a leader
    assert term not in leaders_per_term(t) and t.leaders[-1].term > term
    assert any(e.kind == "no-majority" for e in t.events)
    assert_safe(t)
    # the seed is reproducible: the same run without searching
    again = simulate_election("leader-failure", seed=t.seed)
    assert again.events == t.events


def test_partition_minority_leader_steps_down_and_loses_uncommitted_writes():
    for seed in SEEDS:
        t = simulate_election("partition", seed=seed)
        old = t.leaders[0]
        part = next(e for e in t.events if e.kind == "partition")
        heal = next(e for e in t.events if e.kind == "heal")
        # the old leader steps down within about two election timeouts (check quorum)
        down = next(e for e in t.events if e.kind == "step-down" and e.member == old.member)
        assert part.time < down.time <= part.time + 2 * 1000 + 10
        # the majority side elects a new leader; nobody leads the minority after the step-down
        new = next(lead for lead in t.leaders if lead.time > part.time)
        assert new.member != old.member and new.term > old.term
        for member in t.members:
            if t.role_at(member, down.time + 1) == LEADER:
                assert member == new.member or t.leader_at(down.time + 1) == new.member
        # the two writes sent to the stranded leader are discarded at the heal, never committed
        lost = [w for w in t.writes if w.value.startswith("lost")]
        assert [w.status for w in lost] == ["discarded", "discarded"]
        assert all(heal.time <= w.done < heal.time + 300 for w in lost)
        assert not any(c.value and c.value.startswith("lost") for c in t.commits)
        # with pre-vote, the minority never raised its term while cut off
        assert all(s.term <= new.term for s in t.segments)
        assert_safe(t)


def test_without_pre_vote_the_cut_off_side_inflates_its_term():
    with_pv = simulate_election("partition", seed=1)
    without = simulate_election("partition", seed=1, pre_vote=False)
    assert without.final_term > with_pv.final_term + 2
    assert_safe(without)


def test_custom_actions_and_single_member():
    t = simulate_election("custom", size=1, seed=0, duration_ms=4000,
                          actions=[(2000, "write", "cp1", "x"), (2500, "crash", 1),
                                   (3000, "write", "cp1", "y")])
    assert [w.status for w in t.writes] == ["committed", "failed"]
    assert t.leader_at(1999) == "cp1" and t.leader_at(2600) is None
    t = simulate_election("custom", size=3, seed=0, actions=[Action(2000, "crash", "leader"),
                                                             Action(2100, "crash", "leader"),
                                                             Action(6000, "crash", "leader")])
    # at 2.1 s nobody leads, so that crash does nothing; at 6 s the second leader goes
    assert len(t.leaders) == 2 and sum(e.kind == "crash" for e in t.events) == 2
    assert t.leader_at(t.duration - 1) is None  # 1 of 3 left: no leader, however long we wait


def test_bad_input():
    with pytest.raises(EtcdlabError, match="unknown scenario"):
        simulate_election("meteor")
    with pytest.raises(EtcdlabError, match="no member 'cp9'"):
        simulate_election("custom", actions=[(1000, "crash", "cp9")])
    with pytest.raises(EtcdlabError, match="unknown action"):
        simulate_election("custom", actions=[(1000, "explode", "cp1")])
    with pytest.raises(EtcdlabError, match="needs actions"):
        simulate_election("custom")


def test_find_seed_returns_none_when_nothing_matches():
    assert find_seed(lambda t: False, "steady", limit=3) is None


def test_plot_has_a_lane_per_member_and_marks_discards():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = simulate_election("partition", seed=1)
    ax = t.plot()
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert labels == ["commits", *t.members]
    texts = {x.get_text() for x in ax.texts}
    assert {"partition", "heal", "t2", "t3"} <= texts
    discards = [line for line in ax.lines if line.get_marker() == "x"]
    assert sum(len(line.get_xdata()) for line in discards) >= 4  # 2 writes x 2 members + lost marks
    plt.close(ax.figure)
