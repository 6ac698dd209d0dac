#!/usr/bin/env python3
"""(Re)generate the bundled data sets under ``data/`` from :mod:`etcdlab.sources.kubeadm`.

Every static Pod manifest in ``data/`` is rendered by ``etcdlab.sources.kubeadm``, so the data
sets are exactly what kubeadm writes, and a broken data set differs from its clean
twin by the one mistake it is about (made with ``kubeadm.with_flag``). The ``kubectl``
captures of ``single-control-plane`` are built from the same manifests, with what the
API server and the kubelet add to a mirror Pod (name, annotations, owner, defaults,
status).

The hand-written parts are small: each data set's metadata (``dataset.yaml``) is in
the ``SPECS`` below, and its ``README.md`` is the template
``tools/datasets/<name>/README.md``, where ``${kubernetes}``, ``${etcd}`` and ``${name}``
are filled in.

Usage::

    python tools/make_datasets.py            # write data/ (removes files no data set makes)
    python tools/make_datasets.py --check    # exit 1 if data/ differs from what would be written
    python tools/make_datasets.py --out DIR  # write somewhere else

The output is deterministic: no clock, no randomness; running it twice changes nothing.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import string
import sys
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATES = HERE / "datasets"
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import yaml  # noqa: E402

from etcdlab import kubeadm  # noqa: E402
from etcdlab.sources.kubeadm import url, with_flag  # noqa: E402

Manifest = dict[str, Any]
#: node name -> component ("etcd", "kube-apiserver", ...) -> manifest
Cluster = dict[str, dict[str, Manifest]]

# -- topologies, as kubeadm leaves them -----------------------------------------------------


def control_plane_node(node: str, address: str, generation: str, *, etcd: Manifest | None = None,
                       etcd_servers: list[str] | None = None) -> dict[str, Manifest]:
    """The four (or three, with external etcd) manifests of one control-plane node."""
    pods: dict[str, Manifest] = {}
    if etcd is not None:
        pods["etcd"] = etcd
    pods["kube-apiserver"] = kubeadm.apiserver_manifest(node, address, etcd_servers=etcd_servers,
                                                        generation=generation)
    pods["kube-controller-manager"] = kubeadm.controller_manager_manifest(address, generation=generation)
    pods["kube-scheduler"] = kubeadm.scheduler_manifest(address, generation=generation)
    return pods


def single(node: str, address: str, generation: str) -> Cluster:
    """``kubeadm init`` on one machine: a one-member etcd next to the apiserver."""
    etcd = kubeadm.etcd_manifest(node, address, generation=generation)
    return {node: control_plane_node(node, address, generation, etcd=etcd)}


def stacked(nodes: list[tuple[str, str]], generation: str) -> Cluster:
    """``kubeadm init`` on the first node, ``kubeadm join --control-plane`` on the others.

    Each joining node's ``--initial-cluster`` lists the members that existed when it
    joined, plus itself, with ``--initial-cluster-state=existing``. (Real kubeadm lists
    them in the order etcd returns them, by member ID; here they are in joining order.)
    """
    cluster: Cluster = {}
    members: list[tuple[str, str]] = []
    for i, (node, address) in enumerate(nodes):
        members.append((node, url("https", address, 2380)))
        etcd = kubeadm.etcd_manifest(node, address, generation=generation,
                                     initial_cluster=list(members) if i else None,
                                     state="existing" if i else "new")
        cluster[node] = control_plane_node(node, address, generation, etcd=etcd)
    return cluster


def external(etcd_hosts: list[tuple[str, str]], control_planes: list[tuple[str, str]],
             generation: str) -> Cluster:
    """kubeadm's "Set up a High Availability etcd cluster with kubeadm" guide, then
    ``kubeadm init`` with an ``etcd.external`` section.

    On each etcd host, ``kubeadm init phase etcd local --config=kubeadmcfg.yaml`` writes
    etcd.yaml with the guide's ``extraArgs``: every member in ``--initial-cluster``,
    state ``new`` written out, and client URLs on the host's own address only.
    """
    everyone = [(n, url("https", a, 2380)) for n, a in etcd_hosts]
    cluster: Cluster = {}
    for node, address in etcd_hosts:
        extra = {
            "initial-cluster-state": "new",
            "listen-client-urls": url("https", address, 2379),
        }
        cluster[node] = {"etcd": kubeadm.etcd_manifest(node, address, initial_cluster=everyone,
                                                       generation=generation, extra_flags=extra)}
    endpoints = [url("https", a, 2379) for _, a in etcd_hosts]
    for node, address in control_planes:
        cluster[node] = control_plane_node(node, address, generation, etcd_servers=endpoints)
    return cluster


def breaking(cluster: Cluster, node: str, component: str, flag: str, value: str | None) -> Cluster:
    """A copy of ``cluster`` with one flag of one manifest changed: one mistake."""
    out = copy.deepcopy(cluster)
    out[node][component] = with_flag(out[node][component], flag, value)
    return out


# -- the tutorial's cluster and what kubectl shows of it ---------------------------------------

MASTER = ("master", "10.128.15.226")
WORKERS = [("worker1", "10.128.15.227"), ("worker2", "10.128.15.228"), ("worker3", "10.128.15.229")]
#: when the captures were taken, and when kubeadm init and the joins ran
CAPTURED = datetime(2023, 10, 14, 16, 3, 27, tzinfo=timezone.utc)
INIT = CAPTURED - timedelta(hours=32, minutes=17, seconds=52)
JOINED = CAPTURED - timedelta(hours=31, minutes=4, seconds=9)
#: the last restart (the node was rebooted)
REBOOT = CAPTURED - timedelta(hours=5, minutes=41, seconds=16)

#: (component, restart count) of the control-plane mirror pods; etcd's 2 is the tutorial's
CONTROL_PLANE_PODS = [("etcd", 2), ("kube-apiserver", 2), ("kube-controller-manager", 3), ("kube-scheduler", 3)]
#: kube-proxy pod names (the suffix is random in real life, fixed here)
KUBE_PROXY = {"master": "kube-proxy-8vwzc", "worker1": "kube-proxy-4qlnh",
              "worker2": "kube-proxy-rb7xd", "worker3": "kube-proxy-zt5mk"}
COREDNS = [("coredns-5dd5756b68-7xqkp", "10.244.0.2"), ("coredns-5dd5756b68-hz4xl", "10.244.0.3")]


def human_duration(d: timedelta) -> str:
    """kubectl's AGE column (``k8s.io/apimachinery/pkg/util/duration.HumanDuration``)."""
    seconds = int(d.total_seconds())
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = seconds // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"


def tabwriter(rows: list[list[str]]) -> str:
    """kubectl's table layout: Go's text/tabwriter with minwidth 6, padding 3, spaces.

    Every cell but the last of a line is padded to its column's width; the last cell
    is written as it is (kubectl does not end a line with a tab).
    """
    ncols = max(len(r) for r in rows)
    widths = [max([6] + [len(r[c]) + 3 for r in rows if c < len(r) - 1]) for c in range(ncols)]
    lines = []
    for r in rows:
        cells = [cell.ljust(widths[c]) for c, cell in enumerate(r[:-1])] + [r[-1]]
        lines.append("".join(cells))
    return "\n".join(lines) + "\n"


def get_po_wide() -> str:
    """``kubectl get po -n kube-system -o wide`` on the tutorial's cluster."""
    master, master_ip = MASTER
    rows: list[tuple[str, str, int, datetime, str, str]] = []  # name, ready, restarts, created, ip, node
    for name, ip in COREDNS:
        rows.append((name, "1/1", 2, INIT + timedelta(seconds=41), ip, master))
    for component, restarts in CONTROL_PLANE_PODS:
        rows.append((f"{component}-{master}", "1/1", restarts, _created(component), master_ip, master))
    rows.append((KUBE_PROXY[master], "1/1", 2, INIT + timedelta(seconds=41), master_ip, master))
    for i, (worker, ip) in enumerate(WORKERS):
        rows.append((KUBE_PROXY[worker], "1/1", 1, JOINED + timedelta(minutes=3 * i), ip, worker))
    table = [["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]]
    for name, ready, restarts, created, ip, node in sorted(rows):
        table.append([name, ready, "Running", str(restarts), human_duration(CAPTURED - created), ip, node,
                      "<none>", "<none>"])
    return tabwriter(table)


def _created(component: str) -> datetime:
    """When the kubelet created each mirror Pod (a few seconds apart after kubeadm init)."""
    order = [c for c, _ in CONTROL_PLANE_PODS].index(component)
    return INIT + timedelta(seconds=19 + 2 * order)


def _stamp(t: datetime, nanos: int | None = None) -> str:
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    return text + "Z"


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "etcdlab:" + "/".join(parts)))


def _hex(*parts: str, n: int = 64) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:n]


def _defaulted_probe(probe: dict[str, Any]) -> dict[str, Any]:
    return {**probe, "successThreshold": 1}


def mirror_pod(manifest: Manifest, node: str, address: str, restarts: int, dataset: str) -> Manifest:
    """``kubectl get po <component>-<node> -n kube-system -o yaml``: the static manifest as
    the API server holds it once the kubelet has created its mirror Pod."""
    pod = copy.deepcopy(manifest)
    component = pod["metadata"]["labels"]["component"]
    name = f"{component}-{node}"
    created = _created(component)
    config_hash = hashlib.md5(kubeadm.to_yaml(manifest).encode()).hexdigest()
    meta = pod["metadata"]
    meta["annotations"].update({
        "kubernetes.io/config.hash": config_hash,
        "kubernetes.io/config.mirror": config_hash,
        "kubernetes.io/config.seen": _stamp(REBOOT - timedelta(seconds=9),
                                            int(_hex(name, "seen", n=8), 16) % 10**9),
        "kubernetes.io/config.source": "file",
    })
    meta["creationTimestamp"] = _stamp(created)
    meta["name"] = name
    meta["ownerReferences"] = [{"apiVersion": "v1", "controller": True, "kind": "Node", "name": node,
                                "uid": _uid(dataset, "node", node)}]
    meta["resourceVersion"] = str(81000 + 137 * [c for c, _ in CONTROL_PLANE_PODS].index(component))
    meta["uid"] = _uid(dataset, "pod", name)

    spec = pod["spec"]
    c = spec["containers"][0]
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in c:
            c[kind] = _defaulted_probe(c[kind])
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = "File"
    spec.update({
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "nodeName": node,
        "preemptionPolicy": "PreemptLowerPriority",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [{"effect": "NoExecute", "operator": "Exists"}],
    })

    started = REBOOT + timedelta(seconds=2 + 3 * [c for c, _ in CONTROL_PLANE_PODS].index(component))
    ready_at = started + timedelta(seconds=11)
    image = c["image"]
    pod["status"] = {
        "conditions": [
            {"lastProbeTime": None, "lastTransitionTime": _stamp(REBOOT), "status": "True", "type": "Initialized"},
            {"lastProbeTime": None, "lastTransitionTime": _stamp(ready_at), "status": "True", "type": "Ready"},
            {"lastProbeTime": None, "lastTransitionTime": _stamp(ready_at), "status": "True",
             "type": "ContainersReady"},
            {"lastProbeTime": None, "lastTransitionTime": _stamp(REBOOT), "status": "True", "type": "PodScheduled"},
        ],
        "containerStatuses": [{
            "containerID": "containerd://" + _hex(dataset, name, "container"),
            "image": image,
            "imageID": image.split(":")[0] + "@sha256:" + _hex(image),
            "lastState": {},
            "name": component,
            "ready": True,
            "restartCount": restarts,
            "started": True,
            "state": {"running": {"startedAt": _stamp(started)}},
        }],
        "hostIP": address,
        "phase": "Running",
        "podIP": address,
        "podIPs": [{"ip": address}],
        "qosClass": "Burstable",
        "startTime": _stamp(REBOOT),
    }
    return pod


class _KubectlDumper(yaml.SafeDumper):
    """YAML the way kubectl (Go's yaml.v2) prints it: a string that would read back as
    another type (``"True"``, a timestamp, ``""``) is double-quoted."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    tag = dumper.resolve(yaml.ScalarNode, value, (True, False))
    style = '"' if tag != "tag:yaml.org,2002:str" or value == "" else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_KubectlDumper.add_representer(str, _represent_str)


def kubectl_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_KubectlDumper, sort_keys=True, default_flow_style=False, width=100000)


def kubectl_json(obj: Any) -> str:
    """``kubectl -o json``: four-space indent, keys sorted, and Go's HTML escaping of & < >."""
    text = json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") + "\n"


def kubectl_captures(cluster: Cluster, dataset: str) -> dict[str, str]:
    node, address = MASTER
    mirrors = {component: mirror_pod(cluster[node][component], node, address, restarts, dataset)
               for component, restarts in CONTROL_PLANE_PODS}
    files = {
        "kubectl/get-po-o-wide.txt": get_po_wide(),
        f"kubectl/etcd-{node}.yaml": kubectl_yaml(mirrors["etcd"]),
        f"kubectl/etcd-{node}.json": kubectl_json(mirrors["etcd"]),
        f"kubectl/kube-apiserver-{node}.yaml": kubectl_yaml(mirrors["kube-apiserver"]),
        "kubectl/get-po-o-yaml.yaml": kubectl_yaml({
            "apiVersion": "v1",
            "items": [mirrors[c] for c, _ in CONTROL_PLANE_PODS],
            "kind": "List",
            "metadata": {"resourceVersion": ""},
        }),
    }
    return files


# -- the data sets -----------------------------------------------------------------------------

STACKED_3 = [("cp1", "10.0.0.11"), ("cp2", "10.0.0.12"), ("cp3", "10.0.0.13")]
ETCD_HOSTS_5 = [(f"infra{i}", f"10.0.1.{11 + i}") for i in range(5)]
IPV6 = ("cp-v6", "fd00:10::10")


@dataclass(frozen=True)
class Spec:
    """One data set: its metadata and how to build its nodes (and kubectl captures)."""

    name: str
    summary: str
    topology: str
    generation: str
    teaches: str
    build: Callable[[], Cluster]
    expect: tuple[dict[str, str], ...] = ()
    #: the clean data set a broken one was made from (its nodes/ differ in one manifest)
    based_on: str | None = None
    kubectl: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _external_5(generation: str = "1.28") -> Cluster:
    return external(ETCD_HOSTS_5, STACKED_3, generation)


def _single_master(generation: str = "1.28") -> Cluster:
    return single(*MASTER, generation)


SPECS: list[Spec] = [
    Spec("single-control-plane",
         "The tutorial's cluster: one control-plane node (master) with a one-member etcd, and three workers.",
         "stacked", "1.28",
         "Where etcd runs in a kubeadm cluster, how the apiserver reaches it over 127.0.0.1:2379, "
         "and how the static manifests and the kubectl view of them relate.",
         _single_master, kubectl=True),
    Spec("stacked-ha-3",
         "Three control-plane nodes (cp1-cp3), each with its own etcd member: kubeadm's default HA topology.",
         "stacked", "1.28",
         "Stacked etcd: one member per control-plane node, each apiserver on its local member, "
         "and the --initial-cluster list that grows as nodes join.",
         lambda: stacked(STACKED_3, "1.28")),
    Spec("stacked-ha-3-v1.31",
         "stacked-ha-3 as kubeadm v1.31 writes it: /livez and /readyz probes for etcd.",
         "stacked", "1.31",
         "What changes between kubeadm generations (the etcd probes) and what does not (the wiring).",
         lambda: stacked(STACKED_3, "1.31")),
    Spec("single-control-plane-v1.34",
         "The single-node cluster as kubeadm v1.34 writes it, with etcd 3.6 flag names.",
         "stacked", "1.34",
         "etcd 3.6 renames: --feature-gates=InitialCorruptCheck=true and --watch-progress-notify-interval "
         "replace the --experimental-* flags.",
         lambda: _single_master("1.34")),
    Spec("single-ipv6",
         "A single IPv6 control-plane node (fd00:10::10): etcd and the apiserver meet on https://[::1]:2379.",
         "stacked", "1.31",
         "IPv6 URLs in brackets, and kubeadm's ::1 loopback in place of 127.0.0.1.",
         lambda: single(*IPV6, "1.31")),
    Spec("external-etcd-5",
         "Five dedicated etcd hosts (infra0-infra4) and three control-plane nodes whose apiservers list all five.",
         "external", "1.28",
         "External etcd: members on their own hosts, started together with state new, and apiservers "
         "that list every endpoint.",
         _external_5),
    # -- broken: one mistake each ---------------------------------------------------------
    Spec("broken/wrong-port",
         "After an edit of kube-apiserver.yaml, the apiserver on master never comes up.",
         "stacked", "1.28",
         "etcd's two ports: 2379 for clients, 2380 for peers.",
         lambda: breaking(_single_master(), "master", "kube-apiserver", "etcd-servers", "https://127.0.0.1:2380"),
         based_on="single-control-plane",
         expect=({"id": "etcd-servers-peer-port", "severity": "error", "node": "master"},)),
    Spec("broken/wrong-scheme",
         "The apiserver cannot reach etcd, and etcd's log fills with TLS handshake errors.",
         "stacked", "1.28",
         "Schemes in etcd URLs, and what a TLS listener does with a plain-text client.",
         lambda: breaking(_single_master(), "master", "kube-apiserver", "etcd-servers", "http://127.0.0.1:2379"),
         based_on="single-control-plane",
         expect=({"id": "etcd-servers-scheme", "severity": "error", "node": "master"},)),
    Spec("broken/ca-mismatch",
         "The apiserver logs x509 \"certificate signed by unknown authority\" talking to etcd.",
         "stacked", "1.28",
         "Which CA signs which certificate in a kubeadm cluster, and which CA each TLS client must trust.",
         lambda: breaking(_single_master(), "master", "kube-apiserver", "etcd-cafile", "/etc/kubernetes/pki/ca.crt"),
         based_on="single-control-plane",
         expect=({"id": "etcd-ca-mismatch", "severity": "error", "node": "master"},)),
    Spec("broken/initial-cluster-typo",
         "stacked-ha-3 where cp3's etcd refuses to start after its manifest was rewritten by hand.",
         "stacked", "1.28",
         "How a member joining an existing cluster checks its --initial-cluster against the members the cluster knows.",
         lambda: _initial_cluster_typo(),
         based_on="stacked-ha-3",
         expect=({"id": "initial-cluster-mismatch", "severity": "error", "node": "cp3"},)),
    Spec("broken/client-cert-auth-off",
         "Everything works, but a kube-bench run on master fails one etcd check.",
         "stacked", "1.28",
         "What keeps anyone who can reach port 2379 from reading every Secret of the cluster.",
         lambda: breaking(_single_master(), "master", "etcd", "client-cert-auth", "false"),
         based_on="single-control-plane",
         expect=({"id": "cis-etcd-client-cert-auth", "severity": "error", "node": "master"},)),
    Spec("broken/data-dir-not-mounted",
         "The cluster keeps coming back empty: no Deployments, no Secrets, nothing.",
         "stacked", "1.28",
         "Where a static Pod's files live: in the container, or on the node through a hostPath volume.",
         lambda: breaking(_single_master(), "master", "etcd", "data-dir", "/var/lib/etcd-data"),
         based_on="single-control-plane",
         expect=({"id": "data-dir-not-mounted", "severity": "error", "node": "master"},)),
    Spec("broken/advertise-not-served",
         "kubectl works, but etcdctl --cluster commands on master cannot connect.",
         "stacked", "1.28",
         "The difference between the URLs a member listens on and the URLs it tells clients to use.",
         lambda: breaking(_single_master(), "master", "etcd", "advertise-client-urls", "https://10.128.15.227:2379"),
         based_on="single-control-plane",
         expect=({"id": "advertise-client-not-served", "severity": "error", "node": "master"},)),
    Spec("broken/external-unknown-endpoint",
         "external-etcd-5 where cp2's apiserver logs dial timeouts to one etcd endpoint.",
         "external", "1.28",
         "With external etcd every apiserver lists every member, and a typo there goes unnoticed for a long time.",
         lambda: breaking(_external_5(), "cp2", "kube-apiserver", "etcd-servers",
                          ",".join(url("https", a, 2379) for a in
                                   ["10.0.1.11", "10.0.1.12", "10.0.1.13", "10.0.1.14", "10.0.1.16"])),
         based_on="external-etcd-5",
         expect=({"id": "etcd-servers-unknown-host", "severity": "error", "node": "cp2"},)),
    Spec("broken/no-client-cert",
         "The apiserver on master cannot connect to etcd: the TLS handshake fails.",
         "stacked", "1.28",
         "Mutual TLS between the apiserver and etcd: which side asks for a certificate, and which presents one.",
         lambda: breaking(breaking(_single_master(), "master", "kube-apiserver", "etcd-certfile", None),
                          "master", "kube-apiserver", "etcd-keyfile", None),
         based_on="single-control-plane",
         expect=({"id": "etcd-client-cert-missing", "severity": "error", "node": "master"},
                 {"id": "cis-apiserver-etcd-certfile", "severity": "error", "node": "master"})),
    Spec("broken/even-members",
         "A stacked cluster grown to four control-plane nodes \"for more safety\".",
         "stacked", "1.28",
         "Quorum arithmetic: what a fourth member adds, and what it does not.",
         lambda: stacked(STACKED_3 + [("cp4", "10.0.0.14")], "1.28"),
         expect=({"id": "cluster-even-size", "severity": "warning"},)),
]


def _initial_cluster_typo() -> Cluster:
    cluster = stacked(STACKED_3, "1.28")
    typo = "cp1=https://10.0.0.11:2380,cp2=https://10.0.0.21:2380,cp3=https://10.0.0.13:2380"
    return breaking(cluster, "cp3", "etcd", "initial-cluster", typo)


# -- writing -----------------------------------------------------------------------------------


def metadata(spec: Spec) -> str:
    k8s, tag = kubeadm.GENERATIONS[spec.generation]
    meta: dict[str, Any] = {
        "name": spec.name,
        "summary": spec.summary,
        "topology": spec.topology,
        "kubernetes": k8s,
        "etcd": tag.split("-")[0],
        "teaches": spec.teaches,
    }
    if spec.expect:
        meta["expect"] = [dict(e) for e in spec.expect]
    if spec.based_on:
        meta["based_on"] = spec.based_on
    meta.update(spec.extra)
    header = "# Generated by tools/make_datasets.py; edit the generator, not this file.\n"
    return header + yaml.safe_dump(meta, sort_keys=False, default_flow_style=False, width=100000,
                                   allow_unicode=True)


def readme(spec: Spec) -> str:
    template = TEMPLATES / spec.name / "README.md"
    if not template.is_file():
        raise SystemExit(f"make_datasets: missing README template {template.relative_to(ROOT)}")
    k8s, tag = kubeadm.GENERATIONS[spec.generation]
    text = string.Template(template.read_text(encoding="utf-8")).safe_substitute(
        name=spec.name, kubernetes=k8s, etcd=tag.split("-")[0])
    if "${" in text:
        raise SystemExit(f"make_datasets: unknown placeholder in {template.relative_to(ROOT)}")
    return text if text.endswith("\n") else text + "\n"


def files_of(spec: Spec) -> dict[str, str]:
    """Every file of one data set, relative to the data set's directory."""
    cluster = spec.build()
    files = {"dataset.yaml": metadata(spec), "README.md": readme(spec)}
    for node, pods in cluster.items():
        for component, manifest in pods.items():
            files[f"nodes/{node}/{component}.yaml"] = kubeadm.to_yaml(manifest)
    if spec.kubectl:
        files.update(kubectl_captures(cluster, spec.name))
    return files


def index() -> str:
    """``data/README.md``: the list of data sets."""
    lines = ["# Bundled data sets", "",
             "Generated by `tools/make_datasets.py` from `etcdlab.kubeadm`; regenerate, don't edit.",
             "List them with `etcdlab datasets`, load one with `etcdlab.load(\"NAME\")`.", "",
             "| name | kubernetes | summary |", "|---|---|---|"]
    for spec in SPECS:
        k8s, _ = kubeadm.GENERATIONS[spec.generation]
        lines.append(f"| [{spec.name}]({spec.name}/README.md) | {k8s} | {spec.summary} |")
    return "\n".join(lines) + "\n"


def all_files() -> dict[str, str]:
    """Every file under ``data/``, relative to it."""
    out = {"README.md": index()}
    for spec in SPECS:
        for rel, text in files_of(spec).items():
            out[f"{spec.name}/{rel}"] = text
    return out


def existing(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def differences(root: Path, wanted: dict[str, str]) -> list[str]:
    have = existing(root)
    diffs = []
    for rel, text in sorted(wanted.items()):
        if rel not in have:
            diffs.append(f"missing  {rel}")
        elif have[rel] != text.encode("utf-8"):
            diffs.append(f"differs  {rel}")
    diffs.extend(f"extra    {rel}" for rel in sorted(set(have) - set(wanted)))
    return diffs


def write(root: Path, wanted: dict[str, str]) -> list[str]:
    changes = differences(root, wanted)
    for rel, text in wanted.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
    for rel in set(existing(root)) - set(wanted):
        (root / rel).unlink()
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if data/ differs from what would be written")
    parser.add_argument("--out", type=Path, default=ROOT / "data", help="where to write (default: data/)")
    args = parser.parse_args(argv)
    wanted = all_files()
    if args.check:
        diffs = differences(args.out, wanted)
        for d in diffs:
            print(d)
        if diffs:
            print(f"make_datasets: {len(diffs)} file(s) differ; run python tools/make_datasets.py", file=sys.stderr)
            return 1
        print(f"make_datasets: {len(wanted)} files, all up to date")
        return 0
    changes = write(args.out, wanted)
    for c in changes:
        print(c)
    print(f"make_datasets: {len(wanted)} files, {len(changes)} changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
