"""Small helpers the notebooks need, kept here so their cells stay short."""

from __future__ import annotations

from typing import Any

#: what of a static Pod's YAML a student should read first (a path, and its label)
POD_PARTS = (
    (("metadata", "ownerReferences"), "metadata.ownerReferences"),
    (("container", "command"), "spec.containers[0].command"),
    (("container", "volumeMounts"), "spec.containers[0].volumeMounts"),
    (("spec", "volumes"), "spec.volumes"),
    (("container", "livenessProbe"), "spec.containers[0].livenessProbe"),
    (("container", "startupProbe"), "spec.containers[0].startupProbe"),
)


def pod_excerpt(text: str, where: str = "<pod>") -> str:
    """The parts of a Pod's YAML (``kubectl get po NAME -o yaml``) that say how it runs: who owns
    it, the command, the volumes and the probes; everything else is left out. Text that holds
    no manifest raises :class:`~etcdlab.errors.ManifestError`."""
    import yaml

    from ..sources.safe_yaml import parse_documents

    docs = [d for d, _ in parse_documents(text, where) if isinstance(d, dict)]
    if not docs:
        return ""
    pod = docs[0]
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or [{}]
    roots: dict[str, Any] = {"metadata": pod.get("metadata") or {}, "spec": spec, "container": containers[0]}
    out = []
    for (root, key), label in POD_PARTS:
        value = roots[root].get(key)
        if value is None:
            continue
        body = yaml.safe_dump(value, sort_keys=False, default_flow_style=False).rstrip()
        out.append(f"{label}:\n" + "\n".join("  " + line for line in body.splitlines()))
    return "\n".join(out)
