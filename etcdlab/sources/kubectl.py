"""The text table of ``kubectl get po -o wide``: its rows, and the nodes it names (which
adds the workers, which run no control-plane Pod).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ManifestError
from ..model.control_plane import Node


_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass(frozen=True)
class PodRow:
    """One row of ``kubectl get po -o wide``.

    >>> parse_pod_table("etcd-master   1/1   Running   2   32h   10.128.15.226   master")[0].node
    'master'
    """

    name: str
    ready: str
    status: str
    restarts: str
    age: str
    ip: str | None
    node: str | None
    namespace: str | None = None

    @property
    def component(self) -> str | None:
        """``etcd-master`` → ``etcd``: static Pods are named ``<component>-<node>``."""
        for c in _COMPONENTS:
            if self.node and self.name == f"{c}-{self.node}":
                return c
        return None

    @property
    def restart_count(self) -> int:
        return int(self.restarts.split()[0]) if self.restarts.split()[0].isdigit() else 0


_ROW = re.compile(
    r"^(?:(?P<namespace>[a-z0-9][a-z0-9-]*)\s+(?=\S+\s+\d+/\d+\s))?"
    r"(?P<name>\S+)\s+(?P<ready>\d+/\d+)\s+(?P<status>\S+)\s+"
    r"(?P<restarts>\d+(?:\s+\([^)]*\))?)\s+(?P<age>\S+)"
    r"(?:\s+(?P<ip>\S+)\s+(?P<node>\S+)(?:\s+\S+)?(?:\s+\S+)?)?\s*$"
)


def parse_pod_table(text: str, file: str | None = None) -> list[PodRow]:
    """Parse ``kubectl get po [-A] -o wide`` output, with or without its header line.

    Without the header (as after ``| grep etcd``) the columns are recognised by shape.
    """
    rows: list[PodRow] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("$"):
            continue
        if re.match(r"^\s*(NAMESPACE\s+)?NAME\s+READY\s+STATUS", line):
            continue
        m = _ROW.match(line.strip())
        if not m:
            raise ManifestError(f"line {lineno} is not a row of kubectl get po -o wide: {line.strip()[:60]!r}",
                                file=file, line=lineno,
                                hint="capture it with kubectl get po -n kube-system -o wide")
        g = m.groupdict()
        rows.append(PodRow(name=g["name"], ready=g["ready"], status=g["status"],
                           restarts=g["restarts"], age=g["age"],
                           ip=None if g["ip"] in (None, "<none>") else g["ip"],
                           node=None if g["node"] in (None, "<none>") else g["node"],
                           namespace=g["namespace"]))
    return rows


def nodes_from_pod_table(rows: list[PodRow]) -> tuple[Node, ...]:
    """Nodes named in a ``kubectl get po -o wide`` table, as pod-less nodes.

    Merged with manifests, they add the workers; their address is the IP of a
    host-network Pod on them (``kube-proxy``), which is the node's own address.
    """
    nodes: dict[str, str | None] = {}
    components: dict[str, set[str]] = {}
    for r in rows:
        if not r.node:
            continue
        nodes.setdefault(r.node, None)
        components.setdefault(r.node, set()).add(r.component or "")
        if r.name.startswith("kube-proxy") or r.component:
            nodes[r.node] = nodes[r.node] or r.ip

    def role(node: str) -> str:
        found = components[node]
        return "control-plane" if "kube-apiserver" in found else ("etcd" if "etcd" in found else "worker")

    return tuple(Node(name=n, address=a, role=role(n)) for n, a in nodes.items())
