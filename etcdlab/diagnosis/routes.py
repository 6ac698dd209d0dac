"""Where does each ``--etcd-servers`` URL lead? Hosts, ports and listeners compared the way a
client connects (no DNS: a name gets the benefit of the doubt), and the :class:`Route`
from each apiserver to the member that would answer it, worked out once per doctor run.
"""

from __future__ import annotations

import contextvars
import ipaddress
import posixpath
from dataclasses import dataclass
from collections.abc import Iterator

from ..model.control_plane import ApiServer, ControlPlane, EtcdMember, Node, Pod
from ..model.addresses import bracket, is_ip
from ..model.flags import Endpoint, url_list
from ..model.quorum import quorum_size


def _norm(host: str) -> str:
    """A host in one spelling: IPs compressed (``fd00:0::1`` → ``fd00::1``), names lower-case."""
    try:
        return str(ipaddress.ip_address(host.split("%", 1)[0]))
    except ValueError:
        return host.lower().rstrip(".")


def _is_name(host: str) -> bool:
    """A DNS name (not an IP, not ``localhost``): the doctor cannot tell where it leads."""
    return not is_ip(host) and host.lower() != "localhost"


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
    if is_ip(a.host) and is_ip(b.host):
        return _norm(a.host) == _norm(b.host)
    if _is_name(a.host) and _is_name(b.host):
        return _same_name(a.host, b.host)
    if a.is_loopback or b.is_loopback:
        return a.is_loopback and b.is_loopback and _hosts_match(a.host, b.host)
    return True  # a name and an IP: only DNS could tell


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


def _rewrite(url: Endpoint, listener: Endpoint) -> str:
    """``url``'s host with ``listener``'s scheme and port: the URL that listener serves."""
    return f"{listener.scheme}://{bracket(url.host)}:{_port(listener)}"


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
                   f"port {_port(url)} is member {m.name}'s peer port (--listen-peer-urls={url_list(peers)}), "
                   "and on this host nothing even listens there")
            return Route(url, member=m, node=n, problem="etcd-servers-peer-port", why=why,
                         suggest=_client_suggestion(m, url))
    for n, m in candidates:
        ports = [lst for lst in m.listen_client_urls if not _is_socket(lst) and _hosts_match(lst.host, url.host)]
        if ports:
            metrics = any(_port(x) == _port(url) for x in m.listen_metrics_urls if not _is_socket(x))
            what = (f"port {_port(url)} is member {m.name}'s metrics and health port "
                    f"(--listen-metrics-urls={url_list(m.listen_metrics_urls)}), which serves /metrics and /health, "
                    "not the etcd API" if metrics
                    else f"member {m.name} serves clients on that host only at {url_list(ports)}")
            return Route(url, member=m, node=n, problem="etcd-servers-wrong-port", why=what,
                         suggest=_rewrite(url, ports[0]))
    n, m = candidates[0]
    listeners = url_list(m.listen_client_urls)
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
    known = sorted({h for n in cp.nodes if n.etcd for h in _machine_hosts(n) if is_ip(h)})
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


def _host_file(pod: Pod, path: str | None) -> str | None:
    """A path as the node sees it (through the Pod's hostPath volumes), else as written."""
    if not path:
        return None
    return pod.host_path(path) or posixpath.normpath(path)


def _apiservers(cp: ControlPlane) -> Iterator[tuple[Node, ApiServer]]:
    for node in cp.nodes:
        if node.apiserver is not None:
            yield node, node.apiserver


def _members(cp: ControlPlane) -> Iterator[tuple[Node, EtcdMember]]:
    for node in cp.nodes:
        if node.etcd is not None:
            yield node, node.etcd
