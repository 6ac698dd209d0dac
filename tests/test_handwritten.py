"""Manifests people write by hand (tests/handwritten/): the loader and the doctor handle them."""

import pytest

import etcdlab as el
from conftest import ROOT

HERE = ROOT / "tests" / "handwritten"


def _errors(findings):
    return sorted(f.id for f in findings if f.severity == "error")


def test_old_style_command_plus_args_and_space_separated_values():
    cp = el.load(HERE / "old-style")
    (node,) = cp.nodes
    assert node.name == "lab-master" and node.address == "192.168.56.10"
    m = node.etcd
    assert m.name == "lab-master" and m.client_cert_auth  # bare --client-cert-auth means true
    assert [u.raw for u in m.listen_client_urls] == ["https://127.0.0.1:2379", "https://192.168.56.10:2379"]
    assert node.apiserver.etcd_cafile == "/etc/kubernetes/pki/etcd/ca.crt"  # from "--etcd-cafile VALUE"
    assert m.pod.line_of("listen-client-urls") == 18  # the flag's own line, inside args
    assert _errors(el.doctor(cp)) == []


def test_external_etcd_addressed_by_host_names_is_clean():
    cp = el.load(HERE / "hostnames")
    assert cp.topology_kind == "external"
    assert [n.role for n in cp.nodes].count("etcd") == 3
    assert _errors(el.doctor(cp)) == []


def test_json_manifests_with_the_cluster_ca_are_caught():
    cp = el.load(HERE / "json-node")
    assert cp.nodes[0].name == "node-j"
    assert "etcd-ca-mismatch" in _errors(el.doctor(cp))


@pytest.mark.parametrize("case", ["old-style", "hostnames", "json-node"])
def test_the_cli_agrees(case, capsys):
    from etcdlab.cli import main

    code = main(["doctor", str(HERE / case)])
    assert code == (1 if case == "json-node" else 0)
