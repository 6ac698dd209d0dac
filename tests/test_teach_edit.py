""""edit" exercises, done for real: copy the cluster, edit the student's files, check.

Each test edits the copied manifests the way a student would (a text edit of the YAML, or
the copy's ``replace`` helper) and proves the check re-reads the files: the right fix
passes, and wrong fixes are refused naming what is still wrong.
"""

from __future__ import annotations

import os
import shutil

import pytest

import etcdlab as el
from etcdlab.errors import EtcdlabError
from etcdlab.teach import engine
from etcdlab.teach.exercises import EXERCISES

#: exercise -> (old text, new text) of the fix, in the file the exercise is about
FIXES = {
    "01.5": ("--data-dir=/var/lib/etcd-data", "--data-dir=/var/lib/etcd"),
    "01.6": ("--advertise-client-urls=https://10.128.15.227:2379", "--advertise-client-urls=https://10.128.15.226:2379"),
    "02.4": ("--etcd-servers=http://127.0.0.1:2379", "--etcd-servers=https://127.0.0.1:2379"),
    "02.5": ("--etcd-cafile=/etc/kubernetes/pki/ca.crt", "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt"),
    "03.5": ("cp2=https://10.0.0.21:2380", "cp2=https://10.0.0.12:2380"),
    "03.6": ("https://10.0.1.16:2379", "https://10.0.1.15:2379"),
}


@pytest.fixture(autouse=True)
def fresh_progress():
    engine.reset()
    yield
    engine.reset()


def edit_file(path, old, new):
    """What a student does in JupyterLab's editor: change the text, save."""
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def test_every_edit_exercise_is_tested():
    edits = {k for k, ex in EXERCISES.items() if ex.kind == "edit"}
    assert edits == set(FIXES) | {"04.7"}


@pytest.mark.parametrize("key", sorted(FIXES))
def test_the_real_fix_passes_and_the_untouched_copy_is_unanswered(key, tmp_path):
    work = el.exercise_copy(key, tmp_path / key)
    shown = repr(work)
    assert "Symptom:" in shown and "broken/" not in shown  # the symptom, not the data set's name
    assert not list(tmp_path.rglob("dataset.yaml")) and not list(tmp_path.rglob("README.md"))
    unchanged = repr(el.check(key))
    assert "unchanged" in unchanged and "Hint" not in unchanged
    old, new = FIXES[key]
    edit_file(work.path(), old, new)
    verdict = el.check(key)
    assert verdict.ok, verdict
    assert not [f for f in work.doctor() if f.severity == "error"]


@pytest.mark.parametrize("key", sorted(FIXES))
def test_no_copy_yet_says_how_to_start(key):
    from etcdlab.teach import workspace

    workspace.COPIES.pop(key, None)
    text = repr(el.check(key))
    assert f"el.exercise_copy({key!r})" in text and "Hint" not in text


def test_the_remaining_finding_is_named(tmp_path):
    work = el.exercise_copy("02.4", tmp_path / "w")
    # an unrelated edit: the copy changed, the problem did not
    edit_file(work.path(), "--secure-port=6443", "--secure-port=6444")
    text = repr(el.check("02.4"))
    assert "etcd-servers-scheme" in text and "kube-apiserver.yaml" in text


def test_a_fix_that_makes_a_new_error_is_refused(tmp_path):
    work = el.exercise_copy("02.4", tmp_path / "w")
    work.replace("--etcd-servers=http://127.0.0.1:2379", "--etcd-servers=https://127.0.0.1:2380")
    text = repr(el.check("02.4"))
    assert "new one" in text and "etcd-servers-peer-port" in text


def test_deleting_the_manifest_is_no_fix(tmp_path):
    work = el.exercise_copy("02.4", tmp_path / "w")
    os.remove(work.path())
    text = repr(el.check("02.4"))
    assert not el.check("02.4").ok and "kube-apiserver on master is gone" in text


def test_yaml_that_no_longer_parses_is_named(tmp_path):
    work = el.exercise_copy("02.5", tmp_path / "w")
    edit_file(work.path(), "spec:", "spec: [")
    text = repr(el.check("02.5"))
    assert "no longer load" in text


def test_the_other_fix_of_the_data_dir_passes_too(tmp_path):
    """Mounting the volume at --data-dir's path works as well as pointing --data-dir at the mount."""
    work = el.exercise_copy("01.5", tmp_path / "w")
    edit_file(work.path(), "- mountPath: /var/lib/etcd\n", "- mountPath: /var/lib/etcd-data\n")
    assert el.check("01.5").ok


def test_the_typo_fix_is_checked_on_the_graph_too(tmp_path):
    work = el.exercise_copy("03.5", tmp_path / "w")
    # a "fix" of the wrong member's address keeps the peer link broken
    work.replace("cp1=https://10.0.0.11:2380", "cp1=https://10.0.0.99:2380")
    assert not el.check("03.5").ok
    work.reset()
    assert "unchanged" in repr(el.check("03.5"))
    work.replace("cp2=https://10.0.0.21:2380", "cp2=https://10.0.0.12:2380")
    assert el.check("03.5").ok
    assert el.broken_links(el.topology(work.load())) == []


def test_the_unknown_endpoint_fix_gives_15_working_links(tmp_path):
    work = el.exercise_copy("03.6", tmp_path / "w")
    work.replace("https://10.0.1.16:2379", "https://10.0.1.14:2379")  # a member listed twice
    assert not el.check("03.6").ok
    work.replace("https://10.0.1.14:2379,https://10.0.1.14:2379", "https://10.0.1.14:2379,https://10.0.1.15:2379")
    assert el.check("03.6").ok
    assert el.edge_counts(el.topology(work.load()))["client"] == 15


def test_the_even_cluster_is_fixed_by_removing_a_whole_node(tmp_path):
    work = el.exercise_copy("04.7", tmp_path / "w")
    # removing only etcd leaves cp4's apiserver dialing 127.0.0.1:2379 with nobody there
    os.remove(work.path("cp4", "etcd"))
    text = repr(el.check("04.7"))
    assert not el.check("04.7").ok and "etcd on cp4 is gone" in text
    work.reset()
    work.remove_node("cp4")
    assert el.check("04.7").ok
    assert len(work.load().members) == 3


def test_the_even_cluster_is_not_fixed_by_removing_two_nodes(tmp_path):
    work = el.exercise_copy("04.7", tmp_path / "w")
    shutil.rmtree(work.nodes_dir / "cp4")
    shutil.rmtree(work.nodes_dir / "cp3")
    verdict = el.check("04.7")
    assert not verdict.ok and "cluster-even-size" in repr(verdict)


def test_a_copy_is_kept_across_calls_and_fresh_starts_over(tmp_path):
    work = el.exercise_copy("02.4", tmp_path / "w")
    work.replace("--etcd-servers=http://127.0.0.1:2379", "--etcd-servers=https://127.0.0.1:2379")
    again = el.exercise_copy("02.4", tmp_path / "w")
    assert again.changed() and el.check("02.4").ok
    assert not el.exercise_copy("02.4", tmp_path / "w", fresh=True).changed()


def test_the_default_copy_is_under_lab_work_and_ignores_itself(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    work = el.exercise_copy("02.4")
    assert work.directory == tmp_path / "lab-work" / "02.4"
    assert (tmp_path / "lab-work" / ".gitignore").read_text().strip().endswith("*")
    assert repr(work).startswith("[02.4] Your copy of the cluster: lab-work/02.4/")


def test_replace_needs_text_that_occurs_once(tmp_path):
    work = el.exercise_copy("02.4", tmp_path / "w")
    with pytest.raises(EtcdlabError, match="0 times"):
        work.replace("no such text", "x")
    with pytest.raises(EtcdlabError):
        el.exercise_copy("01.1")


def test_hints_and_solution_of_an_edit_exercise(tmp_path):
    work = el.exercise_copy("02.4", tmp_path / "w")
    assert "opens after 2 tries" in repr(el.solution("02.4"))
    edit_file(work.path(), "--secure-port=6443", "--secure-port=6444")
    el.check("02.4")
    second = repr(el.check("02.4"))
    assert "Hint 1 of 3" in second
    assert "--etcd-servers=https://127.0.0.1:2379" in repr(el.solution("02.4"))
    assert "Symptom" in el.exercise_copy("02.4", tmp_path / "w").__repr__()
