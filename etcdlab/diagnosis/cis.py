"""The CIS Kubernetes Benchmark's etcd checks (v1.9): TLS on both of etcd's ports, a CA of
etcd's own, the apiserver's etcd TLS and encryption at rest, and the manifests' file
modes and owners.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from ..model.control_plane import ControlPlane, Pod
from .findings import Finding, RULES, _finding
from .routes import _apiservers, _host_file, _members


def cis_etcd_tls(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 2.1–2.6: etcd must encrypt and authenticate both of its conversations, with
    clients (2379) and with its peers (2380), using real certificates, not
    self-signed ones it makes up (``--auto-tls``)."""
    for node, m in _members(cp):
        c = m.pod.command
        for rid, cert, key, who in (("cis-etcd-cert-file", "cert-file", "key-file", "clients"),
                                    ("cis-etcd-peer-cert-file", "peer-cert-file", "peer-key-file", "its peers")):
            missing = [f for f in (cert, key) if not c.get(f)]
            if missing:
                yield _finding(
                    rid, m.pod, node, missing[0], None,
                    detail=f"Without --{cert} and --{key} etcd has no certificate for {who}: it can only speak "
                           "plain HTTP, where anyone on the network reads the traffic (Secrets included) and can "
                           f"pose as etcd, and an https:// listener stops it at start-up. {RULES[rid].cis} requires "
                           "both.",
                    fix=f"Set --{cert}=/etc/kubernetes/pki/etcd/{'server' if cert == 'cert-file' else 'peer'}.crt "
                        f"and --{key}=/etc/kubernetes/pki/etcd/{'server' if cert == 'cert-file' else 'peer'}.key.")
        if not m.client_cert_auth:
            yield _finding(
                "cis-etcd-client-cert-auth", m.pod, node, "client-cert-auth", c.get("client-cert-auth"),
                detail="Without --client-cert-auth=true etcd accepts any client that reaches port 2379, with no "
                       "certificate and no identity. Whoever gets there can read and change the whole cluster "
                       "state, Secrets included, past Kubernetes' RBAC. CIS-1.9 2.2 requires it.",
                fix="Set --client-cert-auth=true (kubeadm does), with --trusted-ca-file naming etcd's CA.")
        if not m.peer_client_cert_auth:
            yield _finding(
                "cis-etcd-peer-client-cert-auth", m.pod, node, "peer-client-cert-auth",
                c.get("peer-client-cert-auth"),
                detail="Without --peer-client-cert-auth=true any machine that reaches port 2380 can pose as a "
                       "member and take part in replication. CIS-1.9 2.5 requires it.",
                fix="Set --peer-client-cert-auth=true (kubeadm does), with --peer-trusted-ca-file naming etcd's CA.")
        for rid, flag, who in (("cis-etcd-auto-tls", "auto-tls", "clients"),
                               ("cis-etcd-peer-auto-tls", "peer-auto-tls", "peers")):
            if getattr(m, flag.replace("-", "_")):
                yield _finding(
                    rid, m.pod, node, flag, c.get(flag),
                    detail=f"--{flag}=true lets etcd make up a self-signed certificate for {who} when it has "
                           "none. No CA vouches for it, so nobody can tell the real etcd from an impostor. "
                           f"{RULES[rid].cis} requires it unset or false.",
                    fix=f"Remove --{flag} and give real certificates signed by etcd's CA, as kubeadm does.")


def cis_etcd_unique_ca(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 2.7: etcd should trust a CA of its own. If it trusted the cluster CA, every
    certificate that CA signs (kubelets, users, controllers) would be an etcd client."""
    cluster_cas = {}
    for node, api in _apiservers(cp):
        if api.client_ca_file:
            cluster_cas[_host_file(api.pod, api.client_ca_file)] = node.name
    for node, m in _members(cp):
        if not m.trusted_ca_file:
            yield _finding(
                "cis-etcd-unique-ca", m.pod, node, "trusted-ca-file", None,
                title="etcd names no CA for its clients (--trusted-ca-file)",
                detail="Without --trusted-ca-file etcd has no CA to check client certificates against, so it "
                       "cannot tell the apiserver from anyone else. CIS-1.9 2.7 (manual) asks for a CA of "
                       "etcd's own, distinct from the cluster's.",
                fix="Set --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt (kubeadm's etcd CA).")
            continue
        trusted = _host_file(m.pod, m.trusted_ca_file)
        if trusted in cluster_cas:
            yield _finding(
                "cis-etcd-unique-ca", m.pod, node, "trusted-ca-file", m.trusted_ca_file,
                detail=f"{trusted} is also the apiserver's --client-ca-file (node {cluster_cas[trusted]}), the "
                       "cluster CA: every certificate it signs (kubelets, users, controllers) is then a valid "
                       "etcd client, with full access to the data. kubeadm gives etcd its own CA "
                       "(/etc/kubernetes/pki/etcd/ca.crt).",
                fix="Create a separate CA for etcd (kubeadm init phase certs etcd-ca) and trust only it.")


def cis_apiserver_etcd_tls(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.2.23 and 1.2.26: the apiserver must prove who it is to etcd (a client
    certificate) and check who etcd is (the CA that signed etcd's certificate)."""
    for node, api in _apiservers(cp):
        missing = [f for f in ("etcd-certfile", "etcd-keyfile") if not api.pod.command.get(f)]
        if missing:
            yield _finding(
                "cis-apiserver-etcd-certfile", api.pod, node, missing[0], None,
                detail="Without --etcd-certfile and --etcd-keyfile the apiserver cannot prove to etcd who it is, "
                       "so etcd must either reject it or accept anyone. CIS-1.9 1.2.23 (1.2.24 in CIS 1.8) "
                       "requires both.",
                fix="Set --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt and "
                    "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key.")
        if not api.etcd_cafile:
            yield _finding(
                "cis-apiserver-etcd-cafile", api.pod, node, "etcd-cafile", None,
                detail="Without --etcd-cafile the apiserver checks etcd's certificate against the system's "
                       "public CAs, which never signed it: it cannot verify it is talking to the real etcd. "
                       "CIS-1.9 1.2.26 (1.2.27 in CIS 1.8) requires it.",
                fix="Set --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt.")


def cis_apiserver_encryption(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.2.27 (manual): without an encryption provider, Secrets are written to
    etcd as they are; kubeadm does not set one, so this is information, not an error."""
    for node, api in _apiservers(cp):
        if not api.encryption_provider_config:
            yield _finding(
                "cis-apiserver-encryption", api.pod, node, "encryption-provider-config", None,
                detail="Without --encryption-provider-config the apiserver writes Secrets to etcd unencrypted "
                       "(base64 is not encryption): anyone with etcd access, its data dir or a snapshot reads "
                       "them. kubeadm does not set it; CIS-1.9 1.2.27 asks for an aescbc, kms or secretbox provider.",
                fix="Write an EncryptionConfiguration and set --encryption-provider-config to it (mounted from "
                    "the node), then rewrite existing Secrets.")


#: component → (CIS check for permissions, CIS check for ownership)
_MANIFEST_CIS = {"etcd": ("CIS-1.9 1.1.7", "CIS-1.9 1.1.8"),
                 "kube-apiserver": ("CIS-1.9 1.1.1", "CIS-1.9 1.1.2")}


def _from_the_api(pod: Pod) -> bool:
    """True for a Pod captured with ``kubectl get`` (the API's mirror Pod): the mode of
    that capture file says nothing about the static manifest on the node."""
    return pod.from_the_api


def cis_manifest_files(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.1.1/1.1.2 and 1.1.7/1.1.8: the kubelet runs whatever the static Pod
    manifests say, as root, so only root may write (or read) them. Checked only when
    the loader could see the file's mode and owner, and not on ``kubectl`` captures."""
    for node in cp.nodes:
        for pod in node.pods:
            if pod.component not in _MANIFEST_CIS or _from_the_api(pod):
                continue
            perm_cis, owner_cis = _MANIFEST_CIS[pod.component]
            name = posixpath.basename(pod.file) if pod.file else f"{pod.component}.yaml"
            if pod.file_mode is not None and pod.file_mode & 0o177:
                yield _finding(
                    "cis-manifest-permissions", pod, node, None, oct(pod.file_mode)[2:], cis=perm_cis, whole_file=True,
                    title=f"{name} has mode {oct(pod.file_mode)[2:]}, looser than 600",
                    detail="The kubelet runs what a static Pod manifest says, with the node's privileges: whoever "
                           "can write it can change the control plane, and whoever can read it learns its wiring. "
                           f"{perm_cis} wants mode 600 or stricter.",
                    fix=f"chmod 600 {pod.file}")
            if pod.file_owner is not None and pod.file_owner != "root:root":
                yield _finding(
                    "cis-manifest-ownership", pod, node, None, pod.file_owner, cis=owner_cis, whole_file=True,
                    title=f"{name} is owned by {pod.file_owner}, not root:root",
                    detail="Whoever owns a static Pod manifest can change its permissions and then its content, "
                           f"which the kubelet runs with the node's privileges. {owner_cis} wants root:root.",
                    fix=f"chown root:root {pod.file}")
