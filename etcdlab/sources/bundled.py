"""The bundled data sets: realistic kubeadm clusters, clean and broken, that work offline.

Each data set is a directory::

    single-control-plane/
        dataset.yaml        name, one-line summary, topology, versions, what it teaches,
                            and (for a broken one) the finding it should produce
        README.md           a longer description for people
        nodes/<node>/*.yaml what /etc/kubernetes/manifests holds on that node
        kubectl/            captured kubectl output (get po -o wide, get po NAME -o yaml)

Broken ones live under ``broken/`` and are named ``broken/<mistake>``.

In a source checkout they are the top-level ``data/`` directory; in an installed wheel
they ship inside the package as ``etcdlab/_data``, a directory beside the package's
modules, so an installed etcdlab finds them too. (Plain paths, not :mod:`importlib.resources`:
the data sets are read as files anyway, and that import costs ~15 ms of every command's
start-up.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
TYPE_CHECKING = False  # typing costs ~10 ms of start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

import yaml

from ..errors import DatasetNotFound, ManifestError

DATASET_FILE = "dataset.yaml"


def data_root() -> Path:
    """Where the data sets are: inside the installed package, else the checkout's ``data/``."""
    package = Path(__file__).resolve().parents[1]          # .../etcdlab
    packaged = package / "_data"
    if packaged.is_dir():
        return packaged
    return package.parent / "data"


@dataclass(frozen=True)
class Expected:
    """A finding a broken data set must produce."""

    id: str
    severity: str = "error"
    node: str | None = None


@dataclass(frozen=True)
class Dataset:
    """One bundled data set, described by its ``dataset.yaml``."""

    name: str
    path: Path
    summary: str
    topology: str = ""
    kubernetes: str = ""
    etcd: str = ""
    teaches: str = ""
    expect: tuple[Expected, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def broken(self) -> bool:
        return bool(self.expect)

    @property
    def nodes_dir(self) -> Path:
        return self.path / "nodes"

    @property
    def kubectl_dir(self) -> Path:
        return self.path / "kubectl"

    def file(self, relative: str) -> Path:
        """A file of the data set, e.g. ``kubectl/get-po-o-wide.txt``."""
        p = self.path / relative
        if not p.exists():
            raise ManifestError(f"data set {self.name} has no file {relative}", file=str(self.path))
        return p

    def read(self, relative: str) -> str:
        return self.file(relative).read_text(encoding="utf-8")

    def manifest(self, node: str, component: str = "etcd") -> Path:
        """The path of ``<component>.yaml`` on ``node`` (as in /etc/kubernetes/manifests)."""
        return self.file(f"nodes/{node}/{component}.yaml")

    @property
    def description(self) -> str:
        readme = self.path / "README.md"
        return readme.read_text(encoding="utf-8") if readme.exists() else self.summary

    def load(self):
        """The data set as a :class:`~etcdlab.model.control_plane.ControlPlane` (nodes, plus workers
        from the ``kubectl get po -o wide`` capture when there is one)."""
        from .files import load_directory
        from .kubectl import nodes_from_pod_table, parse_pod_table
        from .nodes import merge_nodes
        from .safe_yaml import read_text
        from ..model.control_plane import ControlPlane

        cp = load_directory(self.nodes_dir, record_modes=False, label_root=(self.path, self.name))
        nodes = list(cp.nodes)
        table = self.kubectl_dir / "get-po-o-wide.txt"
        if table.exists():
            label = f"{self.name}/kubectl/{table.name}"
            nodes.extend(nodes_from_pod_table(parse_pod_table(read_text(table), file=label)))
        return ControlPlane(nodes=merge_nodes(nodes), name=self.name, source=self.name,
                            description=self.summary)

    @classmethod
    def from_dir(cls, path: Path, name: str | None = None) -> "Dataset":
        meta_file = path / DATASET_FILE
        try:
            meta = yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ManifestError(f"cannot be read as a data set description ({exc})", file=str(meta_file)) from None
        if not isinstance(meta, dict):
            raise ManifestError("must be a mapping", file=str(meta_file))
        expect = tuple(Expected(**e) if isinstance(e, dict) else Expected(id=str(e))
                       for e in meta.get("expect") or ())
        known = {"name", "summary", "topology", "kubernetes", "etcd", "teaches", "expect"}
        return cls(name=name or str(meta.get("name") or path.name), path=path,
                   summary=str(meta.get("summary", "")).strip(), topology=str(meta.get("topology", "")),
                   kubernetes=str(meta.get("kubernetes", "")), etcd=str(meta.get("etcd", "")),
                   teaches=str(meta.get("teaches", "")).strip(), expect=expect,
                   extra={k: v for k, v in meta.items() if k not in known})


@lru_cache(maxsize=None)
def _all(root: Path) -> tuple[Dataset, ...]:
    found = []
    for meta in sorted(root.rglob(DATASET_FILE)):
        rel = meta.parent.relative_to(root).as_posix()
        found.append(Dataset.from_dir(meta.parent, name=rel))
    # clean ones first, then broken, each alphabetically
    return tuple(sorted(found, key=lambda d: (d.broken, d.name)))


def datasets(*, broken: bool | None = None) -> list[Dataset]:
    """Every bundled data set (``broken=True``/``False`` to choose one kind)."""
    items = _all(data_root())
    return [d for d in items if broken is None or d.broken == broken]


@lru_cache(maxsize=None)
def _named(root: Path, name: str) -> Dataset | None:
    """The data set in ``root/<name>``, read alone (reading all of them costs most of a
    command's start-up), or None when ``name`` is not a plain relative path to one."""
    parts = name.split("/")
    if not name or any(p in ("", ".", "..") or "\\" in p for p in parts):
        return None
    path = root.joinpath(*parts)
    return Dataset.from_dir(path, name=name) if (path / DATASET_FILE).is_file() else None


def dataset(name: str) -> Dataset:
    """A bundled data set by name, e.g. ``dataset("stacked-ha-3")`` or ``dataset("broken/wrong-port")``."""
    found = _named(data_root(), name.strip("/")) if isinstance(name, str) else None
    if found is not None:
        return found
    for d in datasets():
        if d.name == name or d.name == name.strip("/"):
            return d
    names = ", ".join(d.name for d in datasets(broken=False))
    raise DatasetNotFound(f"there is no bundled data set called {name!r} (clean ones: {names}; "
                          "run etcdlab datasets for all)")
