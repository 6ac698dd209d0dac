"""The lab's PKI: kubeadm's layout, the right key usages and names, private keys kept private."""

from __future__ import annotations

import ipaddress
import stat

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from etcdlab.real.pki import make_pki

KUBEADM_FILES = [
    "ca.crt", "ca.key", "apiserver-etcd-client.crt", "apiserver-etcd-client.key",
    "etcd/ca.crt", "etcd/ca.key", "etcd/server.crt", "etcd/server.key", "etcd/peer.crt", "etcd/peer.key",
    "etcd/healthcheck-client.crt", "etcd/healthcheck-client.key",
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki") / "pki", ["cp1", "cp2", "cp3"])


def load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def cn(name: x509.Name) -> str:
    return name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def eku(cert) -> set:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def verifies(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, InvalidSignature):  # wrong issuer name, or wrong signature
        return False


def test_every_node_has_kubeadms_layout(pki):
    assert pki.names == ("cp1", "cp2", "cp3")
    for node in pki.nodes:
        assert node.directory == pki.directory / node.name
        for rel in KUBEADM_FILES:
            assert (node.directory / rel).is_file(), rel
        assert node.etcd_dir == node.directory / "etcd"
        assert node.server.cert == node.directory / "etcd" / "server.crt"
        assert node.apiserver_etcd_client.key == node.directory / "apiserver-etcd-client.key"


def test_keys_are_0600_in_0700_directories(pki):
    dirs = [pki.directory] + [p for p in pki.directory.rglob("*") if p.is_dir()]
    for d in dirs:
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    keys = list(pki.directory.rglob("*.key"))
    assert len(keys) == 3 * 6 + 2
    for k in keys:
        assert stat.S_IMODE(k.stat().st_mode) == 0o600, k


def test_two_distinct_cas_copied_to_every_node(pki):
    etcd_ca, cluster_ca = load(pki.etcd_ca.cert), load(pki.cluster_ca.cert)
    assert cn(etcd_ca.subject) == "etcd-ca" and cn(cluster_ca.subject) == "kubernetes"
    assert etcd_ca.public_key() != cluster_ca.public_key()
    for node in pki.nodes:
        assert node.etcd_ca.cert.read_bytes() == pki.etcd_ca.cert.read_bytes()
        assert node.ca.cert.read_bytes() == pki.cluster_ca.cert.read_bytes()
    assert etcd_ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_server_and_peer_certificates_are_the_nodes_own(pki):
    etcd_ca = load(pki.etcd_ca.cert)
    for node in pki.nodes:
        for cert_path in (node.server.cert, node.peer.cert):
            cert = load(cert_path)
            assert cn(cert.subject) == node.name
            assert verifies(cert, etcd_ca)
            # the gateway dials etcd with server.crt, peers use peer.crt both ways: both usages needed
            assert eku(cert) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert set(san.get_values_for_type(x509.DNSName)) == {node.name, "localhost"}
            assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("127.0.0.1"),
                                                                    ipaddress.ip_address("::1")}
            assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    serials = {load(n.server.cert).serial_number for n in pki.nodes}
    assert len(serials) == 3


def test_client_certificates(pki):
    etcd_ca, cluster_ca = load(pki.etcd_ca.cert), load(pki.cluster_ca.cert)
    node = pki.node("cp2")
    api = load(node.apiserver_etcd_client.cert)
    health = load(node.healthcheck_client.cert)
    assert cn(api.subject) == "kube-apiserver-etcd-client"
    assert api.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    assert cn(health.subject) == "kube-etcd-healthcheck-client"
    for cert in (api, health):
        assert eku(cert) == {ExtendedKeyUsageOID.CLIENT_AUTH}
        assert verifies(cert, etcd_ca)
        assert not verifies(cert, cluster_ca)


def test_foreign_ca_signed_a_look_alike_client(pki):
    foreign = load(pki.foreign_client.cert)
    assert cn(foreign.subject) == "kube-apiserver-etcd-client"      # same name, wrong signer
    assert verifies(foreign, load(pki.foreign_ca.cert))
    assert not verifies(foreign, load(pki.etcd_ca.cert))


def test_keys_are_ecdsa_p256_and_match(pki):
    from cryptography.hazmat.primitives import serialization

    node = pki.node(0)
    for pair in (node.server, node.peer, node.apiserver_etcd_client, node.etcd_ca):
        key = serialization.load_pem_private_key(pair.key.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
        assert key.public_key() == load(pair.cert).public_key()


def test_map_path_translates_kubeadm_paths(pki):
    node = pki.node("cp3")
    assert node.map_path("/etc/kubernetes/pki/etcd/ca.crt") == node.etcd_ca.cert
    assert node.map_path("/etc/kubernetes/pki/apiserver-etcd-client.key") == node.apiserver_etcd_client.key
    assert node.map_path("/etc/ssl/certs/x.pem").as_posix() == "/etc/ssl/certs/x.pem"
    assert node.map_path("/etc/kubernetes/pkiX/ca.crt").as_posix() == "/etc/kubernetes/pkiX/ca.crt"


def test_node_lookup_and_numbers(tmp_path):
    pki = make_pki(tmp_path / "p", 2)
    assert pki.names == ("cp1", "cp2")
    assert pki.node(1).name == "cp2"
    with pytest.raises(KeyError, match="cp9"):
        pki.node("cp9")
    with pytest.raises(ValueError):
        make_pki(tmp_path / "q", ["a", "a"])
    with pytest.raises(ValueError):
        make_pki(tmp_path / "r", [])
