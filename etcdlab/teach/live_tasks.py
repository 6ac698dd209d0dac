""""cluster" exercises on a real LocalCluster, and the "lab" exercise on 04's quorum lab.

    c5 = el.exercise_cluster("05.5")   # a real 3-member cluster, set up the way the task says
    ...                                # the student works on c5 with its ordinary methods
    el.check("05.5")                   # the check asks the cluster (a real write, its leader)

Each call of :func:`exercise_cluster` stops the previous cluster of that exercise and starts a
new one; it is stopped with the others by ``el.LocalCluster.stop_all()`` and when the kernel
ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import EtcdlabError
from .engine import MEMBER, Exercise, Result, Unanswered, WrongType, make, plain


@dataclass
class LiveTask:
    setup: Callable[[Any], dict]                 # LocalCluster -> facts about the set-up
    judge: Callable[[Any, dict, Any], Result]    # (cluster, facts, answer) -> Result
    size: int = 3
    facts: dict = field(default_factory=dict)


TASKS: dict[str, LiveTask] = {}
CLUSTERS: dict[str, Any] = {}


def exercise_cluster(key: str):
    """Start the real cluster of "cluster" exercise ``key``, set up as the exercise says, and
    return it (an :class:`~etcdlab.real.lab.LocalCluster`)."""
    from ..real.lab import LocalCluster

    key = str(key).strip()
    task = TASKS.get(key)
    if task is None:
        raise EtcdlabError(f"{key!r} is not an exercise with a cluster; those are {', '.join(sorted(TASKS))}.")
    old = CLUSTERS.pop(key, None)
    if old is not None:
        old.stop()
    c = LocalCluster(size=task.size).start()
    try:
        task.facts = task.setup(c)
    except BaseException:
        c.stop()
        raise
    CLUSTERS[key] = c
    return c


def _running(c) -> frozenset[str]:
    return frozenset(m.name for m in c.running)


def live_judge(key: str) -> Callable[[Any], Result]:
    def judge(answer: Any) -> Result:
        task = TASKS[key]
        c = CLUSTERS.get(key)
        if c is None:
            raise Unanswered(f"Not started: c = el.exercise_cluster({key!r}) starts the exercise's cluster.")
        if not c.started:
            raise Unanswered(f"The exercise's cluster was stopped: el.exercise_cluster({key!r}) starts it again.")
        return task.judge(c, task.facts, answer)
    return judge


def live_exercise(key: str, question: str, task: LiveTask, *, form: str, hints: tuple[str, ...], why: str,
                  solution: str) -> Exercise:
    TASKS[key] = task
    return make(key, "cluster", question, form, live_judge(key), hints=hints, why=why, solution=solution)


# -- 05.5: get writes working again -------------------------------------------------------------


def setup_quorum_lost(c) -> dict:
    """Kill the leader, then another member: one of three is left, writes are refused."""
    first = c.wait_for_leader() or c.members[0]
    c.kill(first)
    second = next(m for m in c.members if m.running)
    c.kill(second)
    return {"killed": frozenset({first.name, second.name}), "running": _running(c),
            "pids": {m.name: m.pid for m in c.running}}


def judge_writes_again(c, facts: dict, answer: Any) -> Result:
    from ..errors import QuorumLost

    if answer is not None and answer is not c:
        return Result(False, "the check reads the exercise's own cluster (the one el.exercise_cluster returned); "
                             "el.check('05.5') needs no answer.")
    running = _running(c)
    if running == facts["running"] and {m.name: m.pid for m in c.running} == facts["pids"]:
        raise Unanswered(f"Not answered yet: {len(running)} of {len(c.members)} members run, as the exercise "
                         "left them. Change that, then run the check again.")
    if len(running) < c.quorum:
        return Result(False, f"{len(running)} of {len(c.members)} members run, and a write needs {c.quorum}: "
                             "a majority of the configured members, however many are left.")
    try:
        with c.client(timeout=3.0) as db:
            db.put(f"/registry/lab/exercise-{c.directory.name}", "written by the check")
    except QuorumLost as e:
        return Result(False, f"a real write was refused ({e}); is a leader elected yet? Try again in a second.")
    return Result(True, f"A real write was committed: {len(running)} of {len(c.members)} members run, "
                        f"and {c.quorum} make a majority. Members restarted with c.start_member(...) rejoin "
                        "from their data directories, with every write they had.")


# -- 05.6: which member is the leader now? ------------------------------------------------------


def setup_new_leader(c) -> dict:
    old = c.wait_for_leader() or c.members[0]
    c.kill(old)
    c.wait_for_leader(not_=old)
    return {"killed": old.name}


def judge_leader(c, facts: dict, answer: Any) -> Result:
    from ..real.members import Member

    if answer is None or answer is Ellipsis:
        raise Unanswered
    if type(answer) is Member:
        name = answer.name
    else:
        value = plain(answer)
        name = MEMBER.normalise(value)
    leader = c.leader(timeout=1.0) or c.wait_for_leader(timeout=5.0)
    if leader is None:
        return Result(False, "right now the cluster itself knows no leader (an election may be under way): "
                             "ask it again with c.status() in a moment.")
    if name == leader.name:
        return Result(True, f"The cluster says {leader.name} leads. A new leader was elected about one "
                            "election timeout after the old one died; which member wins depends on whose "
                            "random timeout ran out first.")
    if name == facts.get("killed"):
        return Result(False, f"{name} led before, but it is the member that was killed; a dead member leads "
                             "nothing.")
    if name not in {m.name for m in c.members}:
        return Result(False, f"there is no member {name!r}; they are {', '.join(m.name for m in c.members)}.")
    return Result(False, f"{name} is up, but the cluster says it is a follower.")


# -- 04.6: the quorum lab's final challenge ---------------------------------------------------


def judge_lab_challenge(answer: Any) -> Result:
    """Two members down, a partition that cuts off a *running* member, writes still work,
    and no smaller cluster could do it."""
    from ..sim.quorum import ClusterState
    from ..sim.widgets import QuorumApp

    if answer is None or answer is Ellipsis:
        raise Unanswered
    if type(answer) is QuorumApp:
        state = answer.state
    elif type(answer) is ClusterState:
        state = answer
    else:
        raise WrongType(f"a {type(answer).__name__}, not the lab (lab) or an el.ClusterState")
    if not state.down and not state.partitioned and state.size == 3:
        raise Unanswered(f"Not answered yet: the lab is as it started (3 members, all up, one network). Set it up "
                         "as the challenge says, then el.check('04.6', lab).")
    down = len(state.down)
    if down < 2:
        return Result(False, f"only {down} member(s) are switched off; the challenge wants two.")
    if not state.partitioned:
        return Result(False, "two are off, but the network is not split: put members on side B.")
    live_sides = [side for side in state.sides if any(m not in state.down for m in side)]
    if len(live_sides) < 2:
        return Result(False, "every member on one side of your split is switched off, so the split cuts off "
                             "nobody who runs; the challenge wants a running member cut off as well.")
    if not state.writable:
        return Result(False, f"no side holds a majority of all {state.size} voting members "
                             f"({state.quorum}), so nothing can be written.")
    if state.size > 7:  # pragma: no cover - the lab offers up to 7
        return Result(False, "that works, but a smaller cluster does too.")
    need = _smallest_size()
    if state.size > need:
        return Result(False, f"that works with {state.size} members; a smaller cluster can do it too.")
    return Result(True, f"{state.size} members, 2 down and one running member cut off, and the "
                        f"{len(state.leader_side or ())} on the leader's side are a majority of {state.size}. "
                        "Every failure or cut-off member counts against the same majority.")


def _smallest_size() -> int:
    """Computed from the model: the smallest size with 2 down, one live member cut off, writable."""
    from ..sim.quorum import ClusterState

    for n in range(3, 10):
        names = [f"cp{i}" for i in range(1, n + 1)]
        s = ClusterState(n).with_down(names[-1], names[-2]).with_partition([names[:1], names[1:]])
        if s.writable:
            return n
    raise AssertionError("no size up to 9")  # pragma: no cover


def lab_exercise(key: str, question: str, *, hints: tuple[str, ...], why: str, solution: str) -> Exercise:
    return make(key, "lab", question, f"the lab itself: el.check({key!r}, lab) once you have set it up",
                judge_lab_challenge, hints=hints, why=why, solution=solution)
