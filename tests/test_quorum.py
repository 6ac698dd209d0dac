"""The quorum model against etcd's own table (FACTS.md §3), exhaustively.

Every failure set of every cluster of up to 9 members, and every two-way partition
(combined with every failure set) up to 7 members, is checked against the rule the
table encodes: a member can lead, write and read linearizably exactly when it is up
and a majority (n // 2 + 1) of the voting members is up *on its side*; every member that
is up answers serializable reads.
"""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from etcdlab import EtcdlabError, cli
from etcdlab.model.quorum import ScenarioError, fault_tolerance, member_names, quorum_size
from etcdlab.sim.quorum import ClusterState, parse_partition
from etcdlab.sim.tolerance import fault_tolerance_table, format_table

#: FACTS.md §3, copied by hand: members -> (majority, failures tolerated)
ETCD_TABLE = {1: (1, 0), 2: (2, 0), 3: (2, 1), 4: (3, 1), 5: (3, 2), 6: (4, 2), 7: (4, 3),
              8: (5, 3), 9: (5, 4)}


def subsets(items):
    for k in range(len(items) + 1):
        yield from combinations(items, k)


def two_way_partitions(names):
    """Every split of ``names`` into two non-empty sides (each split once)."""
    first, rest = names[0], names[1:]
    for other in subsets(rest):
        side_b = tuple(m for m in rest if m not in other)
        if side_b:
            yield (first, *other), side_b


def test_table_matches_etcd():
    rows = fault_tolerance_table()
    assert [(r.size, r.quorum, r.tolerance) for r in rows] == [
        (n, q, t) for n, (q, t) in ETCD_TABLE.items()]
    for n, (q, t) in ETCD_TABLE.items():
        assert quorum_size(n) == q and fault_tolerance(n) == t
        assert ClusterState(n).quorum == q and ClusterState(n).tolerance == t


def test_table_text_marks_even_sizes():
    text = format_table()
    assert "(no better than 3)" in text and "<- production" in text
    assert len(text.splitlines()) == 10


@pytest.mark.parametrize("n", range(1, 10))
def test_tolerance_is_the_most_failures_that_keep_quorum(n):
    names = member_names(n)
    keeps = [k for k in range(n + 1) if all(ClusterState(n, down=d).has_quorum
                                            for d in combinations(names, k))]
    loses = [k for k in range(n + 1) if not any(ClusterState(n, down=d).has_quorum
                                                for d in combinations(names, k))]
    assert max(keeps) == ETCD_TABLE[n][1]
    assert min(loses) == ETCD_TABLE[n][1] + 1


@pytest.mark.parametrize("n", range(1, 10))
def test_every_failure_set(n):
    q = ETCD_TABLE[n][0]
    names = member_names(n)
    for down in subsets(names):
        s = ClusterState(n, down=frozenset(down))
        up = tuple(m for m in names if m not in down)
        quorum = len(up) >= q
        assert s.has_quorum is quorum and s.writable is quorum, (n, down)
        assert s.up == up and s.serializable_readers == up
        assert s.leader_side == (up if quorum else None)
        assert s.writers == s.linearizable_readers == (up if quorum else ())
        assert (s.leader in up) if quorum else s.leader is None
        assert s.failures_left == (len(up) - q if quorum else 0)
        assert s.members_needed == (0 if quorum else q - len(up))
        for m in names:
            st = s.member(m)
            able = quorum and m in up
            assert (st.can_lead, st.can_write, st.can_read_linearizable) == (able, able, able)
            assert st.can_read_serializable is (m in up)
            assert st.is_leader is (m == s.leader)
        # the words agree with the numbers
        assert s.status_line().startswith("Quorum holds" if quorum else "No quorum")


@pytest.mark.parametrize("n", range(2, 8))
def test_every_two_way_partition_with_every_failure_set(n):
    q = ETCD_TABLE[n][0]
    names = member_names(n)
    for a, b in two_way_partitions(names):
        for down in subsets(names):
            s = ClusterState(n, down=frozenset(down), partition=(a, b))
            up_a = [m for m in a if m not in down]
            up_b = [m for m in b if m not in down]
            holders = [side for side in (up_a, up_b) if len(side) >= q]
            assert len(holders) <= 1, "split brain"
            assert s.has_quorum is bool(holders)
            assert s.leader_side == (tuple(holders[0]) if holders else None)
            assert s.serializable_readers == tuple(m for m in names if m not in down)
            for m in names:
                st = s.member(m)
                able = bool(holders) and m in holders[0]
                assert (st.can_lead, st.can_write, st.can_read_linearizable) == (able, able, able), \
                    (n, a, b, down, m)
                assert st.can_read_serializable is (m not in down)
            if not down and n % 2 == 1:
                assert s.has_quorum, "an odd cluster always keeps one majority side"
            if not down and len(a) == len(b):
                assert not s.has_quorum, "an even split leaves no majority"
            cut = set(s.cut_links())
            assert cut == {tuple(sorted((x, y), key=names.index)) for x in a for y in b}


def test_learners_do_not_vote():
    s = ClusterState(4, learners={"cp4"})
    assert s.voters == ("cp1", "cp2", "cp3") and s.quorum == 2 and s.tolerance == 1
    assert not s.member("cp4").can_write and s.member("cp4").can_read_serializable
    assert s.request("cp4", "write").message.startswith("etcdserver: rpc not supported for learner")
    # the learner being up does not save quorum
    lost = s.with_down("cp1", "cp2")
    assert not lost.has_quorum and lost.serializable_readers == ("cp3", "cp4")
    assert "learner" in s.status_line()
    with pytest.raises(ScenarioError, match="one learner at a time"):
        ClusterState(5, learners={"cp4", "cp5"})
    with pytest.raises(ScenarioError, match="at least one voting member"):
        ClusterState(1, learners={"cp1"})


def test_a_healthy_leader_stays():
    s = ClusterState(3)
    assert s.leader == "cp1"
    s = s.with_down("cp2")
    assert s.leader == "cp1"
    s = s.with_up("cp2").with_down("cp1")
    assert s.leader == "cp2"
    s = s.with_up("cp1")
    assert s.leader == "cp2", "a member coming back does not take the leadership back"
    s = ClusterState(5).with_partition("1,2/3,4,5")
    assert s.leader == "cp3"
    assert s.healed().leader == "cp3"


def test_toggle_resize_and_names():
    s = ClusterState(5).toggled(2).toggled("cp5")
    assert s.down == {"cp2", "cp5"} and s.toggled("2").down == {"cp5"}
    small = s.with_partition("1,5").resized(3)
    assert small.down == {"cp2"} and small.partition == (("cp1",), ("cp2", "cp3"))
    assert ClusterState(3).with_partition("1,2/3").resized(2).partition == ()


def test_parse_partition():
    assert parse_partition("cp1,cp2/cp3,cp4,cp5", 5) == (
        ("cp1", "cp2"), ("cp3", "cp4", "cp5"))
    assert parse_partition("3 / 1", 4) == (("cp1",), ("cp2", "cp4"), ("cp3",))
    assert parse_partition("1,2,3", 3) == ()  # everyone on one side: no partition
    assert parse_partition("", 3) == ()


@pytest.mark.parametrize("bad, match", [
    (lambda: ClusterState(0), "from 1 to 9"),
    (lambda: ClusterState(10), "from 1 to 9"),
    (lambda: ClusterState("three"), "whole number"),
    (lambda: ClusterState(3, down={"cp4"}), "no member 'cp4' in a 3-member cluster"),
    (lambda: ClusterState(3).with_partition("1,2/2,3"), "on two sides"),
    (lambda: ClusterState.scenario(3, down=4), "cannot switch off 4"),
    (lambda: ClusterState(3, down=2), r"use ClusterState.scenario\(3, down=2\)"),
    (lambda: ClusterState(3).request(1, "delete"), "unknown operation"),
])
def test_bad_scenarios_say_what_to_do(bad, match):
    with pytest.raises(ScenarioError, match=match) as err:
        bad()
    assert isinstance(err.value, EtcdlabError) and isinstance(err.value, ValueError)


def test_what_each_client_gets():
    s = ClusterState.scenario(3, down=2)  # cp2 and cp3 down
    assert s.down == {"cp2", "cp3"}
    w, lin, ser = (s.request("cp1", op) for op in ("write", "linearizable read", "serializable read"))
    assert (w.ok, lin.ok, ser.ok) == (False, False, True)
    assert "etcdserver: request timed out" in w.message and "stale" in ser.message
    assert s.request("cp2", "serializable read").message.startswith("no answer: cp2 is down")
    p = ClusterState(5).with_partition("1,2")
    assert [a.ok for a in p.requests("write")] == [False, False, True, True, True]
    assert "forwarded to the leader cp3" in p.request(5, "write").message
    assert "majority is on the other side" in p.request(1, "linearizable read").message
    assert all(a.ok for a in p.requests("serializable read"))


def test_status_line_explains_why():
    assert "It survives 1 more failure." in ClusterState(3).status_line()
    assert "survives 0 more failures" in ClusterState(3).with_down(3).status_line()
    lost = ClusterState(3).with_down(2, 3).status_line()
    assert lost.startswith("No quorum: only 1 of 3 voting members is up")
    assert "serializable reads still answer on cp1" in lost and "Bring back 1 voting member" in lost
    even = ClusterState(4).with_partition("1,2").status_line()
    assert "no side holds a majority" in even and "Heal the partition" in even
    assert "An even size buys nothing" in even
    assert "No split brain" in ClusterState(5).with_partition("1,2").status_line()


# ----------------------------------------------------------------------------- CLI

def run_cli(capsys, *argv):
    code = cli.main(["quorum", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_table(capsys):
    code, out, _ = run_cli(capsys, "--json")
    assert code == 0
    assert json.loads(out) == [{"size": n, "quorum": q, "tolerance": t} for n, (q, t) in ETCD_TABLE.items()]
    code, out, _ = run_cli(capsys)
    assert code == 0 and out.startswith("members  quorum  failures tolerated")


def test_cli_scenario_json(capsys):
    code, out, _ = run_cli(capsys, "--size", "3", "--down", "2", "--json")
    s = json.loads(out)
    assert code == 1
    assert (s["size"], s["up"], s["has_quorum"], s["writable"], s["leader_side"],
            s["serializable_readers"]) == (3, ["cp1"], False, False, None, ["cp1"])
    code, out, _ = run_cli(capsys, "--size", "5", "--partition", "cp1,cp2/cp3,cp4,cp5",
                           "--json")
    s = json.loads(out)
    assert code == 0 and s["leader_side"] == ["cp3", "cp4", "cp5"] and s["writable"]
    assert s["serializable_readers"] == [f"cp{i}" for i in range(1, 6)]
    code, out, _ = run_cli(capsys, "--size", "5", "--down-members", "etcd-cp1,4", "--json")
    assert code == 0 and json.loads(out)["down"] == ["cp1", "cp4"]


def test_cli_scenario_text(capsys):
    code, out, _ = run_cli(capsys, "--size", "4", "--partition", "1,2/3,4")
    assert code == 1
    assert "quorum:             NO" in out and "An even size buys nothing" in out


@pytest.mark.parametrize("argv, words", [
    (["--size", "12"], "from 1 to 9"),
    (["--size", "3", "--down-members", "cp7"], "no member 'cp7'"),
    (["--size", "3", "--partition", "1/1"], "on two sides"),
])
def test_cli_bad_input_is_one_line(capsys, argv, words):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("etcdlab: ") and words in err and err.count("\n") == 1


def test_the_majority_rule_is_written_once():
    """``n // 2 + 1`` (and its twin, tolerance ``(n - 1) // 2``) lives in quorum_size only:
    every other module that needs a quorum calls it, so they cannot drift apart."""
    import ast
    from pathlib import Path

    import etcdlab

    def is_const(node, value):
        return isinstance(node, ast.Constant) and node.value == value

    found = []
    for path in sorted(Path(etcdlab.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        allowed = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "quorum_size"
                   and path.name == "quorum.py" for n in ast.walk(f)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.BinOp) or id(node) in allowed:
                continue
            half = node.left if isinstance(node.op, ast.Add) and is_const(node.right, 1) else None
            if isinstance(node.op, ast.FloorDiv) and is_const(node.right, 2) and isinstance(node.left, ast.BinOp) \
                    and isinstance(node.left.op, ast.Sub) and is_const(node.left.right, 1):
                found.append(f"{path.name}:{node.lineno}")  # (n - 1) // 2
            elif isinstance(half, ast.BinOp) and isinstance(half.op, ast.FloorDiv) and is_const(half.right, 2):
                found.append(f"{path.name}:{node.lineno}")  # n // 2 + 1
    assert found == []


def test_quorum_size_is_arithmetic_for_any_cluster():
    # the 1-9 limit is the scenario model's (member names, exhaustive checks), not the rule's
    assert [quorum_size(n) for n in (10, 11, 12)] == [6, 6, 7] and fault_tolerance(11) == 5
    for bad in (0, -3, True, 2.5, "three"):
        with pytest.raises(ScenarioError):
            quorum_size(bad)
    with pytest.raises(ScenarioError, match="1 to 9"):
        ClusterState(10)


def test_one_plural_helper_for_the_doctor_and_the_quorum_texts():
    from etcdlab.diagnosis import report
    from etcdlab.sim import quorum

    assert quorum.plural is report.plural
    assert [report.plural(n, w) for n, w in ((1, "failure"), (2, "failure"), (0, "vote"), (3, "info"))] == [
        "1 failure", "2 failures", "0 votes", "3 info"]
