"""Control planes made to order: a kubeadm stacked or external-etcd cluster of any size,
rendered by :mod:`etcdlab.sources.kubeadm` and read back like files from disk.

The topology drawings, the quorum app and the tests use them where no data set has the
size they need.
"""

from __future__ import annotations

from functools import lru_cache

from ..errors import EtcdlabError
from ..model.control_plane import CLIENT_PORT, PEER_PORT, ControlPlane
from . import kubeadm
from .loading import load_text
from .nodes import merge_nodes


@lru_cache(maxsize=32)
def stacked_control_plane(n: int, *, generation: str = "1.31", name: str | None = None) -> ControlPlane:
    """A kubeadm stacked control plane of ``n`` nodes (1-9), ``cp1`` … ``cpN`` on
    10.0.0.11 …, rendered by :mod:`etcdlab.sources.kubeadm` the way ``kubeadm init`` and
    ``kubeadm join --control-plane`` write it: each joining member's ``--initial-cluster``
    lists the members before it plus itself, with ``--initial-cluster-state=existing``."""
    if not isinstance(n, int) or not 1 <= n <= 9:
        raise EtcdlabError(f"a stacked control plane here has 1 to 9 members, not {n!r}")
    hosts = [(f"cp{i}", f"10.0.0.{10 + i}") for i in range(1, n + 1)]
    manifests = []
    for i, (node, addr) in enumerate(hosts):
        initial = [(h, kubeadm.url("https", a, PEER_PORT)) for h, a in hosts[: i + 1]]
        manifests.append((node, "etcd", kubeadm.etcd_manifest(
            node, addr, initial_cluster=initial, state="existing" if i else "new", generation=generation)))
        manifests.append((node, "kube-apiserver", kubeadm.apiserver_manifest(node, addr, generation=generation)))
    return _control_plane(manifests, name or f"stacked-{n}")


@lru_cache(maxsize=32)
def external_control_plane(members: int, apiservers: int = 3, *, generation: str = "1.31",
                           name: str | None = None) -> ControlPlane:
    """An external-etcd cluster: ``members`` etcd hosts ``etcd1`` … on 10.0.1.11 … (created
    together, every ``--initial-cluster`` naming all of them) and ``apiservers``
    control-plane nodes ``cp1`` … on 10.0.0.11 … whose ``--etcd-servers`` list every member."""
    if not 1 <= members <= 9 or not 1 <= apiservers <= 9:
        raise EtcdlabError("an external cluster here has 1 to 9 members and 1 to 9 apiservers")
    etcd_hosts = [(f"etcd{i}", f"10.0.1.{10 + i}") for i in range(1, members + 1)]
    initial = [(h, kubeadm.url("https", a, PEER_PORT)) for h, a in etcd_hosts]
    servers = [kubeadm.url("https", a, CLIENT_PORT) for _, a in etcd_hosts]
    manifests = [(h, "kube-apiserver", kubeadm.apiserver_manifest(
        h, a, generation=generation, etcd_servers=servers,
        etcd_cafile="/etc/kubernetes/pki/etcd/ca.crt",
        etcd_certfile="/etc/kubernetes/pki/apiserver-etcd-client.crt",
        etcd_keyfile="/etc/kubernetes/pki/apiserver-etcd-client.key"))
        for h, a in [(f"cp{i}", f"10.0.0.{10 + i}") for i in range(1, apiservers + 1)]]
    manifests += [(h, "etcd", kubeadm.etcd_manifest(h, a, initial_cluster=initial, generation=generation))
                  for h, a in etcd_hosts]
    return _control_plane(manifests, name or f"external-{members}")


def _control_plane(manifests: list[tuple[str, str, dict]], name: str) -> ControlPlane:
    nodes = []
    for node, component, manifest in manifests:
        cp = load_text(kubeadm.to_yaml(manifest), file=f"{node}/{component}.yaml", node=node)
        nodes.extend(cp.nodes)
    return ControlPlane(nodes=merge_nodes(nodes), name=name, source=name)
