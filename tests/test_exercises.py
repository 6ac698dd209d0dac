"""Every exercise accepts its solution and refuses a wrong answer, with a hint."""

import pytest

import etcdlab as el
from etcdlab.teach.exercises import EXERCISES, normalize


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_solution_is_accepted(key):
    ex = EXERCISES[key]
    verdict = el.check(key, ex.solution)
    assert verdict.ok, (key, verdict)
    assert "Right" in repr(verdict)


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_wrong_and_missing_answers_get_a_hint(key):
    wrong = el.check(key, "certainly-not-the-answer-42")
    assert not wrong.ok and "Hint:" in repr(wrong)
    missing = el.check(key, None)
    assert not missing.ok and "Not answered yet" in repr(missing)


def test_answers_are_normalised_like_a_person_would_expect():
    assert el.check("01.3", "initial-advertise-peer-urls").ok
    assert el.check("01.3", " --Initial-Advertise-Peer-Urls ").ok
    assert el.check("01.2", "2379").ok and el.check("01.2", 2379.0).ok
    assert normalize(["b", "a"]) == normalize(("a", "b"))


def test_solutions_come_from_the_data_not_from_memory():
    """The answers the notebooks ask for are what the bundled data says."""
    cp = el.load("single-control-plane")
    etcd = cp.members[0]
    assert el.check("01.1", cp.node_of(etcd).name).ok
    assert el.check("01.2", etcd.listen_client_urls[0].port).ok
    assert el.check("01.4", etcd.pod.host_path(etcd.data_dir)).ok
    errors = [f.id for f in el.doctor("broken/wrong-port") if f.severity == "error"]
    assert el.check("02.2", errors[0]).ok
    ha = el.load("stacked-ha-3")
    assert el.check("02.3", len(ha.apiservers[0].etcd_servers)).ok


def test_unknown_key_says_which_exist():
    verdict = el.check("99.9", 1)
    assert not verdict.ok and "01.1" in repr(verdict)
