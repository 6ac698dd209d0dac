"""``etcdlab.sources.live``: a running cluster through the official kubernetes client.

No Kubernetes API server can run here, so these tests start a loopback HTTPS server
(127.0.0.1, a CA made with :func:`etcdlab.real.pki.make_pki`, client-certificate and
bearer-token authentication like a real kubeconfig) that **replays recorded answers**:
the ``PodList`` and ``NodeList`` JSON a kube-apiserver sends for the two GET requests
etcdlab makes, built from the data sets' ``kubectl`` captures and manifests, with the
``apiVersion``, ``kind`` and ``metadata.resourceVersion`` a real server puts around them
(and, as a real server does, no ``kind`` inside the items). The real kubernetes client
talks to it over real TLS, with a real kubeconfig file; the server records every method
and path it is sent, so the tests can check that etcdlab only ever reads.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

import etcdlab
from etcdlab.cli import main
from etcdlab.errors import EtcdlabError
from etcdlab.sources.live import SELECTOR, load_live
from etcdlab.sources.kubectl import parse_pod_table
from etcdlab.real.pki import make_pki

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
PODS_PATH = "/api/v1/namespaces/kube-system/pods"
NODES_PATH = "/api/v1/nodes"

#: bearer tokens the replayed server knows, and the user each one is
TOKENS = {"viewer-token": "system:serviceaccount:kube-system:viewer",
          "nobody-token": "system:serviceaccount:default:nobody"}
#: what each user may list (the admin, authenticated by its client certificate, may list everything)
RIGHTS = {"kubernetes-admin": {"pods", "nodes"},
          "system:serviceaccount:kube-system:viewer": {"pods"},
          "system:serviceaccount:default:nobody": set()}


# -- recorded answers ----------------------------------------------------------------------


def status(code: int, reason: str, message: str) -> dict:
    """The ``Status`` object a kube-apiserver sends with an error."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def pod_list(items: list[dict], resource_version: str = "81234") -> dict:
    """``GET .../pods`` as a kube-apiserver answers it: a PodList whose items carry no kind."""
    served = []
    for item in items:
        item = copy.deepcopy(item)
        item.pop("apiVersion", None)
        item.pop("kind", None)
        served.append(item)
    return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": resource_version},
            "items": served}


def node_object(name: str, ip: str, control_plane: bool, version: str) -> dict:
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
    return {
        "metadata": {"name": name, "uid": f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}",
                     "resourceVersion": "81200", "creationTimestamp": "2023-10-13T07:45:50Z", "labels": labels,
                     "annotations": {
                         "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
                         "node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                   "nodeInfo": {"kubeletVersion": version, "containerRuntimeVersion": "containerd://1.6.24",
                                "operatingSystem": "linux", "architecture": "amd64"}},
    }


def node_list(nodes: list[tuple[str, str, bool]], version: str) -> dict:
    return {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "81234"},
            "items": [node_object(n, ip, cp, version) for n, ip, cp in nodes]}


def single_control_plane_recording() -> dict:
    """The tutorial's cluster, from its kubectl captures: the etcd and apiserver mirror Pods of
    ``get-po-o-yaml.yaml``, and the four nodes (with the IP of their host-network kube-proxy)."""
    capture = yaml.safe_load((DATA / "single-control-plane/kubectl/get-po-o-yaml.yaml").read_text())
    pods = [i for i in capture["items"] if i["metadata"]["labels"].get("component") in ("etcd", "kube-apiserver")]
    rows = parse_pod_table((DATA / "single-control-plane/kubectl/get-po-o-wide.txt").read_text())
    nodes = [(r.node, r.ip, r.node == "master") for r in sorted(rows, key=lambda r: r.node)
             if r.name.startswith("kube-proxy")]
    return {"pods": pod_list(pods), "nodes": node_list(nodes, "v1.28.2")}


def mirror_pod(manifest: dict, node: str, ip: str) -> dict:
    """A static manifest as the API server shows it: the kubelet's mirror Pod, named after the
    node, with ``nodeName``, the mirror annotations, an owner reference to the Node and a status."""
    pod = copy.deepcopy(manifest)
    meta = pod["metadata"]
    component = meta["labels"]["component"]
    meta["name"] = f"{component}-{node}"
    meta["creationTimestamp"] = "2023-10-13T07:45:54Z"
    meta["resourceVersion"] = "81000"
    meta["annotations"] = {**meta.get("annotations", {}), "kubernetes.io/config.hash": "0" * 32,
                           "kubernetes.io/config.mirror": "0" * 32, "kubernetes.io/config.source": "file"}
    meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node, "controller": True,
                                "uid": "93694cb8-2106-5b59-8ec1-3f749d3160bb"}]
    pod["spec"]["nodeName"] = node
    pod["status"] = {"phase": "Running", "hostIP": ip, "podIP": ip, "qosClass": "Burstable",
                     "containerStatuses": [{"name": component, "ready": True, "restartCount": 0, "started": True,
                                            "image": pod["spec"]["containers"][0]["image"]}]}
    return pod


def stacked_ha_3_recording() -> dict:
    bundled = etcdlab.load("stacked-ha-3")
    pods, nodes = [], []
    for node in bundled.nodes:
        for component in ("etcd", "kube-apiserver"):
            manifest = yaml.safe_load((DATA / "stacked-ha-3/nodes" / node.name / f"{component}.yaml").read_text())
            pods.append(mirror_pod(manifest, node.name, node.address))
        nodes.append((node.name, node.address, True))
    return {"pods": pod_list(pods), "nodes": node_list(nodes, "v1.28.2")}


# -- the replaying server ---------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "kube-apiserver-replay"

    def log_message(self, *args):  # quiet
        pass

    def _answer(self):
        self.server.replay.answer(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class ReplayServer:
    """A loopback HTTPS "kube-apiserver" that answers GETs from recorded JSON.

    Authentication as a kube-apiserver does it: a client certificate signed by the
    cluster's CA, or a bearer token it knows; anything else is 401. Authorization: what
    :data:`RIGHTS` allows, else 403. ``requests`` records ``(method, path?query)``.
    """

    def __init__(self, pki, recording: dict):
        self.recording = recording
        self.requests: list[tuple[str, str]] = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*pki.node(0).server.pair)
        ctx.load_verify_locations(pki.etcd_ca.cert)
        ctx.verify_mode = ssl.CERT_OPTIONAL  # a client certificate, or a token
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.replay = self
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        self.requests.append((h.command, h.path))
        if h.command != "GET":
            return self._send(h, 405, status(405, "MethodNotAllowed", "this replay only answers GET"))
        user = None
        if h.connection.getpeercert():
            user = "kubernetes-admin"
        auth = h.headers.get("Authorization", "")
        if user is None and auth.startswith("Bearer "):
            user = TOKENS.get(auth[len("Bearer "):])
        if user is None:
            return self._send(h, 401, status(401, "Unauthorized", "Unauthorized"))
        url = urlsplit(h.path)
        query = parse_qs(url.query)
        resource = {PODS_PATH: "pods", NODES_PATH: "nodes"}.get(url.path)
        if resource is None:
            return self._send(h, 404, status(404, "NotFound", "the server could not find the requested resource"))
        if resource not in RIGHTS[user]:
            where = ' in the namespace "kube-system"' if resource == "pods" else " at the cluster scope"
            return self._send(h, 403, status(403, "Forbidden", f'{resource} is forbidden: User "{user}" cannot list '
                                                               f'resource "{resource}" in API group ""{where}'))
        if resource == "pods" and query.get("labelSelector") != [SELECTOR]:
            return self._send(h, 404, status(404, "NotFound", f"no recorded answer for {h.path}"))
        return self._send(h, 200, self.recording[resource])

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), ["apiserver"])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(path: Path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def write_kubeconfig(path: Path, pki, server_url: str) -> Path:
    """A kubeconfig like kubeadm's admin.conf (``*-data`` fields), with more contexts."""
    admin = pki.node(0).apiserver_etcd_client  # a client certificate of O=system:masters, signed by the CA
    down = f"https://127.0.0.1:{closed_port()}"
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "current-context": "kubernetes-admin@kubernetes",
        "clusters": [
            {"name": "kubernetes",
             "cluster": {"server": server_url, "certificate-authority-data": b64(pki.etcd_ca.cert)}},
            {"name": "wrong-ca",
             "cluster": {"server": server_url, "certificate-authority-data": b64(pki.foreign_ca.cert)}},
            {"name": "down", "cluster": {"server": down, "certificate-authority-data": b64(pki.etcd_ca.cert)}},
        ],
        "users": [
            {"name": "kubernetes-admin", "user": {"client-certificate-data": b64(admin.cert),
                                                  "client-key-data": b64(admin.key)}},
            {"name": "viewer", "user": {"token": "viewer-token"}},
            {"name": "nobody", "user": {"token": "nobody-token"}},
            {"name": "stale", "user": {"token": "a-token-from-last-year"}},
        ],
        "contexts": [
            {"name": "kubernetes-admin@kubernetes", "context": {"cluster": "kubernetes", "user": "kubernetes-admin"}},
            {"name": "viewer@kubernetes", "context": {"cluster": "kubernetes", "user": "viewer"}},
            {"name": "nobody@kubernetes", "context": {"cluster": "kubernetes", "user": "nobody"}},
            {"name": "stale@kubernetes", "context": {"cluster": "kubernetes", "user": "stale"}},
            {"name": "admin@wrong-ca", "context": {"cluster": "wrong-ca", "user": "kubernetes-admin"}},
            {"name": "admin@down", "context": {"cluster": "down", "user": "kubernetes-admin"}},
        ],
    }
    path.write_text(yaml.safe_dump(kubeconfig))
    path.chmod(0o600)
    return path


@pytest.fixture
def replay(request, pki, tmp_path):
    """Start a replaying server for a recording; returns ``(server, kubeconfig path)``."""

    def start(recording: dict):
        server = ReplayServer(pki, recording)
        request.addfinalizer(server.stop)
        return server, write_kubeconfig(tmp_path / "kubeconfig", pki, server.url)

    return start


def member_fields(member) -> dict:
    return {f.name: getattr(member, f.name) for f in dataclasses.fields(member) if f.name != "pod"}


# -- loading ------------------------------------------------------------------------------------


def test_single_control_plane_replay_is_the_data_set(replay, monkeypatch, pki):
    server, kubeconfig = replay(single_control_plane_recording())
    # the client trusts the kubeconfig's CA, not the environment's bundle
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.foreign_ca.cert))
    cp = load_live(kubeconfig=kubeconfig)
    bundled = etcdlab.load("single-control-plane")

    assert [(n.name, n.address, n.role) for n in cp.nodes] == \
        [(n.name, n.address, n.role) for n in bundled.nodes] == \
        [("master", "10.128.15.226", "control-plane"), ("worker1", "10.128.15.227", "worker"),
         ("worker2", "10.128.15.228", "worker"), ("worker3", "10.128.15.229", "worker")]
    (member,), (expected,) = cp.members, bundled.members
    assert member.pod.command == expected.pod.command
    assert member_fields(member) == member_fields(expected)
    assert cp.apiservers[0].pod.command == bundled.apiservers[0].pod.command
    assert member.pod.name == "etcd-master" and member.pod.node_name == "master"
    assert member.pod.file == "kube-system/etcd-master"
    assert cp.name == "kubernetes-admin@kubernetes" and server.url in cp.source
    # the same doctor findings as the static manifests give
    assert sorted(f.id for f in etcdlab.doctor(cp)) == sorted(f.id for f in etcdlab.doctor(bundled))

    # two requests, both GET: the pods with one set-based selector, then the nodes
    assert [m for m, _ in server.requests] == ["GET", "GET"]
    (_, pods), (_, nodes) = server.requests
    assert urlsplit(pods).path == PODS_PATH and parse_qs(urlsplit(pods).query) == {"labelSelector": [SELECTOR]}
    assert nodes == NODES_PATH


def test_stacked_ha_3_replay_has_three_members(replay):
    server, kubeconfig = replay(stacked_ha_3_recording())
    cp = load_live(kubeconfig=kubeconfig, context="kubernetes-admin@kubernetes")
    bundled = etcdlab.load("stacked-ha-3")
    assert [m.name for m in cp.members] == ["cp1", "cp2", "cp3"]
    assert cp.topology_kind == "stacked" and len(cp.apiservers) == 3
    for node in bundled.nodes:
        live = cp.node(node.name)
        assert (live.address, live.role) == (node.address, node.role)
        assert member_fields(live.etcd) == member_fields(node.etcd)
        assert live.apiserver.etcd_servers == node.apiserver.etcd_servers
    assert {m for m, _ in server.requests} == {"GET"}


def test_a_token_that_may_not_list_nodes_still_loads_the_control_plane(replay):
    server, kubeconfig = replay(single_control_plane_recording())
    cp = load_live(kubeconfig=kubeconfig, context="viewer@kubernetes")
    assert [(n.name, n.role) for n in cp.nodes] == [("master", "control-plane")]  # no workers without nodes
    assert len(cp.members) == 1
    assert [m for m, _ in server.requests] == ["GET", "GET"]


def test_an_api_client_can_be_given(replay):
    from kubernetes import config

    _, kubeconfig = replay(stacked_ha_3_recording())
    api = config.new_client_from_config(config_file=str(kubeconfig), context="viewer@kubernetes")
    try:
        cp = load_live(api_client=api, context="viewer@kubernetes")
        assert len(cp.members) == 3 and cp.name == "viewer@kubernetes"
        assert load_live(api_client=api).members == cp.members  # the client is not closed by load_live
    finally:
        api.close()


# -- failures: one sentence each, exit 2 from the CLI --------------------------------------------


def one_sentence(text: str) -> str:
    text = text.strip()
    assert "\n" not in text and "Traceback" not in text, text
    assert "BEGIN" not in text and "PRIVATE" not in text, text
    return text


@pytest.mark.parametrize("context, expected", [
    ("stale@kubernetes", "refused the credentials of context stale@kubernetes (401 Unauthorized)"),
    ("nobody@kubernetes", "the credentials of context nobody@kubernetes may not list pods in kube-system "
                          "(403 Forbidden)"),
    ("admin@wrong-ca", "cannot verify the certificate of https://127.0.0.1:"),
    ("admin@down", "cannot reach https://127.0.0.1:"),
    ("no-such-context", "has no context 'no-such-context' (it has: kubernetes-admin@kubernetes, viewer@kubernetes"),
])
def test_failures_are_one_sentence(replay, monkeypatch, pki, capsys, context, expected):
    server, kubeconfig = replay(single_control_plane_recording())
    # a bundle holding the right CA changes nothing: the kubeconfig's CA is the one used
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.etcd_ca.cert))
    with pytest.raises(EtcdlabError) as exc:
        load_live(kubeconfig=kubeconfig, context=context)
    message = one_sentence(str(exc.value))
    assert expected in message
    if context == "admin@down":
        assert message.endswith("Connection refused")
    if context == "admin@wrong-ca":
        assert "certificate" in message.split("(", 1)[1].split(")")[0]  # OpenSSL's reason, in parentheses

    capsys.readouterr()
    assert main(["doctor", "--live", "--kubeconfig", str(kubeconfig), "--context", context]) == 2
    out, err = capsys.readouterr()
    assert out == "" and one_sentence(err) == f"etcdlab: {message}"
    assert {m for m, _ in server.requests} <= {"GET"}


def test_a_cluster_without_etcd_pods_says_it_may_be_managed(replay, capsys):
    server, kubeconfig = replay({"pods": pod_list([]), "nodes": node_list([], "v1.30.4-eks-a737599")})
    with pytest.raises(EtcdlabError) as exc:
        load_live(kubeconfig=kubeconfig)
    message = one_sentence(str(exc.value))
    assert message.startswith(f"context kubernetes-admin@kubernetes ({server.url}) shows no etcd Pod in kube-system")
    assert "managed clusters (EKS, GKE, AKS)" in message
    assert main(["inspect", "--live", "--kubeconfig", str(kubeconfig)]) == 2
    assert one_sentence(capsys.readouterr().err) == f"etcdlab: {message}"


def test_apiservers_without_etcd_pods_mean_an_external_etcd(replay):
    recording = single_control_plane_recording()
    recording["pods"]["items"] = [i for i in recording["pods"]["items"]
                                  if i["metadata"]["labels"]["component"] == "kube-apiserver"]
    _, kubeconfig = replay(recording)
    with pytest.raises(EtcdlabError, match=r"shows kube-apiserver Pods but no etcd Pod in kube-system: etcd runs "
                                           r"outside the cluster"):
        load_live(kubeconfig=kubeconfig)


def test_no_kubeconfig(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    missing = tmp_path / "nope.conf"
    with pytest.raises(EtcdlabError, match=rf"^no kubeconfig: {missing} does not exist; give --kubeconfig FILE"):
        load_live(kubeconfig=missing)
    monkeypatch.setenv("KUBECONFIG", str(missing))
    assert main(["graph", "--live"]) == 2
    assert one_sentence(capsys.readouterr().err).startswith(f"etcdlab: no kubeconfig: {missing}")
    bad = tmp_path / "bad.conf"
    bad.write_text("just: [a, list]\n")
    with pytest.raises(EtcdlabError, match=rf"^{bad} "):
        load_live(kubeconfig=bad)


@pytest.mark.skipif(Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists(),
                    reason="this machine really runs in a Pod")
def test_in_cluster_outside_a_pod(monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    with pytest.raises(EtcdlabError) as exc:
        load_live()
    assert one_sentence(str(exc.value)).startswith("cannot use this Pod's service account: ")


# -- exec credential plugins (EKS, GKE and AKS kubeconfigs) ---------------------------------------


def add_exec_user(kubeconfig: Path, name: str, command: str) -> Path:
    """Add a user authenticated by an exec plugin (``users[].user.exec``, as ``aws eks
    update-kubeconfig`` writes it) and a context ``<name>@kubernetes`` that uses it."""
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"].append({"name": name, "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": command,
        "args": ["eks", "get-token", "--cluster-name", "kubernetes"], "interactiveMode": "IfAvailable"}}})
    config["contexts"].append({"name": f"{name}@kubernetes", "context": {"cluster": "kubernetes", "user": name}})
    kubeconfig.write_text(yaml.safe_dump(config))
    return kubeconfig


def plugin_script(path: Path, body: str) -> Path:
    """An executable exec plugin: a Python script run by this Python."""
    path.write_text(f"#!{sys.executable}\n" + body)
    path.chmod(0o755)
    return path


def test_a_missing_exec_plugin_is_named_in_one_sentence(replay, etcdlab_cmd):
    server, kubeconfig = replay(single_control_plane_recording())
    add_exec_user(kubeconfig, "eks", "aws-not-installed")
    with pytest.raises(EtcdlabError) as exc:
        load_live(kubeconfig=kubeconfig, context="eks@kubernetes")
    message = one_sentence(str(exc.value))
    assert message.startswith("the kubeconfig's exec plugin aws-not-installed failed: it is not installed, "
                              "or not on PATH (no such file or directory)"), message
    assert server.requests == []          # no anonymous request whose 401 would hide the cause
    # the command line: that one sentence and nothing else (the client logs through the root logger)
    run = subprocess.run(etcdlab_cmd + ["doctor", "--live", "--kubeconfig", str(kubeconfig), "--context",
                                        "eks@kubernetes"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == f"etcdlab: {message}\n"


def test_a_failing_exec_plugin_says_what_it_printed(replay, tmp_path):
    server, kubeconfig = replay(single_control_plane_recording())
    plugin = plugin_script(tmp_path / "expired-login", "import sys\n"
                           "print('error: the SSO session has expired', file=sys.stderr)\nsys.exit(1)\n")
    add_exec_user(kubeconfig, "sso", str(plugin))
    with pytest.raises(EtcdlabError) as exc:
        load_live(kubeconfig=kubeconfig, context="sso@kubernetes")
    assert one_sentence(str(exc.value)).startswith(
        f"the kubeconfig's exec plugin {plugin} failed: process returned 1. error: the SSO session has expired")
    assert server.requests == []


def test_a_working_exec_plugin_authenticates(replay, tmp_path):
    server, kubeconfig = replay(single_control_plane_recording())
    plugin = plugin_script(tmp_path / "get-token", "import json\nprint(json.dumps({"
                           "'apiVersion': 'client.authentication.k8s.io/v1beta1', 'kind': 'ExecCredential', "
                           "'status': {'token': 'viewer-token'}}))\n")
    add_exec_user(kubeconfig, "viewer-exec", str(plugin))
    cp = load_live(kubeconfig=kubeconfig, context="viewer-exec@kubernetes")
    assert [(n.name, n.role) for n in cp.nodes] == [("master", "control-plane")]   # the viewer's rights
    assert [m for m, _ in server.requests] == ["GET", "GET"]


# -- the command line ---------------------------------------------------------------------------


def test_cli_live_end_to_end(replay, capsys, etcdlab_cmd, pki):
    server, kubeconfig = replay(single_control_plane_recording())
    run = subprocess.run(etcdlab_cmd + ["doctor", "--live", "--kubeconfig", str(kubeconfig)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("etcdlab doctor: kubernetes-admin@kubernetes (4 nodes, 1 etcd member, 1 apiserver)")
    assert "0 errors" in run.stdout

    assert main(["inspect", "--live", "--kubeconfig", str(kubeconfig), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [n["name"] for n in summary["nodes"]] == ["master", "worker1", "worker2", "worker3"]
    assert main(["graph", "--live", "--kubeconfig", str(kubeconfig), "--context", "viewer@kubernetes"]) == 0
    assert "master" in capsys.readouterr().out

    secret = pki.node(0).apiserver_etcd_client.key.read_text().splitlines()[1]
    assert secret not in run.stdout + run.stderr
    assert {m for m, _ in server.requests} == {"GET"} and len(server.requests) == 6


def test_cli_usage_errors(capsys):
    for argv in (["doctor"], ["inspect", "--live", "stacked-ha-3"], ["graph", "--context", "x", "stacked-ha-3"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = one_sentence(capsys.readouterr().err)
        assert err.startswith(f"etcdlab {argv[0]}: ") and err.endswith(f"(see etcdlab {argv[0]} --help)"), err


def test_importing_stays_light():
    code = ("import sys, etcdlab, etcdlab.sources.live, etcdlab.cli.doctor, etcdlab.cli.inspect, "
            "etcdlab.cli.graph; etcdlab.load_live; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
