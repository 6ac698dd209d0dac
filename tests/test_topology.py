"""The client/peer topology graph, its drawing, and ``etcdlab graph``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

import etcdlab as el
from etcdlab import kubeadm
from etcdlab.cli import main
from etcdlab.sources.bundled import datasets
from etcdlab.diagnosis.checkup import doctor
from etcdlab.diagnosis.findings import Finding
from etcdlab.errors import EtcdlabError
from etcdlab.sources.loading import load_text
from etcdlab.sources.nodes import merge_nodes
from etcdlab.model.control_plane import ControlPlane
from etcdlab.graphs.drawing import draw_topology
from etcdlab.graphs.graph import (broken_links, describe_topology, edge_counts, from_json, node_counts, quorum_status,
                                  quorum_text, resolve_member, to_json, topology_graph)
from etcdlab.sources.generated import external_control_plane, stacked_control_plane

# name: ((apiservers, etcd, unreachable), (client edges, peer edges))
SHAPES = {
    "external-etcd-5": ((3, 5, 0), (15, 10)),
    "single-control-plane": ((1, 1, 0), (1, 0)),
    "single-control-plane-v1.34": ((1, 1, 0), (1, 0)),
    "single-ipv6": ((1, 1, 0), (1, 0)),
    "stacked-ha-3": ((3, 3, 0), (3, 3)),
    "stacked-ha-3-v1.31": ((3, 3, 0), (3, 3)),
    "broken/advertise-not-served": ((1, 1, 0), (1, 0)),
    "broken/ca-mismatch": ((1, 1, 0), (1, 0)),
    "broken/client-cert-auth-off": ((1, 1, 0), (1, 0)),
    "broken/data-dir-not-mounted": ((1, 1, 0), (1, 0)),
    "broken/even-members": ((4, 4, 0), (4, 6)),
    # cp2 lists four members and 10.0.1.16, which no member serves: 4 + 1 unreachable
    "broken/external-unknown-endpoint": ((3, 5, 1), (15, 10)),
    "broken/initial-cluster-typo": ((3, 3, 0), (3, 3)),
    "broken/no-client-cert": ((1, 1, 0), (1, 0)),
    "broken/wrong-port": ((1, 1, 0), (1, 0)),
    "broken/wrong-scheme": ((1, 1, 0), (1, 0)),
}

# broken data set: the links the drawing shows broken (source, target); () = a Pod instead
BROKEN = {
    "broken/wrong-port": [("kube-apiserver-master", "etcd-master")],
    "broken/wrong-scheme": [("kube-apiserver-master", "etcd-master")],
    "broken/ca-mismatch": [("kube-apiserver-master", "etcd-master")],
    "broken/no-client-cert": [("kube-apiserver-master", "etcd-master")],
    "broken/external-unknown-endpoint": [("kube-apiserver-cp2", "unreachable:*:10.0.1.16:2379")],
    "broken/initial-cluster-typo": [("etcd-cp2", "etcd-cp3")],
    "broken/advertise-not-served": [],
    "broken/client-cert-auth-off": [],
    "broken/data-dir-not-mounted": [],
    "broken/even-members": [],
}
BROKEN_POD = {"broken/advertise-not-served": "etcd-master", "broken/client-cert-auth-off": "etcd-master",
              "broken/data-dir-not-mounted": "etcd-master"}

ALL = [d.name for d in datasets()]


@pytest.fixture(scope="module")
def graphs():
    return {d.name: (d, d.load(), topology_graph(d.load())) for d in datasets()}


def _cp(manifests: list[tuple[str, str, dict]], name: str = "test") -> ControlPlane:
    nodes = []
    for node, component, m in manifests:
        nodes.extend(load_text(kubeadm.to_yaml(m), file=f"{node}/{component}.yaml", node=node).nodes)
    return ControlPlane(nodes=merge_nodes(nodes), name=name)


# --------------------------------------------------------------------------- structure

def test_every_bundled_data_set_has_an_expected_shape():
    assert set(ALL) <= set(SHAPES), f"add the new data sets to SHAPES: {set(ALL) - set(SHAPES)}"


@pytest.mark.parametrize("name", ALL)
def test_structure_of_each_bundled_data_set(graphs, name):
    d, cp, g = graphs[name]
    (apis, etcds, nowhere), (client, peer) = SHAPES[name]
    assert node_counts(g) == {"apiserver": apis, "etcd": etcds, "unreachable": nowhere}
    assert edge_counts(g) == {"client": client, "peer": peer}
    for n, a in g.nodes(data=True):
        assert {"kind", "name", "host", "address", "ok", "reason"} <= set(a)
        if a["kind"] == "etcd":
            assert a["host"] == cp.node_of(next(m for m in cp.members if m.name == a["name"])).name
    for u, v, a in g.edges(data=True):
        assert {"kind", "url", "port", "tls", "ok", "reason"} <= set(a)
        assert g.nodes[u]["kind"] == ("apiserver" if a["kind"] == "client" else "etcd")
        assert a["ok"] == (a["reason"] is None)


@pytest.mark.parametrize("name", ALL)
def test_broken_links_carry_the_doctors_finding(graphs, name):
    d, cp, g = graphs[name]
    broken = [(u, v) for u, v, _ in broken_links(g)]
    assert broken == BROKEN.get(name, [])
    expected_titles = {f.title for f in doctor(cp) if f.id in {e.id for e in d.expect}}
    for _, _, reason in broken_links(g):
        assert reason in expected_titles
    bad_pods = [n for n, a in g.nodes(data=True) if not a["ok"] and a["kind"] != "unreachable"]
    assert bad_pods == ([BROKEN_POD[name]] if name in BROKEN_POD else [])
    for n in bad_pods:
        assert g.nodes[n]["reason"] in expected_titles


def test_clean_data_sets_have_no_broken_link(graphs):
    for name, (d, _, g) in graphs.items():
        if not d.broken:
            assert broken_links(g) == [] and all(a["ok"] for _, a in g.nodes(data=True)), name


def test_wrong_port_and_wrong_scheme_show_on_the_edge(graphs):
    g = graphs["broken/wrong-port"][2]
    e = g.edges["kube-apiserver-master", "etcd-master"]
    assert (e["port"], e["tls"], e["loopback"]) == (2380, True, True)
    g = graphs["broken/wrong-scheme"][2]
    e = g.edges["kube-apiserver-master", "etcd-master"]
    assert (e["port"], e["tls"], e["url"]) == (2379, False, "http://127.0.0.1:2379")


@pytest.mark.parametrize("n", range(1, 10))
def test_stacked_clusters_of_any_size(n):
    cp = stacked_control_plane(n)
    g = topology_graph(cp)
    assert edge_counts(g) == {"client": n, "peer": n * (n - 1) // 2}
    assert all(d["loopback"] and d["ok"] for _, _, d in g.edges(data=True) if d["kind"] == "client")
    # each apiserver talks to the member on its own node only
    assert all(g.nodes[u]["host"] == g.nodes[v]["host"] for u, v, k in g.edges(data="kind") if k == "client")
    assert [d for d in doctor(cp) if d.severity == "error"] == []


def test_growing_initial_cluster_lists_form_one_mesh():
    cp = stacked_control_plane(3)
    # kubeadm: the first member names only itself, the last one names all three
    assert [len(m.initial_cluster) for m in cp.members] == [1, 2, 3]
    g = topology_graph(cp)
    assert g.graph["clusters"] == [["etcd-cp1", "etcd-cp2", "etcd-cp3"]]
    assert sorted(tuple(sorted((u, v))) for u, v, k in g.edges(data="kind") if k == "peer") == [
        ("etcd-cp1", "etcd-cp2"), ("etcd-cp1", "etcd-cp3"), ("etcd-cp2", "etcd-cp3")]
    # one edge per pair, from the earlier member to the later one, url = where the source dials
    e = g.edges["etcd-cp1", "etcd-cp3"]
    assert (e["url"], e["source_url"], e["port"], e["tls"]) == (
        "https://10.0.0.13:2380", "https://10.0.0.11:2380", 2380, True)


@pytest.mark.parametrize("members,apis", [(1, 1), (3, 2), (5, 3), (9, 5)])
def test_external_clusters(members, apis):
    g = topology_graph(external_control_plane(members, apis))
    assert edge_counts(g) == {"client": members * apis, "peer": members * (members - 1) // 2}
    assert node_counts(g) == {"apiserver": apis, "etcd": members, "unreachable": 0}
    assert not any(d["loopback"] for _, _, d in g.edges(data=True) if d["kind"] == "client")


def test_two_separately_initialised_members_are_two_clusters():
    cp = _cp([("a", "etcd", kubeadm.etcd_manifest("a", "10.0.0.1")),
              ("a", "kube-apiserver", kubeadm.apiserver_manifest("a", "10.0.0.1")),
              ("b", "etcd", kubeadm.etcd_manifest("b", "10.0.0.2"))])
    g = topology_graph(cp, findings=[])
    assert edge_counts(g)["peer"] == 0
    assert g.graph["clusters"] == [["etcd-a"], ["etcd-b"]]
    assert [s["text"] for s in quorum_status(g)] == ["1/1 up — quorum held", "1/1 up — quorum held"]
    assert quorum_text(g, down=["b"]) == "cluster 1: 1/1 up — quorum held; cluster 2: 0/1 up — quorum lost (needs 1)"


def test_one_client_edge_per_member_even_when_listed_twice():
    servers = ["https://127.0.0.1:2379", "https://10.0.0.11:2379", "https://10.0.0.12:2379"]
    cp = _cp([("cp1", "etcd", kubeadm.etcd_manifest("cp1", "10.0.0.11")),
              ("cp2", "etcd", kubeadm.etcd_manifest("cp2", "10.0.0.12", state="existing", initial_cluster=[
                  ("cp1", "https://10.0.0.11:2380"), ("cp2", "https://10.0.0.12:2380")])),
              ("cp1", "kube-apiserver", kubeadm.apiserver_manifest("cp1", "10.0.0.11", etcd_servers=servers))])
    g = topology_graph(cp)
    assert sorted(g.successors("kube-apiserver-cp1")) == ["etcd-cp1", "etcd-cp2"]
    assert g.edges["kube-apiserver-cp1", "etcd-cp1"]["urls"] == servers[:2]
    assert g.edges["kube-apiserver-cp1", "etcd-cp1"]["loopback"] is True
    assert g.edges["kube-apiserver-cp1", "etcd-cp2"]["loopback"] is False


def test_loopback_endpoint_without_a_member_on_the_node_is_an_unreachable_node():
    cp = _cp([("cp1", "kube-apiserver", kubeadm.apiserver_manifest("cp1", "10.0.0.11")),
              ("etcd1", "etcd", kubeadm.etcd_manifest("etcd1", "10.0.1.11"))])
    g = topology_graph(cp)
    nowhere = "unreachable:cp1:127.0.0.1:2379"
    assert g.nodes[nowhere]["kind"] == "unreachable" and g.nodes[nowhere]["host"] == "cp1"
    e = g.edges["kube-apiserver-cp1", nowhere]
    titles = {f.title for f in doctor(cp) if f.id == "etcd-servers-loopback-no-member"}
    assert e["ok"] is False and e["reason"] in titles


def test_findings_mark_only_the_links_they_name():
    cp = external_control_plane(3, 2)
    pod = cp.node("cp1").apiserver.pod

    def finding(fid, value, severity="error", node="cp1", flag="--etcd-servers"):
        return Finding(id=fid, severity=severity, title=f"title of {fid}", detail="", file=pod.file, flag=flag,
                       value=value, fix="", node=node)

    g = topology_graph(cp, findings=[finding("etcd-servers-scheme", "https://10.0.1.12:2379")])
    assert [(u, v) for u, v, _ in broken_links(g)] == [("kube-apiserver-cp1", "etcd-etcd2")]
    g = topology_graph(cp, findings=[finding("etcd-ca-mismatch", "/etc/kubernetes/pki/ca.crt", flag="--etcd-cafile")])
    assert sorted(v for _, v, _ in broken_links(g)) == ["etcd-etcd1", "etcd-etcd2", "etcd-etcd3"]
    # a warning says the link works, only unwisely: nothing is marked
    g = topology_graph(cp, findings=[finding("etcd-servers-scheme", "https://10.0.1.12:2379", "warning")])
    assert broken_links(g) == []
    # a peer finding naming one member breaks that pair only
    etcd_pod = cp.node("etcd3").etcd.pod
    f = Finding(id="initial-cluster-mismatch", severity="error", title="t", detail="", file=etcd_pod.file,
                flag="--initial-cluster", value="etcd1=https://10.0.1.99:2380", fix="", node="etcd3")
    g = topology_graph(cp, findings=[f])
    assert [(u, v) for u, v, _ in broken_links(g)] == [("etcd-etcd1", "etcd-etcd3")]


def test_default_runs_the_doctor_and_empty_findings_skip_it(graphs):
    cp = graphs["broken/wrong-port"][1]
    assert broken_links(topology_graph(cp)) != []
    assert broken_links(topology_graph(cp, findings=[])) == []


def test_topology_is_the_function_whatever_was_imported_first():
    import etcdlab.graphs.graph  # noqa: F401  (importing the module must not hide the function)

    cp = stacked_control_plane(2)
    assert el.topology(cp).number_of_edges() == 3  # two client links, one peer link
    assert el.stacked_control_plane(2) is cp  # the same cached control plane
    with pytest.raises(EtcdlabError):
        el.topology("stacked-ha-3")
    with pytest.raises(EtcdlabError):
        stacked_control_plane(10)


# --------------------------------------------------------------------------- quorum and names

def test_quorum_status_with_members_down_and_links_cut():
    g = topology_graph(stacked_control_plane(5), findings=[])
    assert quorum_text(g) == "5/5 up — quorum held"
    assert quorum_text(g, down=["cp4", "cp5"]) == "3/5 up — quorum held"
    assert quorum_text(g, down=[3, 4, 5]) == "2/5 up — quorum lost (needs 3)"
    cut = [(a, b) for a in ("cp1", "cp2") for b in ("cp3", "cp4", "cp5")]
    assert quorum_text(g, cut=cut) == "5/5 up, split 3+2 — quorum held by the 3"
    assert quorum_text(g, cut=cut, down=["cp5"]) == "4/5 up, split 2+2 — quorum lost (needs 3 together)"
    g4 = topology_graph(stacked_control_plane(4), findings=[])
    assert quorum_status(g4, cut=[("cp1", "cp3"), ("cp1", "cp4"), ("cp2", "cp3"), ("cp2", "cp4")])[0]["held"] is False


def test_members_are_named_like_the_quorum_module_names_them():
    g = topology_graph(stacked_control_plane(3), findings=[])
    for ref in ("cp2", "etcd-cp2", "2", 2, "etcd-2"):
        assert resolve_member(g, ref) == "etcd-cp2"
    with pytest.raises(EtcdlabError, match="cp1, cp2, cp3"):
        resolve_member(g, "cp7")


# --------------------------------------------------------------------------- JSON

def test_json_is_node_link_data_with_the_attributes(graphs):
    g = graphs["broken/external-unknown-endpoint"][2]
    data = json.loads(json.dumps(to_json(g)))
    edges = data.get("edges", data.get("links"))
    assert len(data["nodes"]) == 9 and len(edges) == 25
    bad = [e for e in edges if not e["ok"]]
    assert bad == [dict(bad[0], source="kube-apiserver-cp2", target="unreachable:*:10.0.1.16:2379")]
    back = from_json(data)
    assert sorted(back.edges(data="kind")) == sorted(g.edges(data="kind"))
    assert draw_topology(back).status == "5/5 up — quorum held"


# --------------------------------------------------------------------------- drawing

LAYOUTS = [stacked_control_plane(n) for n in range(1, 10)] + [
    external_control_plane(m, a) for m, a in [(1, 5), (3, 3), (5, 1), (7, 4), (9, 5)]]


@pytest.mark.parametrize("cp", LAYOUTS, ids=lambda cp: cp.name)
def test_layouts_are_readable(cp):
    drawing = draw_topology(cp)
    assert drawing.layout_problems() == []
    # down members and a partition change nothing about the layout
    members = [m.name for m in cp.members]
    cut = [(members[0], m) for m in members[1:]]
    drawing.update(down=members[-1:], cut=cut)
    assert drawing.layout_problems() == []


@pytest.mark.parametrize("name", ALL)
def test_bundled_data_sets_draw_cleanly(graphs, name):
    drawing = draw_topology(graphs[name][2])
    assert drawing.layout_problems() == []
    # every broken thing has a numbered note with the finding's title
    reasons = {r for _, _, r in broken_links(drawing.graph)} | {
        a["reason"] for _, a in drawing.graph.nodes(data=True) if not a["ok"]}
    assert {reason for _, reason, _ in drawing.notes} == reasons


def test_layout_check_catches_overlapping_labels():
    drawing = draw_topology(stacked_control_plane(3))
    label = drawing.pod_labels["etcd-cp2"]
    drawing.ax.text(*label.get_position(), "in the way", fontsize=9)
    assert any("overlap" in p for p in drawing.layout_problems())


def test_update_restyles_without_new_artists():
    drawing = draw_topology(stacked_control_plane(5), title="five")
    counts = (len(drawing.ax.patches), len(drawing.ax.texts))
    assert drawing.title_text.get_text() == "five"
    drawing.update(down=["cp2"], cut=[("cp1", "cp5")], title="cp2 is down")
    assert (len(drawing.ax.patches), len(drawing.ax.texts)) == counts
    assert drawing.title_text.get_text() == "cp2 is down"
    assert drawing.status_text.get_text() == "4/5 up — quorum held"
    down_edges = [e for e in drawing.edges if "etcd-cp2" in e]
    assert len(down_edges) == 5  # its client link and four peer links
    assert all(drawing.edges[e].get_linestyle() == "--" for e in down_edges)
    assert drawing.edges["etcd-cp1", "etcd-cp5"].get_linestyle() == "--"
    assert drawing.edges["etcd-cp1", "etcd-cp3"].get_linestyle() == "-"
    assert "(down)" in drawing.pod_labels["etcd-cp2"].get_text()
    legend = [t.get_text() for t in drawing.legend.get_texts()]
    assert any("down" in t for t in legend) and any("partition" in t for t in legend)
    drawing.update()
    assert drawing.title_text.get_text() == "five"  # back to the title it was drawn with
    assert all(a.get_linestyle() == "-" for a in drawing.edges.values())
    assert not any("down" in t.get_text() for t in drawing.legend.get_texts())


def test_draw_into_a_given_axes_scales_to_fit():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 2, 1)
    drawing = draw_topology(stacked_control_plane(3), ax=ax)
    assert drawing.ax is ax and drawing.figure is fig
    assert 0 < drawing.scale < 1


def test_png_and_svg_are_written_and_svg_is_reproducible(tmp_path):
    cp = external_control_plane(5, 3)
    a, b = draw_topology(cp), draw_topology(cp)
    a.savefig(tmp_path / "a.png")
    png = (tmp_path / "a.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == tuple(round(x * 100) for x in a.figure.get_size_inches())
    a.savefig(tmp_path / "a.svg")
    b.savefig(tmp_path / "b.svg")
    svg = (tmp_path / "a.svg").read_bytes()
    assert svg.startswith(b"<?xml") and b"<svg" in svg and len(svg) > 20_000
    assert svg == (tmp_path / "b.svg").read_bytes()
    with pytest.raises(EtcdlabError, match=r"\.png or \.svg"):
        a.savefig(tmp_path / "a.jpg")


def test_svg_is_identical_across_processes(tmp_path, etcdlab_cmd):
    main(["graph", "stacked-ha-3", "-o", str(tmp_path / "here.svg")])
    subprocess.run(etcdlab_cmd + ["graph", "stacked-ha-3", "-o", str(tmp_path / "there.svg")],
                   check=True, capture_output=True)
    assert (tmp_path / "here.svg").read_bytes() == (tmp_path / "there.svg").read_bytes()


def test_repr_is_stable_and_png_displays():
    drawing = draw_topology(stacked_control_plane(3))
    assert repr(drawing) == "<TopologyDrawing stacked-3: 3 etcd, 3 apiservers; 3/3 up — quorum held>"
    assert drawing._repr_png_()[:4] == b"\x89PNG"


# --------------------------------------------------------------------------- CLI

@pytest.mark.parametrize("name", ALL)
def test_cli_graph_writes_both_outputs(graphs, name, tmp_path, capsys):
    d, _, g = graphs[name]
    rc_expected = 1 if broken_links(g) or any(not a["ok"] for _, a in g.nodes(data=True)) else 0
    for suffix in ("png", "svg"):
        out = tmp_path / f"g.{suffix}"
        assert main(["graph", name, "-o", str(out)]) == rc_expected
        assert out.stat().st_size > 10_000
    assert main(["graph", name, "--json"]) == rc_expected
    text = capsys.readouterr().out
    data = json.loads(text[text.index("{"):])
    edges = data.get("edges", data.get("links"))
    assert len(edges) == sum(SHAPES[name][1])
    assert {"kind", "url", "port", "tls", "ok", "reason"} <= set(edges[0])
    assert {"kind", "name", "host", "address"} <= set(data["nodes"][0])


def test_cli_graph_text_and_bad_input(capsys, tmp_path):
    assert main(["graph", "broken/wrong-port"]) == 1
    out = capsys.readouterr().out
    assert "kube-apiserver-master → etcd-master  https://127.0.0.1:2380  BROKEN" in out
    assert main(["graph", "stacked-ha-3", "--down", "cp2,cp3"]) == 0
    assert "1/3 up — quorum lost (needs 2)" in capsys.readouterr().out
    assert main(["graph", "stacked-ha-3", "-o", str(tmp_path / "x.jpg")]) == 2
    assert main(["graph", "stacked-ha-3", "--down", "cp9"]) == 2
    assert main(["graph", "no-such-data-set"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 3 and "cp1, cp2, cp3" in err


def test_importing_stays_light():
    code = ("import sys, etcdlab, etcdlab.graphs.graph, etcdlab.cli.graph; "
            "print(sorted(m for m in ('matplotlib', 'networkx', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_notebook_03_answers_come_from_the_graph():
    assert el.check("03.1", edge_counts(topology_graph(stacked_control_plane(5), findings=[]))["peer"]).ok
    ext = topology_graph(el.load("external-etcd-5"))
    assert el.check("03.2", ext.out_degree("kube-apiserver-cp1")).ok
    (u, v, _), = broken_links(topology_graph(el.load("broken/initial-cluster-typo")))
    assert el.check("03.3", [u, v]).ok
    members = [n for n, kind in ext.nodes(data="kind") if kind == "etcd"]
    lost = next(k for k in range(6) if "quorum lost" in quorum_text(ext, down=members[:k]))
    assert el.check("03.4", lost).ok


# --------------------------------------------------------------------------- graph and doctor agree

def _write(tmp_path, manifests: list[tuple[str, str, dict]]):
    for node, component, m in manifests:
        (tmp_path / node).mkdir(exist_ok=True)
        (tmp_path / node / f"{component}.yaml").write_text(kubeadm.to_yaml(m))
    return str(tmp_path)


# name: (the apiserver's --etcd-servers, the member's node, the address the member advertises)
SPELLINGS = {
    "an FQDN for a member known by its short name": (["https://etcd1.example.com:2379"], "etcd1", "etcd1"),
    "a short name for a member known by its FQDN": (["https://etcd1:2379"], "node-a", "etcd1.example.com"),
    "an IPv6 address written out": (["https://[fd00:0:0::11]:2379"], "etcd1", "fd00::11"),
    "an IPv6 address in capitals": (["https://[FD00::11]:2379"], "etcd1", "fd00::11"),
}


@pytest.mark.parametrize("case", SPELLINGS)
def test_an_endpoint_leads_where_the_doctor_says(case, tmp_path, capsys):
    servers, node, address = SPELLINGS[case]
    manifests = [(node, "etcd", kubeadm.etcd_manifest(node, address)),
                 ("cp1", "kube-apiserver", kubeadm.apiserver_manifest("cp1", "10.0.0.1", etcd_servers=servers))]
    cp = _cp(manifests)
    assert [f.id for f in doctor(cp) if f.severity == "error"] == []
    g = topology_graph(cp)
    assert list(g.successors("kube-apiserver-cp1")) == [f"etcd-{node}"]
    assert broken_links(g) == [] and node_counts(g)["unreachable"] == 0
    path = _write(tmp_path, manifests)
    assert main(["doctor", path]) == 0
    assert main(["graph", path]) == 0, capsys.readouterr().out


def test_graph_and_doctor_agree_on_every_endpoint(graphs):
    """Each client edge goes where checks.route says the URL leads, and is broken exactly
    when the doctor reports an error about that URL (or about the apiserver's etcd flags)."""
    from etcdlab.diagnosis.routes import routes

    for name, (_, cp, g) in graphs.items():
        errors = {(f.node, f.value) for f in doctor(cp) if f.severity == "error" and f.flag == "--etcd-servers"}
        for n in cp.nodes:
            if n.apiserver is None:
                continue
            for r in routes(cp, n, n.apiserver):
                (target,) = [v for v in g.successors(f"kube-apiserver-{n.name}")
                             if r.url.raw in g.edges[f"kube-apiserver-{n.name}", v]["urls"]]
                assert target == (f"etcd-{r.node.name}" if r.member is not None else
                                  f"unreachable:{'*' if not r.url.is_loopback else n.name}:{r.url.hostport}"), name
                if (n.name, r.url.raw) in errors:
                    assert not g.edges[f"kube-apiserver-{n.name}", target]["ok"], (name, r.url.raw)


def test_an_endpoint_the_doctor_cannot_check_is_not_drawn_broken(tmp_path, capsys):
    # only the apiserver's manifest: no member was given, so the doctor cannot say where it leads
    manifests = [("cp1", "kube-apiserver", kubeadm.apiserver_manifest("cp1", "10.0.0.11"))]
    cp = _cp(manifests)
    assert [f.severity for f in doctor(cp) if f.id == "etcd-servers-unknown-host"] == ["info"]
    g = topology_graph(cp)
    nowhere = "unreachable:cp1:127.0.0.1:2379"
    assert g.nodes[nowhere]["ok"] and g.edges["kube-apiserver-cp1", nowhere]["ok"]
    assert broken_links(g) == []
    assert "127.0.0.1:2379  not checked" in describe_topology(g)
    drawing = draw_topology(g)
    assert drawing.layout_problems() == [] and drawing.notes == []
    assert "not checked" in drawing.pod_labels[nowhere].get_text()
    path = _write(tmp_path, manifests)
    assert main(["doctor", path]) == 0 and main(["graph", path]) == 0
    # a host name no member given uses: the doctor does not resolve names, the graph does not guess
    cp = external_control_plane(3, 1)
    servers = [m.advertise_client_urls[0].raw for m in cp.members] + ["https://etcd.example.com:2379"]
    cp = _cp([(n.name, "etcd", kubeadm.etcd_manifest(n.name, n.address, initial_cluster=[
        (m.name, m.initial_advertise_peer_urls[0].raw) for m in cp.members])) for n in cp.nodes if n.etcd]
        + [("cp1", "kube-apiserver", kubeadm.apiserver_manifest("cp1", "10.0.0.11", etcd_servers=servers))])
    assert [f.id for f in doctor(cp) if f.severity == "error"] == []
    g = topology_graph(cp)
    assert broken_links(g) == [] and g.nodes["unreachable:*:etcd.example.com:2379"]["ok"]


def test_a_control_plane_without_etcd_says_so(capsys):
    pods = str(Path(__file__).resolve().parents[1] / "data/single-control-plane/kubectl/get-po-o-wide.txt")
    cp = el.load(pods)
    g = topology_graph(cp)
    assert quorum_status(g) == [] and quorum_text(g) == "no etcd member"
    assert describe_topology(g).splitlines()[0].endswith(": no etcd member")
    drawing = draw_topology(g)
    assert drawing.status == "no etcd member" and ": no etcd, 0 members" in drawing.title_text.get_text()
    assert drawing.layout_problems() == []  # the long title (a full path) shrinks to fit
    assert main(["graph", pods]) == 0
    out = capsys.readouterr().out
    assert "no etcd member" in out and "quorum lost" not in out and "none etcd" not in out
