"""``etcdlab doctor PATH...``: check the wiring between the apiserver and etcd, and the CIS etcd checks.

    sudo etcdlab doctor                                # on a control-plane node: its manifests and host checks
    etcdlab doctor /etc/kubernetes/manifests          # the same
    etcdlab doctor --node /mnt/cp1                    # a node's file system mounted or copied (cp -a) elsewhere
    etcdlab doctor cp1/ cp2/ cp3/                      # several nodes, merged into one cluster
    etcdlab doctor broken/wrong-port --json            # a bundled data set, as JSON
    etcdlab doctor --live --context NAME               # a running cluster, through the kubernetes client

Exit codes: 0 no error finding, 1 at least one error finding, 2 bad input or usage.
"""

from __future__ import annotations

import argparse

from ._source import add_source_arguments, load_from_args

SEVERITY_CHOICES = ("error", "warning", "info")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check the apiserver-etcd wiring and the CIS etcd checks",
        description="Check how the kube-apiserver reaches etcd, each member's own URLs, volumes, cluster size "
                    "and the CIS Benchmark's etcd checks. Findings come most severe first. Exit code: 0 no error, "
                    "1 at least one error finding, 2 bad input.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_source_arguments(p, "manifest files, directories (/etc/kubernetes/manifests, or a directory of node "
                            "directories), kubectl -o yaml output, or bundled data set names")
    p.add_argument("--json", action="store_true", help='print {"findings": [...], "summary": {...}} as JSON')
    p.add_argument("--severity", choices=SEVERITY_CHOICES, default="info",
                   help="show findings of this severity and worse (default: info, i.e. all)")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from ..diagnosis.checkup import doctor
    from ..diagnosis.findings import at_least, summary
    from ..diagnosis.host_checks import host_checks_skipped
    from ..diagnosis.report import doctor_report

    cp = load_from_args(args)
    findings = doctor(cp)
    failed = not summary(findings)["ok"]
    skipped = host_checks_skipped(cp)
    if args.json:
        shown = at_least(findings, args.severity)
        host = {"ran": skipped is None, "root": cp.host.root if cp.host else None, "skipped": skipped}
        print(json.dumps({"findings": [f.to_dict() for f in shown], "summary": summary(shown), "host_checks": host},
                         indent=2))
    else:
        print(doctor_report(findings, severity=args.severity, control_plane=cp))
        print(skipped or f"Host checks ran on the node's files under {cp.host.root}.")
    return 1 if failed else 0
