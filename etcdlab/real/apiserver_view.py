"""The kube-apiserver's view of etcd: connect with its ``--etcd-*`` flags, break one, see why.

A kubeadm apiserver reaches etcd with four flags::

    --etcd-servers=https://127.0.0.1:2379
    --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt                 (to trust etcd's server certificate)
    --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt (to prove who it is)
    --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key

:func:`connect` takes those flags *as they are written in a manifest*, maps them onto the
lab (``/etc/kubernetes/pki`` → the node's PKI directory; on a loopback address, port
2379 → the member's client port, 2380 → its peer port, 2381 → its metrics port), then
writes and reads a key exactly as the apiserver would, and explains the outcome:

==========================================  ==========================================================
change one flag                             what happens, and why
==========================================  ==========================================================
``--etcd-servers=https://127.0.0.1:2380``   the peer port: TLS works, but it serves Raft, not the API
``--etcd-cafile=/etc/kubernetes/pki/ca.crt`` unknown authority: etcd's certificate comes from the etcd CA
``--etcd-certfile``/``--etcd-keyfile`` unset bad certificate: etcd demands a client certificate
``--etcd-servers=http://127.0.0.1:2379``    not TLS: etcd closes the plain-text connection
==========================================  ==========================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import EtcdlabError, EtcdUnavailable, QuorumLost, TLSError

if TYPE_CHECKING:  # pragma: no cover
    from .cluster import Cluster

#: The flags that matter, in the order kubeadm writes them (sorted).
ETCD_FLAGS = ("etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-servers")

#: kubeadm's well-known ports and what listens there.
PORT_ROLES = {2379: "client", 2380: "peer", 2381: "metrics"}

CLUSTER_CA = "/etc/kubernetes/pki/ca.crt"
ETCD_CA = "/etc/kubernetes/pki/etcd/ca.crt"

#: The key the probe writes and reads back (under the apiserver's own /registry prefix).
PROBE_KEY = "/registry/etcdlab/apiserver-probe"


def kubeadm_etcd_flags(source: Any = None) -> dict[str, str]:
    """The ``--etcd-*`` flags of an apiserver manifest, names without dashes.

    ``source`` may be ``None`` (a stacked kubeadm node's apiserver, rendered by
    :func:`etcdlab.sources.kubeadm.apiserver_manifest`), a Pod dict, an
    :class:`~etcdlab.model.control_plane.ApiServer`, or a dict of flags.
    """
    from ..model.flags import parse_command

    if source is None:
        from ..sources.kubeadm import apiserver_manifest

        source = apiserver_manifest("cp1", "127.0.0.1")
    if hasattr(source, "pod") and hasattr(source, "etcd_servers"):        # model.ApiServer
        command = source.pod.command
        return {f: command.get(f) for f in ETCD_FLAGS if command.get(f) is not None}
    if isinstance(source, Mapping) and source.get("kind") == "Pod":
        argv = source["spec"]["containers"][0]["command"]
        command = parse_command(argv)
        return {f: command.get(f) for f in ETCD_FLAGS if command.get(f) is not None}
    if isinstance(source, Mapping):
        return {k: v for k, v in _normalise(source).items() if v is not None}
    raise EtcdlabError(f"cannot read --etcd-* flags from a {type(source).__name__}; "
                       "pass a dict of flags, an apiserver Pod manifest or an ApiServer.")


def _normalise(flags: Mapping[str, str | None]) -> dict[str, str | None]:
    """``--etcd-cafile`` / ``etcd_cafile`` / ``etcd-cafile`` → ``etcd-cafile``."""
    out: dict[str, str | None] = {}
    for k, v in flags.items():
        name = k.lstrip("-").replace("_", "-")
        if name not in ETCD_FLAGS:
            raise EtcdlabError(f"{k!r} is not one of the apiserver's etcd flags ({', '.join('--' + f for f in ETCD_FLAGS)}).")
        out[name] = v
    return out


@dataclass(frozen=True)
class ApiserverAttempt:
    """What happened when an apiserver with these flags tried to use etcd."""

    flags: tuple[tuple[str, str], ...]       #: the flags as written (kubeadm paths and ports)
    changed: tuple[str, ...]                 #: flags that differ from kubeadm's
    mapped: tuple[tuple[str, str], ...]      #: what the lab really used (its paths and ports)
    ok: bool
    error: str | None                        #: "TLSError", "EtcdUnavailable", "QuorumLost" or None
    reason: str                              #: "ok", one of client.TLS_REASONS, "wrong port"...
    apiserver_log: str                       #: roughly what kube-apiserver would log
    explanation: str                         #: what it means, in plain words
    detail: str = ""                         #: the raw error (mentions the lab's real ports)

    @property
    def outcome(self) -> str:
        return "connected" if self.ok else f"{self.error}: {self.reason}"

    def __str__(self) -> str:
        lines = []
        for name, value in self.flags:
            mark = "   <- changed" if name in self.changed else ""
            lines.append(f"--{name}={value}{mark}")
        for name in self.changed:
            if name not in dict(self.flags):
                lines.append(f"(--{name} not set)   <- changed")
        lines.append(("✓ " if self.ok else "✗ ") + self.outcome)
        if not self.ok:
            lines.append(f"  kube-apiserver would log: {self.apiserver_log}")
        lines.append(f"  {self.explanation}")
        return "\n".join(lines)

    __repr__ = __str__


def connect(cluster: "Cluster", flags: Any = None, *, member: Any = 0,
            **changes: str | None) -> ApiserverAttempt:
    """Use etcd as an apiserver on ``member``'s node would, with ``flags`` changed by ``changes``.

    ``changes`` use underscores: ``connect(c, etcd_cafile="/etc/kubernetes/pki/ca.crt")``;
    ``None`` removes a flag (``etcd_certfile=None``).
    """
    from .client import EtcdClient
    from ..model.flags import parse_url

    base = kubeadm_etcd_flags()
    given = dict(kubeadm_etcd_flags(flags)) if flags is not None else dict(base)
    given.update(_normalise(changes))
    written = {k: v for k, v in given.items() if v is not None}
    changed = tuple(f for f in ETCD_FLAGS if written.get(f) != base.get(f))
    m = cluster.member(member)

    # map kubeadm's world onto the lab
    mapped: dict[str, str] = {}
    try:
        servers = written.get("etcd-servers", "")
        urls = [parse_url(u, flag="etcd-servers") for u in servers.split(",") if u.strip()]
    except EtcdlabError as exc:
        return _result(written, changed, {}, None, "bad flag", str(exc),
                       "the apiserver would refuse to start: --etcd-servers must be a list of URLs.", str(exc))
    if not urls:
        return _result(written, changed, {}, None, "bad flag", "--etcd-servers must be specified",
                       "the apiserver needs --etcd-servers to start at all.", "")
    lab_urls = []
    for u in urls:
        if not u.is_loopback:
            return _result(written, changed, {}, "EtcdUnavailable", "not this machine",
                           f"dial tcp {u.hostport}: i/o timeout",
                           f"{u.hostport} is not a loopback address: in the lab every member listens on "
                           "127.0.0.1, so only loopback URLs can reach it.", "")
        port = {2379: m.client_port, 2380: m.peer_port, 2381: m.metrics_port}.get(u.port or 0, u.port)
        lab_urls.append(f"{u.scheme}://{u.hostport.rsplit(':', 1)[0]}:{port}")
    mapped["etcd-servers"] = ",".join(lab_urls)
    for f in ("etcd-cafile", "etcd-certfile", "etcd-keyfile"):
        if f in written:
            mapped[f] = str(m.pki.map_path(written[f]))

    cert, key = mapped.get("etcd-certfile"), mapped.get("etcd-keyfile")
    if (cert is None) != (key is None):
        missing = "--etcd-keyfile" if key is None else "--etcd-certfile"
        return _result(written, changed, mapped, "TLSError", "half a client certificate",
                       f"{missing} must be set together with the other one",
                       "a client certificate needs both its certificate and its private key; with only one "
                       "of the two flags the apiserver cannot present any certificate.", "")
    try:
        client = EtcdClient(lab_urls, ca=mapped.get("etcd-cafile"), cert=cert, key=key,
                            timeout=cluster.client_timeout)
    except TLSError as exc:
        return _explain(written, changed, mapped, exc, urls)
    try:
        with client:
            client.put(PROBE_KEY, "hello from the apiserver's point of view")
            client.get(PROBE_KEY)
    except (TLSError, EtcdUnavailable, QuorumLost) as exc:
        return _explain(written, changed, mapped, exc, urls)
    return _result(written, changed, mapped, None, "ok", "",
                   "connected: the apiserver can write and read its keys.", "")


def _result(written, changed, mapped, error, reason, log, explanation, detail) -> ApiserverAttempt:
    return ApiserverAttempt(
        flags=tuple((f, written[f]) for f in ETCD_FLAGS if f in written), changed=tuple(changed),
        mapped=tuple((f, mapped[f]) for f in ETCD_FLAGS if f in mapped), ok=error is None and reason == "ok",
        error=error, reason=reason, apiserver_log=log, explanation=explanation, detail=detail)


def _explain(written, changed, mapped, exc: EtcdlabError, urls) -> ApiserverAttempt:
    """Turn the real failure into the reason a person would give, using which flag was changed."""
    url = urls[0]
    port = url.port or 0
    detail = str(exc)
    name = type(exc).__name__
    if isinstance(exc, TLSError):
        reason = exc.reason or "handshake failed"
        if reason == "unknown authority":
            ca = written.get("etcd-cafile")
            if ca is None:
                why = ("there is no --etcd-cafile, so the apiserver checks etcd's certificate against the "
                       "system's public CAs, which never signed a cluster's private etcd CA.")
            elif ca == CLUSTER_CA:
                why = ("--etcd-cafile points at the cluster CA (ca.crt), but etcd's server certificate is "
                       "signed by the etcd CA (etcd/ca.crt). kubeadm keeps two CAs on purpose (CIS 2.7), "
                       "so the apiserver cannot verify etcd.")
            else:
                why = f"{ca} did not sign etcd's server certificate, so the apiserver cannot verify etcd."
            return _result(written, changed, mapped, name, reason,
                           "x509: certificate signed by unknown authority", why, detail)
        if reason == "bad certificate":
            if "etcd-certfile" not in written:
                why = ("the apiserver sent no client certificate, and etcd runs with "
                       "--client-cert-auth=true: it ends the handshake. Anyone without a certificate "
                       "signed by the etcd CA is refused.")
            else:
                why = ("etcd did not accept the client certificate: it only trusts certificates signed by "
                       "its --trusted-ca-file (etcd/ca.crt), and this one was signed by another CA.")
            return _result(written, changed, mapped, name, reason, "remote error: tls: bad certificate",
                           why, detail)
        if reason == "not TLS":
            role = PORT_ROLES.get(port)
            where = "2381 is etcd's metrics and health port: plain HTTP on 127.0.0.1" if role == "metrics" \
                else f"port {port} answers in plain text"
            return _result(written, changed, mapped, name, "not TLS",
                           "tls: first record does not look like a TLS handshake",
                           f"{where}, no TLS and no key-value API; the apiserver must use the client port 2379.",
                           detail)
        if reason == "missing file":
            missing = next((written[f] for f in ("etcd-cafile", "etcd-certfile", "etcd-keyfile")
                            if f in mapped and not os.path.exists(mapped[f])), "a file")
            return _result(written, changed, mapped, name, reason,
                           f"open {missing}: no such file or directory",
                           "the apiserver would not even start: a file named by an --etcd-* flag does not exist.",
                           detail)
        if reason == "key mismatch":
            return _result(written, changed, mapped, name, reason, "tls: private key does not match public key",
                           "--etcd-keyfile is not the private key of --etcd-certfile.", detail)
        return _result(written, changed, mapped, name, reason, "TLS handshake error", detail, detail)
    if isinstance(exc, QuorumLost):
        return _result(written, changed, mapped, name, "quorum lost", "context deadline exceeded",
                       "etcd accepted the connection and the certificates, but a majority of members is down: "
                       "no leader, so nothing can be written (and the apiserver's own /livez fails).", detail)
    # EtcdUnavailable
    low = detail.lower()
    role = PORT_ROLES.get(port)
    if "404" in low or "not an etcd client port" in low:
        return _result(written, changed, mapped, name, "wrong port",
                       "the peer port answers, but not with the etcd API",
                       f"{port} is etcd's {role or 'wrong'} port: members replicate the Raft log there. It speaks "
                       "TLS and accepts a certificate signed by the etcd CA, but it does not serve the "
                       "key-value API (HTTP 404 here). The apiserver must use the client port 2379.", detail)
    if url.scheme == "http" and ("closed" in low or "reset" in low or "aborted" in low):
        return _result(written, changed, mapped, name, "not TLS",
                       "connection closed before the server answered",
                       "etcd's client port speaks TLS only (kubeadm writes https:// URLs): a plain http:// "
                       "request gets the connection closed without an answer.", detail)
    if "refused" in low:
        if url.host in ("::1", "localhost") and port in PORT_ROLES:
            why = f"etcd listens on 127.0.0.1 only (--listen-client-urls), not on {url.host}."
        elif role is None:
            why = f"nothing listens on port {port}: etcd's client port is 2379."
        else:
            why = "nothing listens there: the member on this node is down."
        return _result(written, changed, mapped, name, "connection refused",
                       f"dial tcp {url.hostport}: connect: connection refused", why, detail)
    return _result(written, changed, mapped, name, "unavailable", "etcd unavailable", detail, detail)


#: The classic mistakes, each one flag away from kubeadm's configuration.
CLASSIC_CHANGES: tuple[tuple[str, dict[str, str | None]], ...] = (
    ("kubeadm's flags, unchanged", {}),
    ("the peer port 2380 instead of 2379", {"etcd-servers": "https://127.0.0.1:2380"}),
    ("the cluster CA instead of the etcd CA", {"etcd-cafile": CLUSTER_CA}),
    ("no client certificate", {"etcd-certfile": None, "etcd-keyfile": None}),
    ("http:// instead of https://", {"etcd-servers": "http://127.0.0.1:2379"}),
    ("the metrics port 2381", {"etcd-servers": "https://127.0.0.1:2381"}),
)


@dataclass(frozen=True, repr=False)
class AttemptTable:
    """Several attempts side by side: change → outcome → what the apiserver would log."""

    rows: tuple[tuple[str, ApiserverAttempt], ...]

    def __str__(self) -> str:
        w = max(len(label) for label, _ in self.rows)
        o = max(len(a.outcome) for _, a in self.rows)
        return "\n".join(f"{label.ljust(w)}  {a.outcome.ljust(o)}  {a.apiserver_log}".rstrip()
                         for label, a in self.rows)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        body = "".join(f"<tr><td>{escape(label)}</td><td>{'✓' if a.ok else '✗'} {escape(a.outcome)}</td>"
                       f"<td><code>{escape(a.apiserver_log)}</code></td></tr>" for label, a in self.rows)
        return ("<table class=\"etcdlab-apiserver\"><thead><tr><th>change</th><th>outcome</th>"
                f"<th>kube-apiserver would log</th></tr></thead><tbody>{body}</tbody></table>")


def classic_mistakes(cluster: "Cluster", member: Any = 0) -> AttemptTable:
    """Try each of :data:`CLASSIC_CHANGES` against the running cluster."""
    return AttemptTable(tuple((label, connect(cluster, member=member, **{k.replace('-', '_'): v
                                                                           for k, v in change.items()}))
                              for label, change in CLASSIC_CHANGES))
