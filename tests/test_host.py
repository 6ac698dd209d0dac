"""The doctor on a control-plane node: a user who may not read the manifests gets one
sentence (exit 2), and the CIS host checks (1.1.7/1.1.8, 1.1.11/1.1.12, 1.1.19-1.1.21) judge
a node's real modes and owners, and are skipped, with one line, everywhere else.

The node is a temporary tree laid out like a kubeadm node (``etc/kubernetes/manifests``
mode 0700 with 0600 files, ``etc/kubernetes/pki``, ``var/lib/etcd``) read with
``etcdlab doctor --node ROOT``. The non-root tests drop to ``nobody`` in a child process
when the suite runs as root (the only way to meet a refusal as root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import etcdlab as el
from etcdlab import kubeadm as k
from etcdlab.cli import main
from etcdlab.model.host import NodeHost, PathState
from etcdlab.model.control_plane import ControlPlane
from etcdlab.diagnosis import host_checks

ADV = "10.0.0.10"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534

CERTS = ["ca", "apiserver", "apiserver-etcd-client", "etcd/ca", "etcd/server", "etcd/peer", "etcd/healthcheck-client"]


def kubeadm_node(root: Path, *, cert_mode=0o644, key_mode=0o600, data_mode=0o700, manifest_mode=0o600) -> Path:
    """A node's tree as kubeadm leaves it (certificates 644, keys 600, data dir 700, manifests
    600 in a 700 directory), with the modes given."""
    manifests = root / "etc/kubernetes/manifests"
    manifests.mkdir(parents=True)
    (manifests / "etcd.yaml").write_text(k.to_yaml(k.etcd_manifest("master", ADV)))
    (manifests / "kube-apiserver.yaml").write_text(k.to_yaml(k.apiserver_manifest("master", ADV)))
    for f in manifests.iterdir():
        f.chmod(manifest_mode)
    manifests.chmod(0o700)
    pki = root / "etc/kubernetes/pki"
    (pki / "etcd").mkdir(parents=True)
    for name in CERTS:
        (pki / f"{name}.crt").write_text("certificate\n")
        (pki / f"{name}.crt").chmod(cert_mode)
        (pki / f"{name}.key").write_text("key\n")
        (pki / f"{name}.key").chmod(key_mode)
    data = root / "var/lib/etcd"
    (data / "member").mkdir(parents=True)
    data.chmod(data_mode)
    return root


def ids(findings) -> list[str]:
    return [f.id for f in findings]


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


# -- as a user who may not read: one sentence, exit 2 ----------------------------------------

_AS_NOBODY = """
import contextlib, io, os, sys
from etcdlab.cli import main
# Import everything the doctor needs while still root: this Python lives under /root,
# which nobody may read, so nothing may be imported after the switch.
with contextlib.redirect_stdout(io.StringIO()):
    main(["doctor", "single-control-plane"])
os.setgroups([]); os.setgid(%d); os.setuid(%d)
sys.exit(main(sys.argv[1:]))
""" % (NOBODY, NOBODY)


def as_nobody(*argv: str) -> subprocess.CompletedProcess:
    if not IS_ROOT:
        pytest.skip("needs root to drop to nobody (as a user, your own files are readable to you)")
    return subprocess.run([sys.executable, "-c", _AS_NOBODY, *argv], capture_output=True, text=True, timeout=60,
                          cwd="/")


@pytest.fixture
def open_tmp():
    """A temporary directory that ``nobody`` may enter (pytest's own is 0700 under root's)."""
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="etcdlab-host-"))
    d.chmod(0o755)
    yield d
    for p in [d, *d.rglob("*")]:  # give back what the test closed, so it can be removed
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o755)
    shutil.rmtree(d)


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_nobody_on_an_unreadable_manifest_directory_gets_one_sentence(open_tmp):
    node = kubeadm_node(open_tmp / "node")
    manifests = node / "etc/kubernetes/manifests"
    r = as_nobody("doctor", str(manifests))
    assert r.returncode == 2 and r.stdout == ""
    line = one_sentence(r.stderr)
    assert line == (f"etcdlab: {manifests}: cannot be listed by nobody (permission denied); "
                    "run it with sudo, or copy the manifests to a directory you can read.")


def test_nobody_on_a_file_in_an_unreadable_directory_and_on_the_node(open_tmp):
    node = kubeadm_node(open_tmp / "node")
    r = as_nobody("doctor", str(node / "etc/kubernetes/manifests/etcd.yaml"))
    assert r.returncode == 2
    assert "cannot be reached by nobody (permission denied on a directory above it)" in one_sentence(r.stderr)
    r = as_nobody("doctor", "--node", str(node))
    assert r.returncode == 2
    assert "cannot be listed by nobody" in one_sentence(r.stderr) and "sudo" in r.stderr


def test_nobody_on_a_partly_readable_directory_checks_what_it_can_read(open_tmp):
    node = kubeadm_node(open_tmp / "node")
    manifests = node / "etc/kubernetes/manifests"
    manifests.chmod(0o755)
    (manifests / "etcd.yaml").chmod(0o644)
    r = as_nobody("doctor", "--json", str(manifests))
    assert r.returncode == 0, r.stderr  # warnings only
    report = json.loads(r.stdout)
    (unread,) = [f for f in report["findings"] if f["id"] == "files-unreadable"]
    assert unread["value"] == "kube-apiserver.yaml" and unread["file"] == str(manifests)
    assert unread["severity"] == "warning" and "sudo" in unread["fix"]
    assert "cluster-single-member" in [f["id"] for f in report["findings"]]  # etcd.yaml was checked


def test_nobody_with_nothing_readable_in_a_listable_directory(open_tmp):
    node = kubeadm_node(open_tmp / "node")
    manifests = node / "etc/kubernetes/manifests"
    manifests.chmod(0o755)
    r = as_nobody("doctor", str(manifests))
    assert r.returncode == 2
    line = one_sentence(r.stderr)
    assert "holds nothing nobody may read (permission denied: etcd.yaml, kube-apiserver.yaml)" in line.replace(
        str(manifests) + "/", "")


def test_a_refused_directory_below_a_directory_of_nodes_is_named(open_tmp):
    """A directory of node directories where one node's directory is closed: the others are read."""
    root = open_tmp / "nodes"
    for name in ("cp1", "cp2"):
        d = root / name
        d.mkdir(parents=True)
        (d / "etcd.yaml").write_text(k.to_yaml(k.etcd_manifest(name, ADV)))
    (root / "cp2").chmod(0o700)
    root.chmod(0o755)
    r = as_nobody("doctor", "--json", str(root))
    report = json.loads(r.stdout)
    (unread,) = [f for f in report["findings"] if f["id"] == "files-unreadable"]
    assert unread["value"] == "cp2"


def test_a_permission_error_nothing_caught_is_still_one_sentence(monkeypatch, capsys):
    import etcdlab.cli.doctor as doctor_cli

    def refuse(args):
        raise PermissionError(13, "Permission denied", "/etc/kubernetes/pki/etcd/ca.key")

    monkeypatch.setattr(doctor_cli, "run", refuse)
    monkeypatch.setattr(doctor_cli, "load_from_args", refuse)
    rc = main(["doctor", "single-control-plane"])
    err = capsys.readouterr().err
    assert rc == 2
    assert one_sentence(err) == ("etcdlab: /etc/kubernetes/pki/etcd/ca.key: permission denied; run it with sudo, "
                                 "or copy the manifests to a directory you can read.")


# -- the host checks on a node's tree -------------------------------------------------------


def test_a_kubeadm_node_fails_exactly_the_checks_kubeadm_fails(tmp_path, capsys):
    node = kubeadm_node(tmp_path)
    cp = el.load_node(node)
    assert cp.host is not None and cp.host.root == str(node)
    assert dict(cp.host.data_dirs)["master"] == PathState("/var/lib/etcd", "directory", 0o700, cp.host.data_dirs[0][1].owner)
    found = {f.id: f for f in el.doctor(cp)}
    # kubeadm's own choices: certificates 644 (1.1.20), data dir root:root (1.1.12, when run as root)
    assert found["cis-pki-cert-permissions"].cis == "CIS-1.9 1.1.20"
    assert found["cis-pki-cert-permissions"].value.startswith("apiserver-etcd-client.crt, apiserver.crt, ca.crt")
    assert "kubeadm writes them 644" in found["cis-pki-cert-permissions"].detail
    if IS_ROOT:
        assert found["cis-data-dir-ownership"].value == "root:root"
        assert found["cis-data-dir-ownership"].cis == "CIS-1.9 1.1.12"
        assert "fails on every kubeadm node" in found["cis-data-dir-ownership"].detail
        assert "cis-pki-ownership" not in found and "cis-manifest-ownership" not in found
    for passed in ("cis-pki-key-permissions", "cis-data-dir-permissions", "cis-manifest-permissions",
                   "files-unreadable", "host-path-unreadable"):
        assert passed not in found
    rc, out, _ = run_cli(["doctor", "--node", str(node)], capsys)
    assert out.rstrip().endswith(f"Host checks ran on the node's files under {node}.")


@pytest.mark.parametrize("change, rule, cis, value", [
    (lambda n: (n / "etc/kubernetes/manifests/etcd.yaml").chmod(0o644), "cis-manifest-permissions", "CIS-1.9 1.1.7",
     "644"),
    (lambda n: (n / "var/lib/etcd").chmod(0o750), "cis-data-dir-permissions", "CIS-1.9 1.1.11", "750"),
    (lambda n: (n / "var/lib/etcd").chmod(0o755), "cis-data-dir-permissions", "CIS-1.9 1.1.11", "755"),
    (lambda n: (n / "etc/kubernetes/pki/etcd/ca.key").chmod(0o640), "cis-pki-key-permissions", "CIS-1.9 1.1.21",
     "etcd/ca.key"),
    (lambda n: (n / "etc/kubernetes/pki/sa.key").write_text("k") or (n / "etc/kubernetes/pki/sa.key").chmod(0o644),
     "cis-pki-key-permissions", "CIS-1.9 1.1.21", "sa.key"),
])
def test_each_wrong_mode_is_found(tmp_path, change, rule, cis, value):
    node = kubeadm_node(tmp_path, cert_mode=0o600)
    assert rule not in ids(el.doctor(el.load_node(node)))
    change(node)
    (f,) = [f for f in el.doctor(el.load_node(node)) if f.id == rule]
    assert (f.cis, f.value) == (cis, value)


def test_stricter_modes_pass(tmp_path):
    """kube-bench's bitmask test: 400 passes for 600, 500 for 700."""
    node = kubeadm_node(tmp_path, cert_mode=0o400, key_mode=0o400, data_mode=0o500, manifest_mode=0o400)
    got = ids(el.doctor(el.load_node(node)))
    for rule in ("cis-pki-cert-permissions", "cis-pki-key-permissions", "cis-data-dir-permissions",
                 "cis-manifest-permissions"):
        assert rule not in got


@pytest.mark.skipif(not IS_ROOT, reason="only root can give files to other owners")
def test_wrong_owners_are_found(tmp_path):
    node = kubeadm_node(tmp_path, cert_mode=0o600)
    os.chown(node / "etc/kubernetes/manifests/etcd.yaml", NOBODY, NOBODY)
    os.chown(node / "etc/kubernetes/pki/etcd/server.key", NOBODY, 0)
    os.chown(node / "var/lib/etcd", NOBODY, NOBODY)
    found = {f.id: f for f in el.doctor(el.load_node(node))}
    assert found["cis-manifest-ownership"].value == "nobody:nogroup"
    assert found["cis-manifest-ownership"].cis == "CIS-1.9 1.1.8"
    assert found["cis-pki-ownership"].value == "etcd/server.key"
    assert found["cis-pki-ownership"].cis == "CIS-1.9 1.1.19"
    assert found["cis-data-dir-ownership"].value == "nobody:nogroup"


def test_the_data_dir_is_the_etcd_data_host_path(tmp_path):
    """kube-bench looks at --data-dir; kubeadm mounts it from the etcd-data hostPath, which is
    what is on the node's disk when the two differ."""
    node = kubeadm_node(tmp_path)
    pod = k.etcd_manifest("master", ADV)
    for v in pod["spec"]["volumes"]:
        if v["name"] == "etcd-data":
            v["hostPath"]["path"] = "/data/etcd"
    (node / "etc/kubernetes/manifests/etcd.yaml").write_text(k.to_yaml(pod))
    (node / "data/etcd").mkdir(parents=True)
    (node / "data/etcd").chmod(0o777)
    found = {f.id: f for f in el.doctor(el.load_node(node))}
    assert found["cis-data-dir-permissions"].file == "/data/etcd" and found["cis-data-dir-permissions"].value == "777"
    (node / "data/etcd").rmdir()
    assert "cis-data-dir-missing" in ids(el.doctor(el.load_node(node)))


def test_owner_etcd_etcd_passes_and_unreadable_paths_are_named():
    """The checks are pure functions of what the loader saw."""
    cp = el.load("single-control-plane")
    good = NodeHost("/", "/etc/kubernetes/manifests",
                    data_dirs=(("master", PathState("/var/lib/etcd", "directory", 0o700, "etcd:etcd")),),
                    pki_dir=PathState("/etc/kubernetes/pki", "directory", 0o755, "root:root"),
                    pki_entries=(PathState("/etc/kubernetes/pki/etcd", "unreadable", error="Permission denied"),))
    from dataclasses import replace

    found = list(host_checks.cis_data_dir(replace(cp, host=good))) + list(host_checks.cis_pki(replace(cp, host=good)))
    assert [(f.id, f.value) for f in found] == [("host-path-unreadable", "etcd")]
    assert "sudo" in found[0].fix


# -- copies, data sets and captures: skipped, with one line ---------------------------------


def test_a_copy_is_not_judged_by_its_modes(tmp_path, capsys):
    node = kubeadm_node(tmp_path / "node")
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in (node / "etc/kubernetes/manifests").iterdir():
        (copy / f.name).write_text(f.read_text())
        (copy / f.name).chmod(0o666)
    cp = el.load(copy)
    assert cp.host is None and cp.nodes[0].pods[0].file_mode is None
    assert not {"cis-manifest-permissions", "cis-manifest-ownership"} & set(ids(el.doctor(cp)))
    rc, out, _ = run_cli(["doctor", str(copy)], capsys)
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("Host checks (CIS-1.9 1.1.7/1.1.8, 1.1.11/1.1.12, 1.1.19-1.1.21) skipped: ")
    assert "not read from a node's /etc/kubernetes/manifests" in last and "sudo etcdlab doctor" in last
    rc, out, _ = run_cli(["doctor", "--json", "single-control-plane"], capsys)
    assert json.loads(out)["host_checks"]["ran"] is False


def test_a_capture_says_the_api_does_not_show_the_files():
    cp = el.load(Path(el.dataset("single-control-plane").path) / "kubectl" / "get-po-o-yaml.yaml")
    assert "come from the API" in host_checks.host_checks_skipped(cp)


def test_the_node_s_own_directory_is_recognised(tmp_path, monkeypatch):
    """``etcdlab doctor /etc/kubernetes/manifests`` on the node is the node, copies are not."""
    from etcdlab.sources import host

    node = kubeadm_node(tmp_path)
    monkeypatch.setattr(host, "MANIFESTS", str(node / "etc/kubernetes/manifests"))
    assert host.node_root_of(node / "etc/kubernetes/manifests") == Path("/")
    assert host.node_root_of(node / "etc/kubernetes/manifests/etcd.yaml") == Path("/")
    assert host.node_root_of(tmp_path) is None


def test_no_path_on_a_node_reads_the_node(monkeypatch, tmp_path, capsys):
    import etcdlab.cli._source as source
    import etcdlab.sources.loading as loading

    node = kubeadm_node(tmp_path)
    asked = []
    monkeypatch.setattr(source, "NODE_MANIFESTS", str(node / "etc/kubernetes/manifests"))
    monkeypatch.setattr(loading, "load_node", lambda root: asked.append(root) or el.load_node(node))
    rc, out, _ = run_cli(["doctor"], capsys)
    assert asked == ["/"] and "Host checks ran" in out
    monkeypatch.setattr(source, "NODE_MANIFESTS", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit) as exc:
        main(["doctor"])
    assert exc.value.code == 2
    assert "--node on a control-plane node" in capsys.readouterr().err


def test_node_and_paths_together_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["doctor", "--node", "/", "single-control-plane"])
    assert exc.value.code == 2 and "give PATHs or --node, not both" in capsys.readouterr().err


def test_node_without_manifests_is_one_sentence(tmp_path, capsys):
    rc, out, err = run_cli(["doctor", "--node", str(tmp_path)], capsys)
    assert rc == 2 and one_sentence(err).endswith(
        "is not a directory: this is not a kubeadm control-plane node; give the root of a node's file system, "
        "or a manifest directory as PATH.")


def test_the_doctor_writes_nothing_on_the_node(tmp_path):
    node = kubeadm_node(tmp_path)

    def snapshot():
        return sorted((str(p), p.stat().st_mode, p.stat().st_mtime_ns) for p in node.rglob("*"))

    before = snapshot()
    el.doctor(el.load_node(node))
    assert snapshot() == before
