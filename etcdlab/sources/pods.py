"""Kubernetes objects → :class:`~etcdlab.model.control_plane.Pod`: a Pod, several, or a
``List``/``PodList`` as ``kubectl get po -o yaml`` prints it, each field type-checked with
the line it came from.
"""

from __future__ import annotations

import posixpath
TYPE_CHECKING = False  # typing costs ~10 ms of start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from ..errors import FlagError, ManifestError
from ..model.control_plane import Pod, PodStatus, Probe, Volume
from ..model.flags import _quoted, _shown, parse_command
from .kubectl import _COMPONENTS
from .safe_yaml import Locator, parse_documents


def pods_from_text(text: str, file: str | None = None) -> list[Pod]:
    """Every Pod in a manifest or ``kubectl -o yaml|json`` text (a Pod, several, or a List)."""
    where = file or "<text>"
    docs = parse_documents(text, where)
    pods: list[Pod] = []
    for doc, loc in docs:
        if doc is None:
            continue
        pods.extend(pods_from_object(doc, loc, where))
    return pods


def pods_from_object(obj: Any, loc: Locator, where: str) -> list[Pod]:
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
            pods.extend(pods_from_object(dict(item, kind="Pod") if isinstance(item, dict) else item,
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


def _field(obj: dict, key: str, typ: type, where: str, loc: Locator, path: tuple, default: Any = None) -> Any:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        dotted = ".".join(str(p) for p in path + (key,))
        raise ManifestError(f"field {dotted} must be a {typ.__name__}, not a {_kind_of(value)}",
                            file=where, line=loc.line(*path, key))
    return value


def _pod(obj: dict, loc: Locator, where: str) -> Pod:
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


def _string_map(value: Any, field: str, where: str, loc: Locator) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        parts = field.split(".")
        raise ManifestError(f"{field} must be a mapping", file=where, line=loc.line(*parts))
    return {str(k): str(v) for k, v in value.items()}


def _volumes(spec: dict, container: dict, where: str, loc: Locator, cpath: tuple) -> tuple[Volume, ...]:
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
