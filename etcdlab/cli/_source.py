"""Where ``inspect``, ``doctor`` and ``graph`` get their control plane: PATHs or ``--live``.

    etcdlab doctor /etc/kubernetes/manifests                 # files, directories, data sets
    etcdlab doctor --live                                     # the kubeconfig's current context
    etcdlab doctor --live --context prod --kubeconfig ~/prod.conf

Light at import time (argparse only): the loaders are imported when a command runs.
"""

from __future__ import annotations


def add_source_arguments(parser, paths_help: str | None = None) -> None:
    """Add ``PATH...`` (optional with ``--live``), ``--live``, ``--context`` and ``--kubeconfig``."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help=paths_help)
    parser.add_argument("--node", nargs="?", const="/", metavar="ROOT",
                        help="read a control-plane node: ROOT/etc/kubernetes/manifests and the modes and owners of "
                             "its data and PKI directories (default ROOT: /, this machine; the default when no PATH "
                             "is given and /etc/kubernetes/manifests exists)")
    live = parser.add_argument_group("a live cluster (read-only: GET requests through the kubernetes client)")
    live.add_argument("--live", action="store_true",
                      help="read the etcd and kube-apiserver Pods of a running cluster instead of PATHs")
    live.add_argument("--context", metavar="NAME", help="the kubeconfig context to use (default: its current one)")
    live.add_argument("--kubeconfig", metavar="FILE",
                      help="the kubeconfig to read (default: $KUBECONFIG, then ~/.kube/config)")
    parser.set_defaults(source_parser=parser)


def load_from_args(args):
    """The :class:`~etcdlab.model.control_plane.ControlPlane` that ``args`` name; a usage error (exit 2)
    when they name none, or both PATHs and ``--live``."""
    parser = getattr(args, "source_parser", None)

    def usage(message: str):
        if parser is not None:
            parser.error(message)  # prints the usage and exits 2
        from ..errors import EtcdlabError
        raise EtcdlabError(message)

    node = getattr(args, "node", None)
    if args.live:
        if args.paths or node:
            usage("give PATHs, --node or --live, not two of them")
        from ..sources.live import load_live

        return load_live(kubeconfig=args.kubeconfig, context=args.context)
    if args.context or args.kubeconfig:
        usage("--context and --kubeconfig go with --live")
    if node is not None and args.paths:
        usage("give PATHs or --node, not both")
    if node is None and not args.paths and _is_dir(NODE_MANIFESTS):
        node = "/"  # on a control-plane node, as kube-bench does: the node's own files
    if node is not None:
        from ..sources.loading import load_node

        return load_node(node)
    if not args.paths:
        usage("give at least one PATH (a manifest file, a directory or a data set name), --node on a control-plane node, or --live")
    from ..sources.loading import load

    return load(*args.paths)


#: Where a control-plane node keeps its static Pod manifests (kubeadm's choice).
NODE_MANIFESTS = "/etc/kubernetes/manifests"


def _is_dir(path: str) -> bool:
    import os

    return os.path.isdir(path)  # False when the path cannot be looked at, too
