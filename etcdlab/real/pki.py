"""Certificates laid out the way kubeadm lays out ``/etc/kubernetes/pki``.

kubeadm gives etcd a certificate authority of its own, distinct from the cluster's
(CIS 2.7), and signs with it every certificate that speaks to etcd:

=====================================  ===============================  ==========================
file (under ``/etc/kubernetes/pki``)   who presents it                  extended key usage
=====================================  ===============================  ==========================
``etcd/ca.crt``                        nobody: it *verifies* the others
``etcd/server.crt``                    etcd, on the client port 2379    serverAuth + clientAuth
``etcd/peer.crt``                      etcd, to and from its peers 2380 serverAuth + clientAuth
``etcd/healthcheck-client.crt``        probes and ``etcdctl`` by hand   clientAuth
``apiserver-etcd-client.crt``          kube-apiserver, to etcd          clientAuth
``ca.crt``                             the *cluster* CA (kubelets,      (a CA)
                                       users): etcd must not trust it
=====================================  ===============================  ==========================

Why both serverAuth and clientAuth on ``server.crt``: etcd's own JSON gateway dials
etcd's gRPC server with that certificate, so it is a client too (without clientAuth
the gateway answers 503). The peer certificate is used in both directions between
members, so it needs both as well, or the cluster never forms.

**One directory per node.** kubeadm gives every control-plane node its *own* server
and peer certificates (its name in the subject and SANs) and copies only the two CAs
between nodes. :func:`make_pki` does the same: ``<directory>/<node>/`` is what
``/etc/kubernetes/pki`` is on that node, so each member's etcd.yaml points at its own
``.../etcd/server.crt`` with the same relative paths kubeadm writes, and
``openssl x509 -in cp2/etcd/server.crt -noout -subject`` shows ``CN = cp2``. On
loopback every member has the same address, so the SANs are the node name,
``localhost``, ``127.0.0.1`` and ``::1`` (kubeadm adds the node's own IP too).

Not kubeadm: ``<directory>/foreign/`` holds a CA etcd has never heard of and a client
certificate it signed, for the "a certificate from another CA is refused" test.

Keys are ECDSA P-256 (a whole PKI in milliseconds; RSA 2048 takes 0.2-0.4 s per
key), written mode 0600 inside directories of mode 0700.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

#: What a certificate is for: (extended key usages, is it a CA).
_SERVER_AND_CLIENT = ("server", "client")
_CLIENT = ("client",)

#: Subject names as kubeadm writes them.
ETCD_CA_CN = "etcd-ca"
CLUSTER_CA_CN = "kubernetes"
HEALTHCHECK_CN = "kube-etcd-healthcheck-client"
APISERVER_CLIENT_CN = "kube-apiserver-etcd-client"
FOREIGN_CA_CN = "not-the-etcd-ca"


@dataclass(frozen=True)
class CertKey:
    """A certificate and its private key, as two PEM files."""

    cert: Path
    key: Path

    @property
    def pair(self) -> tuple[str, str]:
        """``(cert, key)`` as strings: what ``requests`` takes as ``cert=``."""
        return (str(self.cert), str(self.key))

    def describe(self) -> str:
        """What ``openssl x509 -noout -text`` would tell about it, in four lines."""
        return describe(self.cert)


def describe(cert_path: str | os.PathLike) -> str:
    """Subject, issuer, key usages and names of a PEM certificate, in plain words."""
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    lines = [f"subject: {cert.subject.rfc4514_string()}", f"issuer:  {cert.issuer.rfc4514_string()}"]
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if is_ca:
        lines.append("a CA: it signs other certificates")
    try:
        names = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}
        usages = [names.get(u, u.dotted_string) for u in
                  cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value]
        lines.append(f"usage:   {' + '.join(usages)}")
    except x509.ExtensionNotFound:
        pass
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        alt = [*san.get_values_for_type(x509.DNSName), *map(str, san.get_values_for_type(x509.IPAddress))]
        lines.append(f"names:   {', '.join(alt)}")
    except x509.ExtensionNotFound:
        pass
    return "\n".join(lines)


@dataclass(frozen=True)
class NodePki:
    """One control-plane node's ``/etc/kubernetes/pki``: ``directory`` stands for that path."""

    name: str
    directory: Path
    ca: CertKey                     #: ``ca.crt`` / ``ca.key``: the cluster CA (same on every node)
    apiserver_etcd_client: CertKey  #: ``apiserver-etcd-client.crt`` / ``.key``
    etcd_ca: CertKey                #: ``etcd/ca.crt`` / ``etcd/ca.key`` (same on every node)
    server: CertKey                 #: ``etcd/server.crt`` / ``.key`` (this node's own)
    peer: CertKey                   #: ``etcd/peer.crt`` / ``.key`` (this node's own)
    healthcheck_client: CertKey     #: ``etcd/healthcheck-client.crt`` / ``.key``

    @property
    def etcd_dir(self) -> Path:
        """What ``/etc/kubernetes/pki/etcd`` is on this node (kubeadm's ``etcd-certs`` volume)."""
        return self.directory / "etcd"

    def map_path(self, path: str) -> Path:
        """Map a kubeadm path (``/etc/kubernetes/pki/...``) to this node's file in the lab.

        Paths outside ``/etc/kubernetes/pki`` are returned unchanged.
        """
        prefix = "/etc/kubernetes/pki"
        text = str(path)
        if text == prefix or text.startswith(prefix + "/"):
            return self.directory / text[len(prefix):].lstrip("/")
        return Path(text)


@dataclass(frozen=True)
class Pki:
    """Every certificate of a lab cluster: one :class:`NodePki` per node, plus a foreign CA."""

    directory: Path
    nodes: tuple[NodePki, ...]
    foreign_ca: CertKey        #: a CA that etcd does not trust
    foreign_client: CertKey    #: a client certificate signed by ``foreign_ca``

    def node(self, name: str | int) -> NodePki:
        """A node's PKI by name (``"cp1"``) or by position (``0``)."""
        if isinstance(name, int):
            return self.nodes[name]
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node called {name!r} in this PKI (nodes: {', '.join(n.name for n in self.nodes)})")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)

    # The CAs are copies of one another on every node; these read the first copy.
    @property
    def etcd_ca(self) -> CertKey:
        return self.nodes[0].etcd_ca

    @property
    def cluster_ca(self) -> CertKey:
        return self.nodes[0].ca


# -- building blocks ----------------------------------------------------------------------

def _new_key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, organization: str | None = None):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    attrs = []
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _sans(dns: Iterable[str], ips: Iterable[str]):
    from cryptography import x509

    names = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    return x509.SubjectAlternativeName(names)


def _certificate(subject, key, issuer, issuer_key, *, ca: bool, usages: tuple[str, ...] = (),
                 sans=None, days: int):
    """Build and sign one X.509 certificate (kubeadm's choices: SHA-256, 1 year, 10 for CAs)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = _dt.datetime.now(_dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))  # tolerate a little clock skew
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        eku = {"server": ExtendedKeyUsageOID.SERVER_AUTH, "client": ExtendedKeyUsageOID.CLIENT_AUTH}
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        ).add_extension(x509.ExtendedKeyUsage([eku[u] for u in usages]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        if sans is not None:
            builder = builder.add_extension(sans, critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write a file created with ``mode`` from the start (no window where a key is world-readable)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, mode)  # in case the file existed with other bits


def _save(cert, key, cert_path: Path, key_path: Path) -> CertKey:
    from cryptography.hazmat.primitives import serialization

    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(key_path, key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), 0o600)
    return CertKey(cert_path, key_path)


class _Authority:
    """A CA in memory: signs leaf certificates and saves itself wherever asked."""

    def __init__(self, common_name: str, days: int = 3650):
        self.key = _new_key()
        self.name = _name(common_name)
        self.cert = _certificate(self.name, self.key, self.name, self.key, ca=True, days=days)

    def save(self, cert_path: Path, key_path: Path) -> CertKey:
        return _save(self.cert, self.key, cert_path, key_path)

    def issue(self, cert_path: Path, key_path: Path, common_name: str, usages: tuple[str, ...], *,
              organization: str | None = None, dns: Iterable[str] = (), ips: Iterable[str] = (),
              days: int = 365) -> CertKey:
        key = _new_key()
        dns, ips = list(dns), list(ips)
        sans = _sans(dns, ips) if (dns or ips) else None
        cert = _certificate(_name(common_name, organization), key, self.name, self.key,
                            ca=False, usages=usages, sans=sans, days=days)
        return _save(cert, key, cert_path, key_path)


# -- the public function --------------------------------------------------------------

#: Loopback names every member's server and peer certificates carry, as kubeadm adds them.
LOOPBACK_DNS = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1", "::1")


def make_pki(directory: str | os.PathLike, nodes: Iterable[str] | int = ("cp1",)) -> Pki:
    """Create a kubeadm-like PKI for ``nodes`` under ``directory`` and return its paths.

    ``nodes`` is a list of node names, or a number (``3`` means ``cp1``, ``cp2``,
    ``cp3``). Each node gets ``<directory>/<node>/`` laid out like
    ``/etc/kubernetes/pki`` on that node; the etcd CA and the cluster CA are the same on
    every node, the server, peer and client certificates are the node's own.

        >>> import tempfile
        >>> pki = make_pki(tempfile.mkdtemp(), 3)
        >>> pki.node("cp2").server.cert.relative_to(pki.directory).as_posix()
        'cp2/etcd/server.crt'
    """
    if isinstance(nodes, int):
        names = tuple(f"cp{i}" for i in range(1, nodes + 1))
    else:
        names = tuple(nodes)
    if not names:
        raise ValueError("make_pki needs at least one node name")
    if len(set(names)) != len(names):
        raise ValueError(f"node names must be distinct, got {list(names)}")

    root = Path(directory)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)

    etcd_ca = _Authority(ETCD_CA_CN)
    cluster_ca = _Authority(CLUSTER_CA_CN)

    made = []
    for name in names:
        d = root / name
        e = d / "etcd"
        for sub in (d, e):
            sub.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(sub, 0o700)
        sans = {"dns": (name, *LOOPBACK_DNS), "ips": LOOPBACK_IPS}
        made.append(NodePki(
            name=name,
            directory=d,
            ca=cluster_ca.save(d / "ca.crt", d / "ca.key"),
            apiserver_etcd_client=etcd_ca.issue(
                d / "apiserver-etcd-client.crt", d / "apiserver-etcd-client.key",
                APISERVER_CLIENT_CN, _CLIENT, organization="system:masters"),
            etcd_ca=etcd_ca.save(e / "ca.crt", e / "ca.key"),
            server=etcd_ca.issue(e / "server.crt", e / "server.key", name, _SERVER_AND_CLIENT, **sans),
            peer=etcd_ca.issue(e / "peer.crt", e / "peer.key", name, _SERVER_AND_CLIENT, **sans),
            healthcheck_client=etcd_ca.issue(
                e / "healthcheck-client.crt", e / "healthcheck-client.key",
                HEALTHCHECK_CN, _CLIENT),
        ))

    f = root / "foreign"
    f.mkdir(mode=0o700, exist_ok=True)
    os.chmod(f, 0o700)
    foreign = _Authority(FOREIGN_CA_CN)
    foreign_ca = foreign.save(f / "ca.crt", f / "ca.key")
    foreign_client = foreign.issue(f / "client.crt", f / "client.key", APISERVER_CLIENT_CN, _CLIENT,
                                   organization="system:masters")
    return Pki(directory=root, nodes=tuple(made), foreign_ca=foreign_ca, foreign_client=foreign_client)
