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
"""

from __future__ import annotations

import ipaddress
import json
import os
import posixpath
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..errors import DatasetNotFound, EtcdlabError, FlagError, ManifestError
from ..model.flags import _quoted, _shown, parse_command
from ..model.control_plane import ApiServer, ControlPlane, EtcdMember, Node, Pod, PodStatus, Probe, Volume

#: Largest file we read (a kubeadm manifest is about 3 kB; a full ``kubectl get po -A -o yaml`` a few MB).
MAX_BYTES = 8 * 1024 * 1024
#: Manifests need no YAML aliases at all; a handful is tolerated, a bomb is not.
MAX_ALIASES = 64
#: Even a few aliases can nest into a bomb (``&a1 [*a0, *a0]``, ``&a2 [*a1, *a1]``, ...: 64 aliases
#: make 2**32 values). So a document may grow by at most this many nodes when its aliases are
#: written out, and an alias may not refer to the collection that contains it.
MAX_ALIAS_EXPANSION = 100_000
#: A Pod nests about 10 levels deep (kubectl's managedFields about 15). PyYAML's scanner slows
#: down with the square of the depth and its composer recurses, so deeper text is refused early.
MAX_DEPTH = 100
#: Files a directory load reads as manifests (it reads the others as the kubelet does: see _manifests_in).
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

_TRUNCATED = re.compile(r"^\s*(#\s*)?(-\s+)?-*\s*TRUNCATED\s*-*\s*$", re.IGNORECASE)
_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


# -- public entry points --------------------------------------------------------------


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
                nodes.extend(_load_node_dir(p.parent, group, True))
            continue
        cp = _load_one(source)
        nodes.extend(cp.nodes)
        name = name or cp.name
        description = description or cp.description
    label = ", ".join(str(s) for s in sources)
    return ControlPlane(nodes=_merge_nodes(nodes), name=name if len(sources) == 1 else label,
                        source=label, description=description if len(sources) == 1 else None)


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
    return ControlPlane(nodes=_nodes_from_pods(pods, default_node=node), source=file)


def pods_from_text(text: str, file: str | None = None) -> list[Pod]:
    """Every Pod in a manifest or ``kubectl -o yaml|json`` text (a Pod, several, or a List)."""
    where = file or "<text>"
    docs = _parse_documents(text, where)
    pods: list[Pod] = []
    for doc, loc in docs:
        if doc is None:
            continue
        pods.extend(_pods_from_object(doc, loc, where))
    return pods


# -- kubectl get po -o wide -------------------------------------------------------------


@dataclass(frozen=True)
class PodRow:
    """One row of ``kubectl get po -o wide``.

    >>> parse_pod_table("etcd-master   1/1   Running   2   32h   10.128.15.226   master")[0].node
    'master'
    """

    name: str
    ready: str
    status: str
    restarts: str
    age: str
    ip: str | None
    node: str | None
    namespace: str | None = None

    @property
    def component(self) -> str | None:
        """``etcd-master`` → ``etcd``: static Pods are named ``<component>-<node>``."""
        for c in _COMPONENTS:
            if self.node and self.name == f"{c}-{self.node}":
                return c
        return None

    @property
    def restart_count(self) -> int:
        return int(self.restarts.split()[0]) if self.restarts.split()[0].isdigit() else 0


_ROW = re.compile(
    r"^(?:(?P<namespace>[a-z0-9][a-z0-9-]*)\s+(?=\S+\s+\d+/\d+\s))?"
    r"(?P<name>\S+)\s+(?P<ready>\d+/\d+)\s+(?P<status>\S+)\s+"
    r"(?P<restarts>\d+(?:\s+\([^)]*\))?)\s+(?P<age>\S+)"
    r"(?:\s+(?P<ip>\S+)\s+(?P<node>\S+)(?:\s+\S+)?(?:\s+\S+)?)?\s*$"
)


def parse_pod_table(text: str, file: str | None = None) -> list[PodRow]:
    """Parse ``kubectl get po [-A] -o wide`` output, with or without its header line.

    Without the header (as after ``| grep etcd``) the columns are recognised by shape.
    """
    rows: list[PodRow] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("$"):
            continue
        if re.match(r"^\s*(NAMESPACE\s+)?NAME\s+READY\s+STATUS", line):
            continue
        m = _ROW.match(line.strip())
        if not m:
            raise ManifestError(f"line {lineno} is not a row of kubectl get po -o wide: {line.strip()[:60]!r}",
                                file=file, line=lineno,
                                hint="capture it with kubectl get po -n kube-system -o wide")
        g = m.groupdict()
        rows.append(PodRow(name=g["name"], ready=g["ready"], status=g["status"],
                           restarts=g["restarts"], age=g["age"],
                           ip=None if g["ip"] in (None, "<none>") else g["ip"],
                           node=None if g["node"] in (None, "<none>") else g["node"],
                           namespace=g["namespace"]))
    return rows


# -- reading text ------------------------------------------------------------------------


def read_text(path: Path) -> str:
    """Read a file as UTF-8 with a size limit; every failure is a ManifestError."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ManifestError(f"is {size} bytes, more than the {MAX_BYTES} etcdlab reads",
                                file=str(path), hint="give the manifest itself, not a dump")
        # read at most one byte more than the limit: a pipe or a device (/dev/zero) has no size
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ManifestError(f"is more than the {MAX_BYTES} bytes etcdlab reads", file=str(path),
                                hint="give the manifest itself, not a dump")
    except ManifestError:
        raise
    except IsADirectoryError:
        raise ManifestError("is a directory", file=str(path)) from None
    except OSError as exc:
        raise ManifestError(f"cannot be read ({exc.strerror or exc})", file=str(path),
                            hint="check the path and its permissions") from None
    if data[:2] == b"\x1f\x8b":
        raise ManifestError("is gzip-compressed", file=str(path), hint="gunzip it first")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # what PowerShell 5's `>` writes
        raise ManifestError("is UTF-16 text, not UTF-8", file=str(path),
                            hint="save it as UTF-8 (in PowerShell, pipe it to Out-File -Encoding utf8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ManifestError("is not UTF-8 text", file=str(path), line=line,
                            hint="give a YAML or JSON manifest") from None


def _parse_documents(text: str, where: str) -> list[tuple[Any, "_Locator"]]:
    """Parse YAML (or JSON) documents safely; return each with a line locator."""
    if not isinstance(text, str):
        raise ManifestError(f"expected text, got {type(text).__name__}", file=where)
    if len(text) > MAX_BYTES:
        raise ManifestError(f"is more than {MAX_BYTES} characters", file=where)
    if not text.strip():
        raise ManifestError("is empty", file=where, hint="give a Pod manifest or kubectl -o yaml output")
    for lineno, line in enumerate(text.splitlines(), 1):
        if _TRUNCATED.match(line):
            raise ManifestError("is truncated output (it contains a --TRUNCATED-- line)", file=where,
                                line=lineno,
                                hint="capture the whole document with kubectl get po NAME -n kube-system -o yaml")
    stripped = text.lstrip()
    if stripped[:1] in "{[" :
        try:
            return [(json.loads(text), _Locator(None))]
        except json.JSONDecodeError as exc:
            if stripped[:1] == "{" and not _looks_like_yaml_flow(text):
                raise ManifestError(f"is not valid JSON ({exc.msg})", file=where, line=exc.lineno,
                                    hint="check the syntax, or give YAML") from None
        except RecursionError:
            raise ManifestError("is nested too deeply to be a manifest", file=where) from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise ManifestError(f"has a value JSON cannot read ({str(exc).split(':')[0][:80]})", file=where) from None
    try:
        loader = _BoundedLoader(text, where)
        try:
            docs = []
            while loader.check_node():
                before = loader.aliases
                node = loader.get_node()
                if loader.aliases > before:  # only a document with aliases can be bigger than its text
                    _check_expansion(node, where)
                docs.append((loader.construct_document(node), _Locator(node)))
            return docs
        finally:
            loader.dispose()
    except ManifestError:
        raise
    except yaml.reader.ReaderError as exc:  # a control character (a NUL byte...) anywhere in the text
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "a control character"
        raise ManifestError(f"contains the control character {char}", file=where,
                            line=text[: exc.position].count("\n") + 1,
                            hint="give a YAML or JSON manifest as plain text") from None
    except yaml.constructor.ConstructorError as exc:  # e.g. !!python/object: the safe loader builds no objects
        mark = exc.problem_mark or exc.context_mark
        raise ManifestError(f"is not valid YAML ({_shown(exc.problem or 'bad value', 120)})", file=where,
                            line=mark.line + 1 if mark else None,
                            hint="manifests use no !! tags; remove it" if "tag" in str(exc.problem)
                            else "check the value there") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or "syntax error"
        raise ManifestError(f"is not valid YAML ({problem})", file=where,
                            line=mark.line + 1 if mark else None,
                            hint="check the indentation and quoting there") from None
    except RecursionError:
        raise ManifestError("is nested too deeply to be a manifest", file=where) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible timestamp
        raise ManifestError(f"has a value YAML cannot construct ({exc})", file=where) from None


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting aliases as it composes, so that an alias bomb is refused
    before anything is built from it (and the text is parsed only once)."""

    def __init__(self, text: str, where: str):
        super().__init__(text)
        self.where = where
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise ManifestError(f"uses more than {MAX_ALIASES} YAML aliases, which looks like an alias bomb",
                                    file=self.where, line=mark.line + 1 if mark else None,
                                    hint="manifests need no aliases; write the values out")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ManifestError(f"is nested more than {MAX_DEPTH} levels deep, which no manifest is",
                                    file=self.where, line=mark.line + 1 if mark else None)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _children(node: yaml.Node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Refuse a composed document whose aliases, written out, would add more than
    MAX_ALIAS_EXPANSION nodes, or that contains itself. Each distinct node is visited once
    (sizes are remembered), so this is linear in the text, however big the expansion."""
    sizes: dict[int, int] = {}
    distinct = 0
    open_: set[int] = set()  # nodes whose children are being sized: the path from the root
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in _children(node))
            continue
        if key in sizes:
            continue
        if key in open_:
            raise ManifestError("has a YAML alias that refers to the collection containing it", file=where,
                                line=node.start_mark.line + 1 if node.start_mark else None,
                                hint="manifests need no aliases; write the values out")
        distinct += 1
        open_.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    if sizes[id(root)] - distinct > MAX_ALIAS_EXPANSION:
        raise ManifestError(f"would grow to {sizes[id(root)]} values when its YAML aliases are written out, "
                            "which looks like an alias bomb", file=where,
                            line=root.start_mark.line + 1 if root.start_mark else None,
                            hint="manifests need no aliases; write the values out")


def _looks_like_yaml_flow(text: str) -> bool:
    return "\n" not in text.strip() and ":" in text and '"' not in text


class _Locator:
    """Finds the line of a value inside a composed YAML document (None for JSON)."""

    def __init__(self, node: yaml.Node | None):
        self.node = node

    def find(self, *path: str | int) -> yaml.Node | None:
        node = self.node
        for key in path:
            if node is None:
                return None
            if isinstance(key, int):
                if not isinstance(node, yaml.SequenceNode) or key >= len(node.value):
                    return None
                node = node.value[key]
            else:
                if not isinstance(node, yaml.MappingNode):
                    return None
                node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        return node

    def line(self, *path: str | int) -> int | None:
        node = self.find(*path)
        return node.start_mark.line + 1 if node is not None else None

    def item_lines(self, *path: str | int) -> list[int]:
        node = self.find(*path)
        if isinstance(node, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in node.value]
        return []

    def sub(self, *path: str | int) -> "_Locator":
        return _Locator(self.find(*path))


# -- objects → pods ---------------------------------------------------------------------


def _pods_from_object(obj: Any, loc: _Locator, where: str) -> list[Pod]:
    if not isinstance(obj, dict):
        raise ManifestError(f"holds a {_kind_of(obj)}, not a Kubernetes object", file=where,
                            line=loc.line() if loc.node is not None else None,
                            hint="give a Pod manifest or kubectl get po -o yaml output")
    kind = obj.get("kind")
    if kind in ("List", "PodList"):
        items = obj.get("items")
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ManifestError(f"a {kind}'s items must be a list", file=where, line=loc.line("items"))
        pods: list[Pod] = []
        for i, item in enumerate(items):
            if isinstance(item, dict) and item.get("kind", "Pod") != "Pod":
                continue  # a List may mix kinds; only Pods matter here
            pods.extend(_pods_from_object(dict(item, kind="Pod") if isinstance(item, dict) else item,
                                          loc.sub("items", i), where))
        return pods
    if kind != "Pod":
        shown = f"kind {_quoted(kind, 60)}" if isinstance(kind, str) else \
            f"a kind that is a {_kind_of(kind)}" if kind is not None else "no kind"
        raise ManifestError(f"is not a Pod (it has {shown})", file=where,
                            line=loc.line("kind") or loc.line(),
                            hint="give a static Pod manifest such as /etc/kubernetes/manifests/etcd.yaml")
    return [_pod(obj, loc, where)]


def _kind_of(obj: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(type(obj), type(obj).__name__)


def _field(obj: dict, key: str, typ: type, where: str, loc: _Locator, path: tuple, default: Any = None) -> Any:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        dotted = ".".join(str(p) for p in path + (key,))
        raise ManifestError(f"field {dotted} must be a {typ.__name__}, not a {_kind_of(value)}",
                            file=where, line=loc.line(*path, key))
    return value


def _pod(obj: dict, loc: _Locator, where: str) -> Pod:
    meta = _field(obj, "metadata", dict, where, loc, (), {})
    spec = _field(obj, "spec", dict, where, loc, ())
    if spec is None:
        raise ManifestError("is a Pod without a spec", file=where, line=loc.line("kind"))
    containers = _field(spec, "containers", list, where, loc, ("spec",))
    if not containers:
        raise ManifestError("is a Pod without containers", file=where, line=loc.line("spec"),
                            hint="spec.containers must list the etcd or kube-apiserver container")
    # the control-plane container is the one whose command names a component; else the first
    index = 0
    for i, c in enumerate(containers):
        if isinstance(c, dict) and isinstance(c.get("command"), list) and c["command"] and \
                isinstance(c["command"][0], str) and posixpath.basename(c["command"][0]) in _COMPONENTS:
            index = i
            break
    container = containers[index]
    cpath = ("spec", "containers", index)
    if not isinstance(container, dict):
        raise ManifestError(f"spec.containers[{index}] must be a mapping", file=where, line=loc.line(*cpath))
    command = container.get("command")
    args = container.get("args")
    for key, value in (("command", command), ("args", args)):
        if value is not None and not isinstance(value, list):
            raise ManifestError(f"spec.containers[{index}].{key} must be a list of strings, not a {_kind_of(value)}",
                                file=where, line=loc.line(*cpath, key),
                                hint="write one item per line, each starting with '- '")
    labels = _string_map(meta.get("labels"), "metadata.labels", where, loc)
    annotations = _string_map(meta.get("annotations"), "metadata.annotations", where, loc)
    name = meta.get("name")
    if name is not None and not isinstance(name, str):
        raise ManifestError("metadata.name must be a string", file=where, line=loc.line("metadata", "name"))
    image = container.get("image") if isinstance(container.get("image"), str) else None

    argv = list(command or []) + list(args or [])
    lines = loc.item_lines(*cpath, "command") + loc.item_lines(*cpath, "args")
    if not command and args:
        # no command: the image's entrypoint runs with the args (etcd's image runs etcd)
        argv.insert(0, _entrypoint(image))
        if lines:
            lines.insert(0, lines[0])
    if not argv:
        cname = container.get("name")
        cname = cname if isinstance(cname, str) and cname and cname == _shown(cname) else "the container"
        wanted = _needs_command(labels, name, image, spec.get("nodeName"))
        if wanted:
            raise ManifestError(f"{cname} has no command, but this is the {wanted} Pod", file=where,
                                line=loc.line(*cpath),
                                hint=f"{wanted}'s static Pod lists its flags under command, as kubeadm writes it")
        # haproxy, keepalived, a CNI agent...: the image's entrypoint runs, with no flags
        argv = [_entrypoint(image) or (cname if cname != "the container" else "") or "unknown"]
    try:
        cl = parse_command(argv)
    except FlagError as exc:
        bad = getattr(exc, "item", None)
        raise exc.at(where, lines[bad] if bad is not None and bad < len(lines) else loc.line(*cpath, "command")) from None

    component = labels.get("component") or _component_of(cl.program) or (name if name in _COMPONENTS else None)

    volumes = _volumes(spec, container, where, loc, cpath)
    status = _status(obj.get("status"))
    probes = _probes(container)
    return Pod(
        name=name or component or "pod",
        namespace=meta.get("namespace") if isinstance(meta.get("namespace"), str) else "kube-system",
        component=component,
        image=image,
        command=cl,
        volumes=volumes,
        node_name=spec.get("nodeName") if isinstance(spec.get("nodeName"), str) else None,
        labels=tuple(sorted(labels.items())),
        annotations=tuple(sorted(annotations.items())),
        host_network=spec.get("hostNetwork") is True,
        priority_class=spec.get("priorityClassName") if isinstance(spec.get("priorityClassName"), str) else None,
        probes=probes,
        status=status,
        file=where,
        line=loc.line(*cpath, "command") or loc.line(*cpath, "args") or loc.line(*cpath),
        lines=tuple(lines) if len(lines) == len(argv) else (),
    )


def _entrypoint(image: Any) -> str:
    """``registry.k8s.io/etcd:3.5.9-0`` → ``etcd``: the program an image runs, by its name."""
    if not isinstance(image, str):
        return ""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


#: The Pods whose flags the model reads: without a command there is nothing to read.
_NEED_COMMAND = ("etcd", "kube-apiserver")


def _needs_command(labels: dict[str, str], name: Any, image: str | None, node: Any) -> str | None:
    """``etcd`` or ``kube-apiserver`` when the Pod is one (by its ``component`` label, its
    name, ``etcd-<node>`` as kubectl shows it, or its image), else None."""
    for c in _NEED_COMMAND:
        if labels.get("component") == c or name == c or (isinstance(node, str) and name == f"{c}-{node}") \
                or _entrypoint(image) == c:
            return c
    return None


def _component_of(program: str) -> str | None:
    base = posixpath.basename(program)
    return base if base in _COMPONENTS else None


def _string_map(value: Any, field: str, where: str, loc: _Locator) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        parts = field.split(".")
        raise ManifestError(f"{field} must be a mapping", file=where, line=loc.line(*parts))
    return {str(k): str(v) for k, v in value.items()}


def _volumes(spec: dict, container: dict, where: str, loc: _Locator, cpath: tuple) -> tuple[Volume, ...]:
    vols = spec.get("volumes") or []
    mounts = container.get("volumeMounts") or []
    if not isinstance(vols, list):
        raise ManifestError("spec.volumes must be a list", file=where, line=loc.line("spec", "volumes"))
    if not isinstance(mounts, list):
        raise ManifestError("volumeMounts must be a list", file=where, line=loc.line(*cpath, "volumeMounts"))
    host_paths: dict[str, tuple[str | None, str | None]] = {}
    for v in vols:
        if isinstance(v, dict) and isinstance(v.get("name"), str):
            hp = v.get("hostPath")
            if isinstance(hp, dict):
                host_paths[v["name"]] = (hp.get("path") if isinstance(hp.get("path"), str) else None,
                                         hp.get("type") if isinstance(hp.get("type"), str) else None)
            else:
                host_paths.setdefault(v["name"], (None, None))
    out: list[Volume] = []
    mounted: set[str] = set()
    for m in mounts:
        if not isinstance(m, dict) or not isinstance(m.get("name"), str):
            continue
        hp, typ = host_paths.get(m["name"], (None, None))
        mount_path = m.get("mountPath") if isinstance(m.get("mountPath"), str) else None
        out.append(Volume(name=m["name"], host_path=hp, mount_path=mount_path,
                          read_only=m.get("readOnly") is True, type=typ))
        mounted.add(m["name"])
    for name, (hp, typ) in host_paths.items():  # declared but not mounted: kept, with no mount path
        if name not in mounted:
            out.append(Volume(name=name, host_path=hp, mount_path=None, type=typ))
    return tuple(out)


def _status(value: Any) -> PodStatus | None:
    if not isinstance(value, dict) or not value:  # kubeadm writes `status: {}` into a static manifest
        return None
    statuses = value.get("containerStatuses")
    ready = restarts = None
    if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict):
        ready = statuses[0].get("ready") if isinstance(statuses[0].get("ready"), bool) else None
        r = statuses[0].get("restartCount")
        restarts = r if isinstance(r, int) and not isinstance(r, bool) else None

    def s(key: str) -> str | None:
        v = value.get(key)
        return str(v) if v is not None else None

    return PodStatus(phase=s("phase"), host_ip=s("hostIP"), pod_ip=s("podIP"), ready=ready,
                     restarts=restarts, start_time=s("startTime"))


def _probes(container: dict) -> tuple[Probe, ...]:
    """The container's liveness, readiness and startup probes. A named port
    (``port: metrics``) is looked up in the container's ``ports``; a probe of a shape
    Kubernetes does not have is left out (the API server would have refused it)."""
    ports = container.get("ports") if isinstance(container.get("ports"), list) else []
    named = {p["name"]: p["containerPort"] for p in ports
             if isinstance(p, dict) and isinstance(p.get("name"), str) and _is_port(p.get("containerPort"))}
    out = []
    for kind in ("liveness", "readiness", "startup"):
        probe = container.get(f"{kind}Probe")
        if not isinstance(probe, dict):
            continue
        for action, scheme in (("httpGet", None), ("tcpSocket", "TCP"), ("grpc", "GRPC"), ("exec", "EXEC")):
            spec = probe.get(action)
            if not isinstance(spec, dict):
                continue
            if action == "exec":
                out.append(Probe(kind, "EXEC"))
                break
            port = spec.get("port")
            if isinstance(port, str) and port.isascii() and port.isdigit() and len(port) <= 5:
                port = int(port)
            elif isinstance(port, str):
                port = named.get(port, port)
            elif not _is_port(port):
                port = None
            host = spec.get("host") if isinstance(spec.get("host"), str) and spec.get("host") else None
            path = spec.get("path") if isinstance(spec.get("path"), str) else None
            if scheme is None:
                raw = spec.get("scheme")
                scheme = raw.upper() if isinstance(raw, str) and raw.upper() in ("HTTP", "HTTPS") else "HTTP"
            out.append(Probe(kind, scheme, host, port, path if action == "httpGet" else None))
            break
    return tuple(out)


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


# -- pods → nodes ------------------------------------------------------------------------


#: Directory names that say nothing about the node: kubeadm's own, and the empty name of ``/``.
_GENERIC_DIRS = frozenset({"", "manifests"})


def _nodes_from_pods(pods: list[Pod], default_node: str | None = None, source: str | None = None, *,
                     directory: str | None = None) -> tuple[Node, ...]:
    """Group pods by node: ``spec.nodeName`` when kubectl said it; static manifests, which
    do not say it, are one node named by :func:`_static_node_name` (or ``default_node``)."""
    static = [p for p in pods if not p.node_name]
    static_node = default_node or (_static_node_name(static, directory) if static else None)
    groups: dict[str, list[Pod]] = {}
    for p in pods:
        groups.setdefault(p.node_name or static_node, []).append(p)  # type: ignore[arg-type]
    return tuple(_node(name, ps, source) for name, ps in groups.items())


def _static_node_name(pods: list[Pod], directory: str | None = None) -> str:
    """The node of static manifests, which do not say which node they run on. One rule,
    whether they come from a file, several files or a directory:

    1. the etcd member's ``--name``: kubeadm names the member after its node;
    2. a Pod from the API whose ``nodeName`` was cut off: kubelet names a mirror Pod
       ``<component>-<node>`` (``etcd-master``);
    3. the name of the directory that holds the files (``cp1/`` in a directory of node
       directories), unless it names no node (``manifests/``);
    4. ``node``.
    """
    etcd = _primary(pods, "etcd")
    if etcd is not None and etcd.command.get("name"):
        return etcd.command.get("name")  # type: ignore[return-value]
    for p in pods:
        if p.from_the_api and p.component and p.name.startswith(p.component + "-"):
            return p.name[len(p.component) + 1:]
    if directory and directory not in _GENERIC_DIRS:
        return directory
    return "node"


def _dir_name(path: Path) -> str:
    """The name of a directory as the user knows it: ``.`` is the current directory's name."""
    return Path(os.path.abspath(path)).name


def _primary(pods: Iterable[Pod], component: str) -> Pod | None:
    """The Pod that plays ``component`` on a node.

    There should be one. When a directory holds two (``etcd.yaml`` and ``etcd-backup.yaml``)
    the kubelet runs both; the model follows the one in the file kubeadm writes
    (``etcd.yaml``), else the first, and the doctor reports the pair
    (``duplicate-static-pod``).
    """
    found = [p for p in pods if p.component == component]
    for p in found:
        if p.file and posixpath.basename(p.file.replace("\\", "/")) in {component + s for s in MANIFEST_SUFFIXES}:
            return p
    return found[0] if found else None


def _node(name: str, pods: list[Pod], source: str | None) -> Node:
    etcd_pod = _primary(pods, "etcd")
    api_pod = _primary(pods, "kube-apiserver")
    etcd = EtcdMember.from_pod(etcd_pod) if etcd_pod else None
    api = ApiServer.from_pod(api_pod) if api_pod else None
    role = "control-plane" if api else ("etcd" if etcd else "worker")
    return Node(name=name, address=_address(etcd, api, pods), role=role, pods=tuple(pods),
                etcd=etcd, apiserver=api, source=source)


def _address(etcd: EtcdMember | None, api: ApiServer | None, pods: list[Pod]) -> str | None:
    if api and api.advertise_address:
        return api.advertise_address
    if etcd:
        for url in etcd.advertise_client_urls + etcd.initial_advertise_peer_urls:
            if not url.is_loopback and not url.is_wildcard:
                return url.host
    for p in pods:
        if p.status and p.status.host_ip:
            return p.status.host_ip
    return None


def _merge_nodes(nodes: Iterable[Node]) -> tuple[Node, ...]:
    """One node per machine, from the nodes several sources found.

    Nodes of the same name are one node, with the Pods of both (a Pod that both give, such as
    the same file twice or a static manifest and its mirror Pod from kubectl, is kept once).
    Then a node of static manifests that runs an apiserver but no etcd joins the etcd-only node
    at the apiserver's ``--advertise-address``: the same machine, whose ``etcd.yaml`` and
    ``kube-apiserver.yaml`` were given separately (and named by different rules).
    """
    merged: dict[str, Node] = {}
    for n in nodes:
        old = merged.get(n.name)
        merged[n.name] = n if old is None else _merge_two(old, n)
    return _merge_by_address(list(merged.values()))


def _merge_two(old: Node, new: Node) -> Node:
    from dataclasses import replace

    pods = list(old.pods) + [p for p in new.pods if not any(_same_pod(p, q, old.name) for q in old.pods)]
    if len(pods) == len(old.pods):
        return replace(old, address=new.address) if new.address and not old.address else old
    node = _node(old.name, pods, old.source)
    if node.address is None and (old.address or new.address):
        node = replace(node, address=old.address or new.address)
    return node


def _same_pod(a: Pod, b: Pod, node: str) -> bool:
    """Is ``a`` the Pod ``b``, given again by another source? The same file twice, the same
    manifest from two places, or a static manifest (``etcd``) and its mirror Pod
    (``etcd-<node>``) from kubectl."""
    if a == b:
        return True
    if a.namespace != b.namespace or a.component != b.component:
        return False
    return a.name == b.name or a.name == f"{b.name}-{node}" or b.name == f"{a.name}-{node}"


def _merge_by_address(nodes: list[Node]) -> tuple[Node, ...]:
    out = list(nodes)
    for api_node in nodes:
        api = api_node.apiserver
        if api is None or api_node.etcd is not None or not api.advertise_address \
                or any(p.from_the_api for p in api_node.pods):
            continue
        hosts = [n for n in out if n is not api_node and n.etcd is not None and n.apiserver is None
                 and n.address and _same_host(n.address, api.advertise_address)]
        if len(hosts) != 1:
            continue
        host = hosts[0]
        joined = _node(host.name, list(host.pods) + list(api_node.pods), host.source)
        out = [joined if n is host else n for n in out if n is not api_node]
    return tuple(out)


def _same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower().rstrip(".") == b.lower().rstrip(".")


# -- files and directories -----------------------------------------------------------------


def _load_one(source: str | os.PathLike) -> ControlPlane:
    from .bundled import DATASET_FILE, Dataset, dataset

    if not str(source).strip():
        raise ManifestError("an empty path names nothing to load",
                            hint="give a manifest file, a directory or a data set name")
    path = Path(source)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as exc:  # a name too long, a directory we may not enter...
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
    if is_dir:
        if (path / DATASET_FILE).is_file():
            return Dataset.from_dir(path).load()
        return load_directory(path)
    return load_file(path)


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
    nodes = _nodes_from_pods(pods, default_node=node, source=str(path), directory=_dir_name(path.parent))
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
    return ControlPlane(nodes=_merge_nodes(nodes), source=str(path))


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
    return list(_nodes_from_pods(pods, source=_display(path, label_root), directory=_dir_name(path)))


def nodes_from_pod_table(rows: list[PodRow]) -> tuple[Node, ...]:
    """Nodes named in a ``kubectl get po -o wide`` table, as pod-less nodes.

    Merged with manifests, they add the workers; their address is the IP of a
    host-network Pod on them (``kube-proxy``), which is the node's own address.
    """
    nodes: dict[str, str | None] = {}
    components: dict[str, set[str]] = {}
    for r in rows:
        if not r.node:
            continue
        nodes.setdefault(r.node, None)
        components.setdefault(r.node, set()).add(r.component or "")
        if r.name.startswith("kube-proxy") or r.component:
            nodes[r.node] = nodes[r.node] or r.ip

    def role(node: str) -> str:
        found = components[node]
        return "control-plane" if "kube-apiserver" in found else ("etcd" if "etcd" in found else "worker")

    return tuple(Node(name=n, address=a, role=role(n)) for n, a in nodes.items())


__all__ = ["load", "load_text", "load_file", "load_directory", "pods_from_text", "parse_pod_table",
           "PodRow", "read_text", "EtcdlabError"]
