"""The quorum rule, written once: a majority of ``n // 2 + 1`` voting members, the failures
that leaves room for, and how the members of an ``n``-member lab cluster are named.

Plain arithmetic with no I/O: the doctor, the topology, the simulator and the real lab
cluster all count with it. May import: ``etcdlab.errors`` only.
"""

from __future__ import annotations

from ..errors import EtcdlabError


#: The sizes the model accepts. etcd advises against more than 7 members; 8 and 9 are
#: here so the table can show why.
MIN_SIZE, MAX_SIZE = 1, 9
#: How a member is named: the n-th control-plane node is ``cp<n>``, and kubeadm names its
#: etcd member after the node.
MEMBER_PREFIX = "cp"
#: The prefix of the member's static Pod (``etcd-cp1``), also accepted as a name.
POD_PREFIX = "etcd-"


class ScenarioError(EtcdlabError, ValueError):
    """A cluster scenario that cannot exist (unknown member, bad size, overlapping sides)."""


def quorum_size(members: int) -> int:
    """The majority of ``members`` voting members: ``members // 2 + 1``.

    This is the one place the rule is written: the scenario model, the Raft simulation,
    the topology graph, the doctor and the local lab clusters all call it. It is plain
    arithmetic, for any cluster of one member or more (the 1-9 limit belongs to the
    scenario model, :class:`ClusterState`).

    >>> [quorum_size(n) for n in range(1, 8)]
    [1, 2, 2, 3, 3, 4, 4]
    """
    members = _check_size(members, what="a cluster", most=None)
    return members // 2 + 1


def fault_tolerance(members: int) -> int:
    """How many of ``members`` voting members may fail while a majority is left.

    >>> [fault_tolerance(n) for n in range(1, 8)]
    [0, 0, 1, 1, 2, 2, 3]
    """
    return members - quorum_size(members)


def member_names(size: int) -> tuple[str, ...]:
    """The members of a ``size``-member cluster: ``('cp1', ..., 'cp<size>')``."""
    size = _check_size(size)
    return tuple(f"{MEMBER_PREFIX}{i}" for i in range(1, size + 1))


def member_name(ref: str | int, size: int) -> str:
    """Turn ``'cp2'``, ``'etcd-cp2'`` (the Pod), ``'2'`` or ``2`` into the member name ``'cp2'``.

    Raises :class:`ScenarioError` naming the members that exist when there is no such member.
    """
    names = member_names(size)
    text = str(ref).strip()
    if text.startswith(POD_PREFIX + MEMBER_PREFIX):
        text = text[len(POD_PREFIX):]
    if text.isdigit():
        text = f"{MEMBER_PREFIX}{int(text)}"
    if text not in names:
        raise ScenarioError(
            f"no member {str(ref).strip()!r} in a {size}-member cluster; "
            f"use one of {', '.join(names)} (or just its number)")
    return text


def _check_size(size: int, what: str = "the cluster", most: int | None = MAX_SIZE) -> int:
    """``size`` as an int from ``MIN_SIZE`` to ``most`` (no upper limit for ``most=None``)."""
    allowed = f"from {MIN_SIZE} to {most}" if most is not None else f"of at least {MIN_SIZE}"
    if isinstance(size, bool) or not isinstance(size, int):
        try:
            size = int(str(size).strip())
        except ValueError:
            raise ScenarioError(f"size of {what} must be a whole number {allowed}, not {size!r}") from None
    if size < MIN_SIZE or (most is not None and size > most):
        raise ScenarioError(f"size of {what} must be {allowed} members, not {size}"
                            + ("; etcd advises at most 7" if most is not None else ""))
    return size
