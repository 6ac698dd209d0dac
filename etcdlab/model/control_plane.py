"""The model every source produces and every view consumes.

A kubeadm control plane, as far as etcd is concerned, is a set of **nodes**; each node
runs static **pods** (``/etc/kubernetes/manifests/*.yaml``); two of those pods matter
here:

* the **etcd member** (:class:`EtcdMember`): a server that listens for clients on 2379,
  for its peers on 2380, and for health checks and metrics on 2381;
* the **kube-apiserver** (:class:`ApiServer`): an HTTPS *client* of etcd, which finds it
  through ``--etcd-servers`` and proves who it is with ``--etcd-certfile``.

Everything is a frozen dataclass: a loaded cluster cannot change under your feet, and
two loads of the same files compare equal. URLs are parsed (:class:`~etcdlab.model.flags.Endpoint`),
paths are kept as written in the manifest (paths *inside* the container), and
:meth:`Pod.host_path` maps them to the node's disk through the Pod's hostPath volumes.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from collections.abc import Iterator

from ..errors import FlagError
from .flags import CommandLine, Endpoint, parse_initial_cluster, parse_url_list
from .host import NodeHost, PathState

#: kubeadm's ports, by role.
CLIENT_PORT, PEER_PORT, METRICS_PORT, APISERVER_PORT = 2379, 2380, 2381, 6443


@dataclass(frozen=True)
class Volume:
    """A hostPath volume mounted into the container: ``host_path`` on the node appears
    at ``mount_path`` inside the container."""

    name: str
    host_path: str | None
    mount_path: str | None
    read_only: bool = False
    type: str | None = None


@dataclass(frozen=True)
class PodStatus:
    """What ``kubectl get -o yaml`` adds under ``status`` (absent for a static manifest)."""

    phase: str | None = None
    host_ip: str | None = None
    pod_ip: str | None = None
    ready: bool | None = None
    restarts: int | None = None
    start_time: str | None = None


@dataclass(frozen=True)
class Probe:
    """How the kubelet checks a container: ``kind`` is ``liveness`` (fail it and the
    kubelet restarts the container), ``readiness`` (fail it and the Pod is not Ready) or
    ``startup`` (the other probes wait until it passes; fail it and the container restarts).

    ``scheme`` is ``HTTP`` or ``HTTPS`` for an ``httpGet`` probe, ``TCP`` for
    ``tcpSocket``, ``GRPC`` for ``grpc`` and ``EXEC`` for a command run inside the
    container (which has no host, port or path). ``host`` is None when the manifest
    gives none: the kubelet then dials the Pod's IP, which with ``hostNetwork: true`` is
    the node's own address. ``port`` is a number, or the name of a container port the
    loader could not resolve.

    >>> str(Probe("liveness", "HTTP", "127.0.0.1", 2381, "/livez"))
    'HTTP 127.0.0.1:2381/livez'
    """

    kind: str
    scheme: str
    host: str | None = None
    port: int | str | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.scheme == "EXEC":
            return "EXEC"
        host = f"[{self.host}]" if self.host and ":" in self.host else (self.host or "")
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme} {host}{port}{self.path or ''}"


@dataclass(frozen=True)
class Pod:
    """One Pod of the control plane, as a manifest or ``kubectl`` describes it.

    ``command`` is the container's ``command`` followed by its ``args``. ``file`` is
    where it was read from and ``lines`` maps each item of the command to its line in
    that file (1-based), so findings can point at a line.
    """

    name: str
    namespace: str
    component: str | None
    image: str | None
    command: CommandLine
    volumes: tuple[Volume, ...] = ()
    node_name: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    host_network: bool = False
    priority_class: str | None = None
    probes: tuple[Probe, ...] = ()
    status: PodStatus | None = None
    file: str | None = None
    line: int | None = None
    lines: tuple[int, ...] = field(default=(), repr=False, compare=False)
    file_mode: int | None = field(default=None, compare=False)
    file_owner: str | None = field(default=None, compare=False)

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)

    @property
    def from_the_api(self) -> bool:
        """True for a Pod as the API shows it (``kubectl get -o yaml``, a live cluster): it
        names its node, or carries the kubelet's mirror annotation or a status. False for a
        static manifest read from a node's disk, which says none of that."""
        return bool(self.node_name or self.annotation("kubernetes.io/config.mirror")
                    or (self.status is not None and self.status.phase))

    def probe(self, kind: str) -> Probe | None:
        """The ``liveness``, ``readiness`` or ``startup`` probe, if the container has one."""
        return next((p for p in self.probes if p.kind == kind), None)

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)

    def line_of(self, flag: str) -> int | None:
        """The line of the file that holds ``--flag`` (its last occurrence), if known."""
        f = self.command.flag(flag)
        if f is None or not self.lines:
            return self.line
        idx = f.index
        return self.lines[idx] if idx < len(self.lines) else self.line

    def mount_for(self, path: str) -> Volume | None:
        """The hostPath volume whose mount holds ``path`` (the deepest one), or None."""
        path = posixpath.normpath(path)
        best: Volume | None = None
        for v in self.volumes:
            if not v.mount_path or not v.host_path:
                continue
            mount = posixpath.normpath(v.mount_path)
            if path == mount or path.startswith(mount.rstrip("/") + "/"):
                if best is None or len(mount) > len(posixpath.normpath(best.mount_path or "")):
                    best = v
        return best

    def host_path(self, path: str) -> str | None:
        """Where ``path`` inside the container lives on the node, or None if no hostPath
        volume holds it (then it lives in the container and dies with it)."""
        v = self.mount_for(path)
        if v is None:
            return None
        mount = posixpath.normpath(v.mount_path or "")
        rel = posixpath.relpath(posixpath.normpath(path), mount)
        return posixpath.normpath(posixpath.join(v.host_path or "", rel)) if rel != "." else v.host_path


def _count(text: str | None) -> int | None:
    """A whole number written in ASCII digits (``"10000"``), else None.

    ``str.isdigit`` is not enough: it accepts ``"²"``, which ``int`` refuses, and a
    5000-digit number, which Python refuses to convert."""
    if text and len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)
    return None


def _flag_urls(pod: Pod, flag: str) -> tuple[Endpoint, ...]:
    try:
        return parse_url_list(pod.command.get_all(flag), flag=flag)
    except FlagError as exc:
        raise exc.at(pod.file, pod.line_of(flag)) from None


@dataclass(frozen=True)
class EtcdMember:
    """An etcd member: what its flags say about where it listens and what it trusts."""

    pod: Pod
    name: str
    data_dir: str | None
    listen_client_urls: tuple[Endpoint, ...]
    advertise_client_urls: tuple[Endpoint, ...]
    listen_peer_urls: tuple[Endpoint, ...]
    initial_advertise_peer_urls: tuple[Endpoint, ...]
    listen_metrics_urls: tuple[Endpoint, ...]
    initial_cluster: tuple[tuple[str, Endpoint], ...]
    initial_cluster_state: str
    cert_file: str | None
    key_file: str | None
    trusted_ca_file: str | None
    client_cert_auth: bool
    auto_tls: bool
    peer_cert_file: str | None
    peer_key_file: str | None
    peer_trusted_ca_file: str | None
    peer_client_cert_auth: bool
    peer_auto_tls: bool
    snapshot_count: int | None

    @classmethod
    def from_pod(cls, pod: Pod) -> "EtcdMember":
        c = pod.command
        try:
            initial = parse_initial_cluster(c.get("initial-cluster", "") or "")
        except FlagError as exc:
            raise exc.at(pod.file, pod.line_of("initial-cluster")) from None

        def boolean(name: str) -> bool:
            try:
                return c.get_bool(name)
            except FlagError as exc:
                raise exc.at(pod.file, pod.line_of(name)) from None

        snap = c.get("snapshot-count")
        # etcd's own defaults apply to URL flags that are not given
        listen_client = _flag_urls(pod, "listen-client-urls") or parse_url_list("http://localhost:2379")
        listen_peer = _flag_urls(pod, "listen-peer-urls") or parse_url_list("http://localhost:2380")
        return cls(
            pod=pod,
            name=c.get("name") or "default",
            data_dir=c.get("data-dir"),
            listen_client_urls=listen_client,
            advertise_client_urls=_flag_urls(pod, "advertise-client-urls"),
            listen_peer_urls=listen_peer,
            initial_advertise_peer_urls=_flag_urls(pod, "initial-advertise-peer-urls"),
            listen_metrics_urls=_flag_urls(pod, "listen-metrics-urls"),
            initial_cluster=initial,
            initial_cluster_state=c.get("initial-cluster-state") or "new",
            cert_file=c.get("cert-file"),
            key_file=c.get("key-file"),
            trusted_ca_file=c.get("trusted-ca-file"),
            client_cert_auth=boolean("client-cert-auth"),
            auto_tls=boolean("auto-tls"),
            peer_cert_file=c.get("peer-cert-file"),
            peer_key_file=c.get("peer-key-file"),
            peer_trusted_ca_file=c.get("peer-trusted-ca-file"),
            peer_client_cert_auth=boolean("peer-client-cert-auth"),
            peer_auto_tls=boolean("peer-auto-tls"),
            snapshot_count=_count(snap),
        )

    @property
    def client_urls(self) -> tuple[Endpoint, ...]:
        """Where clients reach this member: its listeners (what really accepts connections)."""
        return self.listen_client_urls

    @property
    def peer_url(self) -> Endpoint | None:
        """The peer URL this member tells the others to use."""
        return self.initial_advertise_peer_urls[0] if self.initial_advertise_peer_urls else None


@dataclass(frozen=True)
class ApiServer:
    """The kube-apiserver, seen as a client of etcd."""

    pod: Pod
    etcd_servers: tuple[Endpoint, ...]
    etcd_cafile: str | None
    etcd_certfile: str | None
    etcd_keyfile: str | None
    etcd_prefix: str | None
    advertise_address: str | None
    secure_port: int | None
    client_ca_file: str | None
    encryption_provider_config: str | None

    @classmethod
    def from_pod(cls, pod: Pod) -> "ApiServer":
        c = pod.command
        port = c.get("secure-port")
        return cls(
            pod=pod,
            etcd_servers=_flag_urls(pod, "etcd-servers"),
            etcd_cafile=c.get("etcd-cafile"),
            etcd_certfile=c.get("etcd-certfile"),
            etcd_keyfile=c.get("etcd-keyfile"),
            etcd_prefix=c.get("etcd-prefix"),
            advertise_address=c.get("advertise-address"),
            secure_port=_count(port),
            client_ca_file=c.get("client-ca-file"),
            encryption_provider_config=c.get("encryption-provider-config"),
        )


@dataclass(frozen=True)
class Node:
    """A machine of the cluster, with the control-plane pods it runs.

    ``role`` is ``control-plane`` (runs an apiserver, and in a stacked topology its
    etcd member too), ``etcd`` (a dedicated etcd host of an external topology) or
    ``worker``.
    """

    name: str
    address: str | None
    role: str
    pods: tuple[Pod, ...] = ()
    etcd: EtcdMember | None = None
    apiserver: ApiServer | None = None
    source: str | None = None

    def pod(self, component: str) -> Pod | None:
        for p in self.pods:
            if p.component == component:
                return p
        return None


@dataclass(frozen=True)
class ControlPlane:
    """A whole cluster, as far as etcd is concerned: its nodes, in a stable order.

    ``host`` is what the loader read from a real node's disk (modes and owners for the
    CIS host checks), None for bundled data, copies and captures; ``unreadable`` lists the
    files of a manifest directory that could not be read (the rest was loaded).
    """

    nodes: tuple[Node, ...]
    name: str | None = None
    source: str | None = None
    description: str | None = None
    host: NodeHost | None = None
    unreadable: tuple[PathState, ...] = ()

    @property
    def members(self) -> tuple[EtcdMember, ...]:
        """Every etcd member, in node order."""
        return tuple(n.etcd for n in self.nodes if n.etcd is not None)

    @property
    def apiservers(self) -> tuple[ApiServer, ...]:
        return tuple(n.apiserver for n in self.nodes if n.apiserver is not None)

    @property
    def topology_kind(self) -> str:
        """``stacked`` when every member shares a node with an apiserver, ``external``
        when the members have hosts of their own, ``mixed`` otherwise, ``none`` without etcd."""
        hosts = [n for n in self.nodes if n.etcd is not None]
        if not hosts:
            return "none"
        stacked = [n for n in hosts if n.apiserver is not None]
        if len(stacked) == len(hosts):
            return "stacked"
        return "external" if not stacked else "mixed"

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def node_of(self, pod_or_member: Pod | EtcdMember | ApiServer) -> Node:
        pod = pod_or_member if isinstance(pod_or_member, Pod) else pod_or_member.pod
        for n in self.nodes:
            if any(p is pod for p in n.pods):
                return n
        raise KeyError(pod.name)

    def pods(self) -> Iterator[Pod]:
        for n in self.nodes:
            yield from n.pods
