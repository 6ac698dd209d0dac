"""Checks of the members among themselves: each listens where it advertises, the
``--initial-cluster`` lists agree, and the size of the cluster decides what it survives.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model.control_plane import ControlPlane, EtcdMember, PEER_PORT
from ..model.addresses import is_ip
from ..model.flags import Endpoint, url_list
from .findings import Finding, _finding
from .routes import _members, _quorum, _same_url, _serves


def _not_served(advertised: tuple[Endpoint, ...], listeners: tuple[Endpoint, ...]) -> list[Endpoint]:
    return [a for a in advertised if not any(_serves(lst, a) for lst in listeners)]


def advertise_client_not_served(cp: ControlPlane) -> Iterator[Finding]:
    """``--advertise-client-urls`` is what a member *tells* clients to use; kubeadm also
    copies it into the Pod's annotation, which later joins read. Each advertised URL
    must be served by one of the member's ``--listen-client-urls`` (a listener on
    0.0.0.0 or :: serves every address of the machine)."""
    for node, m in _members(cp):
        for url in _not_served(m.advertise_client_urls, m.listen_client_urls):
            yield _finding(
                "advertise-client-not-served", m.pod, node, "advertise-client-urls", url.raw,
                title=f"Member {m.name} advertises {url.raw} but does not listen there",
                detail=f"Clients and the other members learn this member's address from "
                       f"--advertise-client-urls, but {url.raw} matches none of its --listen-client-urls "
                       f"({url_list(m.listen_client_urls)}): same host, port and scheme are needed. A client that "
                       "follows the advertisement finds nothing there.",
                fix=f"Advertise an address the member listens on, or add {url.raw} to --listen-client-urls.")


def advertise_peer_not_served(cp: ControlPlane) -> Iterator[Finding]:
    """``--initial-advertise-peer-urls`` is the address the *other members* use to reach
    this one for Raft; it must be served by one of its ``--listen-peer-urls``."""
    for node, m in _members(cp):
        for url in _not_served(m.initial_advertise_peer_urls, m.listen_peer_urls):
            yield _finding(
                "advertise-peer-not-served", m.pod, node, "initial-advertise-peer-urls", url.raw,
                title=f"Member {m.name} advertises peer URL {url.raw} but does not listen there",
                detail=f"The other members replicate the Raft log to this one at its advertised peer URL, but "
                       f"{url.raw} matches none of its --listen-peer-urls ({url_list(m.listen_peer_urls)}). "
                       "They cannot reach it, so it can neither join nor vote.",
                fix=f"Make --initial-advertise-peer-urls and --listen-peer-urls agree (kubeadm sets both to "
                    f"https://ADDRESS:{PEER_PORT}).")


def _own_entries(m: EtcdMember) -> list[Endpoint]:
    return [u for name, u in m.initial_cluster if name == m.name]


def _same_set(a: list[Endpoint], b: Iterable[Endpoint]) -> bool:
    b = list(b)
    return all(any(_same_url(x, y) for y in b) for x in a) and all(any(_same_url(x, y) for x in a) for y in b)


def initial_cluster_missing_self(cp: ControlPlane) -> Iterator[Finding]:
    """On its first start etcd looks its own ``--name`` up in ``--initial-cluster`` and
    requires the URLs there to be exactly its ``--initial-advertise-peer-urls``."""
    for node, m in _members(cp):
        if not m.initial_cluster or not m.initial_advertise_peer_urls:
            continue  # etcd then builds the list from --name itself
        own = _own_entries(m)
        if own and _same_set(own, m.initial_advertise_peer_urls):
            continue
        expected = ",".join(f"{m.name}={u.raw}" for u in m.initial_advertise_peer_urls)
        what = (f"it lists {m.name}={url_list(own)} instead" if own else
                f"the name {m.name} is not in it (names: {', '.join(dict.fromkeys(n for n, _ in m.initial_cluster))})")
        yield _finding(
            "initial-cluster-missing-self", m.pod, node, "initial-cluster", m.pod.command.get("initial-cluster"),
            title=f"--initial-cluster of member {m.name} does not hold {expected}",
            detail=f"etcd finds itself in --initial-cluster by its --name and checks the URLs against its "
                   f"--initial-advertise-peer-urls; {what}. A member starting on an empty data dir refuses to "
                   "start; one restarting on its data ignores the flag, so the mistake bites when it is rebuilt.",
            fix=f"Put {expected} in --initial-cluster.")


def initial_cluster_mismatch(cp: ControlPlane) -> Iterator[Finding]:
    """Members' ``--initial-cluster`` lists must agree with one another: where a list
    names another member, it must give the URL that member advertises. Lists may differ
    in *length*: kubeadm's joins make them grow from node to node, and that is correct."""
    members = [m for _, m in _members(cp)]
    by_name = {m.name: m for m in members}
    for node, m in _members(cp):
        for name, url in m.initial_cluster:
            if name == m.name:
                continue  # initial-cluster-missing-self looks at the member's own entry
            other = by_name.get(name)
            if other is not None:
                if not other.initial_advertise_peer_urls or \
                        any(_same_url(url, u) for u in other.initial_advertise_peer_urls):
                    continue
                why = f"member {name} advertises {url_list(other.initial_advertise_peer_urls)}, not {url.raw}"
            else:
                owner = next((o for o in members if o.name != m.name and any(
                    is_ip(url.host) and is_ip(u.host) and _same_url(url, u)
                    for u in o.initial_advertise_peer_urls)), None)
                if owner is None:
                    continue  # a member whose manifest was not given: nothing to compare with
                why = f"{url.raw} is the peer URL of member {owner.name}, listed here under the name {name}"
            yield _finding(
                "initial-cluster-mismatch", m.pod, node, "initial-cluster", f"{name}={url.raw}",
                title=f"Member {m.name}'s --initial-cluster disagrees about {name}",
                detail=f"--initial-cluster names each member with its peer URL, and {why}. On a first start etcd "
                       "checks the list against the cluster's real members and refuses to start when they differ. "
                       "Lists that grow from node to node, as kubeadm writes them on joins, are fine.",
                fix=f"Write each member as NAME=URL exactly as it advertises itself ({name}="
                    f"{other.initial_advertise_peer_urls[0].raw})." if other is not None and
                    other.initial_advertise_peer_urls else
                    "Write each member as NAME=URL exactly as it advertises itself (its --name and "
                    "--initial-advertise-peer-urls).")


def initial_cluster_state(cp: ControlPlane) -> Iterator[Finding]:
    """A member whose ``--initial-cluster`` *extends* another member's list joined a
    cluster that already existed (that is how kubeadm's joins look), so it must say
    ``--initial-cluster-state=existing``. Identical lists with ``new`` are a static
    bootstrap of all members at once, which is correct."""
    members = [m for _, m in _members(cp)]
    for node, m in _members(cp):
        if m.initial_cluster_state != "new" or len({n for n, _ in m.initial_cluster}) < 2:
            continue
        names = {n for n, _ in m.initial_cluster}
        earlier = next((o for o in members if o is not m and o.initial_cluster
                        and {n for n, _ in o.initial_cluster} < names), None)
        if earlier is None:
            continue
        k = len({n for n, _ in earlier.initial_cluster})
        yield _finding(
            "initial-cluster-state", m.pod, node, "initial-cluster-state", m.pod.command.get("initial-cluster-state"),
            title=f"Member {m.name} joined an existing cluster but says --initial-cluster-state=new",
            detail=f"Its --initial-cluster has {len(names)} members where {earlier.name}'s has {k}: the list grew, "
                   "so this member joined a running cluster. With state new, a start on an empty data dir "
                   "bootstraps a separate cluster that the others reject (cluster ID mismatch); kubeadm writes "
                   "existing on every join. Once the member has data, etcd ignores the flag.",
            fix="Set --initial-cluster-state=existing.")


def _cluster_size(cp: ControlPlane) -> int:
    """Members as far as the manifests show: those given, plus names in any
    ``--initial-cluster`` whose member was not given (matched by name or peer URL)."""
    members = [m for _, m in _members(cp)]
    names = {m.name for m in members}
    extra: set[str] = set()
    for m in members:
        for name, url in m.initial_cluster:
            if name in names:
                continue
            if any(_same_url(url, u) for o in members for u in o.initial_advertise_peer_urls if is_ip(u.host)
                   and is_ip(url.host)):
                continue  # a misspelt name of a member we have
            extra.add(name)
    return len(names | extra)


def cluster_size(cp: ControlPlane) -> Iterator[Finding]:
    """Quorum is ⌊n/2⌋+1 members. One member tolerates no failure; an even number
    tolerates no more failures than one member fewer (4 survive 1 loss, as 3 do)."""
    n = _cluster_size(cp)
    if n == 0:
        return
    # point at the longest --initial-cluster: the one that shows the most members
    node, m = max(_members(cp), key=lambda nm: len({name for name, _ in nm[1].initial_cluster}))
    q, f = _quorum(n)
    if n == 1:
        yield _finding(
            "cluster-single-member", m.pod, node, "initial-cluster", m.pod.command.get("initial-cluster"),
            detail="Quorum is a majority, ⌊n/2⌋+1 members: with one member, losing it (a reboot, a full disk) "
                   "stops every read and write, and the apiserver with it. That is fine for a lab; production "
                   "runs 3 or 5 members.",
            fix="Add members to reach 3 (kubeadm join --control-plane on two more nodes).")
    elif n % 2 == 0:
        yield _finding(
            "cluster-even-size", m.pod, node, "initial-cluster", m.pod.command.get("initial-cluster"),
            title=f"An even number of etcd members ({n}) adds no failure tolerance",
            detail=f"{n} members need a quorum of {q}, so they survive {f} failure{'s' if f != 1 else ''}, exactly "
                   f"as {n - 1} members do: the extra machine adds work and one more thing to fail, but no "
                   "tolerance. An even cluster can also split into two equal halves, neither with a majority.",
            fix=f"Run an odd number of members: {n - 1} or {n + 1}.")
