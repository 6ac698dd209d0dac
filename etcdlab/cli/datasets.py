"""``etcdlab datasets``: the bundled data sets, one line each."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("datasets", help="list the bundled kubeadm data sets",
                              description="List the bundled data sets: clean kubeadm clusters, then broken ones.")
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..sources.bundled import datasets

    items = datasets()
    if args.json:
        print(json.dumps([{"name": d.name, "summary": d.summary, "topology": d.topology,
                           "kubernetes": d.kubernetes, "etcd": d.etcd, "broken": d.broken,
                           "expect": [e.id for e in d.expect]} for d in items], indent=2))
        return 0
    width = max((len(d.name) for d in items), default=0)
    for d in items:
        print(f"{d.name:<{width}}  {d.summary}")
    return 0
