"""The doctor: read a control plane's manifests and say what is wired wrong, and why.

A kubeadm control plane works only if a handful of flags, spread over several files on
several machines, agree with one another:

* the apiserver's ``--etcd-servers`` must reach an etcd **client** listener (right
  scheme, host and port), and its ``--etcd-cafile``/``--etcd-certfile`` must fit what
  etcd presents and demands;
* every member must **listen** where it **advertises**, and the members'
  ``--initial-cluster`` lists must agree with what each member advertises;
* etcd must have the CAs it needs to verify certificates, and answer the kubelet's
  probes where the manifest sends them; a node must run one etcd, not two;
* data and certificates must live on the node's disk (hostPath volumes), not in the
  container;
* the size of the cluster decides how many failures it survives;
* the CIS Kubernetes Benchmark adds security checks that read the same flags.

Each concern is one small, pure function, listed in :data:`CHECKS` and kept by subject in
:mod:`~etcdlab.diagnosis.wiring`, :mod:`~etcdlab.diagnosis.membership`,
:mod:`~etcdlab.diagnosis.node_setup` and :mod:`~etcdlab.diagnosis.cis`: it takes a
:class:`~etcdlab.model.control_plane.ControlPlane` and yields :class:`Finding` objects. Each finding
says what is wrong (``title``), why it matters (``detail``), where (``file``, ``line``,
``node``, ``flag``, ``value``), what to do (``fix``) and which benchmark check it is
(``cis``). :data:`RULES` lists every finding the doctor can produce.

Nothing here reads a file or the network: the loader already recorded everything the
checks need (file modes included, where they were known). Host names are never
resolved, so where a check would need DNS it gives the manifest the benefit of the doubt.

    >>> import etcdlab as el
    >>> [f.id for f in el.doctor("single-control-plane") if f.severity == "error"]
    []
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..model.control_plane import ControlPlane
from . import cis, host_checks, membership, node_setup, wiring
from .findings import Finding, _sort_key
from .routes import _RUN_ROUTES


Check = Callable[[ControlPlane], Iterable[Finding]]

#: Every check, in the order they run. Each takes a ControlPlane and yields Findings.
CHECKS: tuple[Check, ...] = (
    # the apiserver → etcd wiring
    wiring.etcd_servers_missing, wiring.etcd_servers_scheme, wiring.etcd_servers_port,
    wiring.etcd_servers_loopback, wiring.etcd_servers_unknown_host, wiring.etcd_servers_partial,
    wiring.etcd_ca_mismatch, wiring.etcd_client_cert_missing,
    # the members among themselves
    membership.advertise_client_not_served, membership.advertise_peer_not_served,
    membership.initial_cluster_missing_self, membership.initial_cluster_mismatch,
    membership.initial_cluster_state,
    # each member's setup on its node
    node_setup.trusted_ca_missing, node_setup.cert_key_mismatch, node_setup.probe_not_served,
    node_setup.duplicate_static_pod, node_setup.data_dir_not_mounted, node_setup.cert_not_mounted,
    # the size of the cluster
    membership.cluster_size,
    # the CIS Benchmark
    cis.cis_etcd_tls, cis.cis_etcd_unique_ca, cis.cis_apiserver_etcd_tls, cis.cis_apiserver_encryption,
    cis.cis_manifest_files,
    # the node's own disk (a real node only) and files that could not be read
    host_checks.cis_data_dir, host_checks.cis_pki, host_checks.unreadable_files,
)


def doctor(control_plane_or_source, *more_sources) -> list[Finding]:
    """Check a control plane and return its findings, most severe first.

    Give a :class:`~etcdlab.model.control_plane.ControlPlane`, or anything :func:`etcdlab.load`
    accepts (files, directories, data set names; several are merged into one cluster).

    >>> import etcdlab as el
    >>> [f.id for f in el.doctor("broken/wrong-port") if f.severity == "error"]
    ['etcd-servers-peer-port']
    """
    if isinstance(control_plane_or_source, ControlPlane):
        if more_sources:
            raise TypeError("give one ControlPlane, or sources to load, not both")
        cp = control_plane_or_source
    elif hasattr(control_plane_or_source, "load") and not isinstance(control_plane_or_source, (str, bytes)) \
            and not more_sources and callable(control_plane_or_source.load):
        cp = control_plane_or_source.load()  # a Dataset
    else:
        from ..sources.loading import load

        cp = load(control_plane_or_source, *more_sources)
    token = _RUN_ROUTES.set({})
    try:
        findings = [f for chk in CHECKS for f in chk(cp)]
    finally:
        _RUN_ROUTES.reset(token)
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=_sort_key)
