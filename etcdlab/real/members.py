"""One etcd member of a lab cluster: its timings, its ports and URLs, the command line
rendered from kubeadm's ``etcd.yaml``, and the events (kill, stop, restart) of its life.
"""

from __future__ import annotations

import subprocess
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import EtcdlabError
from .ports import LOOPBACK

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster


#: The longest election timeout etcd accepts (``--election-timeout``, milliseconds).
MAX_ELECTION_MS = 50000


@dataclass(frozen=True)
class Timings:
    """Raft timings for the lab (milliseconds). etcd's defaults are 100/1000, pre-vote on (3.5).

    Checked here, with etcd's own rules, so a bad pair is one sentence before anything
    starts rather than a JSON log line from a member that refused to: the heartbeat is a
    positive whole number of milliseconds, and the election timeout is at least 5 times
    the heartbeat (a follower must miss several heartbeats before it suspects the leader)
    and at most 50000 ms.
    """

    heartbeat_ms: int = 50
    election_ms: int = 500
    pre_vote: bool = True

    def __post_init__(self) -> None:
        for label, value in (("heartbeat interval", self.heartbeat_ms), ("election timeout", self.election_ms)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise EtcdlabError(f"the {label} must be a whole number of milliseconds, got {value!r}.")
            if value <= 0:
                raise EtcdlabError(f"the {label} must be a positive number of milliseconds, got {value}.")
        if self.election_ms < 5 * self.heartbeat_ms:
            raise EtcdlabError(f"the election timeout ({self.election_ms} ms) must be at least 5 times the "
                               f"heartbeat interval ({self.heartbeat_ms} ms), as etcd requires: make it "
                               f"{5 * self.heartbeat_ms} ms or more.")
        if self.election_ms > MAX_ELECTION_MS:
            raise EtcdlabError(f"the election timeout ({self.election_ms} ms) must be at most {MAX_ELECTION_MS} ms, "
                               "the longest etcd accepts.")

    def flags(self) -> dict[str, str]:
        """As etcd flags, for the manifest's ``extra_flags`` (kubeadm's ``etcd.local.extraArgs``)."""
        return {"heartbeat-interval": str(self.heartbeat_ms), "election-timeout": str(self.election_ms),
                "pre-vote": "true" if self.pre_vote else "false"}


@dataclass(frozen=True)
class Event:
    """Something the lab did or saw, ``t`` seconds after the cluster started."""

    t: float
    kind: str          #: start, kill, stop, restart, leader, quorum-lost, quorum-back, ...
    member: str | None = None
    detail: str = ""


class Member:
    """One etcd member: its ports, files and (when running) its process."""

    def __init__(self, cluster: "Cluster", index: int, name: str, ports: tuple[int, int, int]):
        self.cluster = weakref.proxy(cluster)   # no cycle: dropping the cluster frees (and stops) it
        self.index = index
        self.name = name
        self.client_port, self.peer_port, self.metrics_port = ports
        self.pki = cluster.pki.node(name)
        self.data_dir = cluster.directory / "data" / name
        self.log_path = cluster.directory / "logs" / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.member_id: str | None = None    #: hex, learned from the member once it runs

    # URLs -------------------------------------------------------------------------------
    @property
    def client_url(self) -> str:
        return f"https://{LOOPBACK}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"https://{LOOPBACK}:{self.peer_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.metrics_port}"

    # process ----------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.running else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def manifest(self) -> dict:
        """This member's ``etcd.yaml`` as kubeadm would write it, with the lab's ports and paths."""
        from ..sources.kubeadm import etcd_manifest

        c = self.cluster
        return etcd_manifest(
            self.name, LOOPBACK,
            initial_cluster=[(m.name, m.peer_url) for m in c.members],
            client_port=self.client_port, peer_port=self.peer_port, metrics_port=self.metrics_port,
            data_dir=str(self.data_dir), pki_dir=str(self.pki.etcd_dir),
            generation=c.generation, extra_flags=c.timings.flags())

    def apiserver_manifest(self) -> dict:
        """The ``kube-apiserver.yaml`` of a stacked kubeadm node, talking to this member.

        kubeadm's, with ``--etcd-servers`` set to this member's client URL and every
        ``/etc/kubernetes/pki`` (flags and the ``k8s-certs`` volume) moved to this node's
        PKI directory in the lab. No apiserver runs: this is what one *would* run with.
        """
        import json

        from ..sources.kubeadm import apiserver_manifest

        pod = apiserver_manifest(self.name, LOOPBACK, etcd_servers=[self.client_url])
        text = json.dumps(pod).replace("/etc/kubernetes/pki", json.dumps(str(self.pki.directory))[1:-1])
        return json.loads(text)

    @property
    def argv(self) -> list[str]:
        """The command the process runs: the manifest's command, with the real etcd binary."""
        command = list(self.manifest()["spec"]["containers"][0]["command"])
        return [self.cluster.etcd] + command[1:]

    def rss_bytes(self) -> int | None:
        """Resident memory of the process (Linux only), or None."""
        if not self.running:
            return None
        try:
            with open(f"/proc/{self.process.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.running else "down"
        return f"<Member {self.name} {self.client_url} {state}>"


class _PortInUse(EtcdlabError):
    pass
