"""etcdlab: how etcd lives inside a kubeadm Kubernetes cluster, as a lab you can run.

The public API is re-exported here *lazily* (PEP 562): ``import etcdlab`` imports
nothing heavy, and ``etcdlab.topology`` pulls in networkx only when first used. That
keeps ``etcdlab --help`` fast and lets a notebook say ``import etcdlab as el``.

    >>> import etcdlab as el
    >>> cp = el.load("single-control-plane")        # a bundled kubeadm data set
    >>> [f.id for f in el.doctor(cp) if f.severity == "error"]
    []
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: public name -> module (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "EtcdlabError": "errors",
    "ManifestError": "errors",
    "FlagError": "errors",
    "DatasetNotFound": "errors",
    "EtcdNotFound": "errors",
    "EtcdUnavailable": "errors",
    "QuorumLost": "errors",
    "TLSError": "errors",
    # flags and URLs
    "Flag": "flags",
    "CommandLine": "flags",
    "Endpoint": "flags",
    "parse_command": "flags",
    "parse_url": "flags",
    "parse_url_list": "flags",
    # the model
    "Volume": "model",
    "Pod": "model",
    "Probe": "model",
    "EtcdMember": "model",
    "ApiServer": "model",
    "Node": "model",
    "ControlPlane": "model",
    # loading
    "load": "manifests",
    "load_text": "manifests",
    "parse_pod_table": "manifests",
    "PodRow": "manifests",
    "load_live": "live",
    # bundled data
    "datasets": "bundled",
    "Dataset": "bundled",
    "dataset": "bundled",
    # kubeadm's manifests, rendered
    "etcd_manifest": "kubeadm",
    "apiserver_manifest": "kubeadm",
    # the doctor
    "doctor": "checks",
    "Finding": "checks",
    "explain_flag": "explain",
    "flag_table": "explain",
    # topology (issue 3)
    "topology": "graph",
    "draw_topology": "graph",
    "describe_topology": "graph",
    "edge_counts": "graph",
    "node_counts": "graph",
    "broken_links": "graph",
    "quorum_text": "graph",
    "stacked_control_plane": "graph",
    "external_control_plane": "graph",
    # quorum (issue 4)
    "fault_tolerance_table": "quorum",
    "ClusterState": "quorum",
    "simulate_election": "raft",
    "plot_fault_tolerance": "quorum",
    "quorum_app": "widgets",
    # real etcd (issue 5)
    "LocalCluster": "local",
    "EtcdClient": "client",
    "make_pki": "pki",
    "find_etcd": "local",
    "run_drill": "drill",
    # notebooks
    "check": "exercises",
    "summarize": "summary",
    "doctor_report": "report",
    "kubeadm": "kubeadm",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'etcdlab' has no attribute {name!r}")
    mod = importlib.import_module(f".{module}", __name__)
    value = getattr(mod, name) if hasattr(mod, name) else mod  # a name may be a whole module (kubeadm)
    globals()[name] = value  # cache: the next access skips __getattr__
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .errors import *  # noqa: F401,F403
    from .flags import CommandLine, Endpoint, Flag, parse_command, parse_url, parse_url_list  # noqa: F401
    from .model import ApiServer, ControlPlane, EtcdMember, Node, Pod, Volume  # noqa: F401
