"""etcdlab.model.control_plane: the typed, immutable picture of a control plane that every view reads."""

from __future__ import annotations

import dataclasses

import pytest

from etcdlab import kubeadm
from etcdlab.errors import FlagError
from etcdlab.model.flags import parse_command, parse_url
from etcdlab.sources.loading import load_text
from etcdlab.model.control_plane import ApiServer, ControlPlane, EtcdMember, Node, Pod, Probe, Volume

ADV = "10.128.15.226"


def etcd_pod(node="master", advertise=ADV, **kw) -> Pod:
    (node_,) = load_text(kubeadm.to_yaml(kubeadm.etcd_manifest(node, advertise, **kw)), "etcd.yaml").nodes
    return node_.pods[0]


def api_pod(advertise=ADV, **kw) -> Pod:
    (node_,) = load_text(kubeadm.to_yaml(kubeadm.apiserver_manifest("x", advertise, **kw)), "kube-apiserver.yaml",
                         node="x").nodes
    return node_.pods[0]


def bare_pod(*argv: str, volumes: tuple[Volume, ...] = (), component="etcd") -> Pod:
    return Pod(name=component, namespace="kube-system", component=component, image=None,
               command=parse_command(list(argv)), volumes=volumes)


# -- the etcd member -------------------------------------------------------------------------


def test_member_from_a_kubeadm_manifest_has_every_field():
    m = EtcdMember.from_pod(etcd_pod())
    assert m.name == "master" and m.data_dir == "/var/lib/etcd"
    assert [e.raw for e in m.listen_client_urls] == ["https://127.0.0.1:2379", f"https://{ADV}:2379"]
    assert m.client_urls == m.listen_client_urls
    assert [e.raw for e in m.advertise_client_urls] == [f"https://{ADV}:2379"]
    assert [e.raw for e in m.listen_peer_urls] == [f"https://{ADV}:2380"]
    assert m.peer_url == parse_url(f"https://{ADV}:2380")
    (metrics,) = m.listen_metrics_urls
    assert (metrics.scheme, metrics.host, metrics.port, metrics.tls) == ("http", "127.0.0.1", 2381, False)
    assert m.initial_cluster == (("master", parse_url(f"https://{ADV}:2380")),)
    assert m.initial_cluster_state == "new"
    assert m.cert_file == "/etc/kubernetes/pki/etcd/server.crt"
    assert m.key_file == "/etc/kubernetes/pki/etcd/server.key"
    assert m.trusted_ca_file == m.peer_trusted_ca_file == "/etc/kubernetes/pki/etcd/ca.crt"
    assert m.peer_cert_file == "/etc/kubernetes/pki/etcd/peer.crt"
    assert m.peer_key_file == "/etc/kubernetes/pki/etcd/peer.key"
    assert m.client_cert_auth and m.peer_client_cert_auth
    assert not m.auto_tls and not m.peer_auto_tls
    assert m.snapshot_count == 10000


def test_member_without_flags_gets_etcds_own_defaults():
    m = EtcdMember.from_pod(bare_pod("etcd"))
    assert m.name == "default" and m.data_dir is None
    assert [e.raw for e in m.listen_client_urls] == ["http://localhost:2379"]
    assert [e.raw for e in m.listen_peer_urls] == ["http://localhost:2380"]
    assert m.advertise_client_urls == () and m.initial_advertise_peer_urls == () and m.peer_url is None
    assert m.initial_cluster == () and m.initial_cluster_state == "new"
    assert not m.client_cert_auth and m.cert_file is None and m.snapshot_count is None


def test_joining_member_lists_the_others_and_says_existing():
    peers = [("cp1", "https://10.0.0.1:2380"), ("cp2", "https://10.0.0.2:2380"), ("cp3", "https://10.0.0.3:2380")]
    m = EtcdMember.from_pod(etcd_pod("cp3", "10.0.0.3", initial_cluster=peers, state="existing"))
    assert [n for n, _ in m.initial_cluster] == ["cp1", "cp2", "cp3"]
    assert m.initial_cluster_state == "existing"


def test_ipv6_member_listens_on_the_ipv6_loopback():
    m = EtcdMember.from_pod(etcd_pod("v6", "fd00::10"))
    assert [e.host for e in m.listen_client_urls] == ["::1", "fd00::10"]
    assert [e.hostport for e in m.listen_client_urls] == ["[::1]:2379", "[fd00::10]:2379"]
    assert m.listen_client_urls[0].is_loopback and m.peer_url.host == "fd00::10"


def test_space_separated_and_bare_flags_mean_the_same():
    m = EtcdMember.from_pod(bare_pod("etcd", "--name", "n1", "--client-cert-auth", "--snapshot-count", "10000",
                                     "--listen-client-urls", "https://127.0.0.1:2379"))
    assert (m.name, m.client_cert_auth, m.snapshot_count) == ("n1", True, 10000)
    assert m.listen_client_urls == (parse_url("https://127.0.0.1:2379"),)


def test_repeated_url_flags_add_up():
    m = EtcdMember.from_pod(bare_pod("etcd", "--listen-client-urls=https://127.0.0.1:2379",
                                     "--listen-client-urls=https://[::1]:2379"))
    assert [e.host for e in m.listen_client_urls] == ["127.0.0.1", "::1"]


@pytest.mark.parametrize("value", ["many", "-5", "1e4", "²", "٣", "9" * 5000, ""])
def test_an_unreadable_snapshot_count_is_none_not_a_crash(value):
    m = EtcdMember.from_pod(bare_pod("etcd", f"--snapshot-count={value}"))
    assert m.snapshot_count is None


@pytest.mark.parametrize("flag", ["listen-client-urls", "advertise-client-urls", "listen-peer-urls",
                                  "initial-advertise-peer-urls", "listen-metrics-urls", "initial-cluster"])
def test_a_bad_url_names_the_file_the_line_and_the_flag(flag):
    bad = "master=https//10.0.0.1:2380" if flag == "initial-cluster" else "https//10.0.0.1:2379"
    text = kubeadm.to_yaml(kubeadm.with_flag(kubeadm.etcd_manifest("master", ADV), flag, bad))
    line = next(i for i, l in enumerate(text.splitlines(), 1) if f"--{flag}=" in l)
    with pytest.raises(FlagError) as info:
        load_text(text, "etcd.yaml")
    message = str(info.value)
    assert message.startswith(f"etcd.yaml:{line}: --{flag}: "), message
    assert "is not a URL" in message and "\n" not in message


@pytest.mark.parametrize("flag", ["client-cert-auth", "peer-client-cert-auth", "auto-tls", "peer-auto-tls"])
def test_a_bad_boolean_names_the_file_and_line(flag):
    text = kubeadm.to_yaml(kubeadm.with_flag(kubeadm.etcd_manifest("master", ADV), flag, "yes"))
    line = next(i for i, l in enumerate(text.splitlines(), 1) if f"--{flag}=" in l)
    with pytest.raises(FlagError, match=rf"^etcd\.yaml:{line}: --{flag}=yes is not a boolean"):
        load_text(text, "etcd.yaml")


# -- the apiserver ---------------------------------------------------------------------------


def test_apiserver_of_a_stacked_node_talks_to_its_loopback_member():
    a = ApiServer.from_pod(api_pod())
    assert [e.raw for e in a.etcd_servers] == ["https://127.0.0.1:2379"]
    assert a.etcd_servers[0].is_loopback
    assert a.etcd_cafile == "/etc/kubernetes/pki/etcd/ca.crt"
    assert a.etcd_certfile == "/etc/kubernetes/pki/apiserver-etcd-client.crt"
    assert a.etcd_keyfile == "/etc/kubernetes/pki/apiserver-etcd-client.key"
    assert a.advertise_address == ADV and a.secure_port == 6443
    assert a.client_ca_file == "/etc/kubernetes/pki/ca.crt"
    assert a.etcd_prefix is None and a.encryption_provider_config is None


def test_apiserver_of_an_external_cluster_lists_every_member():
    servers = [f"https://10.0.1.{i}:2379" for i in (1, 2, 3)]
    a = ApiServer.from_pod(api_pod(etcd_servers=servers, extra_flags={"etcd-prefix": "/registry",
                                                                       "secure-port": "x"}))
    assert [e.host for e in a.etcd_servers] == ["10.0.1.1", "10.0.1.2", "10.0.1.3"]
    assert a.etcd_prefix == "/registry" and a.secure_port is None


def test_apiserver_ipv6():
    a = ApiServer.from_pod(api_pod("fd00::10"))
    assert a.etcd_servers[0].hostport == "[::1]:2379" and a.advertise_address == "fd00::10"


def test_apiserver_bad_etcd_servers_names_the_flag_and_line():
    pod = kubeadm.apiserver_manifest("m", ADV, etcd_servers=["https://127.0.0.1:2379", "https://10.0.0.2:99999"])
    text = kubeadm.to_yaml(pod)
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "--etcd-servers=" in l)
    with pytest.raises(FlagError, match=rf"^a\.yaml:{line}: --etcd-servers: 'https://10\.0\.0\.2:99999' has an "
                                        "invalid port"):
        load_text(text, "a.yaml", node="m")


# -- pods: lines, labels, volumes ----------------------------------------------------------------


def test_line_of_a_flag_and_fallbacks():
    pod = etcd_pod()
    text = kubeadm.to_yaml(kubeadm.etcd_manifest("master", ADV))
    lines = text.splitlines()
    assert lines[pod.line_of("data-dir") - 1].strip() == "- --data-dir=/var/lib/etcd"
    assert lines[pod.line - 1].strip() == "- etcd"  # the pod's line is its command's
    assert pod.line_of("no-such-flag") == pod.line
    assert bare_pod("etcd", "--name=x").line_of("name") is None  # built in memory: no file, no lines


def test_labels_and_annotations():
    pod = etcd_pod()
    assert pod.label("component") == "etcd" and pod.label("tier") == "control-plane" and pod.label("x") is None
    assert pod.annotation("kubeadm.kubernetes.io/etcd.advertise-client-urls") == f"https://{ADV}:2379"
    assert pod.annotation("nope") is None


VOLS = (
    Volume("etcd-data", "/var/lib/etcd", "/var/lib/etcd"),
    Volume("etcd-certs", "/etc/kubernetes/pki/etcd", "/etc/kubernetes/pki/etcd"),
    Volume("pki", "/srv/pki", "/etc/kubernetes/pki", read_only=True),
    Volume("declared-only", "/srv/unused", None),
    Volume("empty-dir", None, "/tmp/scratch"),
)


@pytest.mark.parametrize("path, volume, host", [
    ("/var/lib/etcd", "etcd-data", "/var/lib/etcd"),
    ("/var/lib/etcd/member/snap/db", "etcd-data", "/var/lib/etcd/member/snap/db"),
    ("/var/lib/etcd/", "etcd-data", "/var/lib/etcd"),
    ("/var/lib/etcd//member/./wal", "etcd-data", "/var/lib/etcd/member/wal"),
    ("/etc/kubernetes/pki/etcd/ca.crt", "etcd-certs", "/etc/kubernetes/pki/etcd/ca.crt"),  # the deepest mount
    ("/etc/kubernetes/pki/ca.crt", "pki", "/srv/pki/ca.crt"),  # mounted elsewhere on the node
    ("/var/lib/etcd2", None, None),  # a sibling, not a child
    ("/var/lib/etcd/../secrets", None, None),  # .. leaves the mount
    ("/tmp/scratch/x", None, None),  # not a hostPath: dies with the container
    ("/srv/unused/x", None, None),  # declared but never mounted
    ("relative/path", None, None),
])
def test_host_path_through_the_volumes(path, volume, host):
    pod = bare_pod("etcd", volumes=VOLS)
    v = pod.mount_for(path)
    assert (v.name if v else None) == volume
    assert pod.host_path(path) == host


def test_a_root_mount_holds_every_absolute_path():
    pod = bare_pod("etcd", volumes=(Volume("root", "/host", "/"),))
    assert pod.host_path("/var/lib/etcd") == "/host/var/lib/etcd"
    assert pod.host_path("/") == "/host"


def test_volumes_of_a_kubeadm_manifest():
    pod = etcd_pod(data_dir="/data/etcd")
    by_name = {v.name: v for v in pod.volumes}
    assert by_name["etcd-data"] == Volume("etcd-data", "/data/etcd", "/data/etcd", False, "DirectoryOrCreate")
    assert pod.host_path(EtcdMember.from_pod(pod).data_dir) == "/data/etcd"
    assert all(v.read_only for v in api_pod().volumes)


# -- immutability and equality ---------------------------------------------------------------------


def test_everything_is_frozen():
    cp = load_text(kubeadm.to_yaml(kubeadm.etcd_manifest("master", ADV)), "etcd.yaml")
    node = cp.nodes[0]
    for obj, attr in ((cp, "nodes"), (node, "name"), (node.etcd, "name"), (node.pods[0], "command"),
                      (node.pods[0].volumes[0], "host_path"), (node.etcd.listen_client_urls[0], "port")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)
    assert isinstance(cp.nodes, tuple) and isinstance(node.pods, tuple) and isinstance(node.pods[0].labels, tuple)


def test_two_loads_of_the_same_text_are_equal_and_hash_alike():
    text = kubeadm.to_yaml(kubeadm.etcd_manifest("master", ADV))
    a, b = load_text(text, "etcd.yaml"), load_text(text, "etcd.yaml")
    assert a == b and hash(a) == hash(b)
    c = load_text(text.replace("--snapshot-count=10000", "--snapshot-count=5000"), "etcd.yaml")
    assert c != a


# -- probes ------------------------------------------------------------------------------------------


def test_kubeadm_probes_are_structured():
    pod = etcd_pod(generation="1.31")
    assert pod.probe("liveness") == Probe("liveness", "HTTP", "127.0.0.1", 2381, "/livez")
    assert [p.kind for p in pod.probes] == ["liveness", "readiness", "startup"]
    assert str(pod.probe("startup")) == "HTTP 127.0.0.1:2381/readyz"
    assert str(etcd_pod(advertise="fd00::5").probe("liveness")) == "HTTP [::1]:2381/health?exclude=NOSPACE&serializable=true"
    with pytest.raises(dataclasses.FrozenInstanceError):
        pod.probes[0].port = 1


def test_probe_shapes_named_ports_and_defaults():
    manifest = kubeadm.etcd_manifest("master", ADV)
    c = manifest["spec"]["containers"][0]
    c["ports"] = [{"name": "metrics", "containerPort": 2381}]
    c["livenessProbe"] = {"httpGet": {"path": "/health", "port": "metrics"}}  # no host, no scheme
    c["readinessProbe"] = {"tcpSocket": {"port": "2379"}}
    c["startupProbe"] = {"exec": {"command": ["etcdctl", "endpoint", "health"]}}
    (n,) = load_text(kubeadm.to_yaml(manifest)).nodes
    assert n.etcd.pod.probes == (Probe("liveness", "HTTP", None, 2381, "/health"),
                                 Probe("readiness", "TCP", None, 2379, None), Probe("startup", "EXEC"))
    c["livenessProbe"] = {"httpGet": {"port": "no-such-port", "scheme": "HTTPS"}}
    (n,) = load_text(kubeadm.to_yaml(manifest)).nodes
    assert n.etcd.pod.probe("liveness") == Probe("liveness", "HTTPS", None, "no-such-port", None)


def test_a_pod_knows_whether_it_comes_from_the_api():
    assert not etcd_pod().from_the_api
    pod = kubeadm.etcd_manifest("master", ADV)
    pod["metadata"]["annotations"]["kubernetes.io/config.mirror"] = "a4962f886b787292673bd519e895309c"
    assert load_text(kubeadm.to_yaml(pod)).nodes[0].pods[0].from_the_api


# -- the control plane -----------------------------------------------------------------------------


def node(name, *, etcd=None, api=None) -> Node:
    pods = tuple(p for p in (etcd, api) if p is not None)
    return Node(name=name, address=None, role="control-plane" if api else ("etcd" if etcd else "worker"),
                pods=pods, etcd=EtcdMember.from_pod(etcd) if etcd else None,
                apiserver=ApiServer.from_pod(api) if api else None)


def test_topology_kind():
    e, a = etcd_pod, api_pod
    assert ControlPlane(nodes=(node("a", etcd=e(), api=a()), node("b", etcd=e(), api=a()))).topology_kind == "stacked"
    assert ControlPlane(nodes=(node("cp", api=a()), node("e1", etcd=e()), node("e2", etcd=e()))).topology_kind \
        == "external"
    assert ControlPlane(nodes=(node("a", etcd=e(), api=a()), node("e1", etcd=e()))).topology_kind == "mixed"
    assert ControlPlane(nodes=(node("cp", api=a()), node("w"))).topology_kind == "none"
    assert ControlPlane(nodes=()).topology_kind == "none"


def test_members_apiservers_pods_and_lookups():
    ep, ap = etcd_pod(), api_pod()
    cp = ControlPlane(nodes=(node("cp1", etcd=ep, api=ap), node("e1", etcd=etcd_pod("e1", "10.0.0.9")),
                             node("w1")))
    assert [m.name for m in cp.members] == ["master", "e1"]
    assert len(cp.apiservers) == 1
    assert list(cp.pods()) == [ep, ap, cp.node("e1").pods[0]]
    assert cp.node("w1").role == "worker"
    with pytest.raises(KeyError):
        cp.node("nope")
    assert cp.node_of(ep).name == "cp1"
    assert cp.node_of(cp.members[1]).name == "e1"
    assert cp.node_of(cp.apiservers[0]).name == "cp1"
    with pytest.raises(KeyError):
        cp.node_of(etcd_pod("elsewhere"))
    assert cp.node("cp1").pod("kube-apiserver") is ap and cp.node("cp1").pod("kube-scheduler") is None
