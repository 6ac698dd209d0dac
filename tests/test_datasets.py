"""The bundled data sets: they load, they hold the clusters they claim, the generator made
them, the kubectl captures agree with the manifests, and the doctor finds in each broken
one the mistake it is about (and nothing wrong in the clean ones)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import etcdlab as el
from etcdlab.sources.bundled import data_root, dataset, datasets
from etcdlab.sources.files import load_file

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "make_datasets.py"

CLEAN = ["single-control-plane", "stacked-ha-3", "stacked-ha-3-v1.31", "single-control-plane-v1.34",
         "single-ipv6", "external-etcd-5"]
BROKEN = ["broken/wrong-port", "broken/wrong-scheme", "broken/ca-mismatch", "broken/initial-cluster-typo",
          "broken/client-cert-auth-off", "broken/data-dir-not-mounted", "broken/advertise-not-served",
          "broken/external-unknown-endpoint", "broken/no-client-cert", "broken/even-members"]
ALL = CLEAN + BROKEN


def _generator():
    spec = importlib.util.spec_from_file_location("make_datasets", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def _flags(pod) -> dict[str, str]:
    return pod.command.as_dict()


# -- every data set is there and loads both ways -------------------------------------------


def test_the_bundled_data_sets_are_exactly_the_expected_ones():
    assert sorted(d.name for d in datasets(broken=False)) == sorted(CLEAN)
    assert sorted(d.name for d in datasets(broken=True)) == sorted(BROKEN)


@pytest.mark.parametrize("name", ALL)
def test_loads_by_name_and_by_path_to_the_same_cluster(name):
    by_name = el.load(name)
    by_path = el.load(str(data_root() / name))
    assert by_name.name == name
    shape = [(n.name, n.role, n.address, sorted(p.component for p in n.pods)) for n in by_name.nodes]
    assert shape == [(n.name, n.role, n.address, sorted(p.component for p in n.pods)) for n in by_path.nodes]
    assert [_flags(m.pod) for m in by_name.members] == [_flags(m.pod) for m in by_path.members]


@pytest.mark.parametrize("name", ALL)
def test_metadata_and_readme(name):
    d = dataset(name)
    assert d.summary and "\n" not in d.summary
    assert d.topology in ("stacked", "external")
    assert re.fullmatch(r"v1\.\d+\.\d+", d.kubernetes)
    assert re.fullmatch(r"3\.\d+\.\d+", d.etcd)
    assert d.teaches
    readme = d.description
    assert readme.startswith(f"# {name}\n")
    assert d.kubernetes in readme and d.etcd in readme
    assert "${" not in readme
    # the images in the manifests are the versions the metadata claims
    cp = d.load()
    assert {p.image for p in cp.pods() if p.component == "etcd"} == {f"registry.k8s.io/etcd:{d.etcd}-0"}
    assert {p.image for p in cp.pods() if p.component == "kube-apiserver"} == \
        {f"registry.k8s.io/kube-apiserver:{d.kubernetes}"}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_readme_keeps_its_answer_for_the_end(name):
    d = dataset(name)
    assert d.expect
    readme = d.description
    title, _, rest = readme.partition("\n")
    story, sep, answer = rest.partition("<details>")
    assert sep, "the answer goes in a <details> block at the end"
    for e in d.expect:
        assert e.id not in story
        assert e.id in answer


@pytest.mark.parametrize("name", [n for n in BROKEN if dataset(n).extra.get("based_on")])
def test_a_broken_data_set_is_its_clean_twin_with_one_manifest_changed(name):
    broken = dataset(name)
    clean = dataset(broken.extra["based_on"])
    files = {p.relative_to(broken.nodes_dir).as_posix() for p in broken.nodes_dir.rglob("*.yaml")}
    assert files == {p.relative_to(clean.nodes_dir).as_posix() for p in clean.nodes_dir.rglob("*.yaml")}
    changed = [f for f in sorted(files)
               if (broken.nodes_dir / f).read_bytes() != (clean.nodes_dir / f).read_bytes()]
    assert len(changed) == 1, changed


# -- what each clean data set holds ---------------------------------------------------------

SHAPES = {
    # name: (nodes by role, members, apiservers, topology)
    "single-control-plane": ({"control-plane": ["master"], "worker": ["worker1", "worker2", "worker3"]},
                             1, 1, "stacked"),
    "single-control-plane-v1.34": ({"control-plane": ["master"]}, 1, 1, "stacked"),
    "single-ipv6": ({"control-plane": ["cp-v6"]}, 1, 1, "stacked"),
    "stacked-ha-3": ({"control-plane": ["cp1", "cp2", "cp3"]}, 3, 3, "stacked"),
    "stacked-ha-3-v1.31": ({"control-plane": ["cp1", "cp2", "cp3"]}, 3, 3, "stacked"),
    "external-etcd-5": ({"control-plane": ["cp1", "cp2", "cp3"],
                         "etcd": ["infra0", "infra1", "infra2", "infra3", "infra4"]}, 5, 3, "external"),
}


@pytest.mark.parametrize("name", CLEAN)
def test_nodes_members_and_apiservers(name):
    roles, members, apiservers, topology = SHAPES[name]
    cp = el.load(name)
    got: dict[str, list[str]] = {}
    for n in cp.nodes:
        got.setdefault(n.role, []).append(n.name)
    assert got == roles
    assert len(cp.members) == members
    assert len(cp.apiservers) == apiservers
    assert cp.topology_kind == topology
    for n in cp.nodes:
        if n.role == "control-plane":
            assert {p.component for p in n.pods} >= {"kube-apiserver", "kube-controller-manager", "kube-scheduler"}
        if n.etcd:
            assert n.etcd.name == n.name  # kubeadm names the member after the node


def test_single_control_plane_is_the_tutorials_cluster():
    cp = el.load("single-control-plane")
    master = cp.node("master")
    assert master.address == "10.128.15.226"
    assert [(n.name, n.address) for n in cp.nodes if n.role == "worker"] == [
        ("worker1", "10.128.15.227"), ("worker2", "10.128.15.228"), ("worker3", "10.128.15.229")]
    assert [str(e) for e in master.apiserver.etcd_servers] == ["https://127.0.0.1:2379"]
    assert [str(e) for e in master.etcd.listen_client_urls] == ["https://127.0.0.1:2379", "https://10.128.15.226:2379"]
    assert master.etcd.initial_cluster_state == "new"


@pytest.mark.parametrize("name", ["stacked-ha-3", "stacked-ha-3-v1.31"])
def test_stacked_initial_cluster_grows_as_nodes_join(name):
    cp = el.load(name)
    peers = {"cp1": "https://10.0.0.11:2380", "cp2": "https://10.0.0.12:2380", "cp3": "https://10.0.0.13:2380"}
    lists = {m.name: [(n, str(u)) for n, u in m.initial_cluster] for m in cp.members}
    assert lists == {
        "cp1": [("cp1", peers["cp1"])],
        "cp2": [("cp1", peers["cp1"]), ("cp2", peers["cp2"])],
        "cp3": [("cp1", peers["cp1"]), ("cp2", peers["cp2"]), ("cp3", peers["cp3"])],
    }
    assert {m.name: m.initial_cluster_state for m in cp.members} == {"cp1": "new", "cp2": "existing",
                                                                     "cp3": "existing"}
    assert not cp.node("cp1").etcd.pod.command.has("initial-cluster-state")  # init leaves the default
    for m in cp.members:
        assert str(m.peer_url) == peers[m.name]
    for api in cp.apiservers:
        assert [str(e) for e in api.etcd_servers] == ["https://127.0.0.1:2379"]


def test_external_etcd_members_and_apiserver_endpoints():
    cp = el.load("external-etcd-5")
    hosts = [f"10.0.1.{i}" for i in range(11, 16)]
    endpoints = [f"https://{h}:2379" for h in hosts]
    everyone = [(f"infra{i}", f"https://{h}:2380") for i, h in enumerate(hosts)]
    for m in cp.members:
        node = cp.node_of(m)
        assert node.role == "etcd" and [p.component for p in node.pods] == ["etcd"]
        assert [(n, str(u)) for n, u in m.initial_cluster] == everyone
        assert m.initial_cluster_state == "new" and m.pod.command.get("initial-cluster-state") == "new"
        assert [str(e) for e in m.listen_client_urls] == [f"https://{node.address}:2379"]
        assert [str(e) for e in m.advertise_client_urls] == [f"https://{node.address}:2379"]
    assert sorted(str(e) for m in cp.members for e in m.advertise_client_urls) == endpoints
    for api in cp.apiservers:
        assert [str(e) for e in api.etcd_servers] == endpoints
        assert api.etcd_cafile == "/etc/kubernetes/pki/etcd/ca.crt"
        assert api.etcd_certfile == "/etc/kubernetes/pki/apiserver-etcd-client.crt"
        assert api.etcd_keyfile == "/etc/kubernetes/pki/apiserver-etcd-client.key"


def test_ipv6_uses_brackets_and_the_ipv6_loopback():
    cp = el.load("single-ipv6")
    node = cp.nodes[0]
    assert node.address == "fd00:10::10"
    (server,) = node.apiserver.etcd_servers
    assert server.raw == "https://[::1]:2379" and server.host == "::1" and server.is_loopback
    assert [e.raw for e in node.etcd.listen_client_urls] == ["https://[::1]:2379", "https://[fd00:10::10]:2379"]
    assert node.etcd.listen_metrics_urls[0].raw == "http://[::1]:2381"
    assert node.etcd.peer_url.raw == "https://[fd00:10::10]:2380"


def test_kubeadm_generations_differ_in_etcd_flags_and_probes():
    old = _flags(el.load("single-control-plane").members[0].pod)
    new = _flags(el.load("single-control-plane-v1.34").members[0].pod)
    assert old["experimental-initial-corrupt-check"] == "true"
    assert old["experimental-watch-progress-notify-interval"] == "5s"
    assert not any(k.startswith("experimental-") for k in new)
    assert new["feature-gates"] == "InitialCorruptCheck=true"
    assert new["watch-progress-notify-interval"] == "5s"
    probes_28 = {p.kind: str(p) for p in el.load("stacked-ha-3").members[0].pod.probes}
    probes_31 = {p.kind: str(p) for p in el.load("stacked-ha-3-v1.31").members[0].pod.probes}
    assert "readiness" not in probes_28 and probes_28["liveness"].endswith("/health?exclude=NOSPACE&serializable=true")
    assert probes_31["liveness"] == "HTTP 127.0.0.1:2381/livez" and probes_31["readiness"].endswith("/readyz")


# -- the kubectl captures -------------------------------------------------------------------

TUTORIAL_LINE = "etcd-master 1/1 Running 2 32h 10.128.15.226 master <none> <none>"


def test_get_po_wide_parses_and_holds_the_tutorials_etcd_line():
    text = dataset("single-control-plane").read("kubectl/get-po-o-wide.txt")
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [" ".join(line.split()) for line in lines if line.startswith("etcd-")] == [TUTORIAL_LINE]
    rows = el.parse_pod_table(text)
    assert [r.name for r in rows] == sorted(r.name for r in rows)  # kubectl sorts by name
    etcd = next(r for r in rows if r.component == "etcd")
    assert (etcd.name, etcd.ready, etcd.status, etcd.restart_count, etcd.age, etcd.ip, etcd.node) == \
        ("etcd-master", "1/1", "Running", 2, "32h", "10.128.15.226", "master")
    assert {r.node for r in rows if r.name.startswith("kube-proxy-")} == {"master", "worker1", "worker2", "worker3"}


def test_get_po_wide_is_aligned_like_kubectls_tabwriter():
    lines = dataset("single-control-plane").read("kubectl/get-po-o-wide.txt").splitlines()
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?<!\S)\S+(?: \S+)*", header)]  # "NOMINATED NODE" is one column
    assert len(starts) == 9
    for line in lines:
        for a, b in zip(starts, starts[1:]):
            assert line[b - 3:b] == "   " and line[b] != " ", (line, b)  # three spaces of padding, then the cell
        assert not line.endswith(" ")  # the last cell is not padded


def test_kubectl_yaml_and_json_captures_hold_the_static_manifests_flags():
    d = dataset("single-control-plane")
    static = el.load("single-control-plane").node("master")
    for capture, component in [("etcd-master.yaml", "etcd"), ("etcd-master.json", "etcd"),
                               ("kube-apiserver-master.yaml", "kube-apiserver")]:
        cp = el.load(str(d.file(f"kubectl/{capture}")))
        (node,) = cp.nodes
        (pod,) = node.pods
        assert node.name == "master"
        assert pod.name == f"{component}-master" and pod.node_name == "master"
        assert pod.component == component
        assert _flags(pod) == _flags(static.pod(component))
        assert pod.volumes == static.pod(component).volumes
        assert pod.status.restarts == 2 and pod.status.host_ip == "10.128.15.226" and pod.status.ready
        assert pod.status.phase == "Running" and pod.status.start_time
        annotations = dict(pod.annotations)
        assert annotations["kubernetes.io/config.source"] == "file"
        assert annotations["kubernetes.io/config.hash"] == annotations["kubernetes.io/config.mirror"]
        assert re.fullmatch(r"[0-9a-f]{32}", annotations["kubernetes.io/config.hash"])


def test_kubectl_yaml_capture_has_what_the_api_server_adds():
    import yaml

    d = dataset("single-control-plane")
    pod = yaml.safe_load(d.read("kubectl/etcd-master.yaml"))
    assert pod["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "controller": True, "kind": "Node", "name": "master",
         "uid": pod["metadata"]["ownerReferences"][0]["uid"]}]
    spec = pod["spec"]
    assert (spec["dnsPolicy"], spec["enableServiceLinks"], spec["restartPolicy"], spec["schedulerName"],
            spec["terminationGracePeriodSeconds"], spec["nodeName"]) == \
        ("ClusterFirst", True, "Always", "default-scheduler", 30, "master")
    assert spec["tolerations"] == [{"effect": "NoExecute", "operator": "Exists"}]
    c = spec["containers"][0]
    assert c["terminationMessagePath"] == "/dev/termination-log" and c["terminationMessagePolicy"] == "File"
    status = pod["status"]
    assert {c["type"] for c in status["conditions"]} == {"Initialized", "Ready", "ContainersReady", "PodScheduled"}
    assert status["podIP"] == status["hostIP"] == "10.128.15.226"  # hostNetwork
    assert status["containerStatuses"][0]["restartCount"] == 2
    # the JSON capture is the same object
    import json

    assert json.loads(d.read("kubectl/etcd-master.json")) == pod


def test_kubectl_list_capture_holds_the_four_control_plane_pods():
    d = dataset("single-control-plane")
    path = d.file("kubectl/get-po-o-yaml.yaml")
    assert "kind: List" in path.read_text()
    cp = load_file(path)
    (node,) = cp.nodes
    static = el.load("single-control-plane").node("master")
    assert node.name == "master" and node.role == "control-plane" and node.address == "10.128.15.226"
    assert [p.name for p in node.pods] == ["etcd-master", "kube-apiserver-master",
                                          "kube-controller-manager-master", "kube-scheduler-master"]
    for pod in node.pods:
        assert _flags(pod) == _flags(static.pod(pod.component))


# -- the generator made data/ ---------------------------------------------------------------


def test_the_committed_data_is_what_the_generator_writes():
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_generator_is_deterministic_and_check_notices_changes(tmp_path, capsys):
    gen = _generator()
    out = tmp_path / "data"
    assert gen.main(["--out", str(out)]) == 0
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert gen.main(["--out", str(out)]) == 0
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    assert gen.main(["--check", "--out", str(out)]) == 0

    etcd = out / "stacked-ha-3" / "nodes" / "cp2" / "etcd.yaml"
    etcd.write_text(etcd.read_text().replace("--snapshot-count=10000", "--snapshot-count=5000"))
    assert gen.main(["--check", "--out", str(out)]) == 1
    assert "differs  stacked-ha-3/nodes/cp2/etcd.yaml" in capsys.readouterr().out
    assert gen.main(["--out", str(out)]) == 0
    (out / "stray.yaml").write_text("kind: Pod\n")
    assert gen.main(["--check", "--out", str(out)]) == 1
    assert gen.main(["--out", str(out)]) == 0
    assert not (out / "stray.yaml").exists()
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first


# -- the doctor agrees ------------------------------------------------------------------------
# (etcdlab/doctor.py is written alongside these data sets; these tests need it.)


def _findings(name):
    from etcdlab.diagnosis.checkup import doctor

    return list(doctor(el.load(name)))


@pytest.mark.parametrize("name", CLEAN)
def test_a_clean_data_set_has_no_error_finding(name):
    errors = [(f.id, getattr(f, "node", None)) for f in _findings(name) if f.severity == "error"]
    assert errors == []


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_data_set_produces_its_expected_finding(name):
    found = [(f.id, f.severity, getattr(f, "node", None)) for f in _findings(name)]
    for e in dataset(name).expect:
        assert any(fid == e.id and sev == e.severity and (e.node is None or node == e.node)
                   for fid, sev, node in found), (e, found)


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_data_set_has_no_other_error(name):
    expected = {e.id for e in dataset(name).expect}
    others = sorted({f.id for f in _findings(name) if f.severity == "error"} - expected)
    assert others == []
