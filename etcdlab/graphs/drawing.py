"""Drawing a topology graph with matplotlib, and restyling it without a redraw.

:func:`etcdlab.draw_topology` returns a :class:`TopologyDrawing`. The picture reads top
down:

* each **host** is a grey box labelled with its name and address, holding its Pods:
  ``kube-apiserver`` (blue) above, the ``etcd`` member (green) below. Control-plane
  hosts of an external topology, which hold only an apiserver, form a row of their own
  above the etcd hosts;
* **client** links (apiserver → etcd) are dark blue arrows labelled with the port: inside
  a stacked host the loopback link, labelled with its address (``127.0.0.1:2379``);
  between hosts one ``2379`` label where the arrows reach a member;
* **peer** links (etcd ↔ etcd) are green arcs below the hosts, one per pair, labelled
  ``2380``: no arrowheads, Raft talks both ways;
* a link the doctor says cannot work is **red** and carries a numbered marker; the notes
  under the drawing give each number's finding title. A Pod with an error that no link
  shows gets a red outline and a marker too. An endpoint no member serves points at a
  red dashed "no etcd" box (a grey "not checked" one when the doctor cannot tell, e.g.
  no member was given at all);
* members that are **down** are greyed out and their links dashed; peer links **cut** by
  a network partition are dashed orange;
* the title's second line is the quorum state ("3/5 up — quorum held").

Coordinates are inches: on the figure :func:`draw_topology` makes, one data unit is one
inch, so font sizes and spacing are fixed and the layout is the same for the same input.
Drawn into an ``ax`` of another size, fonts and line widths are scaled to fit.

:meth:`TopologyDrawing.update` only changes colours, line styles and texts of artists
that already exist (a widget callback calls it on every click); ``benchmarks/bench_topology.py``
measures it against drawing the figure again.

One piece on purpose (about 630 lines): :class:`TopologyDrawing` keeps every artist it
creates so that ``update()`` can restyle them; layout, drawing and restyling share that
state and its geometry constants, and split apart each would need the others.
"""

from __future__ import annotations

import io
import math
import textwrap
from typing import TYPE_CHECKING, Any, Iterable

from ..model.control_plane import ControlPlane
from .graph import apiserver_id, etcd_id, quorum_status, resolve_member, topology_graph

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# -- geometry, in inches ------------------------------------------------------------------
PITCH = 1.5          # distance between the centres of neighbouring hosts
HOST_W = 1.32        # host box width
POD_W = 1.14         # pod box width
POD_H = 0.40         # pod box height
PAD = 0.09           # inside a host box, above and below its content
LABEL_H = 0.40       # host name + address
LOOP_GAP = 0.62      # between a stacked host's apiserver and its etcd member
LOOP_GAP_WIDE = 0.95  # the same, when links from other hosts arrive there too (two labels)
GAP_AB = 1.25        # between the apiserver row and the etcd row (external topology)
ARC0, ARC_STEP = 0.45, 0.22  # depth of a peer arc of span 1, and per extra host spanned
MARGIN = 0.35
MIN_W = 7.0
TITLE_H = 0.78
NOTE_H = 0.21        # one line of notes
LEGEND_ROW = 0.26
CHAR_W = 0.62 / 72   # average DejaVu Sans glyph width per point of font size, in inches

# -- colours --------------------------------------------------------------------------------
CLIENT = "#1f4e9c"
PEER = "#1b9e77"
BROKEN = "#d62728"
DOWN = "#9e9e9e"
CUT = "#e6550d"
HOST_FACE, HOST_EDGE = "#f4f6f8", "#8a949e"
API_FACE = "#dce8f8"
ETCD_FACE = "#d9f2e9"
DOWN_FACE = "#eeeeee"
TEXT = "#222222"
HELD, LOST = "#1b7a3d", BROKEN


def _fit(text: str, width: float, size: float) -> float:
    """The largest font size up to ``size`` at which the longest line of ``text`` fits ``width`` inches."""
    longest = max((len(line) for line in text.split("\n")), default=1) or 1
    return min(size, width / (longest * CHAR_W))


def _bezier3(p0, p1, p2, p3, t: float) -> tuple[float, float]:
    """The point at ``t`` on a cubic Bézier curve."""
    w = ((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3)
    pts = (p0, p1, p2, p3)
    return sum(k * p[0] for k, p in zip(w, pts)), sum(k * p[1] for k, p in zip(w, pts))


class TopologyDrawing:
    """A drawn topology that keeps its artists so it can be restyled cheaply.

    ``figure`` and ``ax`` are the matplotlib objects; ``graph`` the networkx graph drawn;
    ``pods``, ``edges`` and ``port_labels`` map graph nodes, edges and label groups to
    their artists; ``notes`` lists ``(number, reason, where)`` for the numbered markers.
    """

    def __init__(self, graph: "nx.DiGraph", ax: "Axes | None" = None, down: Iterable[Any] = (),
                 cut: Iterable[tuple[Any, Any]] = (), title: str | None = None):
        self.graph = graph
        self._title = title  # the title given when drawing; update(title=None) goes back to it
        self._legend_key: tuple | None = None
        self._layout()
        self._make_axes(ax)
        self._draw()
        self.update(down=down, cut=cut, title=title)

    # ------------------------------------------------------------------ layout
    def _layout(self) -> None:
        g = self.graph
        hosts = [h for h, _ in g.graph.get("hosts") or []]
        for _, d in g.nodes(data=True):
            if d.get("host") and d["kind"] != "unreachable" and d["host"] not in hosts:
                hosts.append(d["host"])
        address = dict((h, a) for h, a in g.graph.get("hosts") or [])
        for _, d in g.nodes(data=True):
            if d.get("host") and d["kind"] != "unreachable":
                address.setdefault(d["host"], d.get("address"))
        self.row_a = [h for h in hosts if apiserver_id(h) in g and etcd_id(h) not in g]
        self.row_b = [h for h in hosts if etcd_id(h) in g]
        self.unreachable = [n for n, k in g.nodes(data="kind") if k == "unreachable"]
        self.address = address
        self.stacked_row = any(apiserver_id(h) in g for h in self.row_b)
        # client links from another host into a stacked host need room for their own label
        wide = any(d["kind"] == "client" and not self._same_host(u, v) and apiserver_id(g.nodes[v]["host"] or "") in g
                   for u, v, d in g.edges(data=True) if g.nodes[v]["kind"] == "etcd")
        self.loop_gap = LOOP_GAP_WIDE if wide else LOOP_GAP

        peer_spans = [1]
        col_b = {h: i for i, h in enumerate(self.row_b)}
        for u, v, d in g.edges(data=True):
            if d["kind"] == "peer":
                peer_spans.append(abs(col_b[g.nodes[v]["host"]] - col_b[g.nodes[u]["host"]]))
        has_peers = any(d["kind"] == "peer" for _, _, d in g.edges(data=True))
        self.max_span = max(peer_spans)
        arc_depth = (ARC0 + ARC_STEP * (self.max_span - 1) + 0.2) if has_peers else 0.1

        ncols_b = len(self.row_b) + len(self.unreachable)
        width_b, width_a = ncols_b * PITCH, len(self.row_a) * PITCH
        self.W = max(max(width_a, width_b) + 2 * MARGIN, MIN_W)
        self.host_h_a = PAD + LABEL_H + POD_H + PAD
        self.host_h_b = PAD + (POD_H + self.loop_gap if self.stacked_row else 0) + POD_H + LABEL_H + PAD

        y = -TITLE_H
        self.top_a = y
        if self.row_a:
            y -= self.host_h_a + GAP_AB
        self.top_b = y
        self.bottom_b = y - self.host_h_b
        self.notes_top = self.bottom_b - arc_depth - 0.12

        x0_b = (self.W - width_b) / 2
        member_w = len(self.row_b) * PITCH
        x0_a = x0_b + (member_w - width_a) / 2 if self.row_b and width_a <= member_w else (self.W - width_a) / 2
        self.x: dict[str, float] = {}
        for i, h in enumerate(self.row_b):
            self.x[h] = x0_b + (i + 0.5) * PITCH
        for i, n in enumerate(self.unreachable):
            self.x[n] = x0_b + (len(self.row_b) + i + 0.5) * PITCH
        for i, h in enumerate(self.row_a):
            self.x[h] = x0_a + (i + 0.5) * PITCH
        self.col_b = col_b

        # pod boxes: (x centre, y top)
        self.pod_top: dict[str, float] = {}
        self.pod_x: dict[str, float] = {}
        for h in self.row_a:
            self.pod_x[apiserver_id(h)] = self.x[h]
            self.pod_top[apiserver_id(h)] = self.top_a - PAD - LABEL_H
        etcd_top = self.top_b - PAD - (POD_H + self.loop_gap if self.stacked_row else 0)
        for h in self.row_b:
            if apiserver_id(h) in g:
                self.pod_x[apiserver_id(h)] = self.x[h]
                self.pod_top[apiserver_id(h)] = self.top_b - PAD
            self.pod_x[etcd_id(h)] = self.x[h]
            self.pod_top[etcd_id(h)] = etcd_top
        for n in self.unreachable:
            self.pod_x[n] = self.x[n]
            self.pod_top[n] = etcd_top

        self.notes = self._notes()
        wrap = max(40, int((self.W - 2 * MARGIN - 0.3) / (8 * CHAR_W)))
        self.note_lines = [textwrap.wrap(f"{reason} ({where})", wrap) for _, reason, where in self.notes]
        n_lines = sum(len(lines) for lines in self.note_lines)
        self.legend_top = self.notes_top - n_lines * NOTE_H - (0.1 if n_lines else 0)
        self.legend_cols = max(1, min(3, int((self.W - 2 * MARGIN) / 2.2)))
        # room for the legend as drawn now, plus the "down" and "cut" entries an update may add
        legend_rows = math.ceil((len(self._legend_entries(False, False)) + 2) / self.legend_cols)
        self.H = -(self.legend_top - legend_rows * LEGEND_ROW - 0.15)

    def _same_host(self, u: str, v: str) -> bool:
        """A link inside one host box (an apiserver to the member next to it)."""
        g = self.graph
        return g.nodes[v]["kind"] != "unreachable" and g.nodes[u].get("host") == g.nodes[v].get("host")

    def _notes(self) -> list[tuple[int, str, str]]:
        """Number each distinct reason, in the order the broken things appear in the graph."""
        g = self.graph
        order: dict[str, list[str]] = {}
        self.marker_of: dict[Any, int] = {}
        for n, d in g.nodes(data=True):
            if not d["ok"] and d["kind"] != "unreachable":
                order.setdefault(d["reason"], []).append(self._pod_name(n))
        for u, v, d in g.edges(data=True):
            if not d["ok"]:
                order.setdefault(d["reason"], []).append(self._link_name(u, v))
        numbers = {reason: i + 1 for i, reason in enumerate(order)}
        for n, d in g.nodes(data=True):
            if not d["ok"] and d["kind"] != "unreachable":
                self.marker_of[n] = numbers[d["reason"]]
        for u, v, d in g.edges(data=True):
            if not d["ok"]:
                self.marker_of[(u, v)] = numbers[d["reason"]]
        out = []
        for reason, wheres in order.items():
            shown = "; ".join(wheres[:3]) + (f"; {len(wheres) - 3} more" if len(wheres) > 3 else "")
            out.append((numbers[reason], reason, shown))
        return out

    def _pod_name(self, n: str) -> str:
        d = self.graph.nodes[n]
        if d["kind"] == "etcd":
            return f"etcd {d['name']} on {d['host']}"
        return f"kube-apiserver on {d['host']}"

    def _link_name(self, u: str, v: str) -> str:
        g = self.graph
        d = g.edges[u, v]
        if d["kind"] == "peer":
            return f"etcd {g.nodes[u]['name']} ↔ etcd {g.nodes[v]['name']}"
        target = g.nodes[v]
        to = f"etcd {target['name']}" if target["kind"] == "etcd" else "nothing"
        return f"{g.nodes[u]['host']} apiserver → {to} at {d['url']}"

    # ------------------------------------------------------------------ figure
    def _make_axes(self, ax: "Axes | None") -> None:
        if ax is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            fig = Figure(figsize=(self.W, self.H), dpi=100)
            FigureCanvasAgg(fig)
            ax = fig.add_axes((0, 0, 1, 1))
            self.scale = 1.0
        else:
            fig = ax.figure
            bbox = ax.get_position()
            w_in, h_in = fig.get_size_inches()
            self.scale = min(bbox.width * w_in / self.W, bbox.height * h_in / self.H)
        ax.set_xlim(0, self.W)
        ax.set_ylim(-self.H, 0)
        ax.set_aspect("equal", adjustable="box")
        ax.set_axis_off()
        self.figure: Figure = fig
        self.ax: Axes = ax

    def _fs(self, size: float) -> float:
        return size * self.scale

    def _text(self, x: float, y: float, s: str, size: float, **kw):
        kw.setdefault("ha", "center")
        kw.setdefault("va", "center")
        kw.setdefault("color", TEXT)
        return self.ax.text(x, y, s, fontsize=self._fs(size), zorder=kw.pop("zorder", 6), **kw)

    def _box(self, x: float, top: float, w: float, h: float, face: str, edge: str, lw: float = 1.0,
             ls: str = "-", z: float = 1, rounding: float = 0.06):
        from matplotlib.patches import FancyBboxPatch

        patch = FancyBboxPatch((x - w / 2, top - h), w, h, boxstyle=f"round,pad=0,rounding_size={rounding}",
                               facecolor=face, edgecolor=edge, linewidth=lw * self.scale, linestyle=ls, zorder=z)
        self.ax.add_patch(patch)
        return patch

    def _marker(self, x: float, y: float, number: int):
        return self._text(x, y, str(number), 7, color="white", fontweight="bold", zorder=9,
                          bbox=dict(boxstyle="circle,pad=0.22", facecolor=BROKEN, edgecolor="none"))

    def _label_bbox(self, color: str = "white") -> dict:
        return dict(boxstyle="round,pad=0.12", facecolor=color, edgecolor="none", alpha=0.95)

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        from matplotlib.patches import FancyArrowPatch, PathPatch
        from matplotlib.path import Path

        g, ax = self.graph, self.ax
        self.pods: dict[str, Any] = {}
        self.pod_labels: dict[str, Any] = {}
        self.edges: dict[tuple[str, str], Any] = {}
        self.port_labels: list[tuple[Any, list[tuple[str, str]]]] = []
        self.markers: list[Any] = []

        # hosts and pods
        for h in self.row_a + self.row_b:
            in_a = h in self.row_a
            top = self.top_a if in_a else self.top_b
            height = self.host_h_a if in_a else self.host_h_b
            self._box(self.x[h], top, HOST_W, height, HOST_FACE, HOST_EDGE, z=1, rounding=0.1)
            label_y = (top - PAD - LABEL_H / 2) if in_a else (top - height + PAD + LABEL_H / 2)
            self._text(self.x[h], label_y + 0.08, h, _fit(h, HOST_W - 0.1, 8.5), fontweight="bold")
            addr = self.address.get(h) or ""
            self._text(self.x[h], label_y - 0.09, addr, _fit(addr, HOST_W - 0.1, 7.5), color="#555555")
        for n, d in g.nodes(data=True):
            x, top = self.pod_x[n], self.pod_top[n]
            if d["kind"] == "unreachable":
                where = f" on {d['host']}" if d["host"] else ""
                # red: nothing listens there; grey: the doctor cannot tell (no member given there)
                text = f"{'no etcd' if not d['ok'] else 'not checked'}{where}\nat {d['name']}"
                color = BROKEN if not d["ok"] else HOST_EDGE
                self.pods[n] = self._box(x, top, POD_W, POD_H, "white", color, lw=1.4, ls="--", z=3)
                self.pod_labels[n] = self._text(x, top - POD_H / 2, text, _fit(text, POD_W - 0.08, 7.5),
                                                color=BROKEN if not d["ok"] else "#555555")
                continue
            face = API_FACE if d["kind"] == "apiserver" else ETCD_FACE
            edge = CLIENT if d["kind"] == "apiserver" else PEER
            lw = 1.0
            if not d["ok"]:
                edge, lw = BROKEN, 2.2
            self.pods[n] = self._box(x, top, POD_W, POD_H, face, edge, lw=lw, z=3)
            self.pod_labels[n] = self._text(x, top - POD_H / 2, self._pod_text(n, False),
                                            self._pod_size(n), zorder=6)
            if n in self.marker_of:
                self.markers.append(self._marker(x + POD_W / 2 - 0.02, top, self.marker_of[n]))

        # client edges
        client = [(u, v, d) for u, v, d in g.edges(data=True) if d["kind"] == "client"]
        out_spread = self._spread([(u, v) for u, v, _ in client], key=lambda e: e[0], order=lambda e: self.pod_x[e[1]])
        in_spread = self._spread([(u, v) for u, v, _ in client if not self._same_host(u, v)],
                                 key=lambda e: e[1], order=lambda e: self.pod_x[e[0]])
        groups: dict[tuple, list[tuple[str, str]]] = {}
        for u, v, d in client:
            same = self._same_host(u, v)
            xs = self.pod_x[u] + (0 if same else out_spread[(u, v)])
            ys = self.pod_top[u] - POD_H
            xt = self.pod_x[v] + (0 if same else in_spread[(u, v)])
            yt = self.pod_top[v]
            arrow = FancyArrowPatch((xs, ys), (xt, yt), arrowstyle="-|>", mutation_scale=10 * self.scale,
                                    shrinkA=0, shrinkB=0.5, linewidth=1.5 * self.scale, color=CLIENT, zorder=2.5)
            ax.add_patch(arrow)
            self.edges[(u, v)] = arrow
            port = d["port"] if d["port"] is not None else "?"
            if same:
                text = d["url"].split("://", 1)[-1].split("/", 1)[0]
                # with links from other hosts arriving below, this label moves up out of their way
                ymid = (ys + yt) / 2 if self.loop_gap == LOOP_GAP else ys - 0.24
                lab = self._text(xs, ymid, text, _fit(text, POD_W - 0.1, 7), bbox=self._label_bbox(), zorder=7,
                                 color=TEXT if d["ok"] else BROKEN)
                self.port_labels.append((lab, [(u, v)]))
                if (u, v) in self.marker_of:
                    size = _fit(text, POD_W - 0.1, 7)
                    mx = min(xs + len(text) * size * CHAR_W / 2 + 0.16, self.x[g.nodes[u]["host"]] + HOST_W / 2 - 0.1)
                    self.markers.append(self._marker(mx, ymid + 0.17, self.marker_of[(u, v)]))
            else:
                scheme = "" if d["tls"] else " http"
                groups.setdefault((v, f"{port}{scheme}"), []).append((u, v))
                if (u, v) in self.marker_of:
                    mx, my = xs + 0.35 * (xt - xs), ys + 0.35 * (yt - ys)
                    self.markers.append(self._marker(mx, my, self.marker_of[(u, v)]))
        for (v, text), edges in groups.items():
            ok = any(g.edges[e]["ok"] for e in edges)
            stacked = apiserver_id(g.nodes[v].get("host") or "") in g
            y = self.pod_top[v] + (0.16 if stacked else PAD + 0.2)
            lab = self._text(self.pod_x[v], y, text, 7, bbox=self._label_bbox(), zorder=7,
                             color=TEXT if ok else BROKEN)
            self.port_labels.append((lab, edges))

        # peer arcs below the etcd row
        y0 = self.bottom_b
        for u, v, d in g.edges(data=True):
            if d["kind"] != "peer":
                continue
            a, b = sorted((u, v), key=lambda n: self.col_b[g.nodes[n]["host"]])
            span = self.col_b[g.nodes[b]["host"]] - self.col_b[g.nodes[a]["host"]]
            # a U below the hosts: down from one member, across, up into the other. Arcs to
            # farther members leave nearer the middle of the host and go deeper, so the
            # arcs of one member nest instead of crossing each other.
            frac = (self.max_span - span) / (self.max_span - 1) if self.max_span > 1 else 1.0
            off = 0.08 + (HOST_W / 2 - 0.16) * frac
            p0, p3 = (self.pod_x[a] + off, y0), (self.pod_x[b] - off, y0)
            depth = ARC0 + ARC_STEP * (span - 1)
            h = depth / 0.75  # a cubic Bézier with these handles dips to exactly `depth`
            c1, c2 = (p0[0], y0 - h), (p3[0], y0 - h)
            patch = PathPatch(Path([p0, c1, c2, p3], [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4]),
                              fill=False, edgecolor=PEER, linewidth=1.3 * self.scale, zorder=2, capstyle="round")
            ax.add_patch(patch)
            self.edges[(u, v)] = patch
            apex = _bezier3(p0, c1, c2, p3, 0.5)
            text = str(d["port"])
            lab = self._text(apex[0], apex[1], text, 6.5, bbox=self._label_bbox(), zorder=7, color=PEER)
            self.port_labels.append((lab, [(u, v)]))
            if (u, v) in self.marker_of:
                mx, my = apex[0] + 0.3, apex[1]  # beside the port label
                self.markers.append(self._marker(mx, my, self.marker_of[(u, v)]))

        # title, quorum line, notes
        self.title_text = self._text(self.W / 2, -0.25, "", 11.5, fontweight="bold")
        self.status_text = self._text(self.W / 2, -0.52, "", 10)
        y = self.notes_top
        for (number, _, _), lines in zip(self.notes, self.note_lines):
            self._marker(MARGIN + 0.1, y - NOTE_H / 2, number)
            for line in lines:
                self._text(MARGIN + 0.3, y - NOTE_H / 2, line, 8, ha="left", color=BROKEN)
                y -= NOTE_H
        self.legend = None
        if not g.number_of_nodes():
            self._text(self.W / 2, self.top_b - 0.5, "no etcd member and no apiserver to draw", 10)

    def _spread(self, edges: list[tuple[str, str]], key, order) -> dict[tuple[str, str], float]:
        """Fan the ends of several arrows out across a pod's edge, ordered left to right."""
        by: dict[str, list[tuple[str, str]]] = {}
        for e in edges:
            by.setdefault(key(e), []).append(e)
        out = {}
        for es in by.values():
            es = sorted(es, key=order)
            width = min(POD_W * 0.6, 0.14 * (len(es) - 1))
            for i, e in enumerate(es):
                out[e] = (-width / 2 + width * i / (len(es) - 1)) if len(es) > 1 else 0.0
        return out

    def _pod_text(self, n: str, down: bool) -> str:
        d = self.graph.nodes[n]
        if d["kind"] == "apiserver":
            return "kube-apiserver"
        return f"etcd {d['name']}" + ("\n(down)" if down else "")

    def _pod_size(self, n: str) -> float:
        return _fit(self._pod_text(n, False), POD_W - 0.12, 8)

    # ------------------------------------------------------------------ restyling
    def default_title(self) -> str:
        g = self.graph
        kind = g.graph.get("topology") or ""
        n_etcd = sum(1 for _, k in g.nodes(data="kind") if k == "etcd")
        n_api = sum(1 for _, k in g.nodes(data="kind") if k == "apiserver")
        what = {"stacked": "stacked etcd", "external": "external etcd", "mixed": "mixed",
                "none": "no etcd"}.get(kind, kind)
        return (f"{g.graph.get('name') or 'control plane'}: {what}, "
                f"{n_etcd} member{'s' if n_etcd != 1 else ''}, {n_api} apiserver{'s' if n_api != 1 else ''}")

    def update(self, down: Iterable[Any] = (), cut: Iterable[tuple[Any, Any]] = (),
               title: str | None = None) -> "TopologyDrawing":
        """Restyle for members ``down`` and peer links ``cut`` (pairs of members), without
        creating artists: colours, line styles and texts change, nothing is laid out again.

        Members are named as :func:`etcdlab.graphs.graph.resolve_member` accepts (``cp2``,
        ``etcd-cp2``, or ``etcd-2`` / ``2`` for the second member). ``title`` replaces the
        first title line (``None``: the title given when drawing, else the default).
        Call ``drawing.figure.canvas.draw_idle()`` (or display the figure again) to see it.
        """
        g = self.graph
        down_ids = {resolve_member(g, m) for m in down}
        cut_pairs = {frozenset((resolve_member(g, a), resolve_member(g, b))) for a, b in cut}
        self.down, self.cut = frozenset(down_ids), frozenset(cut_pairs)

        for n, patch in self.pods.items():
            d = g.nodes[n]
            if d["kind"] != "etcd":
                continue
            is_down = n in down_ids
            patch.set_facecolor(DOWN_FACE if is_down else ETCD_FACE)
            patch.set_edgecolor(BROKEN if not d["ok"] else (DOWN if is_down else PEER))
            self.pod_labels[n].set_text(self._pod_text(n, is_down))
            self.pod_labels[n].set_color(DOWN if is_down else TEXT)

        for (u, v), artist in self.edges.items():
            d = g.edges[u, v]
            color, lw = (CLIENT, 1.5) if d["kind"] == "client" else (PEER, 1.3)
            ls = "-"
            if not d["ok"]:
                color, lw = BROKEN, 2.2
            if u in down_ids or v in down_ids:
                color, ls = DOWN, "--"
            elif frozenset((u, v)) in cut_pairs:
                color, ls, lw = CUT, "--", 1.8
            artist.set_edgecolor(color)
            if d["kind"] == "client":
                artist.set_facecolor(color)
            artist.set_linestyle(ls)
            artist.set_linewidth(lw * self.scale)
        for label, edges in self.port_labels:
            all_down = all(u in down_ids or v in down_ids for u, v in edges)
            kind = g.edges[edges[0]]["kind"]
            ok = any(g.edges[e]["ok"] for e in edges)
            label.set_color(DOWN if all_down else BROKEN if not ok else PEER if kind == "peer" else TEXT)

        text = title or self._title or self.default_title()
        self.title_text.set_text(text)
        # a long title (a data set's full path, say) gets smaller rather than sticking out
        self.title_text.set_fontsize(self._fs(_fit(text, self.W - 2 * MARGIN, 11.5)))
        states = quorum_status(g, down_ids, [tuple(p) for p in cut_pairs])
        self.status = "; ".join(
            (f"cluster {i + 1}: " if len(states) > 1 else "") + s["text"] for i, s in enumerate(states)
        ) or "no etcd member"
        self.status_text.set_text(self.status)
        self.status_text.set_fontsize(self._fs(_fit(self.status, self.W - 2 * MARGIN, 10)))
        self.status_text.set_color(HELD if states and all(s["held"] for s in states) else LOST)
        self._update_legend(bool(down_ids), bool(cut_pairs))
        return self

    def _legend_entries(self, any_down: bool, any_cut: bool) -> list[tuple[Any, str]]:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        g = self.graph
        s = getattr(self, "scale", 1.0)
        kinds = {k for _, _, k in g.edges(data="kind")}
        broken = any(not d["ok"] for _, _, d in g.edges(data=True))
        pod_error = any(not d["ok"] and d["kind"] != "unreachable" for _, d in g.nodes(data=True))
        entries = []
        if "client" in kinds or not kinds:
            entries.append((Line2D([], [], color=CLIENT, lw=1.5 * s, marker=">", markevery=[1],
                                   markersize=5 * s), "client: apiserver → etcd (2379)"))
        if "peer" in kinds:
            entries.append((Line2D([], [], color=PEER, lw=1.3 * s), "peer: etcd ↔ etcd (2380)"))
        if broken:
            entries.append((Line2D([], [], color=BROKEN, lw=2.2 * s), "link that cannot work (notes)"))
        if pod_error:
            entries.append((Patch(facecolor="white", edgecolor=BROKEN, linewidth=2 * s), "pod with an error (notes)"))
        if any_down:
            entries.append((Line2D([], [], color=DOWN, lw=1.5 * s, ls="--"), "member down and its links"))
        if any_cut:
            entries.append((Line2D([], [], color=CUT, lw=1.8 * s, ls="--"), "peer link cut by a partition"))
        return entries

    def _update_legend(self, any_down: bool, any_cut: bool) -> None:
        entries = self._legend_entries(any_down, any_cut)
        key = tuple(label for _, label in entries)
        if key == self._legend_key:
            return
        self._legend_key = key
        if self.legend is not None:
            self.legend.remove()
        self.legend = self.ax.legend(
            [h for h, _ in entries], [t for _, t in entries], loc="upper center",
            bbox_to_anchor=(self.W / 2, self.legend_top), bbox_transform=self.ax.transData,
            ncol=min(self.legend_cols, len(entries)), frameon=False, fontsize=self._fs(8),
            handlelength=2.4, columnspacing=1.6, borderaxespad=0, handletextpad=0.6)

    # ------------------------------------------------------------------ checking the picture
    def layout_problems(self) -> list[str]:
        """What a reader would trip over, measured on the rendered figure: labels that
        overlap each other, text outside the figure, a legend over anything else.
        An empty list means a clean picture (the tests hold every layout to that)."""
        from matplotlib.transforms import Bbox

        self.figure.canvas.draw()
        renderer = self.figure.canvas.get_renderer()
        fig_box = self.figure.bbox
        texts = [t for t in self.ax.texts if t.get_visible() and t.get_text()]
        boxes = []
        for t in texts:
            patch = t.get_bbox_patch()
            box = patch.get_window_extent(renderer) if patch is not None else t.get_window_extent(renderer)
            boxes.append((t, box))
        problems = []
        for t, box in boxes:
            if not (fig_box.x0 - 0.5 <= box.x0 and box.x1 <= fig_box.x1 + 0.5
                    and fig_box.y0 - 0.5 <= box.y0 and box.y1 <= fig_box.y1 + 0.5):
                problems.append(f"text {t.get_text()!r} sticks out of the figure")
        if boxes:
            import numpy as np

            e = np.array([[b.x0, b.y0, b.x1, b.y1] for _, b in boxes])
            w = np.minimum(e[:, None, 2], e[None, :, 2]) - np.maximum(e[:, None, 0], e[None, :, 0])
            h = np.minimum(e[:, None, 3], e[None, :, 3]) - np.maximum(e[:, None, 1], e[None, :, 1])
            for i, j in zip(*np.nonzero(np.triu((w > 0.5) & (h > 0.5), k=1))):
                problems.append(f"labels {boxes[i][0].get_text()!r} and {boxes[j][0].get_text()!r} overlap")
        if self.legend is not None:
            legend_box = self.legend.get_window_extent(renderer)
            others = [box for _, box in boxes] + [p.get_window_extent(renderer) for p in self.ax.patches]
            for box in others:
                inter = Bbox.intersection(legend_box, box)
                if inter is not None and inter.width > 0.5 and inter.height > 0.5:
                    problems.append("the legend covers part of the drawing")
                    break
            if not fig_box.contains(legend_box.x0, legend_box.y0) or not fig_box.contains(legend_box.x1, legend_box.y1):
                problems.append("the legend sticks out of the figure")
        return problems

    # ------------------------------------------------------------------ output
    def savefig(self, path, **kwargs) -> None:
        """Write PNG or SVG (by the suffix). SVG is byte-identical for the same input:
        matplotlib's hash salt is fixed and the date left out."""
        from pathlib import Path

        fmt = kwargs.pop("format", None) or Path(path).suffix.lstrip(".").lower() or "png"
        data = self.to_svg().encode("utf-8") if fmt == "svg" else self.to_png(**kwargs) if fmt == "png" else None
        if data is None:
            from ..errors import EtcdlabError

            raise EtcdlabError(f"cannot write {path}: the picture can be .png or .svg, not .{fmt}")
        Path(path).write_bytes(data)

    save = savefig

    def to_png(self, dpi: float = 100) -> bytes:
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        return buf.getvalue()

    def to_svg(self) -> str:
        import matplotlib

        buf = io.StringIO()
        with matplotlib.rc_context({"svg.hashsalt": "etcdlab-topology", "svg.fonttype": "path"}):
            self.figure.savefig(buf, format="svg", metadata={"Date": None})
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.to_png()

    def __repr__(self) -> str:
        g = self.graph
        n_etcd = sum(1 for _, k in g.nodes(data="kind") if k == "etcd")
        n_api = sum(1 for _, k in g.nodes(data="kind") if k == "apiserver")
        return (f"<TopologyDrawing {g.graph.get('name') or 'control plane'}: {n_etcd} etcd, "
                f"{n_api} apiserver{'s' if n_api != 1 else ''}; {self.status}>")


def draw_topology(graph_or_control_plane: "ControlPlane | nx.DiGraph", ax=None, down: Iterable[str | int] = (),
                  title: str | None = None, cut: Iterable[tuple[str | int, str | int]] = ()) -> "TopologyDrawing":
    """Draw the topology with matplotlib; see :class:`TopologyDrawing`.

    Returns a :class:`~etcdlab.graphs.drawing.TopologyDrawing` that keeps its artists, so
    ``drawing.update(down=[...], cut=[...], title=...)`` restyles it without a redraw.
    """
    g = graph_or_control_plane
    if isinstance(g, ControlPlane):
        g = topology_graph(g)
    return TopologyDrawing(g, ax=ax, down=down, cut=cut, title=title)
