"""Reading the cluster: manifests, directories, ``kubectl`` output, bundled data sets.

Everything ends up as one :class:`~etcdlab.model.control_plane.ControlPlane`:

* a **manifest file** (``/etc/kubernetes/manifests/etcd.yaml``), YAML or JSON, one Pod or
  several (``---``), or a ``kind: List`` / ``PodList`` such as
  ``kubectl get po -n kube-system -o yaml`` prints;
* a **directory** holding one node's manifests (``/etc/kubernetes/manifests``), or a
  directory of such node directories (``cp1/``, ``cp2/``, ``cp3/``); like the kubelet, the
  loader keeps every Pod it finds there, including a stray ``etcd.yaml.bak`` (see
  :func:`_manifests_in`);
* a **bundled data set** by name (``"single-control-plane"``, ``"broken/wrong-port"``);
* the text table of ``kubectl get po -o wide`` (a ``.txt`` file), which adds the nodes that
  run no control-plane Pod (workers).

Input is untrusted: YAML is read with the *safe* loader only, files are limited in
size, documents with many aliases (a "billion laughs" bomb) are refused before they are
expanded, and every problem becomes a :class:`~etcdlab.errors.ManifestError` that names
the file and, where it can, the line.

:func:`load` is the entry point: it tells a data set name from a path and hands each
source to the module that reads it.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ..errors import PERMISSION_HINT, DatasetNotFound, ManifestError, PermissionRefused
from ..model.control_plane import ControlPlane, Node
from .files import _load_node_dir, load_directory, load_file
from .host import MANIFESTS, current_user, node_root_of, on_node, read_host
from .nodes import merge_nodes, nodes_from_pods
from .pods import pods_from_text


def load(*sources: str | os.PathLike) -> ControlPlane:
    """Load a control plane from files, directories or bundled data set names.

    Several sources are merged into one cluster (``load("cp1/", "cp2/", "cp3/")``).

    >>> cp = load("single-control-plane")
    >>> [n.name for n in cp.nodes][:1], cp.members[0].name
    (['master'], 'master')
    """
    if not sources:
        raise ManifestError("nothing to load", hint="give a manifest file, a directory or a data set name")
    nodes: list[Node] = []
    unreadable = []
    roots = {node_root_of(s) for s in sources}
    name = description = None
    # Files of one directory are that node's files, as when the directory itself is given:
    # etcd.yaml and kube-scheduler.yaml picked out of /etc/kubernetes/manifests are one node,
    # though only etcd.yaml says which (a table, kubectl get po -o wide, is not a manifest).
    groups: dict[Path, list[Path]] = {}
    for source in sources:
        p = Path(source)
        if _is_file(p) and p.suffix != ".txt":
            group = groups.setdefault(p.parent.resolve(), [])
            if not any(_same_file(p, q) for q in group):
                group.append(p)
    done: set[Path] = set()
    for source in sources:
        p = Path(source)
        group = groups.get(p.parent.resolve(), []) if _is_file(p) and p.suffix != ".txt" else []
        if len(group) > 1:
            if p.parent.resolve() not in done:
                done.add(p.parent.resolve())
                nodes.extend(_load_node_dir(p.parent, group, node_root_of(p) is not None))
            continue
        cp = _load_one(source)
        nodes.extend(cp.nodes)
        unreadable.extend(cp.unreadable)
        name = name or cp.name
        description = description or cp.description
    label = ", ".join(str(s) for s in sources)
    cp = ControlPlane(nodes=merge_nodes(nodes), name=name if len(sources) == 1 else label,
                      source=label, description=description if len(sources) == 1 else None,
                      unreadable=tuple(unreadable))
    if len(roots) == 1 and None not in roots:  # all of it is this node's own manifests
        cp = replace(cp, host=read_host(cp, roots.pop()))
    return cp


def load_node(root: str | os.PathLike = "/") -> ControlPlane:
    """Load a control-plane node: the manifests in ``ROOT/etc/kubernetes/manifests``, and the
    modes and owners of the files the CIS host checks look at (the manifests, etcd's data
    directory, ``/etc/kubernetes/pki``), each looked up under ``root``.

    On the node itself ``root`` is ``/`` (as ``sudo etcdlab doctor`` does); another root is
    a node's file system mounted or copied elsewhere with its modes and owners
    (``cp -a``), or a test tree. Nothing is written; only ``stat`` and reads.
    """
    root = Path(root)
    manifests = on_node(root, MANIFESTS)
    try:
        found = manifests.is_dir()
    except PermissionError:
        raise PermissionRefused(f"cannot be reached by {current_user()} (permission denied on a directory above it)",
                                file=str(manifests), hint=PERMISSION_HINT) from None
    if not found:
        raise ManifestError("is not a directory: this is not a kubeadm control-plane node", file=str(manifests),
                            hint="give the root of a node's file system, or a manifest directory as PATH")
    cp = load_directory(manifests, record_modes=True)
    return replace(cp, host=read_host(cp, root))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    """``Path.is_file``, but False for a name the system refuses (too long, a NUL byte...):
    ``_load_one`` then reports it in one sentence."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def load_text(text: str, file: str | None = None, *, node: str | None = None) -> ControlPlane:
    """Load a control plane from the text of a manifest or of ``kubectl`` output.

    ``file`` is only used in messages; ``node`` names the node for static manifests,
    which do not say which node they run on.
    """
    pods = pods_from_text(text, file=file)
    if not pods:
        raise ManifestError("holds no Pod", file=file or "<text>",
                            hint="give a Pod manifest or the output of kubectl get po -o yaml")
    return ControlPlane(nodes=nodes_from_pods(pods, default_node=node), source=file)


def _load_one(source: str | os.PathLike) -> ControlPlane:
    from .bundled import DATASET_FILE, Dataset, dataset

    if not str(source).strip():
        raise ManifestError("an empty path names nothing to load",
                            hint="give a manifest file, a directory or a data set name")
    path = Path(source)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except PermissionError:  # a path below a directory we may not enter
        raise PermissionRefused(f"cannot be reached by {current_user()} (permission denied on a directory above it)",
                                file=str(source), hint=PERMISSION_HINT) from None
    except (OSError, ValueError) as exc:  # a name too long...
        raise ManifestError(f"cannot be read ({getattr(exc, 'strerror', None) or exc})", file=str(source),
                            hint="check the path and its permissions") from None
    if not exists:
        text = str(source)
        if "/" not in text.strip("/") or text.startswith("broken/"):
            try:
                return dataset(text).load()
            except DatasetNotFound:
                pass
        raise ManifestError("does not exist, and is not the name of a bundled data set", file=str(source),
                            hint="give a manifest file, a directory, or one of the names etcdlab datasets lists")
    node = node_root_of(path) is not None  # the node's own files: their modes and owners count
    if is_dir:
        try:
            is_dataset = (path / DATASET_FILE).is_file()
        except PermissionError:  # kubeadm's /etc/kubernetes/manifests is 0700: root only
            raise PermissionRefused(f"cannot be listed by {current_user()} (permission denied)", file=str(source),
                                    hint=PERMISSION_HINT) from None
        if is_dataset:
            return Dataset.from_dir(path).load()
        return load_directory(path, record_modes=node)
    return load_file(path, record_modes=node)
