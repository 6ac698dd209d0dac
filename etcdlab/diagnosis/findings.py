"""What the doctor says: a :class:`Finding` (what is wrong, why it matters, where, what to
do, which CIS check), the :data:`RULES` that list every finding the doctor can produce,
and counting findings by severity.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from collections.abc import Iterable

from ..model.control_plane import Node, Pod


#: Severities, most severe first.
SEVERITIES = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Finding:
    """One thing the doctor noticed.

    ``id`` is stable (tests, notebooks and scripts match on it); ``severity`` is
    ``error`` (this breaks the cluster, or fails a CIS check), ``warning`` (it works, but
    is fragile or weaker than it should be) or ``info`` (worth knowing, or could not be
    checked). ``flag`` is written with its dashes (``--etcd-servers``); ``value`` is the
    offending value (one URL of a list), ``None`` when the flag is missing. ``cis`` is
    the benchmark check with its version (``CIS-1.9 2.2``), or ``None``.
    """

    id: str
    severity: str
    title: str
    detail: str
    file: str | None
    flag: str | None
    value: str | None
    fix: str
    cis: str | None = None
    line: int | None = None
    node: str | None = None

    def to_dict(self) -> dict:
        """A plain dict (for JSON), with every field."""
        return asdict(self)

    @property
    def where(self) -> str:
        """``file:line``, the file alone, or the node when the finding is about the whole cluster."""
        if self.file:
            return f"{self.file}:{self.line}" if self.line else self.file
        return f"node {self.node}" if self.node else "cluster"

    def __str__(self) -> str:
        return f"{self.severity}: {self.id}: {self.title} ({self.where})"


@dataclass(frozen=True)
class Rule:
    """What the doctor can say: a finding's id, its usual severity and title, and its CIS check."""

    id: str
    severity: str
    title: str
    cis: str | None = None


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.id: r for r in rules}


#: Every finding the doctor can produce, in the order a reader meets them.
RULES: dict[str, Rule] = _rules(
    # the apiserver as a client of etcd
    Rule("etcd-servers-missing", "error", "The apiserver has no --etcd-servers"),
    Rule("etcd-servers-scheme", "error", "--etcd-servers uses the wrong scheme for etcd's listener"),
    Rule("etcd-servers-peer-port", "error", "--etcd-servers points at etcd's peer port, not a client port"),
    Rule("etcd-servers-wrong-port", "error", "--etcd-servers points at a port where etcd serves no clients"),
    Rule("etcd-servers-loopback-no-member", "error",
         "--etcd-servers uses loopback, but no etcd member listens there on this node"),
    Rule("etcd-servers-unknown-host", "error", "--etcd-servers names a host where no etcd member listens"),
    Rule("etcd-servers-partial", "warning", "The apiserver lists only some of the etcd members"),
    Rule("etcd-ca-mismatch", "error", "--etcd-cafile is not etcd's CA file"),
    Rule("etcd-client-cert-missing", "error", "etcd demands a client certificate and the apiserver has none"),
    # a member's own URLs
    Rule("advertise-client-not-served", "error", "The member advertises a client URL it does not listen on"),
    Rule("advertise-peer-not-served", "error", "The member advertises a peer URL it does not listen on"),
    Rule("initial-cluster-missing-self", "error", "--initial-cluster does not hold the member itself"),
    Rule("initial-cluster-mismatch", "error", "--initial-cluster disagrees with what another member advertises"),
    Rule("initial-cluster-state", "warning", "A member that joined later says --initial-cluster-state=new"),
    # a member's certificates
    Rule("trusted-ca-missing", "error", "etcd demands client certificates but names no CA to verify them"),
    Rule("cert-key-mismatch", "warning", "A certificate flag and its key flag name files of different pairs"),
    # the kubelet and the node
    Rule("probe-not-served", "error", "The kubelet probes etcd where etcd does not answer the probe"),
    Rule("duplicate-static-pod", "error", "Two etcd static Pods on one node"),
    # volumes
    Rule("data-dir-not-mounted", "error", "etcd's data dir is not on a hostPath volume"),
    Rule("cert-not-mounted", "error", "A certificate or key is not inside a mounted hostPath volume"),
    # cluster size
    Rule("cluster-single-member", "warning", "A single etcd member tolerates no failure"),
    Rule("cluster-even-size", "warning", "An even number of etcd members adds no failure tolerance"),
    # CIS Kubernetes Benchmark 1.9
    Rule("cis-etcd-cert-file", "error", "etcd has no server certificate (--cert-file, --key-file)", "CIS-1.9 2.1"),
    Rule("cis-etcd-client-cert-auth", "error", "etcd does not demand client certificates", "CIS-1.9 2.2"),
    Rule("cis-etcd-auto-tls", "error", "etcd uses a self-signed certificate for clients (--auto-tls)", "CIS-1.9 2.3"),
    Rule("cis-etcd-peer-cert-file", "error",
         "etcd has no peer certificate (--peer-cert-file, --peer-key-file)", "CIS-1.9 2.4"),
    Rule("cis-etcd-peer-client-cert-auth", "error", "etcd does not demand certificates from its peers", "CIS-1.9 2.5"),
    Rule("cis-etcd-peer-auto-tls", "error",
         "etcd uses a self-signed certificate for peers (--peer-auto-tls)", "CIS-1.9 2.6"),
    Rule("cis-etcd-unique-ca", "warning", "etcd does not have a CA of its own", "CIS-1.9 2.7"),
    Rule("cis-apiserver-etcd-certfile", "error",
         "The apiserver has no client certificate for etcd (--etcd-certfile, --etcd-keyfile)", "CIS-1.9 1.2.23"),
    Rule("cis-apiserver-etcd-cafile", "error", "The apiserver has no CA to verify etcd (--etcd-cafile)",
         "CIS-1.9 1.2.26"),
    Rule("cis-apiserver-encryption", "info", "Secrets are stored in etcd unencrypted", "CIS-1.9 1.2.27"),
    Rule("cis-manifest-permissions", "warning", "A control-plane manifest is readable or writable by others",
         "CIS-1.9 1.1.7"),
    Rule("cis-manifest-ownership", "warning", "A control-plane manifest is not owned by root:root", "CIS-1.9 1.1.8"),
    # the node's disk (only when the doctor reads a real node: etcdlab.load_node)
    Rule("files-unreadable", "warning", "Some files of the manifest directory could not be read"),
    Rule("host-path-unreadable", "warning", "A path the CIS host checks need could not be looked at"),
    Rule("cis-data-dir-missing", "error", "etcd's data directory does not exist on the node"),
    Rule("cis-data-dir-permissions", "warning", "etcd's data directory is open to others", "CIS-1.9 1.1.11"),
    Rule("cis-data-dir-ownership", "warning", "etcd's data directory is not owned by etcd:etcd", "CIS-1.9 1.1.12"),
    Rule("cis-pki-ownership", "warning", "The PKI directory holds paths not owned by root:root", "CIS-1.9 1.1.19"),
    Rule("cis-pki-cert-permissions", "warning", "Certificates have a mode looser than 600", "CIS-1.9 1.1.20"),
    Rule("cis-pki-key-permissions", "error", "Private keys have a mode looser than 600", "CIS-1.9 1.1.21"),
)


def _finding(rule_id: str, pod: Pod | None, node: Node | None, flag: str | None, value: str | None, *,
             detail: str, fix: str, title: str | None = None, severity: str | None = None,
             cis: str | None = None, whole_file: bool = False) -> Finding:
    """A finding of rule ``rule_id``, located at ``--flag`` in ``pod``'s file (at no
    line for a finding about the ``whole_file``)."""
    rule = RULES[rule_id]
    name = flag.lstrip("-") if flag else None
    return Finding(
        id=rule.id,
        severity=severity or rule.severity,
        title=title or rule.title,
        detail=" ".join(detail.split()),
        file=pod.file if pod else None,
        flag=f"--{name}" if name else None,
        value=value,
        fix=" ".join(fix.split()),
        cis=cis or rule.cis,
        line=None if pod is None or whole_file else (pod.line_of(name) if name else pod.line),
        node=node.name if node else None,
    )


def _sort_key(f: Finding) -> tuple:
    return (_RANK.get(f.severity, len(SEVERITIES)), f.node or "", f.file or "", f.line or 0, f.id,
            f.flag or "", f.value or "")


def summary(findings: Iterable[Finding]) -> dict:
    """Counts by severity, the total, and ``ok`` (True when there is no error)."""
    findings = list(findings)
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    return {**counts, "total": len(findings), "ok": counts["error"] == 0}


def at_least(findings: Iterable[Finding], severity: str) -> list[Finding]:
    """The findings of ``severity`` or more severe (``"warning"`` keeps errors and warnings)."""
    if severity not in _RANK:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
    return [f for f in findings if _RANK[f.severity] <= _RANK[severity]]
