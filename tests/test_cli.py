"""The etcdlab command: sub-commands shared by the foundation (datasets, inspect, flags)."""

import json
import subprocess
import sys

import pytest

from etcdlab.cli import main
from etcdlab import kubeadm


@pytest.fixture
def node_dir(tmp_path):
    d = tmp_path / "manifests"
    d.mkdir()
    (d / "etcd.yaml").write_text(kubeadm.to_yaml(kubeadm.etcd_manifest("master", "10.128.15.226")))
    (d / "kube-apiserver.yaml").write_text(kubeadm.to_yaml(kubeadm.apiserver_manifest("master", "10.128.15.226")))
    return d


def test_datasets_lists_clean_then_broken(capsys):
    assert main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [l.split()[0] for l in lines]
    assert "single-control-plane" in names and "stacked-ha-3" in names and "external-etcd-5" in names
    broken = [n for n in names if n.startswith("broken/")]
    assert broken and names.index(broken[0]) > names.index("single-control-plane")
    assert all(len(l.split(None, 1)) == 2 for l in lines)  # every data set has a summary


def test_datasets_json(capsys):
    assert main(["datasets", "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert {"name", "summary", "broken", "expect"} <= set(items[0])
    assert all(i["expect"] for i in items if i["broken"])


def test_inspect_directory(node_dir, capsys):
    assert main(["inspect", str(node_dir)]) == 0
    out = capsys.readouterr().out
    assert "1 etcd member(s)" in out
    assert "client   https://127.0.0.1:2379, https://10.128.15.226:2379" in out
    assert "peer     https://10.128.15.226:2380" in out
    assert "metrics  http://127.0.0.1:2381" in out
    assert "--etcd-servers   https://127.0.0.1:2379" in out


def test_inspect_json_of_a_dataset(capsys):
    assert main(["inspect", "stacked-ha-3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["topology"] == "stacked"
    assert len(data["members"]) == 3 and len(data["apiservers"]) == 3
    assert [len(m["initial_cluster"]) for m in data["members"]] == [1, 2, 3]


def test_flags_table(node_dir, capsys):
    assert main(["flags", str(node_dir / "etcd.yaml")]) == 0
    out = capsys.readouterr().out
    assert "--listen-peer-urls" in out and "Raft" in out


def test_flags_of_a_directory_is_bad_input(node_dir, capsys):
    assert main(["flags", str(node_dir)]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["inspect", "/nonexistent/etcd.yaml"], ["inspect", "no-such-dataset"],
                                  ["flags", "/nonexistent.yaml"]])
def test_missing_input_exits_2_with_one_sentence(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.endswith(".")
    assert "Traceback" not in err


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["inspect"])
    assert exc.value.code == 2


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: etcdlab" in capsys.readouterr().out


def test_console_script_runs_as_a_process(etcdlab_cmd, node_dir):
    ok = subprocess.run(etcdlab_cmd + ["inspect", str(node_dir)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "ETCD MEMBERS" in ok.stdout
    bad = subprocess.run(etcdlab_cmd + ["inspect", str(node_dir / "nope.yaml")], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and len(bad.stderr.splitlines()) == 1


def test_python_dash_m_works(node_dir):
    r = subprocess.run([sys.executable, "-m", "etcdlab", "--version"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("etcdlab ")


@pytest.mark.parametrize("argv", [["doctor"], ["quorum", "--size", "x"], ["nosuch"], ["graph", "stacked-ha-3", "-o"],
                                  ["inspect", "--json"]])
def test_usage_errors_are_one_line_with_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--help" in err and err.startswith("etcdlab")


def test_only_the_named_sub_command_is_built_but_help_lists_them_all():
    from etcdlab.cli.command import COMMANDS, _command_in, build_parser

    assert _command_in(["doctor", "single-control-plane", "--json"]) == "doctor"
    assert _command_in(["--version"]) is None and _command_in(["nonsense"]) is None
    only = build_parser(only="doctor")._subparsers._group_actions[0].choices
    assert list(only) == ["doctor"]
    full = build_parser()._subparsers._group_actions[0].choices
    assert list(full) == list(COMMANDS)
