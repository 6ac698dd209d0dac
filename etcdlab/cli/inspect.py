"""``etcdlab inspect PATH`` (or ``--live``): nodes, etcd members and their URLs, apiservers and their etcd endpoints."""

from __future__ import annotations

import json

from ._source import add_source_arguments, load_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("inspect", help="summarise a control plane",
                              description="Summarise a control plane: nodes, etcd members with their client, peer "
                                          "and metrics URLs, apiservers with their etcd endpoints. PATH is a "
                                          "manifest file, a directory, or a bundled data set name; --live "
                                          "reads a running cluster.")
    add_source_arguments(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..diagnosis.summary import summarize

    cp = load_from_args(args)
    s = summarize(cp)
    if args.json:
        print(json.dumps(s.to_dict(), indent=2))
    else:
        print(s)
    return 0
