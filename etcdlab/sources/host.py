"""Reading a control-plane node's own disk: which manifest directory is the node's, and
the modes and owners of etcd's data directory and of kubeadm's PKI directory.

kube-bench checks these with ``stat`` on the node (CIS 1.1.7/1.1.8 for the manifest,
1.1.11/1.1.12 for the data directory, 1.1.19–1.1.21 for ``/etc/kubernetes/pki``). They
mean something only for the node's real files: a copy in your home directory is owned by
you, and a bundled data set by whoever installed etcdlab. So they are read only for

* the node itself: ``/etc/kubernetes/manifests`` (or a file in it), or
* a node's file system given as a root (``etcdlab doctor --node /mnt/node1``: the tree of
  a node mounted elsewhere, or a test tree), where ``ROOT/etc/kubernetes/manifests`` holds
  the manifests and every path the manifests name is looked up under ROOT.

Only ``stat`` is used: nothing is opened, followed out of the tree or written.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from ..model.control_plane import ControlPlane
from ..model.host import NodeHost, PathState

#: Where kubeadm puts the static Pod manifests and the certificates, on every node.
MANIFESTS = "/etc/kubernetes/manifests"
PKI_DIR = "/etc/kubernetes/pki"


def node_root_of(path: str | os.PathLike) -> Path | None:
    """``/`` when ``path`` is this machine's ``/etc/kubernetes/manifests`` or a file in it
    (then its manifests are the node's own), else None (a copy, a data set, a capture)."""
    try:
        p = Path(path).resolve()
        real = Path(MANIFESTS).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return Path("/") if p == real or p.parent == real else None


def on_node(root: Path, node_path: str) -> Path:
    """Where a path of the node (``/var/lib/etcd``) is found when the node's file system
    is at ``root``."""
    return root / posixpath.normpath(node_path).lstrip("/")


def current_user() -> str:
    """The name of the user etcdlab runs as (for messages such as "cannot be read by alice")."""
    try:
        import pwd
        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return "this user"


def owner_name(uid: int, gid: int) -> str:
    """``user:group`` as ``stat -c %U:%G`` prints it: names where known, numbers otherwise."""
    try:
        import pwd
        user = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        user = str(uid)
    try:
        import grp
        group = grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        group = str(gid)
    return f"{user}:{group}"


def path_state(root: Path, node_path: str, *, follow: bool = True) -> PathState:
    """``stat`` one path of the node; a refusal is recorded, never raised."""
    try:
        st = os.stat(on_node(root, node_path), follow_symlinks=follow)
    except FileNotFoundError:
        return PathState(node_path, "missing")
    except OSError as exc:
        return PathState(node_path, "unreadable", error=exc.strerror or str(exc))
    kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
    return PathState(node_path, kind, stat.S_IMODE(st.st_mode), owner_name(st.st_uid, st.st_gid))


def _walk(root: Path, top: str) -> tuple[PathState, ...]:
    """Every entry below ``top`` (not ``top`` itself), sorted, symlinks not followed, and
    one ``unreadable`` entry for each directory that could not be listed."""
    found: list[PathState] = []
    refused: list[PathState] = []

    def onerror(exc: OSError) -> None:
        where = "/" + Path(exc.filename).relative_to(root).as_posix() if exc.filename else top
        if where != top:
            refused.append(PathState(where, "unreadable", error=exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(on_node(root, top), onerror=onerror):
        rel = "/" + Path(dirpath).relative_to(root).as_posix()
        for name in sorted(dirnames) + sorted(filenames):
            found.append(path_state(root, posixpath.join(rel, name), follow=False))
    return tuple(sorted(found + refused, key=lambda s: s.path))


def data_dir_on_node(member) -> str | None:
    """The node's path of a member's data directory: the ``etcd-data`` hostPath volume that
    kubeadm mounts, else the hostPath that holds ``--data-dir``, else None."""
    for v in member.pod.volumes:
        if v.name == "etcd-data" and v.host_path:
            return v.host_path
    return member.pod.host_path(member.data_dir) if member.data_dir else None


def pki_dir_on_node(cp: ControlPlane) -> str:
    """kubeadm's certificate directory: the apiserver's ``k8s-certs`` hostPath, else the
    parent of etcd's ``etcd-certs`` hostPath (``/etc/kubernetes/pki/etcd``), else the default."""
    for pod in (p for n in cp.nodes for p in n.pods):
        for v in pod.volumes:
            if v.name == "k8s-certs" and v.host_path:
                return posixpath.normpath(v.host_path)
    for m in cp.members:
        for v in m.pod.volumes:
            if v.name == "etcd-certs" and v.host_path:
                path = posixpath.normpath(v.host_path)
                return posixpath.dirname(path) if posixpath.basename(path) == "etcd" else path
    return PKI_DIR


def read_host(cp: ControlPlane, root: Path) -> NodeHost:
    """What the CIS host checks need from the node whose file system is at ``root``."""
    data_dirs = []
    for m in cp.members:
        where = data_dir_on_node(m)
        if where:
            data_dirs.append((m.name, path_state(root, where)))
    pki = pki_dir_on_node(cp)
    pki_state = path_state(root, pki)
    entries = _walk(root, pki) if pki_state.kind == "directory" else ()
    return NodeHost(root=str(root), manifests=MANIFESTS, data_dirs=tuple(data_dirs),
                    pki_dir=pki_state, pki_entries=entries)
