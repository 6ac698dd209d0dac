"""``etcdlab cluster up|drill``: a real etcd cluster on 127.0.0.1, configured like kubeadm's.

    etcdlab cluster up --size 3          # run until Ctrl-C; prints endpoints and etcdctl settings
    etcdlab cluster drill --size 3       # kill the leader, then a majority, restart, verify: in words
    etcdlab cluster drill --size 5 --json

Exit codes: 0 fine, 1 the drill found a problem (a lost write, a read that should have
failed), 2 bad input or no etcd binary.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cluster", help="run a real etcd cluster on 127.0.0.1 (up) or a failure drill on one (drill)",
        description="Run real etcd members on 127.0.0.1 with kubeadm's flags: TLS everywhere, client "
                    "certificates, certificates laid out like /etc/kubernetes/pki. Everything is deleted "
                    "when the command ends.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cluster_command", metavar="ACTION")
    p.set_defaults(func=_usage(p))

    up = sub.add_parser("up", help="start a cluster and keep it running until Ctrl-C",
                        description="Start a cluster, print its endpoints and the etcdctl settings, "
                                    "and keep it running until Ctrl-C (or SIGTERM).")
    _common(up)
    up.add_argument("--json", action="store_true",
                    help="print one JSON line (endpoints, pids, directory, etcdctl environment) once ready")
    up.set_defaults(func=run_up)

    drill = sub.add_parser("drill", help="kill the leader, then a majority; restart; verify every write",
                           description="Start a cluster, write continuously, SIGKILL the leader, then a "
                                       "majority, restart them, and check every acknowledged write.")
    _common(drill)
    drill.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    drill.set_defaults(func=run_drill)


def _common(p) -> None:
    p.add_argument("--size", type=int, default=3, choices=range(1, 8), metavar="N",
                   help="number of members, 1 to 7 (default 3)")
    p.add_argument("--heartbeat-ms", type=int, default=50,
                   help="etcd's --heartbeat-interval in ms (default 50)")
    p.add_argument("--election-ms", type=int, default=500,
                   help="etcd's --election-timeout in ms: at least 5 times the heartbeat, at most 50000 "
                        "(default 500)")
    p.add_argument("--base-dir", default=None,
                   help="an existing directory to create the cluster directory in (default: the temp "
                        "directory, or /var/tmp when that is a tmpfs)")


def _usage(parser):
    def run(args) -> int:
        parser.print_help()
        return 2
    return run


def _timings(args):
    """The Raft timings the options ask for; :class:`~etcdlab.real.members.Timings` checks them."""
    from ..real.members import Timings

    return Timings(args.heartbeat_ms, args.election_ms)


class _WarningsAsLines:
    """Print each warning raised inside the block as one ``etcdlab: warning: ...`` line on
    stderr (Python's default format adds the file, the line number and the source line)."""

    def __enter__(self):
        import sys
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("default")

        def show(message, category, filename, lineno, file=None, line=None):
            print(f"etcdlab: warning: {message}", file=sys.stderr, flush=True)
        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)


def _sigterm_as_interrupt() -> None:
    """Make SIGTERM end the command like Ctrl-C does, so the clean-up runs."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def run_up(args) -> int:
    import json
    import sys
    import time

    from ..real.lab import LocalCluster

    _sigterm_as_interrupt()
    with _WarningsAsLines():
        cluster = LocalCluster(args.size, timings=_timings(args), base_dir=args.base_dir)
    try:
        with cluster:
            env = cluster.etcdctl_env()
            if args.json:
                print(json.dumps({"endpoints": cluster.endpoints.split(","), "pids": cluster.pids,
                                  "directory": str(cluster.directory), "etcdctl_env": dict(env.env),
                                  "start_to_first_write_s": round(cluster.start_to_first_write_s, 3)}),
                      flush=True)
            else:
                print(f"etcd cluster of {cluster.size} up in {cluster.start_to_first_write_s:.2f} s "
                      f"(directory {cluster.directory})\n")
                print(cluster.status())
                print("\nendpoints (what --etcd-servers would list):")
                print(f"  {cluster.endpoints}")
                print("\netcdctl, from another terminal:")
                print("\n".join("  " + line for line in str(env).splitlines()))
                print("\nPress Ctrl-C to stop the cluster and delete its directory.", flush=True)
            reported: set[str] = set()
            while True:
                time.sleep(1)
                for m in cluster.members:
                    if not m.running and m.name not in reported:
                        reported.add(m.name)
                        print(f"note: {m.name} is no longer running; its log is {m.log_path}",
                              file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("stopped; every member was killed and the cluster directory deleted.", file=sys.stderr, flush=True)
        return 0


def run_drill(args) -> int:
    import json

    from ..real.drill import run_drill as drill

    _sigterm_as_interrupt()
    with _WarningsAsLines():
        report = drill(args.size, timings=_timings(args), base_dir=args.base_dir,
                       say=None if args.json else (lambda text: print(text, flush=True)))
    if args.json:
        print(json.dumps(report.figures(), indent=2))
    else:
        print()
        for claim, held in report.verdicts().items():
            print(f"{'✓' if held else '✗'} {claim}")
    return 0 if all(report.verdicts().values()) else 1
