"""A readable summary of a control plane: who runs where, and who listens on what.

This is what ``etcdlab inspect`` prints and what a notebook shows after loading a
cluster: the nodes with their role and address, each etcd member with its client,
peer and metrics URLs, and each apiserver with the etcd endpoints it dials.
"""

from __future__ import annotations

from dataclasses import dataclass
TYPE_CHECKING = False  # typing costs ~10 ms of start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from ..model.control_plane import ControlPlane
from ..model.flags import raw_urls


@dataclass(frozen=True)
class Summary:
    control_plane: ControlPlane

    def to_dict(self) -> dict[str, Any]:
        cp = self.control_plane
        return {
            "name": cp.name,
            "topology": cp.topology_kind,
            "nodes": [{"name": n.name, "role": n.role, "address": n.address,
                       "pods": [p.component or p.name for p in n.pods]} for n in cp.nodes],
            "members": [{
                "name": m.name,
                "node": cp.node_of(m).name,
                "client_urls": raw_urls(m.listen_client_urls),
                "advertise_client_urls": raw_urls(m.advertise_client_urls),
                "peer_urls": raw_urls(m.listen_peer_urls),
                "advertise_peer_urls": raw_urls(m.initial_advertise_peer_urls),
                "metrics_urls": raw_urls(m.listen_metrics_urls),
                "initial_cluster": [f"{name}={u.raw}" for name, u in m.initial_cluster],
                "initial_cluster_state": m.initial_cluster_state,
                "data_dir": m.data_dir,
                "data_dir_on_host": m.pod.host_path(m.data_dir) if m.data_dir else None,
                "file": m.pod.file,
            } for m in cp.members],
            "apiservers": [{
                "node": cp.node_of(a).name,
                "etcd_servers": raw_urls(a.etcd_servers),
                "etcd_cafile": a.etcd_cafile,
                "etcd_certfile": a.etcd_certfile,
                "etcd_keyfile": a.etcd_keyfile,
                "file": a.pod.file,
            } for a in cp.apiservers],
        }

    def __str__(self) -> str:
        cp = self.control_plane
        d = self.to_dict()
        size = len(cp.members)
        head = f"{cp.name or cp.source or 'control plane'}: {len(cp.nodes)} node(s), " \
               f"{size} etcd member(s), {len(cp.apiservers)} apiserver(s), topology {d['topology']}"
        out = [head, "", "NODES"]
        w = max([4] + [len(n["name"]) for n in d["nodes"]])
        for n in d["nodes"]:
            pods = ", ".join(n["pods"]) or "-"
            out.append(f"  {n['name']:<{w}}  {n['role']:<13}  {n['address'] or '?':<15}  {pods}")
        if d["members"]:
            out += ["", "ETCD MEMBERS"]
            for m in d["members"]:
                out.append(f"  {m['name']} (on {m['node']})")
                out.append(f"    client   {', '.join(m['client_urls'])}")
                out.append(f"    peer     {', '.join(m['peer_urls'])}")
                out.append(f"    metrics  {', '.join(m['metrics_urls']) or '-'}")
                host = f" (host {m['data_dir_on_host']})" if m["data_dir_on_host"] else " (not on a hostPath volume!)"
                out.append(f"    data     {m['data_dir'] or '-'}{host if m['data_dir'] else ''}")
                out.append(f"    cluster  {', '.join(m['initial_cluster']) or '-'} [{m['initial_cluster_state']}]")
        if d["apiservers"]:
            out += ["", "APISERVERS (etcd clients)"]
            for a in d["apiservers"]:
                out.append(f"  on {a['node']}")
                out.append(f"    --etcd-servers   {', '.join(a['etcd_servers']) or '-'}")
                out.append(f"    --etcd-cafile    {a['etcd_cafile'] or '-'}")
                out.append(f"    --etcd-certfile  {a['etcd_certfile'] or '-'}")
                out.append(f"    --etcd-keyfile   {a['etcd_keyfile'] or '-'}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)


def summarize(cp: ControlPlane) -> Summary:
    """The summary of ``cp``; ``print()`` it, or ``.to_dict()`` it for JSON."""
    return Summary(cp)
