"""Checks of each etcd Pod's own setup on its node: the CAs and certificate pairs it needs,
probes that reach it, one etcd per node, and data and certificates on the node's disk.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from ..model.control_plane import ControlPlane, EtcdMember, METRICS_PORT, Node, Pod, Probe
from .findings import Finding, _finding
from ..model.addresses import bracket
from ..model.flags import url_list
from .routes import _hosts_match, _is_socket, _members, _port


def trusted_ca_missing(cp: ControlPlane) -> Iterator[Finding]:
    """``--client-cert-auth=true`` makes etcd demand a certificate from every client;
    ``--trusted-ca-file`` is the CA it checks them against. Without that file etcd still
    starts, but checks client certificates against the system's public CAs, which never
    signed kubeadm's, so it refuses every client (measured with etcd 3.5: "x509:
    certificate signed by unknown authority"). Peers likewise, with
    ``--peer-client-cert-auth`` and ``--peer-trusted-ca-file``."""
    for node, m in _members(cp):
        for demands, ca, ca_flag, auth_flag, who, effect in (
                (m.client_cert_auth, m.trusted_ca_file, "trusted-ca-file", "client-cert-auth", "client",
                 "the apiserver cannot use etcd, and the cluster has no API"),
                (m.peer_client_cert_auth, m.peer_trusted_ca_file, "peer-trusted-ca-file", "peer-client-cert-auth",
                 "peer", "the members cannot talk to one another, and a cluster of several has no quorum")):
            if not demands or ca:
                continue
            yield _finding(
                "trusted-ca-missing", m.pod, node, ca_flag, None,
                title=None if who == "client" else "etcd demands peer certificates but names no CA to verify them",
                detail=f"--{auth_flag}=true makes member {m.name} demand a certificate from every {who}, and "
                       f"--{ca_flag} names the CA it verifies them with. Without it etcd still starts, but checks "
                       "certificates against the system's public CAs, which never signed kubeadm's: every "
                       f"{who} is refused ('x509: certificate signed by unknown authority' in etcd's log), so "
                       f"{effect}.",
                fix=f"Set --{ca_flag}=/etc/kubernetes/pki/etcd/ca.crt (etcd's CA, as kubeadm does).")


def _pair_stem(path: str) -> str:
    """``server.crt`` and ``server.key`` → ``server``; cfssl's ``etcd.pem`` and
    ``etcd-key.pem`` → ``etcd``: the name a certificate and its key share."""
    stem = posixpath.basename(path)
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    for suffix in ("-key", "_key", ".key", "-cert", "_cert", "-crt", "_crt"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[:-len(suffix)]
    return stem


def cert_key_mismatch(cp: ControlPlane) -> Iterator[Finding]:
    """A private key belongs to one certificate, and kubeadm names each pair alike
    (``server.crt`` and ``server.key``, ``peer.crt`` and ``peer.key``). A certificate flag
    and its key flag that name different pairs (``server.crt`` with ``peer.key``) almost
    surely mismatch, and the program fails to load them. The doctor compares names only
    (it does not read keys), so this is a warning."""
    for node in cp.nodes:
        for pod, pairs in ((node.etcd.pod if node.etcd else None, (("cert-file", "key-file"),
                                                                   ("peer-cert-file", "peer-key-file"))),
                           (node.apiserver.pod if node.apiserver else None, (("etcd-certfile", "etcd-keyfile"),))):
            if pod is None:
                continue
            for cert_flag, key_flag in pairs:
                cert, key = pod.command.get(cert_flag), pod.command.get(key_flag)
                if not cert or not key or _pair_stem(cert) == _pair_stem(key):
                    continue
                program = pod.command.program.rsplit("/", 1)[-1] or pod.component
                yield _finding(
                    "cert-key-mismatch", pod, node, key_flag, key,
                    title=f"--{cert_flag} and --{key_flag} name files of different pairs",
                    detail=f"--{cert_flag}={cert} and --{key_flag}={key} are named as two different pairs "
                           f"({_pair_stem(cert)} and {_pair_stem(key)}). A key fits only the certificate made with "
                           f"it; if this one does not, {program} cannot load the pair ('tls: private key does not "
                           "match public key') and the connections it serves or makes fail. The doctor compares "
                           "names only, so check the files.",
                    fix=f"Give the key of the same pair: --{key_flag}={posixpath.join(posixpath.dirname(key), _pair_stem(cert))}.key "
                        "as kubeadm names them (openssl x509 -noout -pubkey -in CERT and openssl pkey -pubout -in "
                        "KEY must print the same key).")


#: What a failing probe does to etcd, by kind, most drastic first.
_PROBE_EFFECT = {
    "liveness": "after a few failures the kubelet kills etcd and starts it again, over and over "
                "(CrashLoopBackOff), though etcd itself is fine",
    "startup": "etcd never counts as started: the kubelet kills it and starts it again, over and over",
    "readiness": "the Pod never becomes Ready, and kubeadm (upgrade, join) waits for it in vain",
}


def _probe_problem(m: EtcdMember, node: Node, probe: Probe) -> tuple[str, str] | None:
    """(where the probe goes, why etcd does not answer it there), or None when a listener
    of ``m`` answers it, or when the manifests cannot tell."""
    if probe.scheme not in ("HTTP", "HTTPS", "TCP") or not isinstance(probe.port, int):
        return None
    host = probe.host or (node.address if m.pod.host_network else None)  # no host: the Pod's IP
    if host is None:
        return None
    shown = f"{probe.scheme.lower()}://{bracket(host)}:{probe.port}" if probe.scheme != "TCP" else \
        f"TCP {bracket(host)}:{probe.port}"
    there = [(lst, role) for role, urls in (("metrics", m.listen_metrics_urls), ("client", m.listen_client_urls))
             for lst in urls if not _is_socket(lst) and _port(lst) == probe.port and _hosts_match(lst.host, host)]
    for lst, _ in there:
        if probe.scheme == "TCP" or (probe.scheme == "HTTP" and not lst.tls) or \
                (probe.scheme == "HTTPS" and lst.tls and not m.client_cert_auth):
            return None
    if not there:
        return shown, (f"nothing of etcd listens there: --listen-metrics-urls={url_list(m.listen_metrics_urls)}, "
                       f"--listen-client-urls={url_list(m.listen_client_urls)}")
    lst, role = there[0]
    if probe.scheme == "HTTP":
        return shown, (f"the {role} listener there, {lst.raw}, speaks TLS and drops a plain-HTTP request unanswered "
                       "('tls: first record does not look like a TLS handshake' in etcd's log)")
    if not lst.tls:
        return shown, f"the {role} listener there, {lst.raw}, is plain HTTP, so the probe's TLS handshake fails"
    return shown, (f"the {role} listener there, {lst.raw}, demands a client certificate (--client-cert-auth=true), "
                   "and the kubelet's probes present none ('tls: client didn't provide a certificate')")


def probe_not_served(cp: ControlPlane) -> Iterator[Finding]:
    """The kubelet probes etcd where its manifest says (kubeadm: plain HTTP on
    ``127.0.0.1:2381``, the metrics listener, ``/health`` or ``/livez``). Something of
    etcd must answer there: an ``http://`` listener (metrics or client) on that port,
    on that address or a wildcard. An ``https://`` listener does not answer a plain-HTTP
    probe, and a failing liveness or startup probe gets a healthy etcd restarted forever."""
    for node, m in _members(cp):
        problems: dict[tuple[str, str], list[Probe]] = {}
        for probe in m.pod.probes:
            found = _probe_problem(m, node, probe)
            if found is not None:
                problems.setdefault(found, []).append(probe)
        for (shown, why), probes in problems.items():
            kinds = [p.kind for p in probes]
            effect = next(_PROBE_EFFECT[k] for k in _PROBE_EFFECT if k in kinds)
            named = " and ".join(kinds) if len(kinds) < 3 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"
            paths = ", ".join(f"{p.kind} GET {p.path}" for p in probes if p.path)
            fix_url = f"http://{bracket(probes[0].host or '127.0.0.1')}:{probes[0].port}"
            yield _finding(
                "probe-not-served", m.pod, node, "listen-metrics-urls", m.pod.command.get("listen-metrics-urls"),
                title=f"The kubelet's {named} probe{'s' if len(kinds) > 1 else ''} of {m.name} "
                      f"hit{'' if len(kinds) > 1 else 's'} {shown}, where etcd does not answer",
                detail=f"The kubelet checks etcd at {shown}{f' ({paths})' if paths else ''}, but {why}. So "
                       f"{effect}. kubeadm points the probes at the plain-HTTP metrics listener, "
                       f"--listen-metrics-urls=http://127.0.0.1:{METRICS_PORT}.",
                fix=f"Add {fix_url} to --listen-metrics-urls (as kubeadm does), or point the probes at a plain-HTTP "
                    "listener that etcd has.")


_DUPLICATE_EFFECT = {
    "etcd": "the second cannot bind ports 2379/2380 ('bind: address already in use') and restarts forever, or, "
            "given other ports, starts as a member of its own and joins the cluster as a stranger",
    "kube-apiserver": "the second cannot bind port 6443 ('address already in use') and restarts forever",
}


def duplicate_static_pod(cp: ControlPlane) -> Iterator[Finding]:
    """The kubelet runs every file of its manifest directory whose name does not start
    with a dot, whatever it ends with: a copy kept next to the original (``etcd-backup.yaml``,
    ``etcd.yaml.bak``) is a second Pod. With another name both run, and fight over the
    ports; with the same name the kubelet keeps only one of them, not necessarily the one
    you edit. The doctor follows ``etcd.yaml`` (or the first) and reports the other."""
    for node in cp.nodes:
        for component, main in (("etcd", node.etcd), ("kube-apiserver", node.apiserver)):
            if main is None:
                continue
            for other in (p for p in node.pods if p.component == component and p is not main.pod):
                if other.file == main.pod.file and not other.from_the_api:
                    continue  # documents of one file: etcdlab's own way to pass several Pods, not a directory
                first, second = main.pod.file or main.pod.name, other.file or other.name
                if posixpath.dirname(first) == posixpath.dirname(second):  # one directory: the names say it
                    first, second = posixpath.basename(first), posixpath.basename(second)
                files = f"{first} and {second}"
                if (other.namespace, other.name) == (main.pod.namespace, main.pod.name):
                    what = (f"both define the static Pod {other.name}. The kubelet reads every file of its manifest "
                            "directory, whatever its name ends with, but keeps one Pod per name: it runs one of the "
                            "two, and not necessarily the one you edit")
                else:
                    what = (f"are two {component} Pods ({main.pod.name} and {other.name}). The kubelet runs every "
                            "file of its manifest directory, whatever its name ends with, so it runs both: "
                            f"{_DUPLICATE_EFFECT[component]}")
                yield _finding(
                    "duplicate-static-pod", other, node, None, None, whole_file=True,
                    title=f"Two {component} static Pods on node {node.name}",
                    detail=f"On node {node.name}, {files} {what}. The doctor reads {first}.",
                    fix=f"Keep one {component} manifest in the directory: move {other.file or other.name} out of it "
                        "(a backup belongs in another directory; a name starting with a dot also hides it from "
                        "the kubelet).")


def _mounts(pod: Pod) -> str:
    return ", ".join(f"{v.mount_path}" for v in pod.volumes if v.mount_path and v.host_path) or "none"


def data_dir_not_mounted(cp: ControlPlane) -> Iterator[Finding]:
    """etcd's data dir holds every Kubernetes object. It must be on the node's disk
    (a writable hostPath volume), or it disappears with the container."""
    for node, m in _members(cp):
        path = m.data_dir
        shown = path or f"{m.name}.etcd"
        vol = m.pod.mount_for(path) if path and posixpath.isabs(path) else None
        if vol is not None and not vol.read_only:
            continue
        if vol is not None:
            detail = (f"--data-dir={path} is on the hostPath volume {vol.name}, but mounted read-only: etcd "
                      "cannot write its log and snapshots there and crashes at start-up.")
            fix = f"Remove readOnly from the {vol.name} volume mount."
        else:
            default = "" if path else f" (no --data-dir: etcd's default, {shown} in the working directory)"
            detail = (f"--data-dir={shown}{default} is inside the container's own filesystem, not in a hostPath "
                      f"volume the Pod mounts ({_mounts(m.pod)}). Everything etcd stores (every Kubernetes "
                      "object) is lost when the container is recreated, and the member comes back empty.")
            fix = ("Set --data-dir under a mounted hostPath volume, or mount one at that path (kubeadm: "
                   "the node's /var/lib/etcd at /var/lib/etcd).")
        yield _finding("data-dir-not-mounted", m.pod, node, "data-dir", path,
                       detail=detail, fix=fix)


_ETCD_TLS_FLAGS = ("cert-file", "key-file", "trusted-ca-file", "peer-cert-file", "peer-key-file",
                   "peer-trusted-ca-file")
_APISERVER_TLS_FLAGS = ("etcd-cafile", "etcd-certfile", "etcd-keyfile")


def cert_not_mounted(cp: ControlPlane) -> Iterator[Finding]:
    """Certificates and keys are files on the node (kubeadm writes them under
    /etc/kubernetes/pki); a container sees them only through a hostPath volume."""
    for node in cp.nodes:
        for pod, flags, kubeadm in ((node.etcd.pod if node.etcd else None, _ETCD_TLS_FLAGS,
                                     "etcd-certs: /etc/kubernetes/pki/etcd"),
                                    (node.apiserver.pod if node.apiserver else None, _APISERVER_TLS_FLAGS,
                                     "k8s-certs: /etc/kubernetes/pki")):
            if pod is None:
                continue
            for flag in flags:
                path = pod.command.get(flag)
                if not path or pod.mount_for(path) is not None and posixpath.isabs(path):
                    continue
                yield _finding(
                    "cert-not-mounted", pod, node, flag, path,
                    title=f"--{flag}={path} is not inside a mounted hostPath volume",
                    detail=f"{path} is a file on the node's disk, but no hostPath volume of this Pod holds it "
                           f"(mounts: {_mounts(pod)}). Inside the container the file does not exist, so "
                           f"{pod.command.program.rsplit('/', 1)[-1]} fails at start-up ('no such file or directory').",
                    fix=f"Mount the directory that holds it (kubeadm mounts {kubeadm}), or point the flag "
                        "inside an existing mount.")
