"""``etcdlab flags FILE``: the command of one manifest as a table of flag, value, meaning."""

from __future__ import annotations

from ..errors import ManifestError


def register(subparsers) -> None:
    p = subparsers.add_parser("flags", help="show a manifest's command as a table",
                              description="Show the command of one static Pod manifest as flag, value, meaning.")
    p.add_argument("file", help="a manifest file (e.g. /etc/kubernetes/manifests/etcd.yaml) or kubectl -o yaml output")
    p.add_argument("--all", action="store_true", help="for the apiserver, show every flag, not only etcd's")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ..diagnosis.explain import flag_table
    from ..sources.pods import pods_from_text
    from ..sources.safe_yaml import read_text

    path = Path(args.file)
    if path.is_dir():
        raise ManifestError("is a directory", file=str(path), hint="give one manifest file, such as etcd.yaml")
    if not path.exists():
        raise ManifestError("does not exist", file=str(path), hint="give one manifest file, such as etcd.yaml")
    pods = pods_from_text(read_text(path), file=str(path))
    if not pods:
        raise ManifestError("holds no Pod", file=str(path))
    for i, pod in enumerate(pods):
        if i:
            print()
        title = f"{pod.name} ({pod.command.program})" + (f" on {pod.node_name}" if pod.node_name else "")
        print(title)
        print(flag_table(pod, only_etcd=False if args.all else None))
    return 0
