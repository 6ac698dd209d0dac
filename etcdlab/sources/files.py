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

from ..errors import EtcdlabError, ManifestError
from ..model.control_plane import ControlPlane, Node, Pod
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
    """
    entries = _listing(path)
    files, others = _manifests_in(entries)
    nodes = _load_node_dir(path, files, record_modes, label_root, others)
    for sub in (p for p in entries if p.is_dir()):
        files, others = _manifests_in(_listing(sub))
        nodes.extend(_load_node_dir(sub, files, record_modes, label_root, others))
    tables = [p for p in entries if p.is_file() and p.suffix == ".txt"]
    for table in tables:
        nodes.extend(_table_nodes(read_text(table), table))
    if not nodes:
        raise ManifestError("holds no manifests (*.yaml, *.yml, *.json), directly or in node directories",
                            file=str(path), hint="point at /etc/kubernetes/manifests or a directory of node directories")
    return ControlPlane(nodes=merge_nodes(nodes), source=str(path))


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
    files = [p for p in entries if p.is_file() and p.suffix in MANIFEST_SUFFIXES]
    others = [p for p in entries if p.is_file() and p.suffix not in MANIFEST_SUFFIXES and p.suffix != ".txt"]
    return files, others


def _pods_the_kubelet_would_run(path: Path, where: str) -> list[Pod]:
    """The Pods of a file not named like a manifest, or none if it does not parse as one."""
    try:
        return pods_from_text(read_text(path), file=where)
    except EtcdlabError:
        return []


def _load_node_dir(path: Path, files: list[Path], record_modes: bool = True,
                   label_root: tuple[Path, str] | None = None, others: Iterable[Path] = ()) -> list[Node]:
    """One node's manifest files (``files``, each must hold a Pod) and other files that may
    (``others``): the node is named by :func:`_static_node_name` with the directory's name."""
    pods: list[Pod] = []
    for f in files:
        found = pods_from_text(read_text(f), file=_display(f, label_root))
        if not found:
            raise ManifestError("holds no Pod", file=_display(f, label_root))
        pods.extend(_with_mode(p, f) for p in found) if record_modes else pods.extend(found)
    for f in others:
        found = _pods_the_kubelet_would_run(f, _display(f, label_root))
        pods.extend(_with_mode(p, f) for p in found) if record_modes else pods.extend(found)
    if not pods:
        return []
    return list(nodes_from_pods(pods, source=_display(path, label_root), directory=_dir_name(path)))
