"""Checks of the wiring from each kube-apiserver to etcd: ``--etcd-servers`` (scheme, port,
host, loopback, every member) and the ``--etcd-cafile``/``--etcd-certfile`` pair.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model.control_plane import CLIENT_PORT, ControlPlane
from .findings import Finding, _finding
from .routes import _apiservers, _host_file, _members, _routes


def etcd_servers_missing(cp: ControlPlane) -> Iterator[Finding]:
    """The apiserver keeps *every* Kubernetes object in etcd and finds it only through
    ``--etcd-servers``: without the flag it refuses to start."""
    for node, api in _apiservers(cp):
        if not api.etcd_servers:
            yield _finding(
                "etcd-servers-missing", api.pod, node, "etcd-servers", None,
                detail="kube-apiserver stores every Kubernetes object in etcd and finds etcd only through "
                       "--etcd-servers. Without it the apiserver exits at start-up, and the cluster has no API.",
                fix="Add --etcd-servers: https://127.0.0.1:2379 on a stacked kubeadm node, every member's "
                    "https://ADDRESS:2379 for an external etcd cluster.")


def etcd_servers_scheme(cp: ControlPlane) -> Iterator[Finding]:
    """``http://`` versus ``https://`` must match the listener: etcd either expects a TLS
    handshake on a listener or it does not, and the two never talk to each other."""
    for node, api in _apiservers(cp):
        for r in _routes(cp, node, api):
            if r.problem != "etcd-servers-scheme":
                continue
            plain = not r.url.tls
            yield _finding(
                "etcd-servers-scheme", api.pod, node, "etcd-servers", r.url.raw,
                title=f"--etcd-servers uses {r.url.scheme}:// where etcd expects "
                      f"{'https' if plain else 'http'}://",
                detail=f"{r.url.raw} reaches the right place, but {r.why}. "
                       + ("A plain-HTTP client never starts the TLS handshake etcd waits for, "
                          if plain else "A TLS client gets no handshake from a plain-HTTP listener, ")
                       + "so the apiserver cannot talk to etcd and never becomes ready.",
                fix=f"Use {r.suggest} in --etcd-servers.")


def etcd_servers_port(cp: ControlPlane) -> Iterator[Finding]:
    """etcd listens on separate ports for separate jobs: clients (2379), peers (2380:
    members replicate the Raft log there) and metrics/health (2381, plain HTTP). The
    apiserver is a client, so it must use a client port."""
    for node, api in _apiservers(cp):
        for r in _routes(cp, node, api):
            if r.problem == "etcd-servers-peer-port":
                yield _finding(
                    "etcd-servers-peer-port", api.pod, node, "etcd-servers", r.url.raw,
                    detail=f"{r.url.raw} is not a client URL: {r.why}. Members replicate the Raft log to each "
                           f"other on the peer port; clients such as the apiserver must use a --listen-client-urls "
                           f"address (port {CLIENT_PORT} in kubeadm). The apiserver cannot reach etcd and never "
                           "becomes ready.",
                    fix=f"Use {r.suggest} in --etcd-servers." if r.suggest else
                        f"Use the member's client URL (port {CLIENT_PORT} in kubeadm) in --etcd-servers.")
            elif r.problem == "etcd-servers-wrong-port":
                yield _finding(
                    "etcd-servers-wrong-port", api.pod, node, "etcd-servers", r.url.raw,
                    detail=f"{r.url.raw} reaches the right machine, but {r.why}. Nothing answers etcd "
                           "requests on that port, so the apiserver cannot reach etcd.",
                    fix=f"Use {r.suggest} in --etcd-servers.")


def etcd_servers_loopback(cp: ControlPlane) -> Iterator[Finding]:
    """127.0.0.1, ::1 and ``localhost`` always mean *this machine*. An apiserver that
    lists them reaches only an etcd member on its own node: right for kubeadm's stacked
    topology, wrong wherever etcd runs elsewhere."""
    for node, api in _apiservers(cp):
        for r in _routes(cp, node, api):
            if r.problem != "etcd-servers-loopback-no-member":
                continue
            fix = (f"Use {r.suggest}, or add a loopback URL to the member's --listen-client-urls."
                   if r.suggest else
                   "List the etcd members' own addresses (https://ADDRESS:2379), or run a member on this node.")
            yield _finding(
                "etcd-servers-loopback-no-member", api.pod, node, "etcd-servers", r.url.raw,
                detail=f"{r.url.raw} is a loopback address: the apiserver on node {node.name} connects to "
                       f"its own machine, and {r.why}. Loopback works only in the stacked topology, where "
                       "the member on the same node listens on it.",
                fix=fix)


def etcd_servers_unknown_host(cp: ControlPlane) -> Iterator[Finding]:
    """A remote URL must be an address one of the members listens on. One that no
    member serves is dead weight at best (the client skips it) and, if it is the only
    one, leaves the apiserver without etcd."""
    for node, api in _apiservers(cp):
        for r in _routes(cp, node, api):
            if r.problem != "etcd-servers-unknown-host":
                continue
            if r.severity == "info":
                yield _finding(
                    "etcd-servers-unknown-host", api.pod, node, "etcd-servers", r.url.raw, severity="info",
                    title="Where this --etcd-servers URL leads cannot be checked",
                    detail=f"{r.url.raw}: {r.why}. Give the etcd members' manifests too (each node's "
                           "/etc/kubernetes/manifests) to check it.",
                    fix="Nothing to fix if the URL is right; load the etcd manifests to check it.")
                continue
            yield _finding(
                "etcd-servers-unknown-host", api.pod, node, "etcd-servers", r.url.raw,
                title=f"No etcd member listens on {r.url.host}",
                detail=f"The apiserver would dial {r.url.raw}, but {r.why}. The endpoint is dead, or "
                       "belongs to something else: the etcd client skips it, and when no endpoint works "
                       "the apiserver cannot serve at all.",
                fix=f"Use {r.suggest} in --etcd-servers." if r.suggest and r.suggest != r.url.raw else
                    f"Make member {r.member.name} listen there (add {r.url.raw} to its --listen-client-urls), "
                    "or use an address it listens on." if r.member is not None else
                    "Replace it with a member's client URL (an address in its --listen-client-urls).")


def etcd_servers_partial(cp: ControlPlane) -> Iterator[Finding]:
    """An apiserver that talks to members on *other* machines (external etcd) should
    list all of them: its etcd client fails over only between the URLs it was given.
    (A stacked kubeadm apiserver lists only its local member, by design.)"""
    everyone = [m for _, m in _members(cp)]
    for node, api in _apiservers(cp):
        reached = {r.member.name for r in _routes(cp, node, api) if r.ok and r.member}
        remote = any(r.ok and r.node is not None and r.node.name != node.name for r in _routes(cp, node, api))
        missing = [m for m in everyone if m.name not in reached]
        if not remote or not missing or not reached:
            continue
        all_urls = []
        for m in everyone:
            s = m.advertise_client_urls[0].raw if m.advertise_client_urls else None
            if s:
                all_urls.append(s)
        yield _finding(
            "etcd-servers-partial", api.pod, node, "etcd-servers", api.pod.command.get("etcd-servers"),
            title=f"The apiserver lists only {len(reached)} of the {len(everyone)} etcd members",
            detail=f"The apiserver's etcd client fails over only between the URLs it is given, and "
                   f"{', '.join(m.name for m in missing)} {'is' if len(missing) == 1 else 'are'} not among them. "
                   "When the listed members are down it loses etcd, even while the cluster still has quorum; "
                   "the external-etcd topology lists every member.",
            fix=f"List every member: --etcd-servers={','.join(all_urls)}." if all_urls else
                "List every member's client URL in --etcd-servers.")


#: the apiserver's other CA flags, and what each CA is
_OTHER_CAS = (("client-ca-file", "the cluster CA"), ("requestheader-client-ca-file", "the front-proxy CA"),
              ("kubelet-certificate-authority", "the kubelets' CA"))


def etcd_ca_mismatch(cp: ControlPlane) -> Iterator[Finding]:
    """Two CAs must fit, one for each side of the TLS handshake between the apiserver and
    etcd: ``--etcd-cafile`` must be the CA that signed etcd's server certificate (its
    ``--cert-file``), and etcd's ``--trusted-ca-file`` must be the CA that signed the
    apiserver's client certificate (``--etcd-certfile``). kubeadm signs both with one CA,
    etcd's own, so in a kubeadm cluster the two flags name the same file,
    ``/etc/kubernetes/pki/etcd/ca.crt``. The doctor cannot read certificates, so it checks
    that convention: it compares the two paths, as files on the node's disk. On one node a
    different file (worse, the cluster CA) is almost surely the wrong CA; on two machines
    the paths prove nothing, so a difference there is only information."""
    for node, api in _apiservers(cp):
        if not api.etcd_cafile:
            continue  # cis-apiserver-etcd-cafile says so
        ca = _host_file(api.pod, api.etcd_cafile)
        other_cas = {_host_file(api.pod, api.pod.command.get(f)): f for f, _ in reversed(_OTHER_CAS)
                     if api.pod.command.get(f)}
        seen: set[str] = set()
        for r in _routes(cp, node, api):
            m = r.member
            if m is None or r.node is None or not r.url.tls or not m.trusted_ca_file or m.name in seen:
                continue
            seen.add(m.name)
            trusted = _host_file(m.pod, m.trusted_ca_file)
            if trusted == ca:
                continue
            same_node = r.node.name == node.name
            title = None
            if ca in other_cas:
                why = (f"{ca} is also the apiserver's --{other_cas[ca]}, {dict(_OTHER_CAS)[other_cas[ca]]}, while "
                       f"member {m.name} trusts {trusted}")
                severity = "error"
            elif same_node:
                why = f"member {m.name} on the same node trusts {trusted} instead"
                severity = "error"
            else:  # files on two machines: equal paths are kubeadm's convention, different ones prove nothing
                title = "--etcd-cafile and etcd's --trusted-ca-file cannot be compared"
                why = (f"member {m.name} trusts {trusted} on node {r.node.name}: files on different machines, "
                       "which the doctor cannot compare")
                severity = "info"
            yield _finding(
                "etcd-ca-mismatch", api.pod, node, "etcd-cafile", api.etcd_cafile, severity=severity, title=title,
                detail="--etcd-cafile must be the CA that signed etcd's server certificate (--cert-file), as etcd's "
                       "--trusted-ca-file must be the CA that signed the apiserver's --etcd-certfile; kubeadm signs "
                       f"both with etcd's own CA, so both flags name one file. Here {why}. The doctor compares paths, "
                       f"not certificates: if {ca} did not sign etcd's certificate, the apiserver refuses it "
                       "('x509: certificate signed by unknown authority').",
                fix=f"Point --etcd-cafile at the CA that signed etcd's server certificate; by kubeadm's convention "
                    f"that is the file etcd trusts, {trusted} on node {r.node.name}." if severity != "info" else
                    "Make sure --etcd-cafile holds the CA that signed etcd's server certificate (--cert-file).")
            break


def etcd_client_cert_missing(cp: ControlPlane) -> Iterator[Finding]:
    """With ``--client-cert-auth=true`` (kubeadm's setting) etcd accepts only clients
    that present a certificate signed by its CA: the apiserver must bring one,
    ``--etcd-certfile`` and ``--etcd-keyfile``."""
    for node, api in _apiservers(cp):
        if api.etcd_certfile and api.etcd_keyfile:
            continue
        demanding = [r.member for r in _routes(cp, node, api)
                     if r.member is not None and r.node is not None and r.url.tls and r.member.client_cert_auth]
        if not demanding:
            continue
        m = demanding[0]
        flag = "etcd-certfile" if not api.etcd_certfile else "etcd-keyfile"
        yield _finding(
            "etcd-client-cert-missing", api.pod, node, flag, None,
            detail=f"Member {m.name} runs with --client-cert-auth=true: it accepts only clients that present a "
                   "certificate signed by its --trusted-ca-file. This apiserver has no "
                   f"{'--etcd-certfile' if not api.etcd_certfile else ''}"
                   f"{' or ' if not api.etcd_certfile and not api.etcd_keyfile else ''}"
                   f"{'--etcd-keyfile' if not api.etcd_keyfile else ''}, so etcd rejects the handshake "
                   "('bad certificate') and the apiserver cannot start.",
            fix="Set --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt and "
                "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key (kubeadm's client certificate, "
                "signed by the etcd CA).")
