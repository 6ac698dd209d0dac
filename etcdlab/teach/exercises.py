"""Self-checks for the notebooks' exercises.

Each notebook ends with exercises the student answers in code, followed by::

    el.check("01.2", answer)

which says whether the answer is right and, if not, gives a hint. The expected
answers live here, next to each other, so an instructor can read or change them in one
place, and ``tests/test_exercises.py`` proves every one accepts the right answer and
refuses a wrong one.

Each notebook adds its own section below with :func:`exercise`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Exercise:
    key: str
    question: str
    accept: Callable[[Any], bool]
    hint: str
    why: str
    solution: Any = None


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`check`; prints as one line in the notebook."""

    key: str
    ok: bool
    message: str

    def __repr__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.ok


EXERCISES: dict[str, Exercise] = {}


def exercise(key: str, question: str, *, hint: str, why: str, solution: Any = None,
             accept: Callable[[Any], bool] | None = None) -> Exercise:
    """Register an exercise; by default an answer is right when it equals ``solution``
    after :func:`normalize`."""
    if accept is None:
        accept = lambda answer: normalize(answer) == normalize(solution)  # noqa: E731
    ex = Exercise(key=key, question=question, accept=accept, hint=hint, why=why, solution=solution)
    EXERCISES[key] = ex
    return ex


def normalize(value: Any) -> Any:
    """Make answers comparable: strings lose case, spaces, quotes and leading dashes;
    numeric strings become numbers; lists and sets become sorted tuples."""
    if isinstance(value, str):
        text = value.strip().strip("'\"").strip().lower()
        if text.isdigit():
            return int(text)
        return text.lstrip("-") if text.startswith("--") else text
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(sorted((normalize(v) for v in value), key=repr))
    return value


def check(key: str, answer: Any) -> Verdict:
    """Check the answer to exercise ``key``: right (with why it matters) or not yet (with a hint)."""
    ex = EXERCISES.get(key)
    if ex is None:
        return Verdict(key, False, f"There is no exercise {key!r}; the keys are {', '.join(sorted(EXERCISES))}.")
    if answer is None or answer is Ellipsis:
        return Verdict(key, False, f"[{key}] Not answered yet. Hint: {ex.hint}")
    try:
        ok = bool(ex.accept(answer))
    except Exception:  # a malformed answer is simply not right
        ok = False
    if ok:
        return Verdict(key, True, f"[{key}] Right. {ex.why}")
    return Verdict(key, False, f"[{key}] Not yet: {answer!r} is not it. Hint: {ex.hint}")


# -- notebook 01: the etcd Pod -----------------------------------------------------------

exercise("01.1", "On which node does the etcd Pod run? Take it from the kubectl -o wide line.",
         solution="master",
         hint="static Pods are named <component>-<node>; the NODE column says it too.",
         why="kubeadm runs etcd as a static Pod on each control-plane node; its name ends with the node's name.")
exercise("01.2", "On which port does etcd accept clients such as the apiserver?",
         solution=2379,
         hint="look at --listen-client-urls.",
         why="2379 is the client port, 2380 the peer port, 2381 the plain-HTTP health/metrics port.")
exercise("01.3", "Which flag tells the other members where to reach this member for Raft traffic?",
         solution="--initial-advertise-peer-urls",
         hint="it is one of the peer flags, and it *advertises*.",
         why="--listen-peer-urls is where it listens; --initial-advertise-peer-urls is what it tells the others.")
exercise("01.4", "Where on the node's disk does etcd's data live? (the host path, not the container path)",
         solution="/var/lib/etcd",
         hint="follow --data-dir into the volumeMounts, then to the hostPath volume with the same name.",
         why="the etcd-data hostPath volume keeps the data on the node, so a restarted container finds it again.")

# -- notebook 02: the apiserver as an etcd client ----------------------------------------

exercise("02.1", "Which apiserver flag names the certificate the apiserver presents to etcd?",
         solution="--etcd-certfile",
         hint="etcd runs with --client-cert-auth=true, so the apiserver needs a *client* certificate.",
         why="apiserver-etcd-client.crt is signed by the etcd CA, which etcd's --trusted-ca-file names.")
exercise("02.2", "Run the doctor on broken/wrong-port. What is the id of its error finding?",
         solution="etcd-servers-peer-port",
         hint="el.doctor('broken/wrong-port'), then look at .id of the findings with severity 'error'.",
         why="2380 is where members talk Raft to each other; a client must use a client listener (2379).")
exercise("02.3", "In stacked-ha-3, how many etcd members does each apiserver's --etcd-servers reach?",
         solution=1,
         hint="every apiserver says https://127.0.0.1:2379; loopback reaches only its own node.",
         why="in the stacked topology each apiserver talks only to the member on its own node.")

# -- notebook 03: who talks to whom -------------------------------------------------------


def _member_pair(solution: tuple[str, str]) -> Callable[[Any], bool]:
    """Accept the two members of a link in any order, as ``cp2`` or ``etcd-cp2``, in a
    list, a tuple or a comma-separated string."""
    want = {s.lower() for s in solution}

    def accept(answer: Any) -> bool:
        items = answer.split(",") if isinstance(answer, str) else list(answer)
        got = {str(a).strip().lower() for a in items if str(a).strip()}
        got = {a[len("etcd-"):] if a.startswith("etcd-") else a for a in got}
        return got == want
    return accept


exercise("03.1", "How many peer links does the full mesh of a 5-member etcd cluster have?",
         solution=10,
         hint="one link per pair of members: count the pairs, or "
              "el.edge_counts(el.topology(el.stacked_control_plane(5))).",
         why="n members make n(n-1)/2 pairs: 3 links for 3 members, 10 for 5, 36 for 9. Every write is "
             "replicated over them, one reason clusters stay small.")
exercise("03.2", "In external-etcd-5, how many etcd members does each apiserver have a client link to?",
         solution=5,
         hint="count the client edges leaving one apiserver: g.out_degree('kube-apiserver-cp1').",
         why="with external etcd every apiserver lists every member in --etcd-servers, so it survives "
             "whichever members fail, as long as a majority is up.")
exercise("03.3", "Draw broken/initial-cluster-typo. Between which two members is the peer link broken? "
                 "(a list of two names)",
         solution=("cp2", "cp3"), accept=_member_pair(("cp2", "cp3")),
         hint="el.draw_topology(el.load('broken/initial-cluster-typo')), or el.broken_links(g).",
         why="cp3's --initial-cluster gives cp2 an address cp2 does not advertise. cp3 joined an existing "
             "cluster (--initial-cluster-state=existing), so at start-up it checks its list against the members "
             "the cluster knows, finds the mismatch and refuses to start.")
exercise("03.4", "In external-etcd-5, how many members must be down before the drawing's title says "
                 "'quorum lost'?",
         solution=3,
         hint="try el.draw_topology(ext, down=[...]) with more and more members, "
              "or el.quorum_text(g, down=[...]).",
         why="5 members need 3 for a majority: 2 may fail, the third failure stops all writes.")

# -- notebook 04: quorum -----------------------------------------------------------------


def _same_members(solution: tuple[str, ...], size: int) -> Callable[[Any], bool]:
    """Accept member names as a list, a tuple or a comma-separated string, spelled
    ``cp3``, ``etcd-cp3`` or ``3``, in any order."""
    def accept(answer: Any) -> bool:
        from ..sim.quorum import parse_members

        return set(parse_members(answer, size)) == set(solution) and bool(answer)
    return accept


exercise("04.1", "A cluster must keep working with 2 members failed. What is the smallest size that does?",
         solution=5,
         hint="find the first row of el.fault_tolerance_table() whose tolerance is 2.",
         why="5 members need 3 for a majority, so 2 may fail; that is why production clusters run 5.")
exercise("04.2", "How many failed members does a 6-member cluster survive?",
         solution=2,
         hint="quorum is 6 // 2 + 1; subtract it from 6 (or try el.ClusterState(6).tolerance).",
         why="6 members need 4, so they survive 2 failures, exactly as many as 5: the sixth buys nothing.")
exercise("04.3", "3 members, cp2 and cp3 down: which members still answer a serializable read? (a list of names)",
         solution=("cp1",), accept=_same_members(("cp1",), 3),
         hint="el.ClusterState(3).with_down('cp2', 'cp3').serializable_readers",
         why="a serializable read is answered from the member's own copy, without consensus; it may be stale.")
exercise("04.4", "5 members split into cp1,cp2 | cp3,cp4,cp5: on which side can a leader be elected? (a list of names)",
         solution=("cp3", "cp4", "cp5"), accept=_same_members(("cp3", "cp4", "cp5"), 5),
         hint="only a side with a majority of all 5 voting members (3) can elect a leader; try .leader_side.",
         why="at most one side of a partition can hold a majority, so there is never a second leader: no split brain.")
exercise("04.5", "In the partition replay, what became of the writes the stranded leader accepted? "
                 "(committed, discarded or timed out)",
         solution="discarded",
         hint="look at the status of the writes whose value starts with 'lost' in el.simulate_election('partition').writes.",
         why="they never reached a majority, so they were never committed; the new leader's log overwrote them.")

# -- notebook 05: real etcd on loopback ----------------------------------------------------

exercise("05.1", "Connect as the apiserver with --etcd-servers=https://127.0.0.1:2381. What is the reason "
                 "it fails (the attempt's .reason)?",
         solution="not TLS",
         hint="with el.LocalCluster(1) as c1: "
              "print(c1.connect_as_apiserver(etcd_servers='https://127.0.0.1:2381').reason)",
         why="2381 is the plain-HTTP metrics/health port (kubelet's probes use it); the API is on 2379, over TLS.")
exercise("05.2", "An apiserver logs 'x509: certificate signed by unknown authority' when it dials etcd. "
                 "Which of its flags is wrong?",
         solution="--etcd-cafile",
         hint="the *apiserver* does not trust etcd's server certificate: which flag says whom it trusts?",
         why="--etcd-cafile must be the etcd CA (etcd/ca.crt), not the cluster CA (ca.crt).")
exercise("05.3", "Start el.LocalCluster(5) and SIGKILL members one by one, writing after each kill. How many "
                 "members are down when the first write is refused?",
         solution=3,
         hint="quorum is floor(n/2)+1; a write needs a majority of the 5 *configured* members.",
         why="5 members tolerate 2 failures; the third kill leaves 2 of 5, below the quorum of 3.")
exercise("05.4", "During the quorum loss, which kind of read still answered: 'linearizable' or 'serializable'?",
         solution="serializable",
         hint="look at the drill's serializable_read_during_loss and linearizable_read_during_loss.",
         why="a serializable read is served from the member's own copy without asking the others: available, "
             "but possibly stale. kubectl's reads are linearizable by default, so they fail too.")
