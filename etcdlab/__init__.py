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

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without importing typing (~10 ms)

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
    "Flag": "model.flags",
    "CommandLine": "model.flags",
    "Endpoint": "model.flags",
    "parse_command": "model.flags",
    "parse_url": "model.flags",
    "parse_url_list": "model.flags",
    # the model
    "Volume": "model.control_plane",
    "Pod": "model.control_plane",
    "Probe": "model.control_plane",
    "EtcdMember": "model.control_plane",
    "ApiServer": "model.control_plane",
    "Node": "model.control_plane",
    "ControlPlane": "model.control_plane",
    "NodeHost": "model.host",
    "PathState": "model.host",
    # loading
    "load": "sources.loading",
    "load_text": "sources.loading",
    "load_node": "sources.loading",
    "parse_pod_table": "sources.kubectl",
    "PodRow": "sources.kubectl",
    "load_live": "sources.live",
    # bundled data
    "datasets": "sources.bundled",
    "Dataset": "sources.bundled",
    "dataset": "sources.bundled",
    # kubeadm's manifests, rendered
    "etcd_manifest": "sources.kubeadm",
    "apiserver_manifest": "sources.kubeadm",
    # the doctor
    "doctor": "diagnosis.checkup",
    "Finding": "diagnosis.findings",
    "explain_flag": "diagnosis.explain",
    "flag_table": "diagnosis.explain",
    # topology (issue 3)
    "topology": "graphs.graph",
    "draw_topology": "graphs.drawing",
    "describe_topology": "graphs.graph",
    "edge_counts": "graphs.graph",
    "node_counts": "graphs.graph",
    "broken_links": "graphs.graph",
    "quorum_text": "graphs.graph",
    "stacked_control_plane": "sources.generated",
    "external_control_plane": "sources.generated",
    # quorum (issue 4)
    "fault_tolerance_table": "sim.tolerance",
    "ClusterState": "sim.quorum",
    "simulate_election": "sim.raft",
    "plot_fault_tolerance": "sim.tolerance",
    "quorum_app": "sim.widgets",
    # real etcd (issue 5)
    "LocalCluster": "real.lab",
    "EtcdClient": "real.client",
    "make_pki": "real.pki",
    "find_etcd": "real.binary",
    "run_drill": "real.drill",
    # notebooks
    "check": "teach.exercises",
    "hint": "teach.exercises",
    "solution": "teach.exercises",
    "exercise_copy": "teach.exercises",
    "exercise_cluster": "teach.exercises",
    "pod_excerpt": "teach.notebook",
    "summarize": "diagnosis.summary",
    "doctor_report": "diagnosis.report",
    "kubeadm": "sources.kubeadm",
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
    from .model.flags import CommandLine, Endpoint, Flag, parse_command, parse_url, parse_url_list  # noqa: F401
    from .model.control_plane import ApiServer, ControlPlane, EtcdMember, Node, Pod, Volume  # noqa: F401
