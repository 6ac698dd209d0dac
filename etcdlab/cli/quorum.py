"""``etcdlab quorum``: etcd's fault-tolerance table, or what a given failure does to a cluster.

    etcdlab quorum                                  # the table for 1-9 members
    etcdlab quorum --size 3 --down 2                # 3 members, 2 of them down
    etcdlab quorum --size 5 --down-members cp1,cp4
    etcdlab quorum --size 5 --partition "cp1,cp2/cp3,cp4,cp5" --json

Exit code 0 when the scenario keeps quorum (or for the table), 1 when it loses quorum,
2 for bad input.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "quorum", help="the fault-tolerance table, or what failures and partitions do to a cluster",
        description="Without options: etcd's table of cluster sizes, quorum and failures tolerated. "
                    "With --size, --down, --down-members, --partition or --learner: the state of that "
                    "scenario (quorum, leader side, writes, which members answer reads). "
                    "Members are named after their nodes, cp1 ... cpN (kubeadm names each member after its node); a plain number means the same. "
                    "Exit code 1 when the scenario has no quorum.")
    p.add_argument("--size", type=int, metavar="N", help="number of members, 1-9 (default 3 for a scenario)")
    down = p.add_mutually_exclusive_group()
    down.add_argument("--down", type=int, metavar="K", help="switch off K members (the highest-numbered)")
    down.add_argument("--down-members", metavar="A,B", help="switch off these members, e.g. cp1,cp3")
    p.add_argument("--partition", metavar="A,B/C,D,E",
                   help='split the network: sides separated by "/", members by ","; members not '
                        "listed form one more side")
    p.add_argument("--learner", metavar="NAME", help="make this member a (non-voting) learner")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def _is_scenario(args: argparse.Namespace) -> bool:
    return any(v is not None for v in (args.size, args.down, args.down_members, args.partition,
                                       args.learner))


def run(args: argparse.Namespace) -> int:
    import json

    from ..sim.quorum import ClusterState
    from ..sim.tolerance import fault_tolerance_table, format_table

    if not _is_scenario(args):
        rows = fault_tolerance_table()
        if args.json:
            print(json.dumps([r.as_dict() for r in rows], indent=2))
        else:
            print(format_table(rows))
            print("\nQuorum is a majority, n // 2 + 1. Run 3 members for HA, 5 in production; "
                  "an even size adds a machine but no tolerance.")
        return 0

    down = args.down if args.down is not None else (args.down_members or ())
    state = ClusterState.scenario(args.size if args.size is not None else 3, down=down,
                                  partition=args.partition or (),
                                  learners=args.learner or ())
    if args.json:
        print(json.dumps(state.summary(), indent=2))
    else:
        print(state.report())
    return 0 if state.has_quorum else 1
