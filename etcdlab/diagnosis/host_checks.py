"""Checks of what a control-plane node's disk holds, beyond its manifests: files the loader
could not read, and the CIS Benchmark's host checks on etcd's data directory and on
kubeadm's PKI directory (v1.9: 1.1.11/1.1.12, 1.1.19–1.1.21; 1.1.7/1.1.8 on the manifest
itself live in :mod:`~etcdlab.diagnosis.cis`).

The host checks read :attr:`ControlPlane.host`, which the loader fills only for a real
node's files (:func:`etcdlab.load_node`, ``sudo etcdlab doctor``): on a bundled data set,
a copy or a ``kubectl`` capture the modes and owners say nothing about the node, and these
checks do not run (the CLI says so in one line).

kubeadm itself fails two of them on every node, and the findings say so: it leaves the
data directory owned by root:root (1.1.12 asks for an ``etcd`` user), and it writes
certificates with mode 644 (1.1.20, a manual check, asks for 600).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import replace

from ..model.control_plane import ControlPlane
from ..model.host import PathState
from .findings import Finding, _finding

#: The CIS host checks that need the node's own disk, as the CLI names them when it skips them.
HOST_CHECKS = "CIS-1.9 1.1.7/1.1.8, 1.1.11/1.1.12, 1.1.19-1.1.21"


def host_checks_skipped(cp: ControlPlane) -> str | None:
    """Why the host checks did not run on ``cp`` (one line for the report), or None if they did."""
    if cp.host is not None:
        return None
    if any(p.from_the_api for n in cp.nodes for p in n.pods):
        why = "these Pods come from the API (kubectl or a live cluster), which does not show the node's files"
    else:
        why = "these manifests were not read from a node's /etc/kubernetes/manifests (a data set or a copy)"
    return (f"Host checks ({HOST_CHECKS}) skipped: {why}; on the node run sudo etcdlab doctor, "
            "or etcdlab doctor --node ROOT for a node's file system at ROOT.")


def _names(states: list[PathState], limit: int = 4) -> str:
    shown = ", ".join(s.path for s in states[:limit])
    return shown + (f" and {len(states) - limit} more" if len(states) > limit else "")


def unreadable_files(cp: ControlPlane) -> Iterator[Finding]:
    """Files of a manifest directory that this user may not read: the rest was checked, but
    whatever those files hold (an apiserver, a second etcd) the doctor could not see."""
    if cp.unreadable:
        states = list(cp.unreadable)
        folders = {posixpath.dirname(s.path) for s in states}
        where = folders.pop() if len(folders) == 1 else None
        named = [replace(s, path=posixpath.basename(s.path)) for s in states] if where else states
        yield replace(_finding(
            "files-unreadable", None, None, None, _names(named),
            title=f"{len(states)} file{'s' if len(states) != 1 else ''} could not be read: {_names(named)}",
            detail="The system refused to let this user read them (on a kubeadm node the manifests are mode "
                   "600, owned by root). The doctor checked the files it could read; findings that need "
                   "the others (an apiserver's flags, a second etcd on the node) are missing, not passed.",
            fix="Run the doctor with sudo (sudo etcdlab doctor), or copy the manifests somewhere you can read "
                "them (sudo cp -a /etc/kubernetes/manifests ~/manifests; sudo chown -R $USER ~/manifests)."),
            file=where)


def _could_not_check(states: list[PathState], cis: str) -> Finding:
    return _finding(
        "host-path-unreadable", None, None, None, _names(states), cis=cis,
        title=f"Could not check {_names(states)}: permission denied",
        detail=f"{cis} needs the mode and owner of these paths, and this user may not look at them.",
        fix="Run the doctor with sudo: sudo etcdlab doctor.")


def _at(state: PathState, finding: Finding) -> Finding:
    return replace(finding, file=state.path)


def cis_data_dir(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.1.11 (the data directory is mode 700 or stricter) and 1.1.12 (owned by
    etcd:etcd): the data directory *is* the cluster's state, Secrets included, in plain
    text unless encryption at rest is on."""
    host = cp.host
    if host is None:
        return
    unreadable = []
    for name, state in host.data_dirs:
        node = next((n for n in cp.nodes if n.etcd is not None and n.etcd.name == name), None)
        if state.kind == "unreadable":
            unreadable.append(state)
            continue
        if state.kind == "missing":
            yield _at(state, _finding(
                "cis-data-dir-missing", None, node, None, state.path,
                title=f"etcd's data directory {state.path} does not exist",
                detail="The etcd Pod's etcd-data hostPath names a directory that is not on this node. With "
                       "hostPath type DirectoryOrCreate the kubelet creates it at the next start (an empty "
                       "member, which joins nothing); otherwise the Pod does not start.",
                fix=f"Check the etcd-data hostPath and --data-dir in etcd.yaml; restore {state.path} from a "
                    "snapshot if it was lost."))
            continue
        if state.looser_than(0o700):
            yield _at(state, _finding(
                "cis-data-dir-permissions", None, node, None, state.mode_text,
                title=f"etcd's data directory {state.path} has mode {state.mode_text}, looser than 700",
                detail="Everything the cluster stores is in etcd's data directory: every object, and every "
                       "Secret in plain text unless encryption at rest is configured. Anyone who may read it "
                       "can copy the database. CIS-1.9 1.1.11 wants 700 or stricter.",
                fix=f"chmod 700 {state.path}"))
        if state.owner is not None and state.owner != "etcd:etcd":
            yield _at(state, _finding(
                "cis-data-dir-ownership", None, node, None, state.owner,
                title=f"etcd's data directory {state.path} is owned by {state.owner}, not etcd:etcd",
                detail="CIS-1.9 1.1.12 asks that the data directory belong to a dedicated etcd user, so that "
                       "only the etcd process (and root) can read it. kubeadm runs etcd as root and leaves "
                       "the directory root:root, so this check fails on every kubeadm node; the benchmark's "
                       "remediation is to create an etcd user and hand it the directory (and run etcd as "
                       "that user, or the ownership protects nothing).",
                fix=f"useradd --system --no-create-home etcd; chown -R etcd:etcd {state.path} "
                    "(kube-bench's remediation)"))
    if unreadable:
        yield _could_not_check(unreadable, "CIS-1.9 1.1.11/1.1.12")


def cis_pki(cp: ControlPlane) -> Iterator[Finding]:
    """CIS 1.1.19 (the PKI directory and everything in it owned by root:root), 1.1.20
    (certificates mode 600 or stricter) and 1.1.21 (keys mode 600 or stricter)."""
    host = cp.host
    if host is None or host.pki_dir is None:
        return
    pki = host.pki_dir
    if pki.kind == "unreadable":
        yield _could_not_check([pki], "CIS-1.9 1.1.19-1.1.21")
        return
    if pki.kind != "directory":
        return  # no PKI directory: a manifest without TLS, already reported by the TLS checks
    everything = [pki, *host.pki_entries]
    unreadable = [s for s in host.pki_entries if s.kind == "unreadable"]
    not_root = [s for s in everything if s.owner is not None and s.owner != "root:root"]
    for f in _pki_findings(pki, host, not_root, unreadable):
        yield replace(f, file=pki.path)


def _below(states: list[PathState], top: str) -> list[PathState]:
    """The same states, named relative to ``top`` (``etcd/ca.key`` for ``/etc/kubernetes/pki/etcd/ca.key``)."""
    return [replace(s, path=posixpath.relpath(s.path, top)) for s in states]


def _pki_findings(pki: PathState, host, not_root: list[PathState], unreadable: list[PathState]) -> Iterator[Finding]:
    certs = [s for s in host.pki_entries if s.kind == "file" and s.path.endswith(".crt") and s.looser_than(0o600)]
    keys = [s for s in host.pki_entries if s.kind == "file" and s.path.endswith(".key") and s.looser_than(0o600)]
    not_root, certs, keys, unreadable = (_below(x, pki.path) for x in (not_root, certs, keys, unreadable))
    if not_root:
        yield _finding(
            "cis-pki-ownership", None, None, None, _names(not_root),
            title=f"{len(not_root)} path{'s' if len(not_root) != 1 else ''} in {pki.path} not owned by root:root: "
                  f"{_names(not_root)}",
            detail="The PKI directory holds the CAs' keys: whoever owns a file there can change its mode and "
                   "read it, or replace a certificate. CIS-1.9 1.1.19 wants everything owned by root:root.",
            fix=f"chown -R root:root {pki.path}")
    if certs:
        yield _finding(
            "cis-pki-cert-permissions", None, None, None, _names(certs),
            title=f"{len(certs)} certificate{'s' if len(certs) != 1 else ''} with a mode looser than 600: "
                  f"{_names(certs)} ({certs[0].mode_text})",
            detail="CIS-1.9 1.1.20 (a manual check) wants certificates mode 600 or stricter. kubeadm writes "
                   "them 644, so this fails on every kubeadm node. A certificate is public (etcd shows its "
                   "own to every client), so 644 leaks nothing; what must stay private are the keys "
                   "(1.1.21).",
            fix=f"chmod 600 {pki.path}/*.crt {pki.path}/etcd/*.crt (kube-bench's remediation)")
    if keys:
        yield _finding(
            "cis-pki-key-permissions", None, None, None, _names(keys),
            title=f"{len(keys)} private key{'s' if len(keys) != 1 else ''} with a mode looser than 600: "
                  f"{_names(keys)} ({keys[0].mode_text})",
            detail="A private key readable by others lets them pose as its owner: with etcd/ca.key anyone "
                   "can mint a client certificate that etcd trusts, and read every Secret. kubeadm writes "
                   "keys 600. CIS-1.9 1.1.21 wants 600.",
            fix=f"chmod 600 {' '.join(posixpath.join(pki.path, s.path) for s in keys[:4])}")
    if unreadable:
        yield _could_not_check(unreadable, "CIS-1.9 1.1.19-1.1.21")
