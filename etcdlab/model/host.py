"""What a control-plane node holds besides its manifests: the modes and owners of the
files and directories that the CIS Benchmark's host checks look at.

A manifest says *where* etcd keeps its data (``--data-dir``, through the ``etcd-data``
hostPath volume) and its certificates (``/etc/kubernetes/pki``), but only the node's disk
says *who may read them*. kube-bench runs ``stat`` on those paths; the loader does the same
when it reads a real node (:func:`etcdlab.load_node`) and records the answers here, so the
checks themselves stay pure functions of the model.

    >>> PathState("/var/lib/etcd", "directory", 0o700, "root:root").mode_text
    '700'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PathState:
    """One path on the node as ``stat`` saw it.

    ``path`` is the path *on the node* (``/var/lib/etcd``), even when the node's files were
    read from a copy of its tree; ``kind`` is ``file``, ``directory``, ``missing`` or
    ``unreadable`` (``stat`` was refused: ``error`` says why); ``owner`` is ``user:group``
    by name where the names are known on this machine, by number otherwise.
    """

    path: str
    kind: str
    mode: int | None = None
    owner: str | None = None
    error: str | None = None

    @property
    def mode_text(self) -> str | None:
        """The mode as ``ls -l`` users write it in ``chmod``: ``'600'``."""
        return None if self.mode is None else format(self.mode, "o")

    def looser_than(self, allowed: int) -> bool:
        """True when the mode grants a permission that ``allowed`` does not (kube-bench's
        ``bitmask`` test: 600 passes for 600, 400 and 0, fails for 640 and 700)."""
        return self.mode is not None and bool(self.mode & ~allowed & 0o7777)


@dataclass(frozen=True)
class NodeHost:
    """What the loader read from one node's disk.

    ``root`` is where the node's file system was read (``/`` on the node itself, or the
    directory given to ``--node``); ``manifests`` the manifest directory;
    ``data_dirs`` maps each etcd member's name to its data directory on the node;
    ``pki_dir`` is kubeadm's certificate directory and ``pki_entries`` everything below it.
    """

    root: str
    manifests: str
    data_dirs: tuple[tuple[str, PathState], ...] = ()
    pki_dir: PathState | None = None
    pki_entries: tuple[PathState, ...] = ()
