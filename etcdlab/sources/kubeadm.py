"""The static Pod manifests kubeadm writes, rendered from a few parameters.

This is the single source of truth for "what a kubeadm control plane looks like": the
bundled data sets are generated from it (``tools/make_datasets.py``), and
:class:`~etcdlab.real.lab.LocalCluster` starts real etcd processes with exactly the
command these functions write, so the manifest a student reads is the command the
process runs.

What kubeadm does (see ``FACTS.md`` §1):

* flags are written ``--name=value``, sorted by name;
* etcd listens for clients on ``127.0.0.1:2379`` *and* the node's address (the
  apiserver on the same node uses the loopback one), for peers on ``<adv>:2380``, and
  serves ``/health`` and metrics over plain HTTP on ``127.0.0.1:2381``;
* the first control-plane node's ``--initial-cluster`` names only itself; a node that
  joins later lists the members that already exist plus itself, with
  ``--initial-cluster-state=existing``;
* every path is inside a hostPath volume, so data and certificates live on the node.

Generations differ in small ways, chosen with ``generation``: ``"1.28"`` (etcd 3.5,
``--experimental-*`` flags, ``/health`` probes), ``"1.31"`` (``/livez`` and ``/readyz``
probes) and ``"1.34"`` (etcd 3.6: ``--feature-gates=InitialCorruptCheck=true`` and
``--watch-progress-notify-interval``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..model.addresses import bracket as host_for_url
from ..model.addresses import is_ipv6, url

#: generation → (kubernetes version, etcd image tag)
GENERATIONS: dict[str, tuple[str, str]] = {
    "1.28": ("v1.28.2", "3.5.9-0"),
    "1.31": ("v1.31.4", "3.5.15-0"),
    "1.34": ("v1.34.1", "3.6.4-0"),
}

ETCD_PKI = "/etc/kubernetes/pki/etcd"
K8S_PKI = "/etc/kubernetes/pki"
DATA_DIR = "/var/lib/etcd"


def loopback_for(address: str) -> str:
    """kubeadm's loopback: ``::1`` next to an IPv6 advertise address, else ``127.0.0.1``."""
    return "::1" if is_ipv6(address) else "127.0.0.1"


def _pod(component: str, annotations: Mapping[str, str], command: list[str], image: str,
         container: dict[str, Any], mounts: list[tuple[str, str, bool]],
         volumes: list[tuple[str, str, str]]) -> dict[str, Any]:
    """The shape every kubeadm static Pod shares."""
    c: dict[str, Any] = {
        "command": command,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "name": component,
        **container,
        "volumeMounts": [
            {"mountPath": path, "name": name, **({"readOnly": True} if ro else {})}
            for name, path, ro in mounts
        ],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": dict(annotations),
            "creationTimestamp": None,
            "labels": {"component": component, "tier": "control-plane"},
            "name": component,
            "namespace": "kube-system",
        },
        "spec": {
            "containers": [dict(sorted(c.items()))],
            "hostNetwork": True,
            "priority": 2000001000,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [
                {"hostPath": {"path": path, "type": typ}, "name": name}
                for name, path, typ in sorted(volumes)
            ],
        },
        "status": {},
    }


def _probe(path: str, host: str, port: int, scheme: str, failure: int, *, delay: bool = True,
           period: int = 10) -> dict[str, Any]:
    probe: dict[str, Any] = {
        "failureThreshold": failure,
        "httpGet": {"host": host, "path": path, "port": port, "scheme": scheme},
    }
    if delay:
        probe["initialDelaySeconds"] = 10
    probe["periodSeconds"] = period
    probe["timeoutSeconds"] = 15
    return probe


def etcd_command(node: str, advertise: str, *, initial_cluster: Sequence[tuple[str, str]] | None = None,
                 state: str = "new", client_port: int = 2379, peer_port: int = 2380,
                 metrics_port: int = 2381, data_dir: str = DATA_DIR, pki_dir: str = ETCD_PKI,
                 generation: str = "1.28", extra_flags: Mapping[str, str] | None = None,
                 loopback: str | None = None) -> list[str]:
    """The etcd command kubeadm writes for ``node`` advertising ``advertise``.

    ``initial_cluster`` is a list of ``(name, peer URL)``; by default just this member.
    ``extra_flags`` adds or overrides flags (kubeadm's ``etcd.local.extraArgs``).
    """
    if generation not in GENERATIONS:
        raise ValueError(f"unknown kubeadm generation {generation!r}; choose one of {sorted(GENERATIONS)}")
    lo = loopback or loopback_for(advertise)
    peer = url("https", advertise, peer_port)
    members = list(initial_cluster) if initial_cluster else [(node, peer)]
    listen_client = [url("https", lo, client_port)]
    if advertise != lo:
        listen_client.append(url("https", advertise, client_port))
    flags: dict[str, str] = {
        "advertise-client-urls": url("https", advertise, client_port),
        "cert-file": f"{pki_dir}/server.crt",
        "client-cert-auth": "true",
        "data-dir": data_dir,
        "initial-advertise-peer-urls": peer,
        "initial-cluster": ",".join(f"{n}={u}" for n, u in members),
        "key-file": f"{pki_dir}/server.key",
        "listen-client-urls": ",".join(listen_client),
        "listen-metrics-urls": url("http", lo, metrics_port),
        "listen-peer-urls": peer,
        "name": node,
        "peer-cert-file": f"{pki_dir}/peer.crt",
        "peer-client-cert-auth": "true",
        "peer-key-file": f"{pki_dir}/peer.key",
        "peer-trusted-ca-file": f"{pki_dir}/ca.crt",
        "snapshot-count": "10000",
        "trusted-ca-file": f"{pki_dir}/ca.crt",
    }
    if state != "new":
        flags["initial-cluster-state"] = state
    if generation == "1.34":
        flags["feature-gates"] = "InitialCorruptCheck=true"
        flags["watch-progress-notify-interval"] = "5s"
    else:
        flags["experimental-initial-corrupt-check"] = "true"
        flags["experimental-watch-progress-notify-interval"] = "5s"
    for k, v in (extra_flags or {}).items():
        flags[k.lstrip("-")] = v
    return ["etcd"] + [f"--{k}={v}" for k, v in sorted(flags.items())]


def etcd_manifest(node: str, advertise: str, *, initial_cluster: Sequence[tuple[str, str]] | None = None,
                  state: str = "new", client_port: int = 2379, peer_port: int = 2380,
                  metrics_port: int = 2381, data_dir: str = DATA_DIR, pki_dir: str = ETCD_PKI,
                  generation: str = "1.28", extra_flags: Mapping[str, str] | None = None,
                  loopback: str | None = None) -> dict[str, Any]:
    """``/etc/kubernetes/manifests/etcd.yaml`` as kubeadm writes it, as a dict.

    >>> pod = etcd_manifest("master", "10.128.15.226")
    >>> [f for f in pod["spec"]["containers"][0]["command"] if "listen-client" in f]
    ['--listen-client-urls=https://127.0.0.1:2379,https://10.128.15.226:2379']
    """
    lo = loopback or loopback_for(advertise)
    command = etcd_command(node, advertise, initial_cluster=initial_cluster, state=state,
                           client_port=client_port, peer_port=peer_port, metrics_port=metrics_port,
                           data_dir=data_dir, pki_dir=pki_dir, generation=generation,
                           extra_flags=extra_flags, loopback=lo)
    _, tag = GENERATIONS[generation]
    if generation == "1.28":
        probes = {
            "livenessProbe": _probe("/health?exclude=NOSPACE&serializable=true", lo, metrics_port, "HTTP", 8),
            "startupProbe": _probe("/health?serializable=false", lo, metrics_port, "HTTP", 24),
        }
    else:
        probes = {
            "livenessProbe": _probe("/livez", lo, metrics_port, "HTTP", 8),
            "readinessProbe": _probe("/readyz", lo, metrics_port, "HTTP", 3, delay=False, period=1),
            "startupProbe": _probe("/readyz", lo, metrics_port, "HTTP", 24),
        }
    container = {**probes, "resources": {"requests": {"cpu": "100m", "memory": "100Mi"}}}
    return _pod(
        "etcd",
        {"kubeadm.kubernetes.io/etcd.advertise-client-urls": url("https", advertise, client_port)},
        command, f"registry.k8s.io/etcd:{tag}", container,
        mounts=[("etcd-data", data_dir, False), ("etcd-certs", pki_dir, False)],
        volumes=[("etcd-certs", pki_dir, "DirectoryOrCreate"), ("etcd-data", data_dir, "DirectoryOrCreate")],
    )


_K8S_VOLUMES = [
    ("ca-certs", "/etc/ssl/certs"),
    ("etc-ca-certificates", "/etc/ca-certificates"),
    ("k8s-certs", K8S_PKI),
    ("usr-local-share-ca-certificates", "/usr/local/share/ca-certificates"),
    ("usr-share-ca-certificates", "/usr/share/ca-certificates"),
]


def apiserver_command(advertise: str, *, etcd_servers: Sequence[str] | None = None,
                      etcd_cafile: str = f"{ETCD_PKI}/ca.crt",
                      etcd_certfile: str = f"{K8S_PKI}/apiserver-etcd-client.crt",
                      etcd_keyfile: str = f"{K8S_PKI}/apiserver-etcd-client.key",
                      extra_flags: Mapping[str, str] | None = None) -> list[str]:
    """The kube-apiserver command kubeadm writes; by default a stacked node's, whose
    apiserver talks to the etcd member on the same node over loopback."""
    servers = list(etcd_servers) if etcd_servers else [url("https", loopback_for(advertise), 2379)]
    flags = {
        "advertise-address": advertise,
        "allow-privileged": "true",
        "authorization-mode": "Node,RBAC",
        "client-ca-file": f"{K8S_PKI}/ca.crt",
        "enable-admission-plugins": "NodeRestriction",
        "enable-bootstrap-token-auth": "true",
        "etcd-cafile": etcd_cafile,
        "etcd-certfile": etcd_certfile,
        "etcd-keyfile": etcd_keyfile,
        "etcd-servers": ",".join(servers),
        "kubelet-client-certificate": f"{K8S_PKI}/apiserver-kubelet-client.crt",
        "kubelet-client-key": f"{K8S_PKI}/apiserver-kubelet-client.key",
        "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
        "proxy-client-cert-file": f"{K8S_PKI}/front-proxy-client.crt",
        "proxy-client-key-file": f"{K8S_PKI}/front-proxy-client.key",
        "requestheader-allowed-names": "front-proxy-client",
        "requestheader-client-ca-file": f"{K8S_PKI}/front-proxy-ca.crt",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-username-headers": "X-Remote-User",
        "secure-port": "6443",
        "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
        "service-account-key-file": f"{K8S_PKI}/sa.pub",
        "service-account-signing-key-file": f"{K8S_PKI}/sa.key",
        "service-cluster-ip-range": "10.96.0.0/12",
        "tls-cert-file": f"{K8S_PKI}/apiserver.crt",
        "tls-private-key-file": f"{K8S_PKI}/apiserver.key",
    }
    if is_ipv6(advertise):
        flags["service-cluster-ip-range"] = "fd00:10:96::/112"
    for k, v in (extra_flags or {}).items():
        flags[k.lstrip("-")] = v
    return ["kube-apiserver"] + [f"--{k}={v}" for k, v in sorted(flags.items())]


def apiserver_manifest(node: str, advertise: str, *, etcd_servers: Sequence[str] | None = None,
                       generation: str = "1.28", extra_flags: Mapping[str, str] | None = None,
                       etcd_cafile: str = f"{ETCD_PKI}/ca.crt",
                       etcd_certfile: str = f"{K8S_PKI}/apiserver-etcd-client.crt",
                       etcd_keyfile: str = f"{K8S_PKI}/apiserver-etcd-client.key") -> dict[str, Any]:
    """``/etc/kubernetes/manifests/kube-apiserver.yaml`` as kubeadm writes it.

    ``node`` is not written into the manifest (static Pods don't name their node) but
    keeps the signature parallel to :func:`etcd_manifest`.
    """
    del node
    k8s, _ = GENERATIONS[generation]
    command = apiserver_command(advertise, etcd_servers=etcd_servers, etcd_cafile=etcd_cafile,
                                etcd_certfile=etcd_certfile, etcd_keyfile=etcd_keyfile,
                                extra_flags=extra_flags)
    container = {
        "livenessProbe": _probe("/livez", advertise, 6443, "HTTPS", 8),
        "readinessProbe": _probe("/readyz", advertise, 6443, "HTTPS", 3, delay=False, period=1),
        "resources": {"requests": {"cpu": "250m"}},
        "startupProbe": _probe("/livez", advertise, 6443, "HTTPS", 24),
    }
    return _pod(
        "kube-apiserver",
        {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{host_for_url(advertise)}:6443"},
        command, f"registry.k8s.io/kube-apiserver:{k8s}", container,
        mounts=[(n, p, True) for n, p in _K8S_VOLUMES],
        volumes=[(n, p, "DirectoryOrCreate") for n, p in _K8S_VOLUMES],
    )


def controller_manager_manifest(advertise: str, *, generation: str = "1.28",
                                pod_cidr: str = "10.244.0.0/16") -> dict[str, Any]:
    """``kube-controller-manager.yaml``: no etcd flags (it talks to the apiserver only)."""
    k8s, _ = GENERATIONS[generation]
    lo = loopback_for(advertise)
    flags = {
        "allocate-node-cidrs": "true",
        "authentication-kubeconfig": "/etc/kubernetes/controller-manager.conf",
        "authorization-kubeconfig": "/etc/kubernetes/controller-manager.conf",
        "bind-address": lo,
        "client-ca-file": f"{K8S_PKI}/ca.crt",
        "cluster-cidr": pod_cidr if not is_ipv6(advertise) else "fd00:10:244::/56",
        "cluster-name": "kubernetes",
        "cluster-signing-cert-file": f"{K8S_PKI}/ca.crt",
        "cluster-signing-key-file": f"{K8S_PKI}/ca.key",
        "controllers": "*,bootstrapsigner,tokencleaner",
        "kubeconfig": "/etc/kubernetes/controller-manager.conf",
        "leader-elect": "true",
        "requestheader-client-ca-file": f"{K8S_PKI}/front-proxy-ca.crt",
        "root-ca-file": f"{K8S_PKI}/ca.crt",
        "service-account-private-key-file": f"{K8S_PKI}/sa.key",
        "service-cluster-ip-range": "10.96.0.0/12" if not is_ipv6(advertise) else "fd00:10:96::/112",
        "use-service-account-credentials": "true",
    }
    command = ["kube-controller-manager"] + [f"--{k}={v}" for k, v in sorted(flags.items())]
    container = {
        "livenessProbe": _probe("/healthz", lo, 10257, "HTTPS", 8),
        "resources": {"requests": {"cpu": "200m"}},
        "startupProbe": _probe("/healthz", lo, 10257, "HTTPS", 24),
    }
    vols = _K8S_VOLUMES[:2] + [
        ("flexvolume-dir", "/usr/libexec/kubernetes/kubelet-plugins/volume/exec"),
        ("k8s-certs", K8S_PKI),
        ("kubeconfig", "/etc/kubernetes/controller-manager.conf"),
    ] + _K8S_VOLUMES[3:]
    return _pod("kube-controller-manager", {}, command, f"registry.k8s.io/kube-controller-manager:{k8s}",
                container, mounts=[(n, p, n != "flexvolume-dir") for n, p in vols],
                volumes=[(n, p, "FileOrCreate" if p.endswith(".conf") else "DirectoryOrCreate") for n, p in vols])


def scheduler_manifest(advertise: str, *, generation: str = "1.28") -> dict[str, Any]:
    """``kube-scheduler.yaml``: no etcd flags either."""
    k8s, _ = GENERATIONS[generation]
    lo = loopback_for(advertise)
    command = ["kube-scheduler", "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
               "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf", f"--bind-address={lo}",
               "--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=true"]
    container = {
        "livenessProbe": _probe("/healthz", lo, 10259, "HTTPS", 8),
        "resources": {"requests": {"cpu": "100m"}},
        "startupProbe": _probe("/healthz", lo, 10259, "HTTPS", 24),
    }
    return _pod("kube-scheduler", {}, command, f"registry.k8s.io/kube-scheduler:{k8s}", container,
                mounts=[("kubeconfig", "/etc/kubernetes/scheduler.conf", True)],
                volumes=[("kubeconfig", "/etc/kubernetes/scheduler.conf", "FileOrCreate")])


def to_yaml(obj: Mapping[str, Any]) -> str:
    """Dump a manifest the way kubeadm does: keys sorted, block style, no line wrapping."""
    import yaml

    return yaml.safe_dump(dict(obj), sort_keys=True, default_flow_style=False, width=100000)


def with_flag(pod: Mapping[str, Any], flag: str, value: str | None) -> dict[str, Any]:
    """A copy of ``pod`` with ``--flag`` set to ``value`` (or removed when ``value`` is None),
    keeping kubeadm's sorted order. Handy to break a manifest on purpose."""
    import copy

    out = copy.deepcopy(dict(pod))
    container = out["spec"]["containers"][0]
    program, *flags = container["command"]
    kept = [f for f in flags if f.split("=", 1)[0] != f"--{flag}"]
    if value is not None:
        kept.append(f"--{flag}={value}")
    container["command"] = [program] + sorted(kept, key=lambda f: f.split("=", 1)[0])
    return out
