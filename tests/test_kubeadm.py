"""etcdlab.sources.kubeadm renders what kubeadm writes; the loader must read it back unchanged."""

import pytest

import etcdlab as el
from etcdlab import kubeadm


def test_etcd_flags_are_kubeadms_sorted_list():
    cmd = kubeadm.etcd_command("master", "10.128.15.226")
    assert cmd[0] == "etcd"
    names = [f.split("=", 1)[0] for f in cmd[1:]]
    assert names == sorted(names)
    flags = dict(f[2:].split("=", 1) for f in cmd[1:])
    assert flags["listen-client-urls"] == "https://127.0.0.1:2379,https://10.128.15.226:2379"
    assert flags["advertise-client-urls"] == "https://10.128.15.226:2379"
    assert flags["listen-peer-urls"] == flags["initial-advertise-peer-urls"] == "https://10.128.15.226:2380"
    assert flags["listen-metrics-urls"] == "http://127.0.0.1:2381"
    assert flags["initial-cluster"] == "master=https://10.128.15.226:2380"
    assert flags["snapshot-count"] == "10000"
    assert flags["client-cert-auth"] == flags["peer-client-cert-auth"] == "true"
    assert "initial-cluster-state" not in flags  # kubeadm init leaves the default, "new"


def test_join_writes_existing_state_and_the_members_so_far():
    members = [("cp1", "https://10.0.0.11:2380"), ("cp2", "https://10.0.0.12:2380")]
    flags = dict(f[2:].split("=", 1) for f in kubeadm.etcd_command("cp2", "10.0.0.12", initial_cluster=members,
                                                                    state="existing")[1:])
    assert flags["initial-cluster"] == "cp1=https://10.0.0.11:2380,cp2=https://10.0.0.12:2380"
    assert flags["initial-cluster-state"] == "existing"


def test_ipv6_uses_brackets_and_the_ipv6_loopback():
    flags = dict(f[2:].split("=", 1) for f in kubeadm.etcd_command("v6", "fd00:10::10")[1:])
    assert flags["listen-client-urls"] == "https://[::1]:2379,https://[fd00:10::10]:2379"
    assert flags["listen-metrics-urls"] == "http://[::1]:2381"


def test_loopback_advertise_does_not_duplicate_the_listener():
    flags = dict(f[2:].split("=", 1) for f in kubeadm.etcd_command("m1", "127.0.0.1", client_port=32379)[1:])
    assert flags["listen-client-urls"] == "https://127.0.0.1:32379"


@pytest.mark.parametrize("generation,present,absent", [
    ("1.28", "experimental-initial-corrupt-check", "feature-gates"),
    ("1.34", "feature-gates", "experimental-initial-corrupt-check"),
])
def test_generations_differ_in_flag_names(generation, present, absent):
    names = {f[2:].split("=", 1)[0] for f in kubeadm.etcd_command("n", "10.0.0.1", generation=generation)[1:]}
    assert present in names and absent not in names


def test_probes_by_generation():
    old = kubeadm.etcd_manifest("n", "10.0.0.1", generation="1.28")["spec"]["containers"][0]
    new = kubeadm.etcd_manifest("n", "10.0.0.1", generation="1.31")["spec"]["containers"][0]
    assert old["livenessProbe"]["httpGet"]["path"].startswith("/health")
    assert "readinessProbe" not in old
    assert new["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert new["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert new["startupProbe"]["httpGet"]["port"] == 2381


def test_unknown_generation_is_refused():
    with pytest.raises(ValueError, match="generation"):
        kubeadm.etcd_command("n", "10.0.0.1", generation="0.9")


def test_rendered_yaml_round_trips_through_the_loader():
    text = kubeadm.to_yaml(kubeadm.etcd_manifest("master", "10.128.15.226")) + "---\n" + \
        kubeadm.to_yaml(kubeadm.apiserver_manifest("master", "10.128.15.226"))
    cp = el.load_text(text, "etcd.yaml")
    (node,) = cp.nodes
    assert node.name == "master" and node.address == "10.128.15.226" and node.role == "control-plane"
    assert node.etcd.pod.host_path(node.etcd.data_dir) == "/var/lib/etcd"
    assert node.apiserver.etcd_servers[0].raw == "https://127.0.0.1:2379"
    assert node.apiserver.pod.host_path(node.apiserver.etcd_certfile) == \
        "/etc/kubernetes/pki/apiserver-etcd-client.crt"


def test_with_flag_sets_and_removes_keeping_order():
    pod = kubeadm.etcd_manifest("master", "10.0.0.1")
    broken = kubeadm.with_flag(pod, "client-cert-auth", "false")
    cmd = broken["spec"]["containers"][0]["command"]
    assert "--client-cert-auth=false" in cmd and "--client-cert-auth=true" not in cmd
    assert cmd[1:] == sorted(cmd[1:], key=lambda f: f.split("=", 1)[0])
    gone = kubeadm.with_flag(pod, "client-cert-auth", None)["spec"]["containers"][0]["command"]
    assert not any(f.startswith("--client-cert-auth") for f in gone)
    assert pod["spec"]["containers"][0]["command"] != cmd  # the original is untouched
