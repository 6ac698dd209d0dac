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
