"""The "value" exercises and the engine: natural answer forms accepted, common wrong answers
refused with their own feedback, stepped hints, the solution gated behind tries, and no way
to read the answers by tab-completion or to pass with a clever ``__eq__``.

The answers are written here in the clear (the package keeps only their hashes).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

import etcdlab as el
from etcdlab.teach import engine
from etcdlab.teach.exercises import EXERCISES

#: every value exercise: the right answer in the forms a student writes it
RIGHT = {
    "01.1": ["master", " Master ", "'master'"],
    "01.2": [2379, "2379", 2379.0, "https://127.0.0.1:2379"],
    "01.3": ["--initial-advertise-peer-urls", "initial-advertise-peer-urls", " --Initial-Advertise-Peer-Urls ",
             "--initial-advertise-peer-urls=https://10.128.15.226:2380"],
    "01.4": ["/var/lib/etcd", "/var/lib/etcd/", Path("/var/lib/etcd"), PurePosixPath("/var/lib/etcd/")],
    "02.1": ["--etcd-certfile", "etcd-certfile", "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt"],
    "02.2": [["etcd-client-cert-missing", "cis-apiserver-etcd-certfile"],
             ("cis-apiserver-etcd-certfile", "etcd-client-cert-missing"),
             "etcd-client-cert-missing, cis-apiserver-etcd-certfile"],
    "02.3": [1, "1", 1.0],
    "03.1": [10, "10", "10 links"],
    "03.2": [5, "5"],
    "03.3": [["cp2", "cp3"], ("cp3", "cp2"), "cp2,cp3", ["etcd-cp2", "etcd-cp3"], {"cp2", "cp3"}],
    "03.4": [3, "3 members"],
    "04.1": [5, "5"],
    "04.2": [2, 2.0],
    "04.3": [["cp1", "cp3"], ("cp3", "cp1"), "cp1, cp3", [1, 3], ["etcd-cp1", "etcd-cp3"]],
    "04.4": [["cp4", "cp5", "cp6", "cp7"], "cp4, cp5, cp6, cp7", [4, 5, 6, 7], ("cp7", "cp6", "cp5", "cp4")],
    "04.5": ["discarded", ["discarded", "discarded"], "Discarded", "dropped"],
    "05.1": ["not TLS", "not tls", "TLSError: not TLS", "tls: first record does not look like a TLS handshake"],
    "05.2": ["--etcd-cafile", "etcd-cafile", "--etcd-cafile=/etc/kubernetes/pki/ca.crt"],
    "05.3": [3, "3"],
    "05.4": ["serializable", "serializable read", "Serializable reads", "serialisable"],
}

#: common wrong answers, and a word their own feedback must contain
WRONG = {
    "01.1": [("etcd-master", "Pod's name"), ("10.128.15.226", "IP")],
    "01.2": [(2380, "peer port"), ("2380", "peer port"), (2381, "health")],
    "01.3": [("--listen-peer-urls", "advertises"), ("--initial-cluster", "lists every member")],
    "01.4": [("/etc/kubernetes/pki/etcd", "certificates"), ("/var/lib/etcd/member", "inside")],
    "02.1": [("--etcd-keyfile", "private key"), ("--etcd-cafile", "trusts"), ("--cert-file", "etcd's own")],
    "02.2": [("etcd-servers-peer-port", "wrong-port"), (["etcd-client-cert-missing"], "one of them")],
    "02.3": [(3, "127.0.0.1")],
    "03.1": [(20, "twice"), (5, "members")],
    "03.2": [(1, "stacked-ha-3"), (15, "per apiserver")],
    "03.3": [(["cp1", "cp3"], "cp1 right")],
    "03.4": [(2, "majority"), (4, "earlier")],
    "04.1": [(4, "only 1"), (6, "smaller")],
    "04.2": [(3, "half")],
    "04.3": [(["cp1", "cp2", "cp3", "cp4", "cp5"], "down"), ("cp1", "not the only")],
    "04.4": [(["cp1", "cp2", "cp3"], "not a majority"), ("cp1,cp2,cp3,cp4,cp5,cp6,cp7", "nly one side")],
    "04.5": [("timed out", "majority side"), ("committed", "never a majority")],
    "05.1": [("wrong port", "peer port")],
    "05.2": [("--trusted-ca-file", "etcd's flag"), ("--etcd-certfile", "presents")],
    "05.3": [(2, "majority")],
    "05.4": [("linearizable", "majority")],
}


@pytest.fixture(autouse=True)
def fresh_progress():
    engine.reset()
    yield
    engine.reset()


def test_every_exercise_has_a_kind_and_every_value_exercise_is_tested_here():
    assert {ex.kind for ex in EXERCISES.values()} <= set(engine.KINDS)
    values = {k for k, ex in EXERCISES.items() if ex.kind == "value"}
    assert values == set(RIGHT) == set(WRONG)


def test_the_ids_of_the_gradebook_are_kept():
    old = {"01.1", "01.2", "01.3", "01.4", "02.1", "02.2", "02.3", "03.1", "03.2", "03.3", "03.4",
           "04.1", "04.2", "04.3", "04.4", "04.5", "05.1", "05.2", "05.3", "05.4"}
    assert old <= set(EXERCISES)


def test_each_notebook_has_two_exercises_that_are_not_values():
    for nb in ("01", "02", "03", "04", "05"):
        others = [k for k, ex in EXERCISES.items() if k.startswith(nb + ".") and ex.kind != "value"]
        assert len(others) >= 2, nb


@pytest.mark.parametrize("key,answer", [(k, a) for k, forms in RIGHT.items() for a in forms])
def test_right_answers_in_natural_forms_are_accepted(key, answer):
    verdict = el.check(key, answer)
    assert verdict.ok, (key, answer, verdict)
    assert repr(verdict).startswith(f"[{key}] Right.")


@pytest.mark.parametrize("key,answer,word", [(k, a, w) for k, pairs in WRONG.items() for a, w in pairs])
def test_common_wrong_answers_get_their_own_feedback(key, answer, word):
    verdict = el.check(key, answer)
    assert not verdict.ok
    first = repr(verdict).splitlines()[0]
    assert word in first, (key, answer, first)
    assert "Hint" not in repr(verdict)  # a first try gets the feedback, not a hint yet


@pytest.mark.parametrize("key", sorted(EXERCISES))
def test_unanswered_says_how_to_answer_and_nothing_more(key):
    ex = EXERCISES[key]
    verdict = el.check(key, None)
    text = repr(verdict)
    assert not verdict.ok and text.startswith(f"[{key}] ")
    assert f"el.hint({key!r})" in text
    for h in engine.opened(ex)["hints"]:
        assert h not in text
    if ex.kind == "value":
        assert "Not answered yet" in text and ex.form in text


def test_a_negated_choice_is_not_the_choice():
    assert not el.check("05.4", "not serializable").ok
    assert not el.check("05.4", "not linearizable").ok  # says what did *not* answer
    assert not el.check("04.5", "never committed").ok
    assert el.check("05.1", "it is not TLS").ok
    assert el.check("04.5", "they were discarded").ok


def test_bool_is_not_a_number():
    assert not el.check("02.3", True).ok  # True == 1, but it is not an answer
    assert "True/False" in repr(el.check("02.3", True))


def test_hints_come_in_steps_and_the_solution_after_two_tries():
    ex = engine.opened(EXERCISES["03.2"])
    assert "opens after 2 tries" in repr(el.solution("03.2"))
    assert all(h not in repr(EXERCISES["03.2"]) for h in ex["hints"])
    first = el.hint("03.2")
    assert ex["hints"][0] in repr(first) and "Hint 1 of 3" in repr(first)
    assert ex["hints"][1] in repr(el.hint("03.2"))
    last = repr(el.hint("03.2"))
    assert ex["hints"][2] in last and "last one" in last and "el.solution('03.2')" in last
    assert ex["hints"][2] in repr(el.hint("03.2"))  # stays on the last
    assert "opens after 2 tries" in repr(el.solution("03.2"))
    el.check("03.2", 1)
    assert "tried once" in repr(el.solution("03.2"))
    el.check("03.2", 2)
    shown = repr(el.solution("03.2"))
    assert shown.startswith("[03.2] Solution:") and "out_degree" in shown


def test_a_second_wrong_try_reveals_the_next_hint():
    ex = engine.opened(EXERCISES["03.1"])
    one = repr(el.check("03.1", 20))
    assert "Hint" not in one and "el.hint('03.1')" in one
    two = repr(el.check("03.1", 20))
    assert ex["hints"][0] in two and "el.solution('03.1')" in two
    three = repr(el.check("03.1", 7))
    assert ex["hints"][1] in three


def test_a_right_answer_opens_the_solution():
    assert el.check("04.2", 2).ok
    assert "tolerance" in repr(el.solution("04.2"))


def test_answers_cannot_be_read_by_tab_completion():
    for key, forms in RIGHT.items():
        ex = EXERCISES[key]
        public = {name: getattr(ex, name) for name in dir(ex) if not name.startswith("__")}
        assert "solution" not in public
        shown_anyway = (ex.question, ex.form)  # a choice question lists its choices
        blob = repr({k: v for k, v in public.items() if v not in shown_anyway})
        for answer in forms[:1]:
            if isinstance(answer, str) and len(answer) > 3:
                assert answer not in blob, key
        assert engine.opened(ex)["solution"]  # sealed, yet it opens


class AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class SneakyStr(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__

    def lower(self):
        return self

    def strip(self, *a):
        return self


class SneakyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("key", sorted(RIGHT))
def test_eq_tricks_are_refused(key):
    for trick in (AlwaysEqual(), SneakyStr("nope"), SneakyInt(12345), [AlwaysEqual()], object()):
        verdict = el.check(key, trick)
        assert not verdict.ok, (key, trick, verdict)


def test_plain_copies_subclasses_into_builtins():
    value = engine.plain(SneakyStr("abc"))
    assert type(value) is str and value == "abc"
    assert type(engine.plain(SneakyInt(3))) is int
    assert engine.plain(["a", ("b",)]) == ("a", ("b",))
    with pytest.raises(engine.WrongType):
        engine.plain([[["deep"]]])


def test_solutions_come_from_the_data_not_from_memory():
    """The answers the notebooks ask for are what the bundled data and the models say."""
    cp = el.load("single-control-plane")
    etcd = cp.members[0]
    assert el.check("01.1", cp.node_of(etcd).name).ok
    assert el.check("01.2", etcd.listen_client_urls[0].port).ok
    assert el.check("01.4", etcd.pod.host_path(etcd.data_dir)).ok
    symptom = "The apiserver on master cannot connect to etcd: the TLS handshake fails."
    (name,) = [d.name for d in el.datasets(broken=True) if d.summary == symptom]
    assert el.check("02.2", [f.id for f in el.doctor(name) if f.severity == "error"]).ok
    ha = el.load("stacked-ha-3")
    assert el.check("02.3", len(ha.apiservers[0].etcd_servers)).ok
    assert el.check("03.1", el.edge_counts(el.topology(el.stacked_control_plane(5)))["peer"]).ok
    gx = el.topology(el.load("external-etcd-5"))
    assert el.check("03.2", gx.out_degree("kube-apiserver-cp1")).ok
    (a, b, _), = el.broken_links(el.topology(el.load("broken/initial-cluster-typo")))
    assert el.check("03.3", [a, b]).ok
    downs = ["infra0", "infra1", "infra2", "infra3", "infra4"]
    first_lost = next(n for n in range(1, 6) if "quorum lost" in el.quorum_text(gx, down=downs[:n]))
    assert el.check("03.4", first_lost).ok
    assert el.check("04.1", next(n for n in range(1, 10) if el.ClusterState(n).tolerance >= 2)).ok
    assert el.check("04.2", el.ClusterState(6).tolerance).ok
    assert el.check("04.3", el.ClusterState(5).with_down("cp2", "cp4", "cp5").serializable_readers).ok
    assert el.check("04.4", el.ClusterState(7).with_partition("cp1,cp2,cp3/cp4,cp5,cp6,cp7").leader_side).ok
    p = el.simulate_election("partition", seed=1)
    assert el.check("04.5", [w.status for w in p.writes if w.value.startswith("lost")]).ok


def test_the_hints_of_03_build_their_own_graph():
    """The hints of 03.2-03.4 once used a stale ``g``; following them literally now works."""
    for key in ("03.2", "03.3", "03.4"):
        text = " ".join(engine.opened(EXERCISES[key])["hints"])
        assert " g." not in text and "(g," not in text and "(g)" not in text, key
    gx = el.topology(el.load("external-etcd-5"))
    assert gx.out_degree("kube-apiserver-cp1") == 5
    gt = el.topology(el.load("broken/initial-cluster-typo"))
    assert el.broken_links(gt)
    assert "quorum" in el.quorum_text(el.topology(el.load("external-etcd-5")), down=["infra0"])


def test_unknown_key_says_which_exist():
    verdict = el.check("99.9", 1)
    assert not verdict.ok and "01.1" in repr(verdict)
    assert "01.1" in repr(el.hint("99.9")) and "01.1" in repr(el.solution("99.9"))


def test_the_lab_challenge_reads_the_lab_and_has_one_answer():
    """04.6: two down and a running member cut off; 7 is the one smallest size."""
    s = el.ClusterState
    assert "not the lab" in repr(el.check("04.6", "7"))
    assert "Not answered yet" in repr(el.check("04.6", None))
    # the old ambiguity: 5 members with the two down ones on side B counts for nothing
    five = s(5).with_down("cp4", "cp5").with_partition("cp1,cp2,cp3/cp4,cp5")
    assert five.has_quorum and "switched off" in repr(el.check("04.6", five))
    assert "nly 1" in repr(el.check("04.6", s(7).with_down("cp7")))
    assert "not split" in repr(el.check("04.6", s(7).with_down("cp6", "cp7")))
    assert "o side holds a majority" in repr(el.check("04.6", s(6).with_down("cp5", "cp6").with_partition("cp1")))
    assert "smaller" in repr(el.check("04.6", s(9).with_down("cp8", "cp9").with_partition("cp1")))
    assert el.check("04.6", s(7).with_down("cp6", "cp7").with_partition("cp1")).ok


def test_the_lab_challenge_in_the_widget_itself():
    lab = el.quorum_app(3, draw=False)
    assert "Not answered yet" in repr(el.check("04.6", lab))
    lab.switch("cp3", up=False)
    assert "nly 1" in repr(el.check("04.6", lab))
    lab.switch("cp3", up=True)
    lab.set_size(7)
    lab.switch("cp6", up=False)
    lab.switch("cp7", up=False)
    lab.partition(["cp1"])
    assert el.check("04.6", lab).ok
