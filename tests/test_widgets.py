"""The quorum app, driven without a browser: set widget values, click buttons, read the
status line, the answers and the drawing's state."""

from __future__ import annotations

import pytest

from etcdlab import EtcdlabError
from etcdlab.sim.widgets import APP_SIZES, quorum_app

ipywidgets = pytest.importorskip("ipywidgets")


def classes(widget) -> set[str]:
    return set(widget._dom_classes)


@pytest.fixture
def app():
    return quorum_app(3, draw=False)


def test_every_widget_has_a_stable_css_class(app):
    assert "etcdlab-quorum-app" in classes(app.root)
    assert "etcdlab-size" in classes(app.size_picker)
    assert "etcdlab-status" in classes(app.status)
    assert "etcdlab-answers" in classes(app.answers_html)
    assert "etcdlab-log" in classes(app.log_html)
    assert "etcdlab-drawing" in classes(app.image)
    assert "etcdlab-heal" in classes(app.heal_button)
    for name, toggle in app.member_toggles.items():
        assert {"etcdlab-member", f"etcdlab-member-{name}"} <= classes(toggle)
        assert {"etcdlab-side", f"etcdlab-side-{name}"} <= classes(app.side_pickers[name])
    assert {op: {c for c in classes(b) if c != "etcdlab-client"} for op, b in app.client_buttons.items()} == {
        "write": {"etcdlab-write"}, "linearizable read": {"etcdlab-linearizable-read"},
        "serializable read": {"etcdlab-serializable-read"}}
    assert list(app.size_picker.options) == [(str(n), n) for n in APP_SIZES]


def test_switching_members_off_until_quorum_is_lost(app):
    assert app.status_text.startswith("Quorum holds: 3 of 3")
    assert [t.description for t in app.member_toggles.values()] == ["cp1", "cp2", "cp3"]
    app.member_toggles["cp3"].value = False
    assert app.state.down == {"cp3"} and app.state.has_quorum
    assert "survives 0 more failures" in app.status_text
    assert app.member_toggles["cp3"].button_style == "danger"
    assert app.role_labels["cp1"].value == "<small>leader</small>"
    app.member_toggles["cp2"].value = False
    assert not app.state.has_quorum
    assert app.status_text.startswith("No quorum: only 1 of 3 voting members is up")
    assert "<b>No quorum: only 1 of 3" in app.status.value
    assert app.role_labels["cp1"].value == "<small>no quorum</small>"
    # and back
    app.member_toggles["cp2"].value = True
    assert app.state.has_quorum and app.state.leader == "cp1"


def test_client_buttons_show_what_each_apiserver_gets(app):
    app.switch("cp2", up=False)
    app.switch(3, up=False)
    app.client_buttons["write"].click()
    assert [(a.member, a.ok) for a in app.answers] == [("cp1", False), ("cp2", False), ("cp3", False)]
    assert "etcdserver: request timed out" in app.answers_html.value
    app.client_buttons["serializable read"].click()
    assert [a.ok for a in app.answers] == [True, False, False]
    assert "may be stale" in app.answers_html.value
    assert app.log[-1] == "#5 serializable read: OK on cp1; fails on cp2, cp3"
    # a change clears the answers: they belonged to the old state
    app.switch("cp2", up=True)
    assert app.answers == [] and "Press a client button" in app.answers_html.value


def test_partition_editor(app):
    app.set_size(5)
    app.side_pickers["cp1"].value = "B"
    app.side_pickers["cp2"].value = "B"
    s = app.state
    assert s.partition == (("cp1", "cp2"), ("cp3", "cp4", "cp5"))
    assert s.leader == "cp3" and s.leader_side == ("cp3", "cp4", "cp5")
    assert app.role_labels["cp1"].value == "<small>cut off</small>"
    assert app.status.value.index("Quorum holds on the side") < app.status.value.index("Network partition")
    app.client_buttons["linearizable read"].click()
    assert [a.ok for a in app.answers] == [False, False, True, True, True]
    assert "<td>B</td>" in app.answers_html.value
    app.heal_button.click()
    assert not app.state.partitioned and all(p.value == "A" for p in app.side_pickers.values())
    assert app.state.leader == "cp3", "healing does not move the leader"
    # everyone on side B is no partition either
    for p in app.side_pickers.values():
        p.value = "B"
    assert not app.state.partitioned


def test_even_sizes_and_an_even_split(app):
    app.size_picker.value = 4
    assert len(app.member_toggles) == 4 and len(app.members_box.children) == 4
    assert "An even size buys nothing" in app.status_text
    app.partition(["cp3", "cp4"])
    assert not app.state.has_quorum
    assert "no side holds a majority" in app.status_text and "Heal the partition" in app.status_text


def test_resizing_keeps_what_still_exists(app):
    app.switch("cp2", up=False)
    app.size_picker.value = 5
    assert app.state.down == {"cp2"} and not app.member_toggles["cp2"].value
    app.switch("cp5", up=False)
    app.size_picker.value = 1
    assert list(app.member_toggles) == ["cp1"] and app.state.down == frozenset()
    assert app.status_text.startswith("Quorum holds: 1 of 1")
    app.reset_button.click()
    assert app.state.down == frozenset()


def test_building_and_using_the_app_prints_nothing(capsys):
    a = quorum_app(5, draw=False)
    a.switch(1, up=False)
    a.partition([2])
    a.client_buttons["write"].click()
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_plain_text_view_is_the_status(app):
    app.switch(3, up=False)
    bundle = app._repr_mimebundle_()
    assert bundle["text/plain"] == "[quorum lab: 3 members] " + app.status_text
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_bad_size():
    with pytest.raises(EtcdlabError, match="offers 1, 2, 3, 4, 5, 6, 7 members, not 9"):
        quorum_app(9)


def test_the_drawing_follows_the_state():
    app = quorum_app(3)
    d = app.drawing
    assert app.image.format == "svg+xml" and bytes(app.image.value).startswith(b"<?xml")
    assert d.down == frozenset() and d.cut == frozenset() and d.status == "3/3 up — quorum held"
    first = app.image.value
    app.member_toggles["cp2"].value = False
    assert d.down == {"etcd-cp2"} and bytes(app.image.value) != bytes(first)
    app.member_toggles["cp3"].value = False
    assert d.status == "1/3 up — quorum lost (needs 2)"
    app.reset_button.click()
    app.side_pickers["cp1"].value = "B"
    assert d.down == frozenset()
    assert d.cut == {frozenset({"etcd-cp1", "etcd-cp2"}), frozenset({"etcd-cp1", "etcd-cp3"})}
    assert "quorum held by the 2" in d.status
    app.size_picker.value = 5
    assert app.drawing is not d and len([n for n in app.drawing.graph if n.startswith("etcd-")]) == 5
    assert app.drawing.cut == {frozenset({"etcd-cp1", f"etcd-cp{i}"}) for i in range(2, 6)}


def test_the_drawing_and_the_model_agree_on_quorum():
    """The drawing computes its quorum line from its own graph; it must agree with the model
    for every failure set and every two-way partition of a 5-member cluster."""
    from itertools import combinations

    from etcdlab.sim.quorum import ClusterState, two_way_splits

    app = quorum_app(5)
    names = app.state.members
    for sides in [()] + two_way_splits(5):
        for k in range(6):
            for down in combinations(names, k):
                s = ClusterState(5, down=frozenset(down), partition=sides)
                app.drawing.update(down=sorted(s.down), cut=s.cut_links())
                assert ("quorum held" in app.drawing.status) is s.has_quorum, (sides, down)


def test_the_drawing_docstring_names_the_format_it_renders():
    from etcdlab.sim.widgets import QuorumApp

    app = quorum_app(3)
    assert app.image.format == "svg+xml"
    assert "SVG" in QuorumApp._draw.__doc__ and "PNG" not in QuorumApp._draw.__doc__
