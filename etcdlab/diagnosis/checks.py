"""The doctor: read a control plane's manifests and say what is wired wrong, and why.

A kubeadm control plane works only if a handful of flags, spread over several files on
several machines, agree with one another:

* the apiserver's ``--etcd-servers`` must reach an etcd **client** listener (right
  scheme, host and port), and its ``--etcd-cafile``/``--etcd-certfile`` must fit what
  etcd presents and demands;
* every member must **listen** where it **advertises**, and the members'
  ``--initial-cluster`` lists must agree with what each member advertises;
* etcd must have the CAs it needs to verify certificates, and answer the kubelet's
  probes where the manifest sends them; a node must run one etcd, not two;
* data and certificates must live on the node's disk (hostPath volumes), not in the
  container;
* the size of the cluster decides how many failures it survives;
* the CIS Kubernetes Benchmark adds security checks that read the same flags.

Each concern is one small, pure function in :data:`CHECKS`: it takes a
:class:`~etcdlab.model.control_plane.ControlPlane` and yields :class:`Finding` objects. Each finding
says what is wrong (``title``), why it matters (``detail``), where (``file``, ``line``,
``node``, ``flag``, ``value``), what to do (``fix``) and which benchmark check it is
(``cis``). :data:`RULES` lists every finding the doctor can produce.

Nothing here reads a file or the network: the loader already recorded everything the
checks need (file modes included, where they were known). Host names are never
resolved, so where a check would need DNS it gives the manifest the benefit of the doubt.

    >>> import etcdlab as el
    >>> [f.id for f in el.doctor("single-control-plane") if f.severity == "error"]
    []
"""

from __future__ import annotations

import contextvars
import ipaddress
import posixpath
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Iterator

from ..model.flags import Endpoint
from ..model.control_plane import CLIENT_PORT, METRICS_PORT, PEER_PORT, ApiServer, ControlPlane, EtcdMember, Node, Pod, Probe
from ..model.quorum import quorum_size

#: Severities, most severe first.
SEVERITIES = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


# -- findings ---------------------------------------------------------------------------


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


# -- hosts, ports and listeners -----------------------------------------------------------


def _norm(host: str) -> str:
    """A host in one spelling: IPs compressed (``fd00:0::1`` → ``fd00::1``), names lower-case."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return host.lower().rstrip(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _is_name(host: str) -> bool:
    """A DNS name (not an IP, not ``localhost``): the doctor cannot tell where it leads."""
    return not _is_ip(host) and host.lower() != "localhost"


def _port(e: Endpoint) -> int | None:
    """The port a client really dials: the URL's, else the scheme's default."""
    if e.port is not None:
        return e.port
    return {"https": 443, "http": 80}.get(e.scheme)


def _is_socket(e: Endpoint) -> bool:
    return e.scheme in ("unix", "unixs")


def _same_name(a: str, b: str) -> bool:
    """Two host names that may be the same machine: equal, or a short name and its FQDN."""
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    if a == b:
        return True
    if "." in a and "." in b:
        return False
    return a.split(".")[0] == b.split(".")[0]


def _hosts_match(listener: str, host: str) -> bool:
    """Does a listener on ``listener`` accept connections made to ``host``?

    Only call it for a host that is known to be the listener's machine. A wildcard
    (``0.0.0.0``, ``::``) accepts every address of the machine; ``localhost`` is the
    loopback addresses; a DNS name gets the benefit of the doubt (no resolving here).
    """
    lst = Endpoint("https", listener, None, listener)
    dst = Endpoint("https", host, None, host)
    if lst.is_wildcard:
        return True
    if _norm(listener) == _norm(host):
        return True
    if lst.is_loopback and dst.is_loopback:
        return "localhost" in (listener.lower(), host.lower())
    if lst.is_loopback or dst.is_loopback:
        return False
    if _is_name(listener) or _is_name(host):
        return not (_is_name(listener) and _is_name(host)) or _same_name(listener, host)
    return False


def _serves(listener: Endpoint, url: Endpoint) -> bool:
    """A listener serves a URL when host, port and TLS-or-not all agree."""
    if _is_socket(listener) or _is_socket(url):
        return listener.scheme == url.scheme and listener.host == url.host
    return _hosts_match(listener.host, url.host) and _port(listener) == _port(url) and listener.tls == url.tls


def _same_url(a: Endpoint, b: Endpoint) -> bool:
    """Two URLs naming the same place (IPs compared exactly, names as far as we can tell)."""
    if a.tls != b.tls or _port(a) != _port(b):
        return False
    if _is_ip(a.host) and _is_ip(b.host):
        return _norm(a.host) == _norm(b.host)
    if _is_name(a.host) and _is_name(b.host):
        return _same_name(a.host, b.host)
    if a.is_loopback or b.is_loopback:
        return a.is_loopback and b.is_loopback and _hosts_match(a.host, b.host)
    return True  # a name and an IP: only DNS could tell


def _urls(endpoints: Iterable[Endpoint]) -> str:
    return ",".join(e.raw for e in endpoints) or "(none)"


def _machine_hosts(node: Node, member: EtcdMember | None = None) -> set[str]:
    """Every address and name the doctor knows for ``node``'s machine.

    The node's address and name, the hosts in its etcd member's URLs (except
    loopback and wildcards) and the host IP kubectl reported.
    """
    hosts = {node.name}
    if node.address:
        hosts.add(node.address)
    member = member or node.etcd
    if member is not None:
        for e in (member.listen_client_urls + member.advertise_client_urls + member.listen_peer_urls
                  + member.initial_advertise_peer_urls):
            if not e.is_loopback and not e.is_wildcard and not _is_socket(e):
                hosts.add(e.host)
    for p in node.pods:
        if p.status and p.status.host_ip:
            hosts.add(p.status.host_ip)
    return {_norm(h) for h in hosts}


def _at_host(cp: ControlPlane, host: str) -> list[tuple[Node, EtcdMember]]:
    """The members whose machine answers to ``host`` (a name matches a short name or FQDN)."""
    out = []
    for node in cp.nodes:
        if node.etcd is None:
            continue
        known = _machine_hosts(node)
        if _norm(host) in known or (_is_name(host) and any(_is_name(k) and _same_name(k, host) for k in known)):
            out.append((node, node.etcd))
    return out


def _quorum(n: int) -> tuple[int, int]:
    """(quorum, failures tolerated) for ``n`` voting members."""
    q = quorum_size(n)
    return q, n - q


# -- where does each --etcd-servers URL lead? ---------------------------------------------


@dataclass(frozen=True)
class Route:
    """Where one URL of an apiserver's ``--etcd-servers`` leads.

    ``member`` is the member the URL aims at (None if none could be found) and
    ``listener`` the client listener that answers it (None if nothing does). When the
    URL does not work, ``problem`` is the finding id that says why, ``severity`` how
    sure the doctor is, and ``why``/``suggest`` the specifics.
    """

    url: Endpoint
    member: EtcdMember | None = None
    node: Node | None = None
    listener: Endpoint | None = None
    problem: str | None = None
    severity: str | None = None
    why: str = ""
    suggest: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.listener is not None


def _client_suggestion(member: EtcdMember, url: Endpoint) -> str | None:
    """The member's client URL the apiserver should use instead of ``url``."""
    for lst in member.listen_client_urls:
        if _is_socket(lst):
            continue
        if _hosts_match(lst.host, url.host):
            return _rewrite(url, lst)
    # another address of the member; loopback only helps an apiserver on the same node
    for e in member.listen_client_urls + member.advertise_client_urls:
        if not _is_socket(e) and not e.is_wildcard and (url.is_loopback or not e.is_loopback):
            if any(_serves(lst, e) for lst in member.listen_client_urls):
                return e.raw
    return None


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _rewrite(url: Endpoint, listener: Endpoint) -> str:
    """``url``'s host with ``listener``'s scheme and port: the URL that listener serves."""
    return f"{listener.scheme}://{_bracket(url.host)}:{_port(listener)}"


def route(cp: ControlPlane, node: Node, url: Endpoint) -> Route:
    """Follow one ``--etcd-servers`` URL of the apiserver on ``node`` to an etcd listener.

    Loopback (127.0.0.1, ::1, localhost) means *this* node, so only the member on the
    same node can answer it; any other host must be an address of a member's machine.
    Then a client listener of that member must accept that host on that port, with
    TLS if the URL says https.
    """
    if _is_socket(url):
        return Route(url, problem=None)  # a unix socket: nothing to check from the manifests
    if not cp.members:
        return Route(url, problem="etcd-servers-unknown-host", severity="info",
                     why="no etcd member was given, so where it leads cannot be checked")
    if url.is_loopback:
        if node.etcd is None:
            return Route(url, node=node, problem="etcd-servers-loopback-no-member",
                         why=f"node {node.name} runs no etcd member")
        candidates = [(node, node.etcd)]
    else:
        candidates = _at_host(cp, url.host)
        if not candidates:
            return _unknown_host(cp, url)

    # a client listener that serves the URL exactly: all is well
    for n, m in candidates:
        for lst in m.listen_client_urls:
            if _serves(lst, url):
                return Route(url, member=m, node=n, listener=lst)

    # otherwise say what is wrong, most telling reason first
    for n, m in candidates:
        for lst in m.listen_client_urls:
            if not _is_socket(lst) and _hosts_match(lst.host, url.host) and _port(lst) == _port(url):
                want = "https" if lst.tls else "http"
                return Route(url, member=m, node=n, problem="etcd-servers-scheme",
                             why=f"member {m.name} listens there with {want}:// ({lst.raw})",
                             suggest=_rewrite(url, lst))
    for n, m in candidates:
        peers = [lst for lst in m.listen_peer_urls if not _is_socket(lst)]
        exact = [lst for lst in peers if _hosts_match(lst.host, url.host) and _port(lst) == _port(url)]
        if exact or any(_port(lst) == _port(url) for lst in peers):
            why = (f"it is member {m.name}'s peer listener ({exact[0].raw})" if exact else
                   f"port {_port(url)} is member {m.name}'s peer port (--listen-peer-urls={_urls(peers)}), "
                   "and on this host nothing even listens there")
            return Route(url, member=m, node=n, problem="etcd-servers-peer-port", why=why,
                         suggest=_client_suggestion(m, url))
    for n, m in candidates:
        ports = [lst for lst in m.listen_client_urls if not _is_socket(lst) and _hosts_match(lst.host, url.host)]
        if ports:
            metrics = any(_port(x) == _port(url) for x in m.listen_metrics_urls if not _is_socket(x))
            what = (f"port {_port(url)} is member {m.name}'s metrics and health port "
                    f"(--listen-metrics-urls={_urls(m.listen_metrics_urls)}), which serves /metrics and /health, "
                    "not the etcd API" if metrics
                    else f"member {m.name} serves clients on that host only at {_urls(ports)}")
            return Route(url, member=m, node=n, problem="etcd-servers-wrong-port", why=what,
                         suggest=_rewrite(url, ports[0]))
    n, m = candidates[0]
    listeners = _urls(m.listen_client_urls)
    if url.is_loopback:
        return Route(url, member=m, node=n, problem="etcd-servers-loopback-no-member",
                     why=f"member {m.name} on this node listens for clients only on {listeners}",
                     suggest=_client_suggestion(m, url))
    return Route(url, member=m, node=n, problem="etcd-servers-unknown-host",
                 why=f"{url.host} is member {m.name}'s machine (as its node or URLs say), yet its "
                     f"--listen-client-urls ({listeners}) do not include that address",
                 suggest=_client_suggestion(m, url))


def _unknown_host(cp: ControlPlane, url: Endpoint) -> Route:
    """No loaded member is on ``url``'s host: an error, unless the doctor cannot know."""
    if _is_name(url.host):
        return Route(url, problem="etcd-servers-unknown-host", severity="info",
                     why=f"{url.host} is a host name that no etcd member given uses, and the doctor "
                         "does not resolve names")
    for m in cp.members:
        for name, peer in m.initial_cluster:
            if not _is_name(peer.host) and _norm(peer.host) == _norm(url.host):
                return Route(url, problem="etcd-servers-unknown-host", severity="info",
                             why=f"{url.host} is member {name}'s address in --initial-cluster, "
                                 "but that member's manifest was not given")
    known = sorted({h for n in cp.nodes if n.etcd for h in _machine_hosts(n) if _is_ip(h)})
    where = f" (the members are on {', '.join(known)})" if known else ""
    return Route(url, problem="etcd-servers-unknown-host",
                 why=f"no etcd member given listens on {url.host}{where}")


def routes(cp: ControlPlane, node: Node, api: ApiServer) -> list[Route]:
    """Where every URL of ``api``'s ``--etcd-servers`` leads (see :func:`route`)."""
    return [route(cp, node, url) for url in api.etcd_servers]


#: The routes of the doctor() run in progress: several checks follow the same
#: ``--etcd-servers`` URLs, so each apiserver's are worked out once per run, not once per
#: check. Outside a run (a check called on its own) nothing is cached.
_RUN_ROUTES: contextvars.ContextVar[dict | None] = contextvars.ContextVar("etcdlab_doctor_routes", default=None)


def _routes(cp: ControlPlane, node: Node, api: ApiServer) -> tuple[Route, ...]:
    """:func:`routes`, worked out once per doctor() run. The answer depends only on its
    arguments, so the checks stay pure functions of the control plane; the cache is keyed by
    the objects' identity, which is safe while the run holds them."""
    cache = _RUN_ROUTES.get()
    if cache is None:
        return tuple(routes(cp, node, api))
    key = (id(cp), id(node), id(api))
    if key not in cache:
        cache[key] = tuple(routes(cp, node, api))
    return cache[key]


def _apiservers(cp: ControlPlane) -> Iterator[tuple[Node, ApiServer]]:
    for node in cp.nodes:
        if node.apiserver is not None:
            yield node, node.apiserver


def _members(cp: ControlPlane) -> Iterator[tuple[Node, EtcdMember]]:
    for node in cp.nodes:
        if node.etcd is not None:
            yield node, node.etcd


# -- the checks ---------------------------------------------------------------------------

Check = Callable[[ControlPlane], Iterable[Finding]]

#: Every check, in the order they run. Each takes a ControlPlane and yields Findings.
CHECKS: list[Check] = []


def check(fn: Check) -> Check:
    """Register ``fn`` as one of the doctor's checks."""
    CHECKS.append(fn)
    return fn


@check
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


@check
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


@check
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


@check
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


@check
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


@check
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


def _host_file(pod: Pod, path: str | None) -> str | None:
    """A path as the node sees it (through the Pod's hostPath volumes), else as written."""
    if not path:
        return None
    return pod.host_path(path) or posixpath.normpath(path)


#: the apiserver's other CA flags, and what each CA is
_OTHER_CAS = (("client-ca-file", "the cluster CA"), ("requestheader-client-ca-file", "the front-proxy CA"),
              ("kubelet-certificate-authority", "the kubelets' CA"))


@check
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


@check
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


def _not_served(advertised: tuple[Endpoint, ...], listeners: tuple[Endpoint, ...]) -> list[Endpoint]:
    return [a for a in advertised if not any(_serves(lst, a) for lst in listeners)]


@check
def advertise_client_not_served(cp: ControlPlane) -> Iterator[Finding]:
    """``--advertise-client-urls`` is what a member *tells* clients to use; kubeadm also
    copies it into the Pod's annotation, which later joins read. Each advertised URL
    must be served by one of the member's ``--listen-client-urls`` (a listener on
    0.0.0.0 or :: serves every address of the machine)."""
    for node, m in _members(cp):
        for url in _not_served(m.advertise_client_urls, m.listen_client_urls):
            yield _finding(
                "advertise-client-not-served", m.pod, node, "advertise-client-urls", url.raw,
                title=f"Member {m.name} advertises {url.raw} but does not listen there",
                detail=f"Clients and the other members learn this member's address from "
                       f"--advertise-client-urls, but {url.raw} matches none of its --listen-client-urls "
                       f"({_urls(m.listen_client_urls)}): same host, port and scheme are needed. A client that "
                       "follows the advertisement finds nothing there.",
                fix=f"Advertise an address the member listens on, or add {url.raw} to --listen-client-urls.")


@check
def advertise_peer_not_served(cp: ControlPlane) -> Iterator[Finding]:
    """``--initial-advertise-peer-urls`` is the address the *other members* use to reach
    this one for Raft; it must be served by one of its ``--listen-peer-urls``."""
    for node, m in _members(cp):
        for url in _not_served(m.initial_advertise_peer_urls, m.listen_peer_urls):
            yield _finding(
                "advertise-peer-not-served", m.pod, node, "initial-advertise-peer-urls", url.raw,
                title=f"Member {m.name} advertises peer URL {url.raw} but does not listen there",
                detail=f"The other members replicate the Raft log to this one at its advertised peer URL, but "
                       f"{url.raw} matches none of its --listen-peer-urls ({_urls(m.listen_peer_urls)}). "
                       "They cannot reach it, so it can neither join nor vote.",
                fix=f"Make --initial-advertise-peer-urls and --listen-peer-urls agree (kubeadm sets both to "
                    f"https://ADDRESS:{PEER_PORT}).")


def _own_entries(m: EtcdMember) -> list[Endpoint]:
    return [u for name, u in m.initial_cluster if name == m.name]


def _same_set(a: list[Endpoint], b: Iterable[Endpoint]) -> bool:
    b = list(b)
    return all(any(_same_url(x, y) for y in b) for x in a) and all(any(_same_url(x, y) for x in a) for y in b)


@check
def initial_cluster_missing_self(cp: ControlPlane) -> Iterator[Finding]:
    """On its first start etcd looks its own ``--name`` up in ``--initial-cluster`` and
    requires the URLs there to be exactly its ``--initial-advertise-peer-urls``."""
    for node, m in _members(cp):
        if not m.initial_cluster or not m.initial_advertise_peer_urls:
            continue  # etcd then builds the list from --name itself
        own = _own_entries(m)
        if own and _same_set(own, m.initial_advertise_peer_urls):
            continue
        expected = ",".join(f"{m.name}={u.raw}" for u in m.initial_advertise_peer_urls)
        what = (f"it lists {m.name}={_urls(own)} instead" if own else
                f"the name {m.name} is not in it (names: {', '.join(dict.fromkeys(n for n, _ in m.initial_cluster))})")
        yield _finding(
            "initial-cluster-missing-self", m.pod, node, "initial-cluster", m.pod.command.get("initial-cluster"),
            title=f"--initial-cluster of member {m.name} does not hold {expected}",
            detail=f"etcd finds itself in --initial-cluster by its --name and checks the URLs against its "
                   f"--initial-advertise-peer-urls; {what}. A member starting on an empty data dir refuses to "
                   "start; one restarting on its data ignores the flag, so the mistake bites when it is rebuilt.",
            fix=f"Put {expected} in --initial-cluster.")


@check
def initial_cluster_mismatch(cp: ControlPlane) -> Iterator[Finding]:
    """Members' ``--initial-cluster`` lists must agree with one another: where a list
    names another member, it must give the URL that member advertises. Lists may differ
    in *length*: kubeadm's joins make them grow from node to node, and that is correct."""
    members = [m for _, m in _members(cp)]
    by_name = {m.name: m for m in members}
    for node, m in _members(cp):
        for name, url in m.initial_cluster:
            if name == m.name:
                continue  # initial-cluster-missing-self looks at the member's own entry
            other = by_name.get(name)
            if other is not None:
                if not other.initial_advertise_peer_urls or \
                        any(_same_url(url, u) for u in other.initial_advertise_peer_urls):
                    continue
                why = f"member {name} advertises {_urls(other.initial_advertise_peer_urls)}, not {url.raw}"
            else:
                owner = next((o for o in members if o.name != m.name and any(
                    _is_ip(url.host) and _is_ip(u.host) and _same_url(url, u)
                    for u in o.initial_advertise_peer_urls)), None)
                if owner is None:
                    continue  # a member whose manifest was not given: nothing to compare with
                why = f"{url.raw} is the peer URL of member {owner.name}, listed here under the name {name}"
            yield _finding(
                "initial-cluster-mismatch", m.pod, node, "initial-cluster", f"{name}={url.raw}",
                title=f"Member {m.name}'s --initial-cluster disagrees about {name}",
                detail=f"--initial-cluster names each member with its peer URL, and {why}. On a first start etcd "
                       "checks the list against the cluster's real members and refuses to start when they differ. "
                       "Lists that grow from node to node, as kubeadm writes them on joins, are fine.",
                fix=f"Write each member as NAME=URL exactly as it advertises itself ({name}="
                    f"{other.initial_advertise_peer_urls[0].raw})." if other is not None and
                    other.initial_advertise_peer_urls else
                    "Write each member as NAME=URL exactly as it advertises itself (its --name and "
                    "--initial-advertise-peer-urls).")


@check
def initial_cluster_state(cp: ControlPlane) -> Iterator[Finding]:
    """A member whose ``--initial-cluster`` *extends* another member's list joined a
    cluster that already existed (that is how kubeadm's joins look), so it must say
    ``--initial-cluster-state=existing``. Identical lists with ``new`` are a static
    bootstrap of all members at once, which is correct."""
    members = [m for _, m in _members(cp)]
    for node, m in _members(cp):
        if m.initial_cluster_state != "new" or len({n for n, _ in m.initial_cluster}) < 2:
            continue
        names = {n for n, _ in m.initial_cluster}
        earlier = next((o for o in members if o is not m and o.initial_cluster
                        and {n for n, _ in o.initial_cluster} < names), None)
        if earlier is None:
            continue
        k = len({n for n, _ in earlier.initial_cluster})
        yield _finding(
            "initial-cluster-state", m.pod, node, "initial-cluster-state", m.pod.command.get("initial-cluster-state"),
            title=f"Member {m.name} joined an existing cluster but says --initial-cluster-state=new",
            detail=f"Its --initial-cluster has {len(names)} members where {earlier.name}'s has {k}: the list grew, "
                   "so this member joined a running cluster. With state new, a start on an empty data dir "
                   "bootstraps a separate cluster that the others reject (cluster ID mismatch); kubeadm writes "
                   "existing on every join. Once the member has data, etcd ignores the flag.",
            fix="Set --initial-cluster-state=existing.")


@check
def trusted_ca_missing(cp: ControlPlane) -> Iterator[Finding]:
    """``--client-cert-auth=true`` makes etcd demand a certificate from every client;
    ``--trusted-ca-file`` is the CA it checks them against. Without that file etcd still
    starts, but checks client certificates against the system's public CAs, which never
    signed kubeadm's, so it refuses every client (measured with etcd 3.5: "x509:
    certificate signed by unknown authority"). Peers likewise, with
    ``--peer-client-cert-auth`` and ``--peer-trusted-ca-file``."""
    for node, m in _members(cp):
        for demands, ca, ca_flag, auth_flag, who, effect in (
                (m.client_cert_auth, m.trusted_ca_file, "trusted-ca-file", "client-cert-auth", "client",
                 "the apiserver cannot use etcd, and the cluster has no API"),
                (m.peer_client_cert_auth, m.peer_trusted_ca_file, "peer-trusted-ca-file", "peer-client-cert-auth",
                 "peer", "the members cannot talk to one another, and a cluster of several has no quorum")):
            if not demands or ca:
                continue
            yield _finding(
                "trusted-ca-missing", m.pod, node, ca_flag, None,
                title=None if who == "client" else "etcd demands peer certificates but names no CA to verify them",
                detail=f"--{auth_flag}=true makes member {m.name} demand a certificate from every {who}, and "
                       f"--{ca_flag} names the CA it verifies them with. Without it etcd still starts, but checks "
                       "certificates against the system's public CAs, which never signed kubeadm's: every "
                       f"{who} is refused ('x509: certificate signed by unknown authority' in etcd's log), so "
                       f"{effect}.",
                fix=f"Set --{ca_flag}=/etc/kubernetes/pki/etcd/ca.crt (etcd's CA, as kubeadm does).")


def _pair_stem(path: str) -> str:
    """``server.crt`` and ``server.key`` → ``server``; cfssl's ``etcd.pem`` and
    ``etcd-key.pem`` → ``etcd``: the name a certificate and its key share."""
    stem = posixpath.basename(path)
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    for suffix in ("-key", "_key", ".key", "-cert", "_cert", "-crt", "_crt"):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[:-len(suffix)]
    return stem


@check
def cert_key_mismatch(cp: ControlPlane) -> Iterator[Finding]:
    """A private key belongs to one certificate, and kubeadm names each pair alike
    (``server.crt`` and ``server.key``, ``peer.crt`` and ``peer.key``). A certificate flag
    and its key flag that name different pairs (``server.crt`` with ``peer.key``) almost
    surely mismatch, and the program fails to load them. The doctor compares names only
    (it does not read keys), so this is a warning."""
    for node in cp.nodes:
        for pod, pairs in ((node.etcd.pod if node.etcd else None, (("cert-file", "key-file"),
                                                                   ("peer-cert-file", "peer-key-file"))),
                           (node.apiserver.pod if node.apiserver else None, (("etcd-certfile", "etcd-keyfile"),))):
            if pod is None:
                continue
            for cert_flag, key_flag in pairs:
                cert, key = pod.command.get(cert_flag), pod.command.get(key_flag)
                if not cert or not key or _pair_stem(cert) == _pair_stem(key):
                    continue
                program = pod.command.program.rsplit("/", 1)[-1] or pod.component
                yield _finding(
                    "cert-key-mismatch", pod, node, key_flag, key,
                    title=f"--{cert_flag} and --{key_flag} name files of different pairs",
                    detail=f"--{cert_flag}={cert} and --{key_flag}={key} are named as two different pairs "
                           f"({_pair_stem(cert)} and {_pair_stem(key)}). A key fits only the certificate made with "
                           f"it; if this one does not, {program} cannot load the pair ('tls: private key does not "
                           "match public key') and the connections it serves or makes fail. The doctor compares "
                           "names only, so check the files.",
                    fix=f"Give the key of the same pair: --{key_flag}={posixpath.join(posixpath.dirname(key), _pair_stem(cert))}.key "
                        "as kubeadm names them (openssl x509 -noout -pubkey -in CERT and openssl pkey -pubout -in "
                        "KEY must print the same key).")


#: What a failing probe does to etcd, by kind, most drastic first.
_PROBE_EFFECT = {
    "liveness": "after a few failures the kubelet kills etcd and starts it again, over and over "
                "(CrashLoopBackOff), though etcd itself is fine",
    "startup": "etcd never counts as started: the kubelet kills it and starts it again, over and over",
    "readiness": "the Pod never becomes Ready, and kubeadm (upgrade, join) waits for it in vain",
}


def _probe_problem(m: EtcdMember, node: Node, probe: Probe) -> tuple[str, str] | None:
    """(where the probe goes, why etcd does not answer it there), or None when a listener
    of ``m`` answers it, or when the manifests cannot tell."""
    if probe.scheme not in ("HTTP", "HTTPS", "TCP") or not isinstance(probe.port, int):
        return None
    host = probe.host or (node.address if m.pod.host_network else None)  # no host: the Pod's IP
    if host is None:
        return None
    shown = f"{probe.scheme.lower()}://{_bracket(host)}:{probe.port}" if probe.scheme != "TCP" else \
        f"TCP {_bracket(host)}:{probe.port}"
    there = [(lst, role) for role, urls in (("metrics", m.listen_metrics_urls), ("client", m.listen_client_urls))
             for lst in urls if not _is_socket(lst) and _port(lst) == probe.port and _hosts_match(lst.host, host)]
    for lst, _ in there:
        if probe.scheme == "TCP" or (probe.scheme == "HTTP" and not lst.tls) or \
                (probe.scheme == "HTTPS" and lst.tls and not m.client_cert_auth):
            return None
    if not there:
        return shown, (f"nothing of etcd listens there: --listen-metrics-urls={_urls(m.listen_metrics_urls)}, "
                       f"--listen-client-urls={_urls(m.listen_client_urls)}")
    lst, role = there[0]
    if probe.scheme == "HTTP":
        return shown, (f"the {role} listener there, {lst.raw}, speaks TLS and drops a plain-HTTP request unanswered "
                       "('tls: first record does not look like a TLS handshake' in etcd's log)")
    if not lst.tls:
        return shown, f"the {role} listener there, {lst.raw}, is plain HTTP, so the probe's TLS handshake fails"
    return shown, (f"the {role} listener there, {lst.raw}, demands a client certificate (--client-cert-auth=true), "
                   "and the kubelet's probes present none ('tls: client didn't provide a certificate')")


@check
def probe_not_served(cp: ControlPlane) -> Iterator[Finding]:
    """The kubelet probes etcd where its manifest says (kubeadm: plain HTTP on
    ``127.0.0.1:2381``, the metrics listener, ``/health`` or ``/livez``). Something of
    etcd must answer there: an ``http://`` listener (metrics or client) on that port,
    on that address or a wildcard. An ``https://`` listener does not answer a plain-HTTP
    probe, and a failing liveness or startup probe gets a healthy etcd restarted forever."""
    for node, m in _members(cp):
        problems: dict[tuple[str, str], list[Probe]] = {}
        for probe in m.pod.probes:
            found = _probe_problem(m, node, probe)
            if found is not None:
                problems.setdefault(found, []).append(probe)
        for (shown, why), probes in problems.items():
            kinds = [p.kind for p in probes]
            effect = next(_PROBE_EFFECT[k] for k in _PROBE_EFFECT if k in kinds)
            named = " and ".join(kinds) if len(kinds) < 3 else f"{', '.join(kinds[:-1])} and {kinds[-1]}"
            paths = ", ".join(f"{p.kind} GET {p.path}" for p in probes if p.path)
            fix_url = f"http://{_bracket(probes[0].host or '127.0.0.1')}:{probes[0].port}"
            yield _finding(
                "probe-not-served", m.pod, node, "listen-metrics-urls", m.pod.command.get("listen-metrics-urls"),
                title=f"The kubelet's {named} probe{'s' if len(kinds) > 1 else ''} of {m.name} "
                      f"hit{'' if len(kinds) > 1 else 's'} {shown}, where etcd does not answer",
                detail=f"The kubelet checks etcd at {shown}{f' ({paths})' if paths else ''}, but {why}. So "
                       f"{effect}. kubeadm points the probes at the plain-HTTP metrics listener, "
                       f"--listen-metrics-urls=http://127.0.0.1:{METRICS_PORT}.",
                fix=f"Add {fix_url} to --listen-metrics-urls (as kubeadm does), or point the probes at a plain-HTTP "
                    "listener that etcd has.")


_DUPLICATE_EFFECT = {
    "etcd": "the second cannot bind ports 2379/2380 ('bind: address already in use') and restarts forever, or, "
            "given other ports, starts as a member of its own and joins the cluster as a stranger",
    "kube-apiserver": "the second cannot bind port 6443 ('address already in use') and restarts forever",
}


@check
def duplicate_static_pod(cp: ControlPlane) -> Iterator[Finding]:
    """The kubelet runs every file of its manifest directory whose name does not start
    with a dot, whatever it ends with: a copy kept next to the original (``etcd-backup.yaml``,
    ``etcd.yaml.bak``) is a second Pod. With another name both run, and fight over the
    ports; with the same name the kubelet keeps only one of them, not necessarily the one
    you edit. The doctor follows ``etcd.yaml`` (or the first) and reports the other."""
    for node in cp.nodes:
        for component, main in (("etcd", node.etcd), ("kube-apiserver", node.apiserver)):
            if main is None:
                continue
            for other in (p for p in node.pods if p.component == component and p is not main.pod):
                if other.file == main.pod.file and not other.from_the_api:
                    continue  # documents of one file: etcdlab's own way to pass several Pods, not a directory
                first, second = main.pod.file or main.pod.name, other.file or other.name
                if posixpath.dirname(first) == posixpath.dirname(second):  # one directory: the names say it
                    first, second = posixpath.basename(first), posixpath.basename(second)
                files = f"{first} and {second}"
                if (other.namespace, other.name) == (main.pod.namespace, main.pod.name):
                    what = (f"both define the static Pod {other.name}. The kubelet reads every file of its manifest "
                            "directory, whatever its name ends with, but keeps one Pod per name: it runs one of the "
                            "two, and not necessarily the one you edit")
                else:
                    what = (f"are two {component} Pods ({main.pod.name} and {other.name}). The kubelet runs every "
                            "file of its manifest directory, whatever its name ends with, so it runs both: "
                            f"{_DUPLICATE_EFFECT[component]}")
                yield _finding(
                    "duplicate-static-pod", other, node, None, None, whole_file=True,
                    title=f"Two {component} static Pods on node {node.name}",
                    detail=f"On node {node.name}, {files} {what}. The doctor reads {first}.",
                    fix=f"Keep one {component} manifest in the directory: move {other.file or other.name} out of it "
                        "(a backup belongs in another directory; a name starting with a dot also hides it from "
                        "the kubelet).")


def _mounts(pod: Pod) -> str:
    return ", ".join(f"{v.mount_path}" for v in pod.volumes if v.mount_path and v.host_path) or "none"


@check
def data_dir_not_mounted(cp: ControlPlane) -> Iterator[Finding]:
    """etcd's data dir holds every Kubernetes object. It must be on the node's disk
    (a writable hostPath volume), or it disappears with the container."""
    for node, m in _members(cp):
        path = m.data_dir
        shown = path or f"{m.name}.etcd"
        vol = m.pod.mount_for(path) if path and posixpath.isabs(path) else None
        if vol is not None and not vol.read_only:
            continue
        if vol is not None:
            detail = (f"--data-dir={path} is on the hostPath volume {vol.name}, but mounted read-only: etcd "
                      "cannot write its log and snapshots there and crashes at start-up.")
            fix = f"Remove readOnly from the {vol.name} volume mount."
        else:
            default = "" if path else f" (no --data-dir: etcd's default, {shown} in the working directory)"
            detail = (f"--data-dir={shown}{default} is inside the container's own filesystem, not in a hostPath "
                      f"volume the Pod mounts ({_mounts(m.pod)}). Everything etcd stores (every Kubernetes "
                      "object) is lost when the container is recreated, and the member comes back empty.")
            fix = ("Set --data-dir under a mounted hostPath volume, or mount one at that path (kubeadm: "
                   "the node's /var/lib/etcd at /var/lib/etcd).")
        yield _finding("data-dir-not-mounted", m.pod, node, "data-dir", path,
                       detail=detail, fix=fix)


_ETCD_TLS_FLAGS = ("cert-file", "key-file", "trusted-ca-file", "peer-cert-file", "peer-key-file",
                   "peer-trusted-ca-file")
_APISERVER_TLS_FLAGS = ("etcd-cafile", "etcd-certfile", "etcd-keyfile")


@check
def cert_not_mounted(cp: ControlPlane) -> Iterator[Finding]:
    """Certificates and keys are files on the node (kubeadm writes them under
    /etc/kubernetes/pki); a container sees them only through a hostPath volume."""
    for node in cp.nodes:
        for pod, flags, kubeadm in ((node.etcd.pod if node.etcd else None, _ETCD_TLS_FLAGS,
                                     "etcd-certs: /etc/kubernetes/pki/etcd"),
                                    (node.apiserver.pod if node.apiserver else None, _APISERVER_TLS_FLAGS,
                                     "k8s-certs: /etc/kubernetes/pki")):
            if pod is None:
                continue
            for flag in flags:
                path = pod.command.get(flag)
                if not path or pod.mount_for(path) is not None and posixpath.isabs(path):
                    continue
                yield _finding(
                    "cert-not-mounted", pod, node, flag, path,
                    title=f"--{flag}={path} is not inside a mounted hostPath volume",
                    detail=f"{path} is a file on the node's disk, but no hostPath volume of this Pod holds it "
                           f"(mounts: {_mounts(pod)}). Inside the container the file does not exist, so "
                           f"{pod.command.program.rsplit('/', 1)[-1]} fails at start-up ('no such file or directory').",
                    fix=f"Mount the directory that holds it (kubeadm mounts {kubeadm}), or point the flag "
                        "inside an existing mount.")


def _cluster_size(cp: ControlPlane) -> int:
    """Members as far as the manifests show: those given, plus names in any
    ``--initial-cluster`` whose member was not given (matched by name or peer URL)."""
    members = [m for _, m in _members(cp)]
    names = {m.name for m in members}
    extra: set[str] = set()
    for m in members:
        for name, url in m.initial_cluster:
            if name in names:
                continue
            if any(_same_url(url, u) for o in members for u in o.initial_advertise_peer_urls if _is_ip(u.host)
                   and _is_ip(url.host)):
                continue  # a misspelt name of a member we have
            extra.add(name)
    return len(names | extra)


@check
def cluster_size(cp: ControlPlane) -> Iterator[Finding]:
    """Quorum is ⌊n/2⌋+1 members. One member tolerates no failure; an even number
    tolerates no more failures than one member fewer (4 survive 1 loss, as 3 do)."""
    n = _cluster_size(cp)
    if n == 0:
        return
    # point at the longest --initial-cluster: the one that shows the most members
    node, m = max(_members(cp), key=lambda nm: len({name for name, _ in nm[1].initial_cluster}))
    q, f = _quorum(n)
    if n == 1:
        yield _finding(
            "cluster-single-member", m.pod, node, "initial-cluster", m.pod.command.get("initial-cluster"),
            detail="Quorum is a majority, ⌊n/2⌋+1 members: with one member, losing it (a reboot, a full disk) "
                   "stops every read and write, and the apiserver with it. That is fine for a lab; production "
                   "runs 3 or 5 members.",
            fix="Add members to reach 3 (kubeadm join --control-plane on two more nodes).")
    elif n % 2 == 0:
        yield _finding(
            "cluster-even-size", m.pod, node, "initial-cluster", m.pod.command.get("initial-cluster"),
            title=f"An even number of etcd members ({n}) adds no failure tolerance",
            detail=f"{n} members need a quorum of {q}, so they survive {f} failure{'s' if f != 1 else ''}, exactly "
                   f"as {n - 1} members do: the extra machine adds work and one more thing to fail, but no "
                   "tolerance. An even cluster can also split into two equal halves, neither with a majority.",
            fix=f"Run an odd number of members: {n - 1} or {n + 1}.")


@check
def cis_etcd_tls(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 2.1–2.6: etcd must encrypt and authenticate both of its conversations, with
    clients (2379) and with its peers (2380), using real certificates, not
    self-signed ones it makes up (``--auto-tls``)."""
    for node, m in _members(cp):
        c = m.pod.command
        for rid, cert, key, who in (("cis-etcd-cert-file", "cert-file", "key-file", "clients"),
                                    ("cis-etcd-peer-cert-file", "peer-cert-file", "peer-key-file", "its peers")):
            missing = [f for f in (cert, key) if not c.get(f)]
            if missing:
                yield _finding(
                    rid, m.pod, node, missing[0], None,
                    detail=f"Without --{cert} and --{key} etcd has no certificate for {who}: it can only speak "
                           "plain HTTP, where anyone on the network reads the traffic (Secrets included) and can "
                           f"pose as etcd, and an https:// listener stops it at start-up. {RULES[rid].cis} requires "
                           "both.",
                    fix=f"Set --{cert}=/etc/kubernetes/pki/etcd/{'server' if cert == 'cert-file' else 'peer'}.crt "
                        f"and --{key}=/etc/kubernetes/pki/etcd/{'server' if cert == 'cert-file' else 'peer'}.key.")
        if not m.client_cert_auth:
            yield _finding(
                "cis-etcd-client-cert-auth", m.pod, node, "client-cert-auth", c.get("client-cert-auth"),
                detail="Without --client-cert-auth=true etcd accepts any client that reaches port 2379, with no "
                       "certificate and no identity. Whoever gets there can read and change the whole cluster "
                       "state, Secrets included, past Kubernetes' RBAC. CIS-1.9 2.2 requires it.",
                fix="Set --client-cert-auth=true (kubeadm does), with --trusted-ca-file naming etcd's CA.")
        if not m.peer_client_cert_auth:
            yield _finding(
                "cis-etcd-peer-client-cert-auth", m.pod, node, "peer-client-cert-auth",
                c.get("peer-client-cert-auth"),
                detail="Without --peer-client-cert-auth=true any machine that reaches port 2380 can pose as a "
                       "member and take part in replication. CIS-1.9 2.5 requires it.",
                fix="Set --peer-client-cert-auth=true (kubeadm does), with --peer-trusted-ca-file naming etcd's CA.")
        for rid, flag, who in (("cis-etcd-auto-tls", "auto-tls", "clients"),
                               ("cis-etcd-peer-auto-tls", "peer-auto-tls", "peers")):
            if getattr(m, flag.replace("-", "_")):
                yield _finding(
                    rid, m.pod, node, flag, c.get(flag),
                    detail=f"--{flag}=true lets etcd make up a self-signed certificate for {who} when it has "
                           "none. No CA vouches for it, so nobody can tell the real etcd from an impostor. "
                           f"{RULES[rid].cis} requires it unset or false.",
                    fix=f"Remove --{flag} and give real certificates signed by etcd's CA, as kubeadm does.")


@check
def cis_etcd_unique_ca(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 2.7: etcd should trust a CA of its own. If it trusted the cluster CA, every
    certificate that CA signs (kubelets, users, controllers) would be an etcd client."""
    cluster_cas = {}
    for node, api in _apiservers(cp):
        if api.client_ca_file:
            cluster_cas[_host_file(api.pod, api.client_ca_file)] = node.name
    for node, m in _members(cp):
        if not m.trusted_ca_file:
            yield _finding(
                "cis-etcd-unique-ca", m.pod, node, "trusted-ca-file", None,
                title="etcd names no CA for its clients (--trusted-ca-file)",
                detail="Without --trusted-ca-file etcd has no CA to check client certificates against, so it "
                       "cannot tell the apiserver from anyone else. CIS-1.9 2.7 (manual) asks for a CA of "
                       "etcd's own, distinct from the cluster's.",
                fix="Set --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt (kubeadm's etcd CA).")
            continue
        trusted = _host_file(m.pod, m.trusted_ca_file)
        if trusted in cluster_cas:
            yield _finding(
                "cis-etcd-unique-ca", m.pod, node, "trusted-ca-file", m.trusted_ca_file,
                detail=f"{trusted} is also the apiserver's --client-ca-file (node {cluster_cas[trusted]}), the "
                       "cluster CA: every certificate it signs (kubelets, users, controllers) is then a valid "
                       "etcd client, with full access to the data. kubeadm gives etcd its own CA "
                       "(/etc/kubernetes/pki/etcd/ca.crt).",
                fix="Create a separate CA for etcd (kubeadm init phase certs etcd-ca) and trust only it.")


@check
def cis_apiserver_etcd_tls(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.2.23 and 1.2.26: the apiserver must prove who it is to etcd (a client
    certificate) and check who etcd is (the CA that signed etcd's certificate)."""
    for node, api in _apiservers(cp):
        missing = [f for f in ("etcd-certfile", "etcd-keyfile") if not api.pod.command.get(f)]
        if missing:
            yield _finding(
                "cis-apiserver-etcd-certfile", api.pod, node, missing[0], None,
                detail="Without --etcd-certfile and --etcd-keyfile the apiserver cannot prove to etcd who it is, "
                       "so etcd must either reject it or accept anyone. CIS-1.9 1.2.23 (1.2.24 in CIS 1.8) "
                       "requires both.",
                fix="Set --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt and "
                    "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key.")
        if not api.etcd_cafile:
            yield _finding(
                "cis-apiserver-etcd-cafile", api.pod, node, "etcd-cafile", None,
                detail="Without --etcd-cafile the apiserver checks etcd's certificate against the system's "
                       "public CAs, which never signed it: it cannot verify it is talking to the real etcd. "
                       "CIS-1.9 1.2.26 (1.2.27 in CIS 1.8) requires it.",
                fix="Set --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt.")


@check
def cis_apiserver_encryption(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.2.27 (manual): without an encryption provider, Secrets are written to
    etcd as they are; kubeadm does not set one, so this is information, not an error."""
    for node, api in _apiservers(cp):
        if not api.encryption_provider_config:
            yield _finding(
                "cis-apiserver-encryption", api.pod, node, "encryption-provider-config", None,
                detail="Without --encryption-provider-config the apiserver writes Secrets to etcd unencrypted "
                       "(base64 is not encryption): anyone with etcd access, its data dir or a snapshot reads "
                       "them. kubeadm does not set it; CIS-1.9 1.2.27 asks for an aescbc, kms or secretbox provider.",
                fix="Write an EncryptionConfiguration and set --encryption-provider-config to it (mounted from "
                    "the node), then rewrite existing Secrets.")


#: component → (CIS check for permissions, CIS check for ownership)
_MANIFEST_CIS = {"etcd": ("CIS-1.9 1.1.7", "CIS-1.9 1.1.8"),
                 "kube-apiserver": ("CIS-1.9 1.1.1", "CIS-1.9 1.1.2")}


def _from_the_api(pod: Pod) -> bool:
    """True for a Pod captured with ``kubectl get`` (the API's mirror Pod): the mode of
    that capture file says nothing about the static manifest on the node."""
    return pod.from_the_api


@check
def cis_manifest_files(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.1.1/1.1.2 and 1.1.7/1.1.8: the kubelet runs whatever the static Pod
    manifests say, as root, so only root may write (or read) them. Checked only when
    the loader could see the file's mode and owner, and not on ``kubectl`` captures."""
    for node in cp.nodes:
        for pod in node.pods:
            if pod.component not in _MANIFEST_CIS or _from_the_api(pod):
                continue
            perm_cis, owner_cis = _MANIFEST_CIS[pod.component]
            name = posixpath.basename(pod.file) if pod.file else f"{pod.component}.yaml"
            if pod.file_mode is not None and pod.file_mode & 0o177:
                yield _finding(
                    "cis-manifest-permissions", pod, node, None, oct(pod.file_mode)[2:], cis=perm_cis, whole_file=True,
                    title=f"{name} has mode {oct(pod.file_mode)[2:]}, looser than 600",
                    detail="The kubelet runs what a static Pod manifest says, with the node's privileges: whoever "
                           "can write it can change the control plane, and whoever can read it learns its wiring. "
                           f"{perm_cis} wants mode 600 or stricter.",
                    fix=f"chmod 600 {pod.file}")
            if pod.file_owner is not None and pod.file_owner != "root:root":
                yield _finding(
                    "cis-manifest-ownership", pod, node, None, pod.file_owner, cis=owner_cis, whole_file=True,
                    title=f"{name} is owned by {pod.file_owner}, not root:root",
                    detail="Whoever owns a static Pod manifest can change its permissions and then its content, "
                           f"which the kubelet runs with the node's privileges. {owner_cis} wants root:root.",
                    fix=f"chown root:root {pod.file}")


# -- running the doctor -------------------------------------------------------------------


def _sort_key(f: Finding) -> tuple:
    return (_RANK.get(f.severity, len(SEVERITIES)), f.node or "", f.file or "", f.line or 0, f.id,
            f.flag or "", f.value or "")


def doctor(control_plane_or_source, *more_sources) -> list[Finding]:
    """Check a control plane and return its findings, most severe first.

    Give a :class:`~etcdlab.model.control_plane.ControlPlane`, or anything :func:`etcdlab.load`
    accepts (files, directories, data set names; several are merged into one cluster).

    >>> import etcdlab as el
    >>> [f.id for f in el.doctor("broken/wrong-port") if f.severity == "error"]
    ['etcd-servers-peer-port']
    """
    if isinstance(control_plane_or_source, ControlPlane):
        if more_sources:
            raise TypeError("give one ControlPlane, or sources to load, not both")
        cp = control_plane_or_source
    elif hasattr(control_plane_or_source, "load") and not isinstance(control_plane_or_source, (str, bytes)) \
            and not more_sources and callable(control_plane_or_source.load):
        cp = control_plane_or_source.load()  # a Dataset
    else:
        from ..sources.loading import load

        cp = load(control_plane_or_source, *more_sources)
    token = _RUN_ROUTES.set({})
    try:
        findings = [f for chk in CHECKS for f in chk(cp)]
    finally:
        _RUN_ROUTES.reset(token)
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=_sort_key)


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


__all__ = ["Finding", "Rule", "RULES", "CHECKS", "SEVERITIES", "Route", "doctor", "summary", "at_least",
           "route", "routes"]
