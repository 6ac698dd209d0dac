"""What each flag means: the etcd command and the apiserver's ``--etcd-*`` flags as a table.

A kubeadm manifest is a wall of ``--name=value`` lines. :func:`flag_table` turns the
command of one Pod into rows of *flag, value, what it means*, which prints as aligned
text in a terminal and as an HTML table in a notebook. :func:`explain_flag` gives the
meaning of one flag.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..model.control_plane import Pod

#: Meanings of the flags that matter for etcd, written for students.
MEANINGS: dict[str, str] = {
    # -- etcd: identity and data
    "name": "this member's name; kubeadm uses the node name",
    "data-dir": "where the member keeps its write-ahead log and snapshots (must be on the node's disk)",
    "snapshot-count": "committed entries between two snapshots of the database (kubeadm: 10000)",
    # -- etcd: clients
    "listen-client-urls": "where etcd accepts clients (the apiserver, etcdctl): loopback for the local apiserver, "
                          "the node address for the others",
    "advertise-client-urls": "the client URL this member tells others to use",
    "cert-file": "server certificate presented to clients on 2379",
    "key-file": "private key of the server certificate",
    "client-cert-auth": "clients must present a certificate signed by the trusted CA",
    "trusted-ca-file": "CA that client certificates must be signed by",
    "auto-tls": "self-signed client TLS (insecure; must stay off)",
    # -- etcd: peers
    "listen-peer-urls": "where etcd accepts its peers (other members) for Raft traffic, port 2380",
    "initial-advertise-peer-urls": "the peer URL this member tells the others to use",
    "initial-cluster": "every member name=peer URL at bootstrap (kubeadm lists the members that exist at join time)",
    "initial-cluster-state": "new for the first member; existing when joining a running cluster",
    "initial-cluster-token": "a name that keeps two clusters from joining by mistake",
    "peer-cert-file": "certificate presented to other members on 2380",
    "peer-key-file": "private key of the peer certificate",
    "peer-client-cert-auth": "members must present a certificate signed by the peer CA",
    "peer-trusted-ca-file": "CA that peer certificates must be signed by",
    "peer-auto-tls": "self-signed peer TLS (insecure; must stay off)",
    # -- etcd: health and tuning
    "listen-metrics-urls": "plain-HTTP /health and /metrics for the kubelet's probes, on loopback port 2381",
    "heartbeat-interval": "how often the leader sends heartbeats, in ms (default 100)",
    "election-timeout": "how long a follower waits without a heartbeat before it calls an election, in ms (default 1000)",
    "pre-vote": "a candidate first asks whether it could win, so a returning member does not disrupt the cluster",
    "experimental-initial-corrupt-check": "compare data with the other members at start-up to catch corruption",
    "experimental-watch-progress-notify-interval": "how often watchers get progress notifications",
    "watch-progress-notify-interval": "how often watchers get progress notifications",
    "feature-gates": "named features switched on or off (etcd 3.6 moved the experimental flags here)",
    "quota-backend-bytes": "database size limit; past it etcd raises a NOSPACE alarm and refuses writes",
    # -- kube-apiserver: the etcd client
    "etcd-servers": "the etcd endpoints the apiserver connects to, as an HTTPS client",
    "etcd-cafile": "CA the apiserver uses to verify etcd's server certificate",
    "etcd-certfile": "client certificate the apiserver presents to etcd",
    "etcd-keyfile": "private key of that client certificate",
    "etcd-prefix": "key prefix under which the apiserver stores objects (default /registry)",
    "encryption-provider-config": "how Secrets are encrypted before they are written to etcd",
    "advertise-address": "the address the apiserver advertises to the cluster",
    "client-ca-file": "the cluster CA: it signs certificates of Kubernetes clients (not etcd's)",
    "secure-port": "the apiserver's HTTPS port (6443)",
}

#: Flags of the apiserver that concern etcd (the rest is out of scope for this lab).
APISERVER_ETCD_FLAGS = ("etcd-servers", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-prefix",
                        "encryption-provider-config", "advertise-address", "client-ca-file")


def explain_flag(name: str) -> str:
    """What ``--name`` does, in one line (or a note that this lab does not cover it).

    >>> explain_flag("--listen-metrics-urls")
    "plain-HTTP /health and /metrics for the kubelet's probes, on loopback port 2381"
    """
    return MEANINGS.get(name.lstrip("-"), "(not covered by this lab)")


@dataclass(frozen=True)
class FlagRow:
    flag: str
    value: str
    meaning: str
    line: int | None


@dataclass(frozen=True)
class FlagTable:
    """Rows of *flag, value, meaning*; prints as text, renders as HTML in a notebook."""

    program: str
    rows: tuple[FlagRow, ...]
    file: str | None = None

    def __str__(self) -> str:
        w1 = max([len("FLAG")] + [len(r.flag) for r in self.rows])
        w2 = min(60, max([len("VALUE")] + [len(r.value) for r in self.rows]))
        lines = [f"{'FLAG':<{w1}}  {'VALUE':<{w2}}  MEANING"]
        for r in self.rows:
            lines.append(f"{r.flag:<{w1}}  {r.value:<{w2}}  {r.meaning}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td><code>{html.escape(r.flag)}</code></td><td><code>{html.escape(r.value)}</code></td>"
            f"<td>{html.escape(r.meaning)}</td></tr>"
            for r in self.rows
        )
        return ("<table><thead><tr><th>flag</th><th>value</th><th>what it means</th></tr></thead>"
                f"<tbody>{cells}</tbody></table>")

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def value(self, flag: str) -> str | None:
        for r in self.rows:
            if r.flag == "--" + flag.lstrip("-"):
                return r.value
        return None


def flag_table(pod: Pod, *, only_etcd: bool | None = None) -> FlagTable:
    """The command of ``pod`` as a :class:`FlagTable`.

    For the apiserver, whose command has some thirty flags, only those that concern
    etcd are shown unless ``only_etcd=False``.
    """
    if only_etcd is None:
        only_etcd = pod.component == "kube-apiserver"
    rows = []
    for f in pod.command.flags:
        if only_etcd and f.name not in APISERVER_ETCD_FLAGS:
            continue
        rows.append(FlagRow(flag=f"--{f.name}", value="true" if f.value is None else f.value,
                            meaning=explain_flag(f.name), line=pod.line_of(f.name)))
    return FlagTable(program=pod.command.program, rows=tuple(rows), file=pod.file)
