"""Files and directories: one manifest file, a node's manifest directory
(``/etc/kubernetes/manifests``), or a directory of node directories, read the way the
kubelet reads them, with each file's mode and owner recorded for the CIS checks.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from collections.abc import Iterable

from ..errors import PERMISSION_HINT, EtcdlabError, ManifestError, PermissionRefused
from ..model.control_plane import ControlPlane, Node, Pod
from ..model.host import PathState
from .host import current_user
from .kubectl import nodes_from_pod_table, parse_pod_table
from .nodes import MANIFEST_SUFFIXES, merge_nodes, nodes_from_pods
from .pods import pods_from_text
from .safe_yaml import read_text


def _dir_name(path: Path) -> str:
    """The name of a directory as the user knows it: ``.`` is the current directory's name."""
    return Path(os.path.abspath(path)).name


def load_file(path: Path, *, node: str | None = None, record_modes: bool = True) -> ControlPlane:
    """One file: a manifest (YAML/JSON, Pod or List) or a ``kubectl get po -o wide`` table."""
    text = read_text(path)
    if path.suffix == ".txt" or re.match(r"^\s*(NAMESPACE\s+)?NAME\s+READY\s+STATUS", text):
        nodes = _table_nodes(text, path)
        if not nodes:
            raise ManifestError("names no node (it has no NODE column)", file=str(path),
                                hint="capture it with kubectl get po -n kube-system -o wide")
        return ControlPlane(nodes=nodes, source=str(path))
    pods = pods_from_text(text, file=str(path))
    if not pods:
        raise ManifestError("holds no Pod", file=str(path),
                            hint="give a Pod manifest or the output of kubectl get po -o yaml")
    if record_modes:
        pods = [_with_mode(p, path) for p in pods]
    nodes = nodes_from_pods(pods, default_node=node, source=str(path), directory=_dir_name(path.parent))
    return ControlPlane(nodes=nodes, source=str(path))


def _with_mode(pod: Pod, path: Path) -> Pod:
    from dataclasses import replace

    try:
        st = path.stat()
    except OSError:
        return pod
    owner = f"{_user(st.st_uid)}:{_group(st.st_gid)}"
    return replace(pod, file_mode=stat.S_IMODE(st.st_mode), file_owner=owner)


def _user(uid: int) -> str:
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def _group(gid: int) -> str:
    try:
        import grp
        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


def _listing(path: Path) -> list[Path]:
    """The visible entries of a directory, sorted (hidden ones, such as ``.git`` or an editor's
    ``.etcd.yaml.swp``, are not manifests)."""
    try:
        return sorted(p for p in path.iterdir() if not p.name.startswith("."))
    except PermissionError:
        # kubeadm makes /etc/kubernetes/manifests mode 0700: only root may list it
        raise PermissionRefused(f"cannot be listed by {current_user()} (permission denied)", file=str(path),
                                hint=PERMISSION_HINT) from None
    except OSError as exc:
        raise ManifestError(f"cannot be listed ({exc.strerror or exc})", file=str(path),
                            hint="check the path and its permissions") from None


def _table_nodes(text: str, path: Path) -> tuple[Node, ...]:
    rows = parse_pod_table(text, file=str(path))
    if not rows:
        raise ManifestError("holds no row of kubectl get po -o wide", file=str(path),
                            hint="capture it with kubectl get po -n kube-system -o wide")
    return nodes_from_pod_table(rows)


def load_directory(path: Path, *, record_modes: bool = True,
                   label_root: tuple[Path, str] | None = None) -> ControlPlane:
    """A node's manifest directory, or a directory of node directories.

    ``label_root=(root, name)`` names files ``name/<path relative to root>`` in messages and
    findings instead of their absolute path (the bundled data sets use it, so a finding
    reads the same wherever etcdlab is installed).

    Files and node directories that this user may not read are left out and listed in
    :attr:`ControlPlane.unreadable` (the doctor names them in one warning); when nothing at
    all could be read, that is an error.
    """
    entries = _listing(path)
    refused: list[PathState] = []
    kinds = {p: _kind(p, refused, label_root) for p in entries}
    files, others = _manifests_in([p for p in entries if kinds[p] == "file"])
    nodes = _load_node_dir(path, files, record_modes, label_root, others, refused=refused)
    for sub in (p for p in entries if kinds[p] == "directory"):
        try:
            sub_entries = _listing(sub)
        except PermissionRefused:
            refused.append(PathState(_display(sub, label_root), "unreadable", error="permission denied"))
            continue
        sub_files, sub_others = _manifests_in([p for p in sub_entries if _kind(p, refused, label_root) == "file"])
        nodes.extend(_load_node_dir(sub, sub_files, record_modes, label_root, sub_others, refused=refused))
    tables = [p for p in entries if kinds[p] == "file" and p.suffix == ".txt"]
    for table in tables:
        nodes.extend(_table_nodes(read_text(table), table))
    if not nodes and refused:
        names = ", ".join(r.path for r in refused[:3]) + (", ..." if len(refused) > 3 else "")
        raise PermissionRefused(f"holds nothing {current_user()} may read (permission denied: {names})",
                                file=str(path), hint=PERMISSION_HINT)
    if not nodes:
        raise ManifestError("holds no manifests (*.yaml, *.yml, *.json), directly or in node directories",
                            file=str(path), hint="point at /etc/kubernetes/manifests or a directory of node directories")
    return ControlPlane(nodes=merge_nodes(nodes), source=str(path), unreadable=tuple(refused))


def _kind(path: Path, refused: list[PathState], label_root: tuple[Path, str] | None) -> str:
    """``file``, ``directory`` or ``other`` for an entry of a listed directory; ``refused``
    (and recorded) when the system will not even say which (a directory without ``x``)."""
    try:
        st = path.stat()
    except PermissionError:
        refused.append(PathState(_display(path, label_root), "unreadable", error="permission denied"))
        return "refused"
    except OSError:  # a dangling symlink, a file removed meanwhile: not a manifest
        return "other"
    return "directory" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"


def _display(path: Path, label_root: tuple[Path, str] | None) -> str:
    if label_root is None:
        return str(path)
    root, name = label_root
    return f"{name}/{path.relative_to(root).as_posix()}"


def _manifests_in(entries: list[Path]) -> tuple[list[Path], list[Path]]:
    """A directory's manifests, and its other files that the kubelet reads too.

    The kubelet runs every file of its manifest directory whose name does not start with a
    dot (``etcd.yaml.bak`` included), one Pod per file, skips what does not parse, and does
    not look into subdirectories. etcdlab reads ``*.yaml``, ``*.yml`` and ``*.json`` as
    manifests, and refuses one that is broken (the kubelet would skip it in silence, and
    its component would not run); it reads the other files as the kubelet does, keeping
    what parses as Pods. Two differences remain: a subdirectory is a node of its own (a
    directory of node directories), and a ``.txt`` file is a ``kubectl get po -o wide``
    table.
    """
    files = [p for p in entries if p.suffix in MANIFEST_SUFFIXES]
    others = [p for p in entries if p.suffix not in MANIFEST_SUFFIXES and p.suffix != ".txt"]
    return files, others


def _pods_the_kubelet_would_run(path: Path, where: str) -> list[Pod]:
    """The Pods of a file not named like a manifest, or none if it does not parse as one."""
    try:
        return pods_from_text(read_text(path), file=where)
    except PermissionRefused:
        raise  # not "does not parse": the caller names it
    except EtcdlabError:
        return []


def _load_node_dir(path: Path, files: list[Path], record_modes: bool = True,
                   label_root: tuple[Path, str] | None = None, others: Iterable[Path] = (), *,
                   refused: list[PathState] | None = None) -> list[Node]:
    """One node's manifest files (``files``, each must hold a Pod) and other files that may
    (``others``): the node is named by :func:`_static_node_name` with the directory's name.

    With a ``refused`` list, a file this user may not read is recorded there and skipped;
    without one, it is an error."""
    pods: list[Pod] = []
    for f in files:
        try:
            text = read_text(f)
        except PermissionRefused:
            if refused is None:
                raise
            refused.append(PathState(_display(f, label_root), "unreadable", error="permission denied"))
            continue
        found = pods_from_text(text, file=_display(f, label_root))
        if not found:
            raise ManifestError("holds no Pod", file=_display(f, label_root))
        pods.extend(_with_mode(p, f) for p in found) if record_modes else pods.extend(found)
    for f in others:
        try:
            found = _pods_the_kubelet_would_run(f, _display(f, label_root))
        except PermissionRefused:
            if refused is None:
                raise
            refused.append(PathState(_display(f, label_root), "unreadable", error="permission denied"))
            continue
        pods.extend(_with_mode(p, f) for p in found) if record_modes else pods.extend(found)
    if not pods:
        return []
    return list(nodes_from_pods(pods, source=_display(path, label_root), directory=_dir_name(path)))
