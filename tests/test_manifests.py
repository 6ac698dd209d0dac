"""etcdlab.sources.loading: files, directories, kubectl output → one ControlPlane."""

from __future__ import annotations

import copy
import json
import os
import textwrap
from pathlib import Path

import pytest

import etcdlab
from etcdlab import kubeadm
from etcdlab.errors import EtcdlabError, FlagError, ManifestError
from etcdlab.model.control_plane import Probe
from etcdlab.sources.files import load_directory, load_file
from etcdlab.sources.kubectl import PodRow, nodes_from_pod_table, parse_pod_table
from etcdlab.sources.loading import load, load_text
from etcdlab.sources.pods import pods_from_text

ADV = "10.128.15.226"


def write(path: Path, obj, fmt: str = "yaml") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(kubeadm.to_yaml(obj) if fmt == "yaml" else json.dumps(obj, indent=2))
    return path


def node_dir(path: Path, node: str, advertise: str, *, etcd=True, api=True, others=False, **etcd_kw) -> Path:
    """What /etc/kubernetes/manifests holds on one kubeadm node."""
    if etcd:
        write(path / "etcd.yaml", kubeadm.etcd_manifest(node, advertise, **etcd_kw))
    if api:
        write(path / "kube-apiserver.yaml", kubeadm.apiserver_manifest(node, advertise))
    if others:
        write(path / "kube-controller-manager.yaml", kubeadm.controller_manager_manifest(advertise))
        write(path / "kube-scheduler.yaml", kubeadm.scheduler_manifest(advertise))
    return path


def as_kubectl(pod: dict, node: str, host_ip: str, restarts: int = 2) -> dict:
    """A static manifest as ``kubectl get po NAME -o yaml`` shows its mirror Pod."""
    out = copy.deepcopy(pod)
    component = out["metadata"]["name"]
    out["metadata"]["name"] = f"{component}-{node}"
    out["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node, "controller": True}]
    out["spec"]["nodeName"] = node
    out["status"] = {"phase": "Running", "hostIP": host_ip, "podIP": host_ip, "startTime": "2023-10-14T10:22:11Z",
                     "containerStatuses": [{"name": component, "ready": True, "restartCount": restarts}]}
    return out


def pod_list(*pods: dict, kind: str = "List") -> dict:
    return {"apiVersion": "v1", "kind": kind, "items": list(pods), "metadata": {"resourceVersion": ""}}


# -- one file ------------------------------------------------------------------------------------


def test_an_etcd_manifest_alone_is_one_etcd_node(tmp_path):
    f = write(tmp_path / "etcd.yaml", kubeadm.etcd_manifest("master", ADV))
    cp = load(f)
    (node,) = cp.nodes
    assert (node.name, node.address, node.role) == ("master", ADV, "etcd")
    assert node.etcd.name == "master" and node.apiserver is None
    assert node.pods[0].file == str(f) and cp.source == str(f)
    assert cp.topology_kind == "external"  # an etcd member with no apiserver next to it


def test_pod_fields_from_a_kubeadm_manifest(tmp_path):
    f = write(tmp_path / "etcd.yaml", kubeadm.etcd_manifest("master", ADV, generation="1.31"))
    pod = load(f).nodes[0].pods[0]
    assert (pod.name, pod.namespace, pod.component) == ("etcd", "kube-system", "etcd")
    assert pod.image == "registry.k8s.io/etcd:3.5.15-0"
    assert pod.host_network and pod.priority_class == "system-node-critical"
    assert pod.probes == (Probe("liveness", "HTTP", "127.0.0.1", 2381, "/livez"),
                          Probe("readiness", "HTTP", "127.0.0.1", 2381, "/readyz"),
                          Probe("startup", "HTTP", "127.0.0.1", 2381, "/readyz"))
    assert str(pod.probe("liveness")) == "HTTP 127.0.0.1:2381/livez" and pod.probe("nothing") is None
    assert pod.status is None and pod.node_name is None
    assert ("tier", "control-plane") in pod.labels


def test_file_mode_and_owner_are_recorded(tmp_path):
    f = write(tmp_path / "etcd.yaml", kubeadm.etcd_manifest("master", ADV))
    f.chmod(0o600)
    pod = load_file(f).nodes[0].pods[0]
    assert pod.file_mode == 0o600 and ":" in pod.file_owner
    f.chmod(0o644)
    assert load_file(f).nodes[0].pods[0].file_mode == 0o644
    assert load_file(f, record_modes=False).nodes[0].pods[0].file_mode is None
    # load() records them only for the node's own /etc/kubernetes/manifests, not for a copy
    assert load(f).nodes[0].pods[0].file_mode is None


def test_multi_document_yaml_is_one_node_with_every_pod(tmp_path):
    docs = [kubeadm.etcd_manifest("master", ADV), kubeadm.apiserver_manifest("master", ADV),
            kubeadm.scheduler_manifest(ADV)]
    f = tmp_path / "all.yaml"
    f.write_text("---\n" + "\n---\n".join(kubeadm.to_yaml(d) for d in docs) + "---\n# trailing empty document\n")
    (node,) = load(f).nodes
    assert [p.component for p in node.pods] == ["etcd", "kube-apiserver", "kube-scheduler"]
    assert node.role == "control-plane" and node.address == ADV
    # each pod knows its own lines in the shared file
    lines = f.read_text().splitlines()
    assert lines[node.apiserver.pod.line_of("etcd-servers") - 1].strip() == "- --etcd-servers=https://127.0.0.1:2379"


def test_json_manifest(tmp_path):
    f = write(tmp_path / "etcd.json", kubeadm.etcd_manifest("master", ADV), fmt="json")
    (node,) = load(f).nodes
    assert node.etcd.name == "master" and node.etcd.snapshot_count == 10000
    assert node.etcd.pod.line_of("name") is None  # JSON gives no lines


def test_json_single_line_and_yaml_flow_mapping():
    pod = kubeadm.etcd_manifest("m", ADV)
    assert load_text(json.dumps(pod)).members[0].name == "m"
    flow = "{kind: Pod, spec: {containers: [{name: etcd, command: [etcd, --name=flow]}]}}"
    assert load_text(flow).members[0].name == "flow"


def test_a_byte_order_mark_is_fine(tmp_path):
    f = tmp_path / "etcd.yaml"
    f.write_bytes(b"\xef\xbb\xbf" + kubeadm.to_yaml(kubeadm.etcd_manifest("bom", ADV)).encode())
    assert load(f).members[0].name == "bom"


def test_command_plus_args(tmp_path):
    f = tmp_path / "etcd.yaml"
    f.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Pod
        metadata: {name: etcd, namespace: kube-system}
        spec:
          containers:
          - name: etcd
            image: registry.k8s.io/etcd:3.5.9-0
            command: ["etcd"]
            args:
            - --name
            - lab
            - --listen-client-urls=https://127.0.0.1:2379
            - --client-cert-auth
            - --snapshot-count
            - "10000"
        """))
    m = load(f).members[0]
    assert (m.name, m.client_cert_auth, m.snapshot_count) == ("lab", True, 10000)
    assert m.pod.line_of("name") == 10 and m.pod.line_of("listen-client-urls") == 12
    assert m.pod.line_of("snapshot-count") == 14 and m.pod.line == 8


def test_args_without_command_run_the_images_entrypoint():
    text = textwrap.dedent("""\
        kind: Pod
        spec:
          containers:
          - name: etcd
            image: quay.io/coreos/etcd:v3.5.9@sha256:abc
            args:
            - --name=solo
            - --listen-client-urls=https://127.0.0.1:2379
        """)
    (node,) = load_text(text, "etcd.yaml").nodes
    pod = node.pods[0]
    assert pod.command.program == "etcd" and pod.component == "etcd"
    assert node.etcd.name == "solo" and node.name == "solo"
    assert pod.line_of("name") == 7 and pod.line_of("listen-client-urls") == 8


def test_the_control_plane_container_is_found_among_sidecars():
    pod = kubeadm.etcd_manifest("m", ADV)
    pod["spec"]["containers"].insert(0, {"name": "sidecar", "image": "busybox", "command": ["sleep", "inf"]})
    (node,) = load_text(kubeadm.to_yaml(pod)).nodes
    assert node.etcd.name == "m" and node.pods[0].image.startswith("registry.k8s.io/etcd")


def test_flag_lines_follow_the_file():
    text = kubeadm.to_yaml(kubeadm.etcd_manifest("master", ADV))
    pod = load_text(text, "etcd.yaml").nodes[0].pods[0]
    lines = text.splitlines()
    for flag in pod.command:
        assert lines[pod.line_of(flag.name) - 1].strip() == f"- {flag.raw}"


def test_flow_style_command_puts_every_flag_on_its_line():
    text = "kind: Pod\nspec:\n  containers:\n  - name: etcd\n    command: [etcd, --name=a,\n      --data-dir=/d]\n"
    pod = load_text(text).nodes[0].pods[0]
    assert pod.line_of("name") == 5 and pod.line_of("data-dir") == 6


# -- Pods that are not the control plane ---------------------------------------------------------

# The static Pods of the kubeadm HA guide (kubernetes/kubeadm docs/ha-considerations.md, "Option 2:
# Run the services as static pods"), with ${APISERVER_DEST_PORT} filled in: no command, the image's
# entrypoint runs.
KEEPALIVED_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  name: keepalived
  namespace: kube-system
spec:
  containers:
  - image: osixia/keepalived:2.0.17
    name: keepalived
    resources: {}
    securityContext:
      capabilities:
        add:
        - NET_ADMIN
        - NET_BROADCAST
        - NET_RAW
    volumeMounts:
    - mountPath: /usr/local/etc/keepalived/keepalived.conf
      name: config
    - mountPath: /etc/keepalived/check_apiserver.sh
      name: check
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/keepalived/keepalived.conf
    name: config
  - hostPath:
      path: /etc/keepalived/check_apiserver.sh
    name: check
status: {}
"""

HAPROXY_YAML = """\
apiVersion: v1
kind: Pod
metadata:
  name: haproxy
  namespace: kube-system
spec:
  containers:
  - image: haproxy:2.1.4
    name: haproxy
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: localhost
        path: /healthz
        port: 8443
        scheme: HTTPS
    volumeMounts:
    - mountPath: /usr/local/etc/haproxy/haproxy.cfg
      name: haproxyconf
      readOnly: true
  hostNetwork: true
  volumes:
  - hostPath:
      path: /etc/haproxy/haproxy.cfg
      type: FileOrCreate
    name: haproxyconf
status: {}
"""


def test_a_kubeadm_ha_node_with_haproxy_and_keepalived_static_pods(tmp_path):
    d = node_dir(tmp_path / "manifests", "cp1", "10.0.0.11", others=True)
    (d / "haproxy.yaml").write_text(HAPROXY_YAML)
    (d / "keepalived.yaml").write_text(KEEPALIVED_YAML)
    (node,) = load(d).nodes
    assert node.name == "cp1" and node.etcd.name == "cp1" and node.apiserver is not None
    pods = {p.name: p for p in node.pods}
    assert sorted(pods) == ["etcd", "haproxy", "keepalived", "kube-apiserver", "kube-controller-manager",
                            "kube-scheduler"]
    haproxy, keepalived = pods["haproxy"], pods["keepalived"]
    # no command: the image's entrypoint is the program, with no flags, and no component of ours
    assert (haproxy.command.program, len(haproxy.command), haproxy.component) == ("haproxy", 0, None)
    assert (keepalived.command.program, keepalived.component, keepalived.host_network) == ("keepalived", None, True)
    assert haproxy.probes == (Probe("liveness", "HTTPS", "localhost", 8443, "/healthz"),)
    assert keepalived.host_path("/etc/keepalived/check_apiserver.sh") == "/etc/keepalived/check_apiserver.sh"
    assert [f.id for f in etcdlab.doctor(d) if f.severity == "error"] == []


CALICO_NODE = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {
        "creationTimestamp": "2023-10-13T07:47:10Z", "generateName": "calico-node-",
        "labels": {"controller-revision-hash": "6f7c9b9f8d", "k8s-app": "calico-node",
                   "pod-template-generation": "1"},
        "name": "calico-node-7xk2p", "namespace": "kube-system",
        "ownerReferences": [{"apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
                             "kind": "DaemonSet", "name": "calico-node",
                             "uid": "2f1d6a4e-7c1b-4f57-9a53-6d0b8f6f1e11"}],
    },
    "spec": {
        "containers": [{
            "env": [{"name": "DATASTORE_TYPE", "value": "kubernetes"},
                    {"name": "CALICO_NETWORKING_BACKEND",
                     "valueFrom": {"configMapKeyRef": {"key": "calico_backend", "name": "calico-config"}}},
                    {"name": "IP", "value": "autodetect"}],
            "image": "docker.io/calico/node:v3.26.1", "imagePullPolicy": "IfNotPresent",
            "lifecycle": {"preStop": {"exec": {"command": ["/bin/calico-node", "-shutdown"]}}},
            "livenessProbe": {"exec": {"command": ["/bin/calico-node", "-felix-live", "-bird-live"]},
                              "failureThreshold": 6, "initialDelaySeconds": 10, "periodSeconds": 10},
            "name": "calico-node",
            "readinessProbe": {"exec": {"command": ["/bin/calico-node", "-felix-ready", "-bird-ready"]},
                               "periodSeconds": 10, "timeoutSeconds": 10},
            "resources": {"requests": {"cpu": "250m"}},
            "securityContext": {"privileged": True},
            "volumeMounts": [{"mountPath": "/host/etc/cni/net.d", "name": "cni-net-dir"},
                             {"mountPath": "/lib/modules", "name": "lib-modules", "readOnly": True},
                             {"mountPath": "/var/run/calico", "name": "var-run-calico"}],
        }],
        "hostNetwork": True,
        "initContainers": [
            {"command": ["/opt/cni/bin/calico-ipam", "-upgrade"], "image": "docker.io/calico/cni:v3.26.1",
             "name": "upgrade-ipam"},
            {"command": ["/opt/cni/bin/install"], "image": "docker.io/calico/cni:v3.26.1", "name": "install-cni"}],
        "nodeName": "master", "priorityClassName": "system-node-critical", "serviceAccountName": "calico-node",
        "volumes": [{"hostPath": {"path": "/etc/cni/net.d", "type": ""}, "name": "cni-net-dir"},
                    {"hostPath": {"path": "/lib/modules", "type": ""}, "name": "lib-modules"},
                    {"hostPath": {"path": "/var/run/calico", "type": ""}, "name": "var-run-calico"}],
    },
    "status": {"containerStatuses": [{"name": "calico-node", "ready": True, "restartCount": 0}],
               "hostIP": ADV, "phase": "Running", "podIP": ADV, "startTime": "2023-10-13T07:47:10Z"},
}


def test_kubectl_get_po_all_namespaces_with_a_cni_pod(tmp_path):
    """The bundled kubectl List capture, plus the calico-node Pod that -A shows next to them."""
    import yaml

    from etcdlab.sources.bundled import dataset

    listing = yaml.safe_load(dataset("single-control-plane").read("kubectl/get-po-o-yaml.yaml"))
    listing["items"].append(copy.deepcopy(CALICO_NODE))
    f = tmp_path / "get-po-A-o-yaml.yaml"
    f.write_text(yaml.safe_dump(listing, sort_keys=False))
    (node,) = load(f).nodes
    assert node.name == "master" and node.etcd.name == "master" and len(node.pods) == 5
    calico = node.pods[-1]
    assert (calico.name, calico.command.program, calico.component) == ("calico-node-7xk2p", "node", None)
    assert [(p.kind, p.scheme) for p in calico.probes] == [("liveness", "EXEC"), ("readiness", "EXEC")]
    assert [f.id for f in etcdlab.doctor(f) if f.severity == "error"] == []


@pytest.mark.parametrize("where", ["label", "name", "image", "mirror name"])
def test_etcd_and_the_apiserver_still_need_their_command(where):
    pod = {"kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    if where == "label":
        pod["metadata"]["labels"] = {"component": "kube-apiserver"}
    elif where == "name":
        pod["metadata"]["name"] = "etcd"
    elif where == "image":
        pod["spec"]["containers"][0]["image"] = "registry.k8s.io/kube-apiserver:v1.28.2"
    else:
        pod["metadata"]["name"], pod["spec"]["nodeName"] = "etcd-cp1", "cp1"
    with pytest.raises(ManifestError, match=r"<text>:\d+: c has no command, but this is the (etcd|kube-apiserver) Pod"):
        load_text(kubeadm.to_yaml(pod))


# -- kubectl -o yaml / -o json -------------------------------------------------------------------


def test_kubectl_get_pod_yaml_names_the_node_and_keeps_the_status(tmp_path):
    f = write(tmp_path / "etcd-master.yaml", as_kubectl(kubeadm.etcd_manifest("master", ADV), "master", ADV))
    (node,) = load(f).nodes
    pod = node.pods[0]
    assert pod.name == "etcd-master" and pod.node_name == "master" and node.name == "master"
    assert (pod.status.phase, pod.status.host_ip, pod.status.ready, pod.status.restarts) == ("Running", ADV, True, 2)
    assert pod.status.start_time == "2023-10-14T10:22:11Z"


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("kind", ["List", "PodList"])
def test_kubectl_list_groups_pods_by_node(tmp_path, fmt, kind):
    ips = {"cp1": "10.0.0.1", "cp2": "10.0.0.2", "cp3": "10.0.0.3"}
    peers = [(n, f"https://{ip}:2380") for n, ip in ips.items()]
    items = []
    for n, ip in ips.items():
        items.append(as_kubectl(kubeadm.etcd_manifest(n, ip, initial_cluster=peers), n, ip))
        items.append(as_kubectl(kubeadm.apiserver_manifest(n, ip), n, ip))
    items.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-a-pod"}, "data": {}})
    f = write(tmp_path / f"kube-system.{fmt}", pod_list(*items, kind=kind), fmt=fmt)
    cp = load(f)
    assert [n.name for n in cp.nodes] == ["cp1", "cp2", "cp3"]
    assert [n.address for n in cp.nodes] == list(ips.values())
    assert all(n.role == "control-plane" for n in cp.nodes) and cp.topology_kind == "stacked"
    assert [len(m.initial_cluster) for m in cp.members] == [3, 3, 3]
    if fmt == "yaml":  # lines inside a List point into the big file
        lines = f.read_text().splitlines()
        pod = cp.node("cp2").etcd.pod
        assert lines[pod.line_of("name") - 1].strip() == "- --name=cp2"


def test_list_items_without_kind_are_pods_as_kubectl_writes_them():
    item = as_kubectl(kubeadm.etcd_manifest("m", ADV), "m", ADV)
    del item["kind"]
    assert load_text(kubeadm.to_yaml(pod_list(item))).members[0].name == "m"


def test_an_empty_list_holds_no_pod():
    with pytest.raises(ManifestError, match=r"^get\.yaml: holds no Pod; give a Pod manifest"):
        load_text(kubeadm.to_yaml(pod_list()), "get.yaml")


def test_a_list_of_other_kinds_holds_no_pod():
    with pytest.raises(ManifestError, match="holds no Pod"):
        load_text(kubeadm.to_yaml(pod_list({"kind": "Service", "metadata": {"name": "s"}})), "svc.yaml")


# -- node names, addresses, roles ----------------------------------------------------------------


def test_node_name_from_the_etcd_member_name():
    assert load_text(kubeadm.to_yaml(kubeadm.etcd_manifest("cp-7", ADV))).nodes[0].name == "cp-7"


def test_node_name_from_a_mirror_pod_name_without_node_name():
    pod = as_kubectl(kubeadm.apiserver_manifest("x", ADV), "cp9", ADV)
    del pod["spec"]["nodeName"]
    (node,) = load_text(kubeadm.to_yaml(pod)).nodes
    assert node.name == "cp9" and node.role == "control-plane"


def test_node_name_given_by_the_caller_and_the_last_resort():
    text = kubeadm.to_yaml(kubeadm.apiserver_manifest("x", ADV))
    assert load_text(text, node="given").nodes[0].name == "given"
    assert load_text(text).nodes[0].name == "node"


def test_node_address_from_apiserver_then_etcd_then_status():
    api = kubeadm.apiserver_manifest("x", "10.0.0.5")
    assert load_text(kubeadm.to_yaml(api)).nodes[0].address == "10.0.0.5"
    # etcd's non-loopback advertised URL when there is no apiserver
    assert load_text(kubeadm.to_yaml(kubeadm.etcd_manifest("e", "10.0.0.6"))).nodes[0].address == "10.0.0.6"
    # an etcd that only listens on loopback: the address kubectl reports
    lo = kubeadm.etcd_manifest("e", "127.0.0.1")
    assert load_text(kubeadm.to_yaml(lo)).nodes[0].address is None
    assert load_text(kubeadm.to_yaml(as_kubectl(lo, "e", "10.0.0.7"))).nodes[0].address == "10.0.0.7"


def test_roles(tmp_path):
    node_dir(tmp_path / "cp", "cp", "10.0.0.1", etcd=False)
    node_dir(tmp_path / "e1", "e1", "10.0.0.2", api=False)
    node_dir(tmp_path / "both", "both", "10.0.0.3")
    (tmp_path / "sched").mkdir()
    write(tmp_path / "sched" / "kube-scheduler.yaml", kubeadm.scheduler_manifest("10.0.0.4"))
    roles = {n.name: n.role for n in load(tmp_path).nodes}
    assert roles == {"cp": "control-plane", "e1": "etcd", "both": "control-plane", "sched": "worker"}


# -- directories ---------------------------------------------------------------------------------


def test_one_nodes_manifest_directory(tmp_path):
    d = node_dir(tmp_path / "manifests", "master", ADV, others=True)
    cp = load(d)
    (node,) = cp.nodes
    assert node.name == "master" and node.role == "control-plane" and node.address == ADV
    assert sorted(p.component for p in node.pods) == ["etcd", "kube-apiserver", "kube-controller-manager",
                                                      "kube-scheduler"]
    assert cp.source == str(d) and cp.topology_kind == "stacked"
    assert load(str(d)) == cp  # a str or a Path


def test_a_directory_of_node_directories_is_a_cluster(tmp_path):
    ips = {"cp1": "10.0.0.1", "cp2": "10.0.0.2", "cp3": "10.0.0.3"}
    peers = []
    for n, ip in ips.items():
        peers.append((n, f"https://{ip}:2380"))
        node_dir(tmp_path / n, n, ip, initial_cluster=list(peers), state="new" if n == "cp1" else "existing",
                 others=True)
    cp = load(tmp_path)
    assert [n.name for n in cp.nodes] == ["cp1", "cp2", "cp3"]
    assert [n.address for n in cp.nodes] == list(ips.values())
    assert [len(m.initial_cluster) for m in cp.members] == [1, 2, 3]
    assert [m.initial_cluster_state for m in cp.members] == ["new", "existing", "existing"]
    assert cp.topology_kind == "stacked" and len(list(cp.pods())) == 12
    assert cp.node("cp2").source == str(tmp_path / "cp2")


def test_external_topology_in_node_directories(tmp_path):
    etcd_ips = ["10.0.1.1", "10.0.1.2", "10.0.1.3"]
    servers = [f"https://{ip}:2379" for ip in etcd_ips]
    for i, ip in enumerate(etcd_ips, 1):
        node_dir(tmp_path / f"etcd-{i}", f"etcd-{i}", ip, api=False)
    for i in (1, 2):
        d = tmp_path / f"cp-{i}"
        write(d / "kube-apiserver.yaml", kubeadm.apiserver_manifest(f"cp-{i}", f"10.0.0.{i}", etcd_servers=servers))
    cp = load(tmp_path)
    assert cp.topology_kind == "external"
    assert {n.name: n.role for n in cp.nodes} == {"cp-1": "control-plane", "cp-2": "control-plane",
                                                  "etcd-1": "etcd", "etcd-2": "etcd", "etcd-3": "etcd"}
    assert [len(a.etcd_servers) for a in cp.apiservers] == [3, 3]


def test_the_directory_names_a_node_whose_pods_do_not(tmp_path):
    write(tmp_path / "cp-x" / "kube-apiserver.yaml", kubeadm.apiserver_manifest("x", "10.0.0.1"))
    write(tmp_path / "manifests" / "kube-apiserver.yaml", kubeadm.apiserver_manifest("x", "10.0.0.2"))
    assert load(tmp_path / "cp-x").nodes[0].name == "cp-x"
    assert load(tmp_path / "manifests").nodes[0].name == "node"  # "manifests" names no node


def test_hidden_and_other_files_are_ignored(tmp_path):
    d = node_dir(tmp_path / "manifests", "master", ADV)
    (d / ".etcd.yaml.swp").write_bytes(b"\x00\x01binary swap")
    (d / ".hidden.yaml").write_text("not: [valid")
    (d / ".notes.txt").write_text("these are notes, not a kubectl table\n")
    (d / "README.md").write_text("# notes\n")
    (d / "etcd.yaml.bak").write_text("garbage: [")
    (d / ".git").mkdir()
    (d / ".git" / "bad.yaml").write_text("garbage: [")
    (d / "empty-subdir").mkdir()
    (node,) = load(d).nodes
    assert len(node.pods) == 2


def test_a_bad_file_in_a_directory_is_named(tmp_path):
    d = node_dir(tmp_path / "manifests", "master", ADV)
    (d / "kube-scheduler.yaml").write_text("kind: Pod\nspec:\n  containers:\n  - name: s\n    command: sched\n")
    with pytest.raises(ManifestError) as info:
        load(d)
    assert str(info.value).startswith(f"{d / 'kube-scheduler.yaml'}:5: spec.containers[0].command must be a list")


def test_an_empty_directory_is_an_error(tmp_path):
    with pytest.raises(ManifestError, match="holds no manifests"):
        load(tmp_path)


def test_an_unreadable_directory_is_an_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every directory")
    d = node_dir(tmp_path / "locked", "m", ADV)
    d.chmod(0)
    try:
        with pytest.raises(ManifestError, match="cannot be"):
            load(d)
    finally:
        d.chmod(0o755)


def test_a_data_set_directory_is_loaded_as_a_data_set(tmp_path):
    ds = tmp_path / "my-lab"
    node_dir(ds / "nodes" / "master", "master", ADV)
    (ds / "dataset.yaml").write_text("name: my-lab\nsummary: one node\ntopology: stacked\n")
    cp = load(ds)
    assert cp.name == "my-lab" and cp.description == "one node" and cp.nodes[0].name == "master"


def test_a_bundled_data_set_by_name_matches_its_directory():
    from etcdlab.sources import bundled as datasets

    clean = datasets.datasets(broken=False)
    if not clean:
        pytest.skip("no bundled data sets in this checkout")
    d = clean[0]
    assert load(d.name) == d.load()
    assert load(d.name).name == d.name


def backup_of_etcd(name: str = "etcd", data_dir: str = "/var/lib/etcd-old") -> dict:
    """A copy of the node's etcd.yaml kept for later: same member, another Pod name and data dir."""
    pod = kubeadm.etcd_manifest("master", ADV, data_dir=data_dir)
    pod["metadata"]["name"] = name
    return pod


def test_every_etcd_pod_of_a_directory_is_kept_and_etcd_yaml_is_the_member(tmp_path):
    d = node_dir(tmp_path / "manifests", "master", ADV)
    write(d / "etcd-backup.yaml", backup_of_etcd("etcd-backup"))  # sorts before etcd.yaml
    (node,) = load(d).nodes
    assert [(p.name, Path(p.file).name) for p in node.pods if p.component == "etcd"] == [
        ("etcd-backup", "etcd-backup.yaml"), ("etcd", "etcd.yaml")]
    assert node.etcd.pod.file == str(d / "etcd.yaml") and node.etcd.data_dir == "/var/lib/etcd"
    assert node.pod("etcd").name == "etcd-backup"  # Node.pod() is the first, the member is etcd.yaml's
    # files given one by one, in any order: the same node
    for order in ((d / "etcd-backup.yaml", d / "etcd.yaml"), (d / "etcd.yaml", d / "etcd-backup.yaml")):
        (node,) = load(*order).nodes
        assert len(node.pods) == 2 and node.etcd.data_dir == "/var/lib/etcd"


def test_without_an_etcd_yaml_the_first_etcd_pod_is_the_member(tmp_path):
    write(tmp_path / "a.yaml", backup_of_etcd("etcd-a", "/var/lib/a"))
    write(tmp_path / "b.yaml", backup_of_etcd("etcd-b", "/var/lib/b"))
    (node,) = load(tmp_path).nodes
    assert node.etcd.data_dir == "/var/lib/a" and len(node.pods) == 2


def test_the_loader_reads_the_files_the_kubelet_runs(tmp_path):
    """The kubelet runs every file of the directory whose name does not start with a dot
    (pkg/kubelet/config/file.go globs "[^.]*"), and skips the ones that do not parse."""
    d = node_dir(tmp_path / "manifests", "master", ADV)
    write(d / "etcd.yaml.bak", backup_of_etcd())
    (d / "etcd.yaml.orig").write_text("garbage: [")
    (d / "notes").write_text("# what I changed\nkey: value\n")
    write(d / ".etcd.yaml.hidden", backup_of_etcd("hidden"))
    (node,) = load(d).nodes
    assert sorted(Path(p.file).name for p in node.pods) == ["etcd.yaml", "etcd.yaml.bak", "kube-apiserver.yaml"]
    assert node.etcd.pod.file == str(d / "etcd.yaml")
    # given explicitly among the node's files, it is read too
    (node,) = load(d / "etcd.yaml", d / "kube-apiserver.yaml", d / "etcd.yaml.bak").nodes
    assert len(node.pods) == 3
    # a broken *.yaml is still an error: the kubelet would skip it, and its component would not run
    (d / "kube-scheduler.yaml").write_text("garbage: [")
    with pytest.raises(ManifestError, match="kube-scheduler.yaml"):
        load(d)


def test_a_static_manifest_and_its_mirror_pod_are_one_pod(tmp_path):
    d = node_dir(tmp_path / "manifests", "master", ADV)
    mirror = write(tmp_path / "etcd-master.yaml", as_kubectl(kubeadm.etcd_manifest("master", ADV), "master", ADV))
    for sources in ((d, mirror), (mirror, d), (d, d), (d / "etcd.yaml", d / "etcd.yaml", d / "kube-apiserver.yaml")):
        (node,) = load(*sources).nodes
        assert [p.component for p in node.pods].count("etcd") == 1, sources


# -- sources merged --------------------------------------------------------------------------------


def test_files_of_one_node_given_one_by_one_are_merged(tmp_path):
    d = node_dir(tmp_path / "manifests", "master", ADV)
    # files of one manifests directory, given one by one, are that node's files
    for order in ((d / "etcd.yaml", d / "kube-apiserver.yaml"), (d / "kube-apiserver.yaml", d / "etcd.yaml")):
        (node,) = load(*order).nodes
        assert (node.name, node.role, node.address) == ("master", "control-plane", ADV)
        assert node.etcd and node.apiserver
    # the same node named by two sources is one node with both pods
    api = as_kubectl(kubeadm.apiserver_manifest("master", ADV), "master", ADV)
    write(tmp_path / "api.yaml", api)
    cp = load(d / "etcd.yaml", tmp_path / "api.yaml")
    (node,) = cp.nodes
    assert node.role == "control-plane" and node.etcd and node.apiserver
    assert cp.name == cp.source == f"{d / 'etcd.yaml'}, {tmp_path / 'api.yaml'}"


def test_etcd_and_apiserver_of_one_machine_from_two_directories_are_one_node(tmp_path):
    """etcdlab doctor a/etcd.yaml b/kube-apiserver.yaml: the apiserver's --advertise-address is
    the etcd member's address, so they are one machine, and its loopback reaches that member."""
    write(tmp_path / "a" / "etcd.yaml", kubeadm.etcd_manifest("master", ADV))
    write(tmp_path / "b" / "kube-apiserver.yaml", kubeadm.apiserver_manifest("master", ADV))
    write(tmp_path / "b" / "kube-scheduler.yaml", kubeadm.scheduler_manifest(ADV))
    for sources in ((tmp_path / "a" / "etcd.yaml", tmp_path / "b" / "kube-apiserver.yaml"),
                    (tmp_path / "b" / "kube-apiserver.yaml", tmp_path / "a" / "etcd.yaml"),
                    (tmp_path / "a", tmp_path / "b"),
                    (tmp_path / "a" / "etcd.yaml", tmp_path / "b")):
        cp = load(*sources)
        (node,) = cp.nodes
        assert (node.name, node.role, node.address) == ("master", "control-plane", ADV), sources
        assert node.etcd and node.apiserver and cp.topology_kind == "stacked"
        assert [f.id for f in etcdlab.doctor(cp) if f.severity == "error"] == [], sources


def test_an_apiserver_at_another_address_stays_a_node_of_its_own(tmp_path):
    write(tmp_path / "a" / "etcd.yaml", kubeadm.etcd_manifest("infra0", "10.0.1.10"))
    write(tmp_path / "b" / "kube-apiserver.yaml",
          kubeadm.apiserver_manifest("cp1", "10.0.0.11", etcd_servers=["https://10.0.1.10:2379"]))
    cp = load(tmp_path / "a" / "etcd.yaml", tmp_path / "b" / "kube-apiserver.yaml")
    assert [(n.name, n.role) for n in cp.nodes] == [("infra0", "etcd"), ("b", "control-plane")]
    assert cp.topology_kind == "external"


def test_one_naming_rule_for_a_file_and_its_directory(tmp_path):
    d = tmp_path / "cp-x"
    write(d / "kube-apiserver.yaml", kubeadm.apiserver_manifest("x", "10.0.0.1"))
    assert load(d / "kube-apiserver.yaml").nodes[0].name == load(d).nodes[0].name == "cp-x"
    write(tmp_path / "manifests" / "kube-apiserver.yaml", kubeadm.apiserver_manifest("x", "10.0.0.1"))
    assert load(tmp_path / "manifests" / "kube-apiserver.yaml").nodes[0].name == "node"


def test_files_of_one_directory_are_one_node_even_when_only_one_names_it(tmp_path):
    d = node_dir(tmp_path / "manifests", "master", ADV, api=False, others=True)
    (node,) = load(d / "etcd.yaml", d / "kube-scheduler.yaml").nodes
    assert node.name == "master" and sorted(p.component for p in node.pods) == ["etcd", "kube-scheduler"]


def test_node_directories_given_as_several_sources(tmp_path):
    for i in (1, 2, 3):
        node_dir(tmp_path / f"cp{i}", f"cp{i}", f"10.0.0.{i}")
    cp = load(*(tmp_path / f"cp{i}" for i in (1, 2, 3)))
    assert [n.name for n in cp.nodes] == ["cp1", "cp2", "cp3"]
    assert load(tmp_path / "cp1", tmp_path / "cp1").nodes == load(tmp_path / "cp1").nodes


def test_a_table_adds_the_workers_and_their_addresses(tmp_path):
    d = node_dir(tmp_path / "cluster", "master", ADV)
    (d / "get-po-o-wide.txt").write_text(TABLE)
    cp = load(d)
    assert [(n.name, n.role, n.address) for n in cp.nodes] == [
        ("master", "control-plane", ADV), ("worker1", "worker", "10.128.15.227"),
        ("worker2", "worker", "10.128.15.228")]
    assert len(cp.node("master").pods) == 2  # the table added no pods to the control-plane node


def test_nothing_to_load():
    with pytest.raises(ManifestError, match="nothing to load"):
        load()
    with pytest.raises(ManifestError, match="empty path"):
        load("")


@pytest.mark.parametrize("source", ["no-such-data-set", "missing/etcd.yaml", "broken/not-a-mistake",
                                    "a" * 5000, "x\x00y"])
def test_a_missing_source_is_one_clear_error(source):
    with pytest.raises(ManifestError) as info:
        load(source)
    assert "\n" not in str(info.value)
    assert not isinstance(info.value, OSError)


# -- kubectl get po -o wide -------------------------------------------------------------------------

TABLE = """\
NAME                             READY   STATUS    RESTARTS      AGE   IP              NODE      NOMINATED NODE   READINESS GATES
etcd-master                      1/1     Running   2 (3h ago)    32h   10.128.15.226   master    <none>           <none>
kube-apiserver-master            1/1     Running   2             32h   10.128.15.226   master    <none>           <none>
coredns-5dd5756b68-7xqkp         0/1     Pending   0             32h   <none>          <none>    <none>           <none>
kube-proxy-4qlnh                 1/1     Running   1             31h   10.128.15.227   worker1   <none>           <none>
kube-proxy-rb7xd                 1/1     Running   0             31h   10.128.15.228   worker2   <none>           <none>
"""


def test_table_with_header_and_restarts_with_when():
    rows = parse_pod_table(TABLE)
    assert [r.name for r in rows][:2] == ["etcd-master", "kube-apiserver-master"]
    etcd = rows[0]
    assert etcd == PodRow("etcd-master", "1/1", "Running", "2 (3h ago)", "32h", "10.128.15.226", "master")
    assert etcd.restart_count == 2 and etcd.component == "etcd" and etcd.namespace is None
    assert rows[1].component == "kube-apiserver"
    assert rows[2].ip is None and rows[2].node is None and rows[2].component is None
    assert rows[3].component is None  # kube-proxy is not a control-plane component


def test_table_without_header_as_after_grep():
    rows = parse_pod_table("etcd-master   1/1   Running   2   32h   10.128.15.226   master   <none>   <none>\n"
                           "\n"
                           "kube-apiserver-master 1/1 Running 0 5m 10.128.15.226 master\n")
    assert [(r.name, r.node, r.age) for r in rows] == [("etcd-master", "master", "32h"),
                                                        ("kube-apiserver-master", "master", "5m")]


def test_table_with_namespace_column():
    text = ("NAMESPACE     NAME                 READY   STATUS    RESTARTS       AGE   IP           NODE\n"
            "kube-system   etcd-cp1             1/1     Running   5 (2d1h ago)   9d    10.0.0.1     cp1\n"
            "default       web-7d4b9c-x2v       1/1     Running   0              1h    10.244.1.5   w1\n")
    rows = parse_pod_table(text)
    assert [(r.namespace, r.name, r.node, r.restart_count) for r in rows] == [
        ("kube-system", "etcd-cp1", "cp1", 5), ("default", "web-7d4b9c-x2v", "w1", 0)]


def test_table_without_wide_columns_and_with_a_prompt_line():
    rows = parse_pod_table("$ kubectl get po -n kube-system | grep etcd\netcd-master   1/1   Running   0   5d\n")
    assert rows == [PodRow("etcd-master", "1/1", "Running", "0", "5d", None, None)]
    assert rows[0].component is None  # no node column, so the name cannot be split


def test_table_garbage_line_names_the_line():
    with pytest.raises(ManifestError) as info:
        parse_pod_table(TABLE + "error: the server doesn't have a resource type \"po\"\n", file="get.txt")
    assert str(info.value).startswith("get.txt:7: line 7 is not a row of kubectl get po -o wide")


def test_nodes_from_a_table_have_the_kube_proxy_address_and_a_role_from_their_pods():
    nodes = nodes_from_pod_table(parse_pod_table(TABLE))
    assert [(n.name, n.address, n.role, n.pods) for n in nodes] == [
        ("master", "10.128.15.226", "control-plane", ()), ("worker1", "10.128.15.227", "worker", ()),
        ("worker2", "10.128.15.228", "worker", ())]
    etcd_only = nodes_from_pod_table(parse_pod_table("etcd-e1 1/1 Running 0 1d 10.0.0.9 e1\n"))
    assert [(n.name, n.role, n.address) for n in etcd_only] == [("e1", "etcd", "10.0.0.9")]


def test_a_table_file_alone(tmp_path):
    f = tmp_path / "wide.txt"
    f.write_text(TABLE)
    assert [n.name for n in load(f).nodes] == ["master", "worker1", "worker2"]
    g = tmp_path / "captured"  # no .txt suffix: recognised by its header
    g.write_text(TABLE)
    assert [n.name for n in load(g).nodes] == ["master", "worker1", "worker2"]


@pytest.mark.parametrize("text, words", [
    ("", "holds no row"),
    ("NAME   READY   STATUS   RESTARTS   AGE\n", "holds no row"),
    ("etcd-master   1/1   Running   0   5d\n", "names no node"),
])
def test_a_table_that_names_no_node_is_an_error(tmp_path, text, words):
    f = tmp_path / "wide.txt"
    f.write_text(text)
    with pytest.raises(ManifestError, match=words):
        load(f)


# -- reading safely ----------------------------------------------------------------------------------


def test_pods_from_text_and_load_text_agree():
    text = kubeadm.to_yaml(kubeadm.etcd_manifest("m", ADV))
    (pod,) = pods_from_text(text, "x.yaml")
    assert load_text(text, "x.yaml").nodes[0].pods == (pod,)


def test_a_few_aliases_are_fine():
    text = textwrap.dedent("""\
        kind: Pod
        metadata:
          labels: &labels {component: etcd, tier: control-plane}
          annotations: *labels
        spec:
          containers:
          - name: etcd
            command: &cmd [etcd, --name=a]
          - name: copy
            command: *cmd
            resources: &res {requests: {cpu: 100m}}
          - name: merged
            command: [sleep]
            resources: {<<: *res, limits: {cpu: 200m}}
        """)
    pod = load_text(text).nodes[0].pods[0]
    assert pod.annotation("tier") == "control-plane" and pod.command.get("name") == "a"


def test_many_aliases_are_refused_at_the_alias_that_crosses_the_limit():
    from etcdlab.sources.safe_yaml import MAX_ALIASES

    lines = ["kind: Pod", "x: &a v"] + [f"y{i}: *a" for i in range(MAX_ALIASES + 5)]
    with pytest.raises(ManifestError) as info:
        load_text("\n".join(lines), "many.yaml")
    assert str(info.value).startswith(f"many.yaml:{MAX_ALIASES + 3}: uses more than {MAX_ALIASES} YAML aliases")


def test_a_chain_of_few_aliases_that_would_explode_is_refused():
    lines = ["kind: Pod", "a0: &a0 [x, x]"] + [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 32)]
    with pytest.raises(ManifestError, match="when its YAML aliases are written out"):
        load_text("\n".join(lines))


def test_an_alias_inside_itself_is_refused():
    with pytest.raises(ManifestError, match="refers to the collection containing it"):
        load_text("kind: Pod\nspec: &s {containers: [*s]}\n")


def test_deep_nesting_is_refused_at_its_line_and_quickly():
    from etcdlab.sources.safe_yaml import MAX_DEPTH

    ok = "kind: Pod\nspec:\n  containers: [{name: e, command: [etcd]}]\nx: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    assert load_text(ok).nodes[0].pods[0].command.program == "etcd"
    deep = "kind: Pod\nx:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300))
    with pytest.raises(ManifestError, match=rf"^deep\.yaml:{MAX_DEPTH + 1}: is nested more than {MAX_DEPTH} levels"):
        load_text(deep, "deep.yaml")
    with pytest.raises(ManifestError, match="nested"):
        load_text("kind: Pod\nx: " + "[" * 1_000_000, "flow.yaml")


@pytest.mark.parametrize("text, message", [
    ('{"kind": "Pod", "x": 1' + "0" * 5000 + "}", "<text>: has a value JSON cannot read (Exceeds the limit"),
    ("kind: Pod\nx: a\x07b\n", "<text>:2: contains the control character #x0007"),
    ("kind: Pod\nx: |\n  a\x00b\n", "<text>:3: contains the control character #x0000"),
    ("kind: Pod\nspec:\n  containers:\n  - name: etcd\n    command:\n    - etcd\n    - --TRUNCATED--\n",
     "<text>:7: is truncated output"),
    ("kind: Pod\nspec:\n  containers:\n  - name: \"a\\nb\"\n    image: registry.k8s.io/etcd:3.5.9-0\n",
     "<text>:4: the container has no command, but this is the etcd Pod"),
    ('kind: "Config\\nMap"\n', "<text>:1: is not a Pod (it has kind 'Config\\nMap')"),  # a real newline
    ("kind: " + "K" * 500 + "\n", "<text>:1: is not a Pod (it has kind 'KKKK"),
    ("kind: [Pod]\n", "<text>:1: is not a Pod (it has a kind that is a list)"),
    ("kind: Pod\n? [a]\n: b\n", "<text>:2: is not valid YAML (found unhashable key); check the value there"),
])
def test_odd_text_gets_one_short_line(text, message):
    with pytest.raises(ManifestError) as info:
        load_text(text)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value) and len(str(info.value)) < 250


def test_yaml_python_tags_are_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = f"kind: Pod\nx: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(ManifestError, match="is not valid YAML"):
        load_text(text)
    assert not marker.exists()


def test_a_big_file_is_refused_before_it_is_read(tmp_path):
    from etcdlab.sources.safe_yaml import MAX_BYTES

    f = tmp_path / "huge.yaml"
    with f.open("wb") as fh:
        fh.truncate(MAX_BYTES + 1)
    with pytest.raises(ManifestError, match=rf"is {MAX_BYTES + 1} bytes, more than"):
        load(f)


def test_a_device_without_a_size_is_read_only_up_to_the_limit():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(ManifestError, match=r"^/dev/zero: is more than"):
        load("/dev/zero")


def test_the_public_names():
    assert etcdlab.load is load and etcdlab.load_text is load_text
    assert etcdlab.parse_pod_table is parse_pod_table and etcdlab.PodRow is PodRow
    assert issubclass(FlagError, ManifestError) and issubclass(ManifestError, EtcdlabError)
    assert load_directory.__doc__
