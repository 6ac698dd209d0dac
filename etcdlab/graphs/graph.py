"""Who talks to whom: a control plane as a graph of etcd clients and peers.

Two kinds of connection keep a kubeadm cluster's data alive:

* **client** links, ``kube-apiserver → etcd`` on port **2379**. The apiserver finds its
  members in ``--etcd-servers`` and proves who it is with the client certificate in
  ``--etcd-certfile`` (checked against etcd's ``--trusted-ca-file``). In the *stacked*
  topology kubeadm writes ``--etcd-servers=https://127.0.0.1:2379``: a loopback address,
  so each apiserver reaches only the member on its own node. In the *external* topology
  every apiserver lists every member.
* **peer** links, ``etcd ↔ etcd`` on port **2380**, where Raft replicates every write.
  The members of one cluster are the union of their ``--initial-cluster`` entries (kubeadm
  writes a list that grows with each join: the first member names itself, the third names
  all three) and every member talks to every other one: a full mesh.

``etcdlab.topology(cp)`` builds the graph::

    >>> import etcdlab as el
    >>> from etcdlab.graphs.graph import stacked_control_plane
    >>> g = el.topology(stacked_control_plane(3))
    >>> sorted(g.nodes)
    ['etcd-cp1', 'etcd-cp2', 'etcd-cp3', 'kube-apiserver-cp1', 'kube-apiserver-cp2', 'kube-apiserver-cp3']
    >>> edge_counts(g)
    {'client': 3, 'peer': 3}

The graph (a :class:`networkx.DiGraph`)
---------------------------------------
Nodes are the Pods, named as ``kubectl get po -n kube-system`` names them
(``etcd-<node>``, ``kube-apiserver-<node>``). Each carries ``kind`` (``apiserver``,
``etcd`` or ``unreachable``), ``name`` (the member's ``--name``; the Pod name for an
apiserver), ``host`` (the node it runs on), ``address`` (that node's address), ``ok`` and
``reason`` (an error finding about the Pod itself that no edge shows, e.g. client
certificates switched off), and ``findings`` (the titles of all such findings).
An etcd node also has ``cluster`` (which cluster it belongs to, from 0).

Edges carry ``kind`` (``client`` or ``peer``), ``url``, ``port``, ``tls`` (true for
``https``), ``ok`` and ``reason`` (the doctor's finding title when the link cannot work,
else ``None``):

* one ``client`` edge per apiserver per member one of its ``--etcd-servers`` endpoints
  addresses, directed apiserver → etcd. ``url`` is the first endpoint that addresses the
  member, ``urls`` all of them, ``loopback`` says whether it is a same-node link. Where an
  endpoint leads is the doctor's own answer, :func:`etcdlab.diagnosis.routes.route`: the graph and
  ``etcdlab doctor`` cannot disagree about it (a short host name and its FQDN are one
  machine, ``fd00:0:0::11`` is ``fd00::11``);
* one ``peer`` edge per member **pair**, directed from the member that comes first in node
  order to the later one; it stands for both directions (Raft talks both ways). ``url`` is
  the target's advertised peer URL (where the source dials), ``source_url`` the source's.
* an ``--etcd-servers`` endpoint that addresses no member at all (a host no member runs
  on, or a loopback address on a node without a member) is kept visible: it becomes an
  edge to a node of kind ``unreachable``, ``ok=False``, which the drawing shows as a red
  "no etcd at …" box. Its id is ``unreachable:*:<host:port>`` (one per address, shared by
  every apiserver that lists it), or ``unreachable:<node>:<host:port>`` for a loopback
  address, which means a different place on each node. When the doctor *cannot tell*
  where it leads (no member was given at all, a host name no given member uses: names are
  never resolved, a unix socket) the node and its edges stay ``ok=True``, drawn grey as
  "not checked": a picture of the files given must not call broken what it cannot see.
* the port is not part of matching an endpoint to a member: ``https://127.0.0.1:2380``
  still addresses the member on the same node, and the edge (port 2380, red) shows why it
  cannot work.

The structure comes from the model alone; :func:`etcdlab.doctor` findings only mark
links (and Pods) broken. Pass ``findings=[]`` to skip the doctor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..errors import EtcdlabError, FlagError
from ..model.flags import Endpoint, parse_initial_cluster
from ..model.control_plane import PEER_PORT, ControlPlane, EtcdMember
from ..model.quorum import quorum_size

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

#: Error findings that say an apiserver → etcd link cannot work.
CLIENT_FINDINGS = frozenset({
    "etcd-servers-scheme", "etcd-servers-peer-port", "etcd-servers-wrong-port",
    "etcd-servers-loopback-no-member", "etcd-servers-unknown-host",
    "etcd-ca-mismatch", "etcd-client-cert-missing",
})
#: Error findings that say an etcd ↔ etcd link cannot work.
PEER_FINDINGS = frozenset({
    "initial-cluster-mismatch", "initial-cluster-missing-self", "advertise-peer-not-served",
})
#: The flags those findings are about: another non-CIS error finding on one of these flags
#: (say, a certificate file that is not mounted) breaks the same links.
CLIENT_FLAGS = frozenset({"--etcd-servers", "--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"})
PEER_FLAGS = frozenset({"--initial-cluster", "--initial-advertise-peer-urls", "--listen-peer-urls",
                        "--peer-cert-file", "--peer-key-file", "--peer-trusted-ca-file"})

KINDS = ("apiserver", "etcd", "unreachable")
EDGE_KINDS = ("client", "peer")


# --------------------------------------------------------------------------- ids

def etcd_id(host: str) -> str:
    """The graph id of the etcd Pod on ``host``: ``etcd-<host>``, as kubectl names it."""
    return f"etcd-{host}"


def apiserver_id(host: str) -> str:
    return f"kube-apiserver-{host}"


def unreachable_id(host: str | None, endpoint: Endpoint) -> str:
    """One "nothing listens here" node per address: loopback addresses are per node."""
    where = host if endpoint.is_loopback or endpoint.is_wildcard else "*"
    return f"unreachable:{where}:{endpoint.hostport}"


# --------------------------------------------------------------------------- building

def topology_graph(control_plane: ControlPlane, findings: Sequence[Any] | None = None) -> "nx.DiGraph":
    """The client/peer graph of ``control_plane`` (see the module docstring for its shape).

    ``findings`` are :class:`etcdlab.diagnosis.findings.Finding` objects; by default the doctor runs.
    """
    import networkx as nx

    if not isinstance(control_plane, ControlPlane):
        raise EtcdlabError(f"topology() needs a ControlPlane (from etcdlab.load), not {type(control_plane).__name__}")
    cp = control_plane
    g = nx.DiGraph()
    g.graph.update(name=cp.name or cp.source or "control plane", topology=cp.topology_kind,
                   hosts=[[n.name, n.address] for n in cp.nodes if n.etcd or n.apiserver])

    # nodes, in node order: on each node its apiserver, then its etcd member
    for n in cp.nodes:
        if n.apiserver is not None:
            g.add_node(apiserver_id(n.name), kind="apiserver", name=apiserver_id(n.name),
                       host=n.name, address=n.address, ok=True, reason=None, findings=[])
        if n.etcd is not None:
            g.add_node(etcd_id(n.name), kind="etcd", name=n.etcd.name, host=n.name, address=n.address,
                       cluster=0, ok=True, reason=None, findings=[])

    clusters = _clusters(cp)
    for i, members in enumerate(clusters):
        for m in members:
            g.nodes[m]["cluster"] = i
    g.graph["clusters"] = [list(c) for c in clusters]

    # peer edges: a full mesh inside each cluster, one edge per pair
    by_id = {etcd_id(n.name): n.etcd for n in cp.nodes if n.etcd is not None}
    for members in clusters:
        for i, u in enumerate(members):
            for v in members[i + 1:]:
                target, source = _peer_url(by_id[v]), _peer_url(by_id[u])
                g.add_edge(u, v, kind="peer", url=target.raw if target else None,
                           source_url=source.raw if source else None,
                           port=target.port if target else PEER_PORT,
                           tls=bool(target and target.tls and source and source.tls),
                           ok=True, reason=None)

    # client edges: each --etcd-servers endpoint, to the member the doctor says it addresses
    from ..diagnosis.routes import routes

    for n in cp.nodes:
        api = n.apiserver
        if api is None:
            continue
        src = apiserver_id(n.name)
        for r in routes(cp, n, api):
            ep = r.url
            if r.member is not None:
                target = etcd_id(r.node.name)
                ok = True  # the doctor's findings say whether the link works
            else:
                target = unreachable_id(n.name, ep)
                # nothing listens there; unless the doctor cannot tell (it said so as info)
                ok = r.problem is None or r.severity == "info"
                if target not in g:
                    g.add_node(target, kind="unreachable", name=ep.hostport,
                               host=n.name if ep.is_loopback or ep.is_wildcard else None,
                               address=ep.host, ok=ok, reason=None, findings=[])
                elif not ok:
                    g.nodes[target]["ok"] = False
            if g.has_edge(src, target):
                g.edges[src, target]["urls"].append(ep.raw)
                continue
            g.add_edge(src, target, kind="client", url=ep.raw, urls=[ep.raw], port=ep.port, tls=ep.tls,
                       loopback=ep.is_loopback, ok=ok, reason=None)

    if findings is None:
        from ..diagnosis.checkup import doctor

        findings = doctor(cp)
    mark_findings(g, cp, findings)
    for u, v, d in g.edges(data=True):
        if not d["ok"] and d["reason"] is None:  # an unreachable endpoint the doctor said nothing about
            d["reason"] = f"no etcd member listens at {g.nodes[v]['name']}"
        if g.nodes[v]["kind"] == "unreachable" and g.nodes[v]["reason"] is None:
            g.nodes[v]["reason"] = d["reason"]
    return g


def _peer_url(m: EtcdMember) -> Endpoint | None:
    if m.peer_url is not None:
        return m.peer_url
    return m.listen_peer_urls[0] if m.listen_peer_urls else None


def _clusters(cp: ControlPlane) -> list[list[str]]:
    """Members grouped into clusters: two members belong together when either names the
    other in ``--initial-cluster`` (by name, or by its advertised peer URL)."""
    ids = [etcd_id(n.name) for n in cp.nodes if n.etcd is not None]
    members = {etcd_id(n.name): n.etcd for n in cp.nodes if n.etcd is not None}
    by_name: dict[str, str] = {}
    by_url: dict[str, str] = {}
    for i, m in members.items():
        by_name.setdefault(m.name, i)
        for u in m.initial_advertise_peer_urls:
            by_url.setdefault(u.hostport, i)
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in members.items():
        for name, url in m.initial_cluster:
            other = by_name.get(name) or by_url.get(url.hostport)
            if other is not None:
                a, b = find(i), find(other)
                if a != b:  # keep the earlier member as the root: stable order
                    if ids.index(a) < ids.index(b):
                        parent[b] = a
                    else:
                        parent[a] = b
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


# --------------------------------------------------------------------------- findings

def _peers_named(flag: str | None, value: str | None) -> set[str]:
    """The members (names) and peer URLs a peer finding's value names: ``--initial-cluster``
    values are ``name=URL`` lists, the other peer flags' values are one URL."""
    if not value:
        return set()
    if flag != "--initial-cluster":
        return {value}
    try:
        entries = parse_initial_cluster(value)
    except FlagError:
        return set()
    return {name for name, _ in entries} | {url.raw for _, url in entries}


def _pod_for_finding(g: "nx.DiGraph", cp: ControlPlane, f: Any) -> str | None:
    """The graph node of the Pod a finding is about (by its file, else by its flag)."""
    node = getattr(f, "node", None)
    if not node:
        return None
    file = getattr(f, "file", None)
    try:
        n = cp.node(node)
    except KeyError:
        return None
    if file:
        if n.apiserver is not None and n.apiserver.pod.file == file:
            return apiserver_id(node)
        if n.etcd is not None and n.etcd.pod.file == file:
            return etcd_id(node)
    flag = getattr(f, "flag", None) or ""
    api_flag = flag.startswith("--etcd-") or flag in ("--encryption-provider-config", "--client-ca-file")
    if api_flag and n.apiserver is not None:
        return apiserver_id(node)
    if n.etcd is not None:
        return etcd_id(node)
    return apiserver_id(node) if n.apiserver is not None else None


def mark_findings(g: "nx.DiGraph", cp: ControlPlane, findings: Iterable[Any]) -> None:
    """Mark the links (and Pods) that error findings say cannot work.

    * a client finding (``etcd-servers-*``, ``etcd-ca-mismatch``, ``etcd-client-cert-missing``,
      or another error about an apiserver's ``--etcd-*`` flag) breaks the client edges of
      that node's apiserver: the one an ``--etcd-servers`` finding is about (its value is
      the endpoint, exactly as written), else all of them (a CA or certificate file
      concerns every link);
    * a peer finding (``initial-cluster-*``, ``advertise-peer-not-served``, or another
      error about a peer flag) breaks the peer edges of that node's member: the ones to the
      members the value names (``name=URL``), else all of them;
    * any other error (a CIS check, an unmounted data directory) marks the Pod itself.

    Warnings and infos mark nothing: the link works, it is only unwise. A CIS error about a
    flag whose broken link is already marked (no ``--etcd-certfile``, say) does not mark the
    Pod again. The first finding that marks an element gives its ``reason``.
    """
    findings = [f for f in findings if getattr(f, "severity", "error") == "error"]
    pod_findings = []
    for f in findings:
        flag, value = getattr(f, "flag", None), getattr(f, "value", None)
        cis = f.id.startswith("cis-")
        if f.id in CLIENT_FINDINGS or (not cis and flag in CLIENT_FLAGS):
            src = apiserver_id(f.node) if f.node else None
            if src in g:
                edges = [(u, v) for u, v, d in g.out_edges(src, data=True) if d["kind"] == "client"]
                named = [(u, v) for u, v in edges if flag == "--etcd-servers" and value in g.edges[u, v]["urls"]]
                if _mark_edges(g, named or edges, f.title):
                    continue
        elif f.id in PEER_FINDINGS or (not cis and flag in PEER_FLAGS):
            me = etcd_id(f.node) if f.node else None
            if me in g:
                mentioned = _peers_named(flag, value)
                edges = _peer_edges(g, me)
                named = [(u, v) for u, v in edges
                         if mentioned & {g.nodes[w]["name"] for w in (u, v) if w != me}
                         or mentioned & ({g.edges[u, v]["url"], g.edges[u, v]["source_url"]} - {None})]
                if _mark_edges(g, named or edges, f.title):
                    continue
        pod_findings.append(f)
    for f in pod_findings:
        pod = _pod_for_finding(g, cp, f)
        if pod is None or pod not in g:
            continue
        flag = getattr(f, "flag", None)
        # a CIS finding about a flag whose broken link is already drawn adds nothing to the picture
        if flag in CLIENT_FLAGS and any(not d["ok"] for _, _, d in g.out_edges(pod, data=True)):
            continue
        if flag in PEER_FLAGS and any(not g.edges[e]["ok"] for e in _peer_edges(g, pod)):
            continue
        d = g.nodes[pod]
        d["findings"].append(f.title)
        if d["ok"]:
            d["ok"], d["reason"] = False, f.title


def _peer_edges(g: "nx.DiGraph", member: str) -> list[tuple[str, str]]:
    return [(u, v) for u, v, d in list(g.out_edges(member, data=True)) + list(g.in_edges(member, data=True))
            if d["kind"] == "peer"]


def _mark_edges(g: "nx.DiGraph", edges: list[tuple[str, str]], title: str) -> bool:
    for u, v in edges:
        d = g.edges[u, v]
        if d["ok"] or d["reason"] is None:
            d["ok"], d["reason"] = False, title
    return bool(edges)


# --------------------------------------------------------------------------- reading the graph

def edge_counts(g: "nx.DiGraph") -> dict[str, int]:
    """``{'client': c, 'peer': p}``: how many links of each kind."""
    out = {k: 0 for k in EDGE_KINDS}
    for _, _, kind in g.edges(data="kind"):
        out[kind] = out.get(kind, 0) + 1
    return out


def node_counts(g: "nx.DiGraph") -> dict[str, int]:
    """``{'apiserver': a, 'etcd': e, 'unreachable': u}``."""
    out = {k: 0 for k in KINDS}
    for _, kind in g.nodes(data="kind"):
        out[kind] = out.get(kind, 0) + 1
    return out


def broken_links(g: "nx.DiGraph") -> list[tuple[str, str, str]]:
    """``(source, target, reason)`` for every link that cannot work, in graph order."""
    return [(u, v, d["reason"]) for u, v, d in g.edges(data=True) if not d["ok"]]


def members(g: "nx.DiGraph") -> list[str]:
    """The etcd nodes' ids, in node order."""
    return [n for n, k in g.nodes(data="kind") if k == "etcd"]


def resolve_member(g: "nx.DiGraph", ref: str | int) -> str:
    """The etcd node a reference means: its id (``etcd-cp2``), member name (``cp2``), host,
    or a position the way :mod:`etcdlab.sim.quorum` names members (``etcd-2``, ``"2"`` or ``2``
    for the second member in node order)."""
    ms = members(g)
    text = str(ref).strip()
    for m in ms:
        d = g.nodes[m]
        if text in (m, d["name"], d["host"]):
            return m
    pos = text[len("etcd-"):] if text.startswith("etcd-") else text
    if pos.isdigit() and 1 <= int(pos) <= len(ms):
        return ms[int(pos) - 1]
    names = ", ".join(g.nodes[m]["name"] for m in ms) or "none"
    raise EtcdlabError(f"there is no etcd member called {ref!r} in this topology (members: {names})")


def quorum_status(g: "nx.DiGraph", down: Iterable[str | int] = (),
                  cut: Iterable[tuple[str | int, str | int]] = ()) -> list[dict[str, Any]]:
    """For each cluster: its size, how many members are up, whether a majority of them can
    still talk to each other (``cut`` peer links removed), and a one-line ``text``. A
    control plane without etcd has no cluster: ``[]``.

    >>> g = topology_graph(stacked_control_plane(5), findings=[])
    >>> [s["text"] for s in quorum_status(g, down=["cp4", "cp5"])]
    ['3/5 up — quorum held']
    >>> [s["text"] for s in quorum_status(g, cut=[("cp1", "cp3"), ("cp2", "cp3")])]
    ['5/5 up — quorum held']
    """
    import networkx as nx

    down_ids = {resolve_member(g, d) for d in down}
    cut_pairs = {frozenset((resolve_member(g, a), resolve_member(g, b))) for a, b in cut}
    out = []
    clusters = g.graph.get("clusters")
    if clusters is None:  # a graph built by hand: its members are one cluster
        clusters = [members(g)] if members(g) else []
    for members_ in clusters:
        n = len(members_)
        quorum = quorum_size(n)
        up = [m for m in members_ if m not in down_ids]
        h = nx.Graph()
        h.add_nodes_from(up)
        for u, v, d in g.edges(data=True):
            if d["kind"] == "peer" and u in h and v in h and frozenset((u, v)) not in cut_pairs:
                h.add_edge(u, v)
        sides = sorted((len(c) for c in nx.connected_components(h)), reverse=True) or [0]
        held = sides[0] >= quorum
        text = f"{len(up)}/{n} up"
        if len(sides) > 1:
            text += ", split " + "+".join(str(s) for s in sides)
        if held:
            text += " — quorum held" + (f" by the {sides[0]}" if len(sides) > 1 else "")
        else:
            text += f" — quorum lost (needs {quorum}" + (" together)" if len(sides) > 1 else ")")
        out.append({"members": list(members_), "size": n, "quorum": quorum, "up": len(up),
                    "sides": sides, "held": held, "text": text})
    return out


def quorum_text(g: "nx.DiGraph", down: Iterable[str | int] = (),
                cut: Iterable[tuple[str | int, str | int]] = ()) -> str:
    """:func:`quorum_status` as one line (clusters joined with ``;``)."""
    states = quorum_status(g, down, cut)
    if not states:
        return "no etcd member"
    if len(states) == 1:
        return states[0]["text"]
    return "; ".join(f"cluster {i + 1}: {s['text']}" for i, s in enumerate(states))


def describe(g: "nx.DiGraph", down: Iterable[str | int] = ()) -> str:
    """The graph in words, one line per link (client links first), then Pods with errors.

    >>> print(describe(topology_graph(stacked_control_plane(2), findings=[])))
    stacked-2: stacked etcd; 2/2 up — quorum held
      client kube-apiserver-cp1 → etcd-cp1  https://127.0.0.1:2379  ok
      client kube-apiserver-cp2 → etcd-cp2  https://127.0.0.1:2379  ok
      peer   etcd-cp1 ↔ etcd-cp2  https://10.0.0.12:2380  ok
    """
    down_ids = {resolve_member(g, m) for m in down}
    topology = g.graph.get("topology")
    what = f"{topology} etcd; " if members(g) and topology else ""
    lines = [f"{g.graph.get('name')}: {what}{quorum_text(g, down_ids)}"]
    for u, v, d in sorted(g.edges(data=True), key=lambda e: e[2]["kind"]):
        arrow = "→" if d["kind"] == "client" else "↔"
        state = "ok" if d["ok"] else f"BROKEN: {d['reason']}"
        if d["ok"] and g.nodes[v]["kind"] == "unreachable":
            state = "not checked: no etcd member given there"
        if u in down_ids or v in down_ids:
            state = "member down" if d["ok"] else f"member down; {state}"
        lines.append(f"  {d['kind']:<6} {u} {arrow} {v}  {d['url']}  {state}")
    for n, d in g.nodes(data=True):
        if not d["ok"] and d["kind"] != "unreachable":
            lines.append(f"  pod    {n}  ERROR: {'; '.join(d['findings'])}")
    return "\n".join(lines)


def to_json(g: "nx.DiGraph") -> dict[str, Any]:
    """The graph as networkx node-link data (``nodes``, ``edges``), ready for ``json.dumps``."""
    import networkx as nx

    try:
        return nx.node_link_data(g, edges="edges")
    except TypeError:  # networkx < 3.4 only knows "links"
        return nx.node_link_data(g)


def from_json(data: dict[str, Any]) -> "nx.DiGraph":
    """The inverse of :func:`to_json` (``edges`` or ``links``)."""
    import networkx as nx

    key = "edges" if "edges" in data else "links"
    try:
        return nx.node_link_graph(data, directed=True, multigraph=False, edges=key)
    except TypeError:  # networkx < 3.4
        return nx.node_link_graph(data, directed=True, multigraph=False)


def topology(control_plane: ControlPlane, findings: Sequence[Any] | None = None) -> "nx.DiGraph":
    """``etcdlab.topology(cp)``: the client/peer graph of ``cp`` (see :func:`topology_graph`)."""
    return topology_graph(control_plane, findings)


#: ``etcdlab.describe_topology`` (the package's public name for :func:`describe`)
describe_topology = describe

__all__ = ["topology", "describe_topology", "topology_graph",
           "edge_counts", "node_counts", "broken_links", "quorum_status", "quorum_text", "resolve_member", "describe",
           "mark_findings", "to_json", "from_json", "CLIENT_FINDINGS", "PEER_FINDINGS"]
