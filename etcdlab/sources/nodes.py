"""Pods → nodes: which Pods run on one machine, what that node is called when the manifests
do not say, and how the nodes that several sources found are merged into one per machine.
"""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Iterable

from ..model.control_plane import ApiServer, EtcdMember, Node, Pod


#: Files a directory load reads as manifests (it reads the others as the kubelet does: see _manifests_in).
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
#: Directory names that say nothing about the node: kubeadm's own, and the empty name of ``/``.
_GENERIC_DIRS = frozenset({"", "manifests"})


def nodes_from_pods(pods: list[Pod], default_node: str | None = None, source: str | None = None, *,
                     directory: str | None = None) -> tuple[Node, ...]:
    """Group pods by node: ``spec.nodeName`` when kubectl said it; static manifests, which
    do not say it, are one node named by :func:`_static_node_name` (or ``default_node``)."""
    static = [p for p in pods if not p.node_name]
    static_node = default_node or (_static_node_name(static, directory) if static else None)
    groups: dict[str, list[Pod]] = {}
    for p in pods:
        groups.setdefault(p.node_name or static_node, []).append(p)  # type: ignore[arg-type]
    return tuple(_node(name, ps, source) for name, ps in groups.items())


def _static_node_name(pods: list[Pod], directory: str | None = None) -> str:
    """The node of static manifests, which do not say which node they run on. One rule,
    whether they come from a file, several files or a directory:

    1. the etcd member's ``--name``: kubeadm names the member after its node;
    2. a Pod from the API whose ``nodeName`` was cut off: kubelet names a mirror Pod
       ``<component>-<node>`` (``etcd-master``);
    3. the name of the directory that holds the files (``cp1/`` in a directory of node
       directories), unless it names no node (``manifests/``);
    4. ``node``.
    """
    etcd = _primary(pods, "etcd")
    if etcd is not None and etcd.command.get("name"):
        return etcd.command.get("name")  # type: ignore[return-value]
    for p in pods:
        if p.from_the_api and p.component and p.name.startswith(p.component + "-"):
            return p.name[len(p.component) + 1:]
    if directory and directory not in _GENERIC_DIRS:
        return directory
    return "node"


def _primary(pods: Iterable[Pod], component: str) -> Pod | None:
    """The Pod that plays ``component`` on a node.

    There should be one. When a directory holds two (``etcd.yaml`` and ``etcd-backup.yaml``)
    the kubelet runs both; the model follows the one in the file kubeadm writes
    (``etcd.yaml``), else the first, and the doctor reports the pair
    (``duplicate-static-pod``).
    """
    found = [p for p in pods if p.component == component]
    for p in found:
        if p.file and posixpath.basename(p.file.replace("\\", "/")) in {component + s for s in MANIFEST_SUFFIXES}:
            return p
    return found[0] if found else None


def _node(name: str, pods: list[Pod], source: str | None) -> Node:
    etcd_pod = _primary(pods, "etcd")
    api_pod = _primary(pods, "kube-apiserver")
    etcd = EtcdMember.from_pod(etcd_pod) if etcd_pod else None
    api = ApiServer.from_pod(api_pod) if api_pod else None
    role = "control-plane" if api else ("etcd" if etcd else "worker")
    return Node(name=name, address=_address(etcd, api, pods), role=role, pods=tuple(pods),
                etcd=etcd, apiserver=api, source=source)


def _address(etcd: EtcdMember | None, api: ApiServer | None, pods: list[Pod]) -> str | None:
    if api and api.advertise_address:
        return api.advertise_address
    if etcd:
        for url in etcd.advertise_client_urls + etcd.initial_advertise_peer_urls:
            if not url.is_loopback and not url.is_wildcard:
                return url.host
    for p in pods:
        if p.status and p.status.host_ip:
            return p.status.host_ip
    return None


def merge_nodes(nodes: Iterable[Node]) -> tuple[Node, ...]:
    """One node per machine, from the nodes several sources found.

    Nodes of the same name are one node, with the Pods of both (a Pod that both give, such as
    the same file twice or a static manifest and its mirror Pod from kubectl, is kept once).
    Then a node of static manifests that runs an apiserver but no etcd joins the etcd-only node
    at the apiserver's ``--advertise-address``: the same machine, whose ``etcd.yaml`` and
    ``kube-apiserver.yaml`` were given separately (and named by different rules).
    """
    merged: dict[str, Node] = {}
    for n in nodes:
        old = merged.get(n.name)
        merged[n.name] = n if old is None else _merge_two(old, n)
    return _merge_by_address(list(merged.values()))


def _merge_two(old: Node, new: Node) -> Node:
    from dataclasses import replace

    pods = list(old.pods) + [p for p in new.pods if not any(_same_pod(p, q, old.name) for q in old.pods)]
    if len(pods) == len(old.pods):
        return replace(old, address=new.address) if new.address and not old.address else old
    node = _node(old.name, pods, old.source)
    if node.address is None and (old.address or new.address):
        node = replace(node, address=old.address or new.address)
    return node


def _same_pod(a: Pod, b: Pod, node: str) -> bool:
    """Is ``a`` the Pod ``b``, given again by another source? The same file twice, the same
    manifest from two places, or a static manifest (``etcd``) and its mirror Pod
    (``etcd-<node>``) from kubectl."""
    if a == b:
        return True
    if a.namespace != b.namespace or a.component != b.component:
        return False
    return a.name == b.name or a.name == f"{b.name}-{node}" or b.name == f"{a.name}-{node}"


def _merge_by_address(nodes: list[Node]) -> tuple[Node, ...]:
    out = list(nodes)
    for api_node in nodes:
        api = api_node.apiserver
        if api is None or api_node.etcd is not None or not api.advertise_address \
                or any(p.from_the_api for p in api_node.pods):
            continue
        hosts = [n for n in out if n is not api_node and n.etcd is not None and n.apiserver is None
                 and n.address and _same_host(n.address, api.advertise_address)]
        if len(hosts) != 1:
            continue
        host = hosts[0]
        joined = _node(host.name, list(host.pods) + list(api_node.pods), host.source)
        out = [joined if n is host else n for n in out if n is not api_node]
    return tuple(out)


def _same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower().rstrip(".") == b.lower().rstrip(".")
