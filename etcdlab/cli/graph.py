"""``etcdlab graph PATH`` (or ``--live``): who talks to whom — apiserver → etcd on 2379, etcd ↔ etcd on 2380.

* ``-o FILE.png`` / ``-o FILE.svg`` draws the topology (SVG output is byte-identical for
  the same input);
* ``--json`` prints the graph as networkx node-link JSON (``nodes``, ``edges``);
* otherwise one line per link.

Exit code 1 when a link (or a Pod) is drawn broken, as ``etcdlab doctor`` does for errors: the
graph follows each ``--etcd-servers`` URL the way the doctor does, so the two agree (an endpoint
the doctor cannot check, e.g. when no etcd manifest was given, is drawn grey, not broken).
"""

from __future__ import annotations

import json

from ._source import add_source_arguments, load_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "graph", help="draw who talks to whom (client 2379, peer 2380)",
        description="Build the client/peer graph of a control plane: apiserver -> etcd client links from "
                    "--etcd-servers (port 2379) and the etcd <-> etcd peer mesh from --initial-cluster (port "
                    "2380), with the links the doctor says cannot work marked broken. PATH is a manifest file, "
                    "a directory, or a bundled data set name; --live reads a running cluster. Exit code 1 when "
                    "something is broken.")
    add_source_arguments(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="FILE", help="write the drawing to FILE.png or FILE.svg")
    out.add_argument("--json", action="store_true", help="print the graph as networkx node-link JSON")
    p.add_argument("--down", metavar="MEMBERS", default="",
                   help="comma-separated members to draw as down (names like cp2, or positions like 2)")
    p.add_argument("--title", help="the drawing's title (default: the data set, topology and sizes)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import EtcdlabError
    from ..graphs.graph import broken_links, describe, resolve_member, to_json, topology_graph

    output = args.output
    if output and not output.lower().endswith((".png", ".svg")):
        raise EtcdlabError(f"cannot write {output}: the picture can be a .png or an .svg file")
    g = topology_graph(load_from_args(args))
    down = [resolve_member(g, m) for m in args.down.split(",") if m.strip()]
    broken = bool(broken_links(g)) or any(not d["ok"] for _, d in g.nodes(data=True))

    if args.json:
        print(json.dumps(to_json(g), indent=2))
    elif output:
        from ..graphs.drawing import TopologyDrawing

        drawing = TopologyDrawing(g, down=down, title=args.title)
        try:
            drawing.savefig(output)
        except OSError as exc:
            raise EtcdlabError(f"cannot write {output}: {exc.strerror or exc}") from None
        print(f"wrote {output}: {drawing.default_title()}; {drawing.status}")
    else:
        print(describe(g, down))
    return 1 if broken else 0
