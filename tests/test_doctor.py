"""The doctor: clean kubeadm clusters pass, each rule fires on its mistake and not on near-misses."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace

import pytest

import etcdlab as el
from etcdlab import kubeadm as k
from etcdlab.cli import main
from etcdlab.diagnosis.checkup import CHECKS, doctor
from etcdlab.diagnosis.findings import RULES, SEVERITIES, Finding, at_least, summary
from etcdlab.sources.loading import load_text
from etcdlab.model.control_plane import ControlPlane

ADV = "10.0.0.10"


# -- building clusters from kubeadm's manifests --------------------------------------------


def build(nodes: dict[str, list[dict]]) -> ControlPlane:
    """A ControlPlane from {node name: [pod dicts]}, each node loaded as its own manifest file."""
    out = []
    for name, docs in nodes.items():
        text = "---\n".join(k.to_yaml(d) for d in docs)
        out.extend(load_text(text, f"{name}/manifests.yaml", node=name).nodes)
    return ControlPlane(tuple(out))


def etcd(**kw) -> dict:
    return k.etcd_manifest("master", ADV, **kw)


def api(**kw) -> dict:
    return k.apiserver_manifest("master", ADV, **kw)


def single(e: dict | None = None, a: dict | None = None) -> ControlPlane:
    return build({"master": [e or etcd(), a or api()]})


def stacked_nodes(n: int = 3, generation: str = "1.28") -> dict[str, list[dict]]:
    """kubeadm's stacked HA: cp1 inits, the others join, so --initial-cluster grows node by node."""
    nodes, ic = {}, []
    for i in range(1, n + 1):
        name, ip = f"cp{i}", f"10.0.0.{10 + i}"
        ic.append((name, f"https://{ip}:2380"))
        nodes[name] = [k.etcd_manifest(name, ip, initial_cluster=list(ic), state="new" if i == 1 else "existing",
                                       generation=generation),
                       k.apiserver_manifest(name, ip, generation=generation)]
    return nodes


ETCD_HOSTS = {f"infra{i}": f"10.0.1.{10 + i}" for i in range(5)}
ALL_SERVERS = [f"https://{ip}:2379" for ip in ETCD_HOSTS.values()]


def external_nodes(servers: list[str] | None = None) -> dict[str, list[dict]]:
    """Five etcd hosts bootstrapped together, three control-plane nodes whose apiservers list them all."""
    ic = [(n, f"https://{ip}:2380") for n, ip in ETCD_HOSTS.items()]
    nodes = {n: [k.etcd_manifest(n, ip, initial_cluster=ic)] for n, ip in ETCD_HOSTS.items()}
    for i in range(1, 4):
        nodes[f"cp{i}"] = [k.apiserver_manifest(f"cp{i}", f"10.0.0.{10 + i}", etcd_servers=servers or ALL_SERVERS)]
    return nodes


def ids(cp, severity: str | None = None) -> list[str]:
    return sorted(f.id for f in doctor(cp) if severity is None or f.severity == severity)


def errors(cp) -> list[str]:
    return ids(cp, "error")


def only(cp, rule: str) -> list[Finding]:
    return [f for f in doctor(cp) if f.id == rule]


def with_volume_mount(pod: dict, name: str, **changes) -> dict:
    """A copy of ``pod`` whose volume mount ``name`` has ``changes`` (e.g. readOnly)."""
    import copy

    out = copy.deepcopy(pod)
    for m in out["spec"]["containers"][0]["volumeMounts"]:
        if m["name"] == name:
            m.update(changes)
    return out


# -- clean clusters ---------------------------------------------------------------------------


CLEAN = {
    "single": lambda: single(),
    "stacked-3-growing": lambda: build(stacked_nodes(3)),
    "stacked-3-v1.31": lambda: build(stacked_nodes(3, "1.31")),
    "external-5": lambda: build(external_nodes()),
    "ipv6": lambda: build({"v6": [k.etcd_manifest("v6", "fd00:10::10"), k.apiserver_manifest("v6", "fd00:10::10")]}),
    "v1.34": lambda: build({"master": [etcd(generation="1.34"), api(generation="1.34")]}),
}


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_clean_kubeadm_clusters_have_no_error(name):
    assert errors(CLEAN[name]()) == []


def test_clean_single_node_says_exactly_two_things():
    assert ids(single()) == ["cis-apiserver-encryption", "cluster-single-member"]


@pytest.mark.parametrize("name", ["stacked-3-growing", "stacked-3-v1.31", "external-5"])
def test_clean_ha_clusters_have_only_the_encryption_note(name):
    found = doctor(CLEAN[name]())
    assert {f.id for f in found} == {"cis-apiserver-encryption"}
    assert {f.severity for f in found} == {"info"}


# -- the apiserver's --etcd-servers ------------------------------------------------------------


def test_missing_etcd_servers():
    cp = single(a=k.with_flag(api(), "etcd-servers", None))
    (f,) = only(cp, "etcd-servers-missing")
    assert f.severity == "error" and f.flag == "--etcd-servers" and f.value is None


def test_http_to_an_https_listener_is_a_scheme_error():
    cp = single(a=api(etcd_servers=["http://127.0.0.1:2379"]))
    assert errors(cp) == ["etcd-servers-scheme"]
    (f,) = only(cp, "etcd-servers-scheme")
    assert f.value == "http://127.0.0.1:2379" and "https://127.0.0.1:2379" in f.fix
    assert f.file == "master/manifests.yaml" and f.node == "master" and f.line


def test_https_to_an_http_listener_is_a_scheme_error_too():
    e = k.with_flag(etcd(), "listen-client-urls", f"http://127.0.0.1:2379,http://{ADV}:2379")
    e = k.with_flag(e, "advertise-client-urls", f"http://{ADV}:2379")
    assert "etcd-servers-scheme" in errors(single(e=e))


def test_the_peer_port_on_loopback():
    (f,) = only(single(a=api(etcd_servers=["https://127.0.0.1:2380"])), "etcd-servers-peer-port")
    assert f.severity == "error" and f.value == "https://127.0.0.1:2380"
    assert "https://127.0.0.1:2379" in f.fix and "peer" in f.detail


def test_the_peer_port_on_the_node_address():
    cp = single(a=api(etcd_servers=[f"https://{ADV}:2380"]))
    assert errors(cp) == ["etcd-servers-peer-port"]
    assert f"https://{ADV}:2379" in only(cp, "etcd-servers-peer-port")[0].fix


@pytest.mark.parametrize("port, word", [(2381, "metrics"), (12379, "2379")])
def test_a_port_with_no_client_listener(port, word):
    (f,) = only(single(a=api(etcd_servers=[f"https://127.0.0.1:{port}"])), "etcd-servers-wrong-port")
    assert word in f.detail


def test_loopback_on_a_node_without_a_member():
    cp = build(external_nodes(servers=["https://127.0.0.1:2379"]))
    found = only(cp, "etcd-servers-loopback-no-member")
    assert {f.node for f in found} == {"cp1", "cp2", "cp3"}
    assert all(f.severity == "error" for f in found)


def test_loopback_when_the_local_member_does_not_listen_on_loopback():
    e = k.with_flag(etcd(), "listen-client-urls", f"https://{ADV}:2379")
    (f,) = only(single(e=e), "etcd-servers-loopback-no-member")
    assert f"https://{ADV}:2379" in f.fix


@pytest.mark.parametrize("listen", ["https://0.0.0.0:2379", "https://[::]:2379"])
def test_a_wildcard_listener_serves_loopback(listen):
    e = k.with_flag(etcd(), "listen-client-urls", listen)
    assert errors(single(e=e)) == []


def test_localhost_reaches_a_127_listener():
    assert errors(single(a=api(etcd_servers=["https://localhost:2379"]))) == []


def test_the_node_ip_instead_of_loopback_is_fine():
    cp = single(a=api(etcd_servers=[f"https://{ADV}:2379"]))
    assert errors(cp) == [] and "etcd-servers-partial" not in ids(cp)


def test_an_ip_no_member_serves():
    cp = build(external_nodes(servers=ALL_SERVERS[:4] + ["https://10.0.1.99:2379"]))
    found = only(cp, "etcd-servers-unknown-host")
    assert {f.node for f in found} == {"cp1", "cp2", "cp3"}
    assert all(f.severity == "error" and f.value == "https://10.0.1.99:2379" for f in found)
    assert "10.0.1.99" in found[0].title


def test_a_member_on_that_host_that_does_not_listen_there():
    nodes = stacked_nodes(3)
    nodes["cp2"][0] = k.with_flag(nodes["cp2"][0], "listen-client-urls", "https://127.0.0.1:2379")
    nodes["cp2"][0] = k.with_flag(nodes["cp2"][0], "advertise-client-urls", "https://127.0.0.1:2379")
    nodes["cp1"][1] = k.with_flag(nodes["cp1"][1], "etcd-servers", "https://10.0.0.12:2379")
    (f,) = only(build(nodes), "etcd-servers-unknown-host")
    assert f.node == "cp1" and "cp2" in f.detail and "listen-client-urls" in f.fix


def test_only_apiserver_manifests_cannot_be_checked():
    nodes = {n: docs for n, docs in external_nodes().items() if n.startswith("cp")}
    cp = build(nodes)
    assert errors(cp) == []
    found = only(cp, "etcd-servers-unknown-host")
    assert len(found) == 15 and {f.severity for f in found} == {"info"}


def test_a_member_known_from_initial_cluster_but_not_given_is_info():
    nodes = external_nodes()
    del nodes["infra4"]
    cp = build(nodes)
    assert errors(cp) == []
    found = only(cp, "etcd-servers-unknown-host")
    assert {f.value for f in found} == {ALL_SERVERS[4]} and {f.severity for f in found} == {"info"}


def test_host_names_are_not_resolved():
    cp = single(a=api(etcd_servers=["https://etcd.example.com:2379"]))
    (f,) = only(cp, "etcd-servers-unknown-host")
    assert f.severity == "info"


def test_an_apiserver_listing_some_members_only():
    cp = build(external_nodes(servers=ALL_SERVERS[:3]))
    found = only(cp, "etcd-servers-partial")
    assert len(found) == 3 and all(f.severity == "warning" for f in found)
    assert "3 of the 5" in found[0].title and "infra3" in found[0].detail
    assert ",".join(ALL_SERVERS) in found[0].fix


def test_stacked_apiservers_talk_to_their_own_member_only_by_design():
    assert "etcd-servers-partial" not in ids(build(stacked_nodes(3)))


# -- certificates between the apiserver and etcd ------------------------------------------------


def test_the_cluster_ca_as_etcd_cafile():
    cp = single(a=api(etcd_cafile="/etc/kubernetes/pki/ca.crt"))
    assert errors(cp) == ["etcd-ca-mismatch"]
    (f,) = only(cp, "etcd-ca-mismatch")
    assert f.flag == "--etcd-cafile" and f.value == "/etc/kubernetes/pki/ca.crt"
    assert "/etc/kubernetes/pki/etcd/ca.crt" in f.fix


def test_another_file_on_the_same_node():
    cp = single(a=api(etcd_cafile="/etc/kubernetes/pki/etcd/other-ca.crt"))
    assert errors(cp) == ["etcd-ca-mismatch"]


def test_cas_are_compared_as_host_paths():
    """The apiserver sees the node's /etc/kubernetes/pki/etcd at /etcd-pki: same file, no finding."""
    a = api(etcd_cafile="/etcd-pki/ca.crt")
    a["spec"]["containers"][0]["volumeMounts"].append({"mountPath": "/etcd-pki", "name": "etcd-pki",
                                                       "readOnly": True})
    a["spec"]["volumes"].append({"hostPath": {"path": "/etc/kubernetes/pki/etcd", "type": "Directory"},
                                 "name": "etcd-pki"})
    assert errors(single(a=a)) == []


def test_different_paths_on_different_machines_are_only_information():
    nodes = external_nodes()
    for i in range(1, 4):
        nodes[f"cp{i}"][0] = k.with_flag(nodes[f"cp{i}"][0], "etcd-cafile", "/etc/kubernetes/pki/external-etcd-ca.crt")
    found = only(build(nodes), "etcd-ca-mismatch")
    assert len(found) == 3 and {f.severity for f in found} == {"info"}


def test_no_client_certificate_for_an_etcd_that_demands_one():
    a = k.with_flag(k.with_flag(api(), "etcd-certfile", None), "etcd-keyfile", None)
    cp = single(a=a)
    assert errors(cp) == ["cis-apiserver-etcd-certfile", "etcd-client-cert-missing"]
    (f,) = only(cp, "etcd-client-cert-missing")
    assert f.flag == "--etcd-certfile" and "apiserver-etcd-client.crt" in f.fix


def test_no_client_certificate_is_no_wiring_error_when_etcd_does_not_ask():
    a = k.with_flag(k.with_flag(api(), "etcd-certfile", None), "etcd-keyfile", None)
    e = k.with_flag(etcd(), "client-cert-auth", "false")
    assert "etcd-client-cert-missing" not in ids(single(e=e, a=a))


# -- a member's own URLs ----------------------------------------------------------------------------


def test_advertising_a_client_url_the_member_does_not_listen_on():
    cp = single(e=k.with_flag(etcd(), "advertise-client-urls", "https://10.0.0.99:2379"))
    assert errors(cp) == ["advertise-client-not-served"]
    (f,) = only(cp, "advertise-client-not-served")
    assert f.value == "https://10.0.0.99:2379" and f.flag == "--advertise-client-urls"


@pytest.mark.parametrize("advertise", ["https://10.0.0.99:2379", "https://etcd-0.example.com:2379"])
def test_a_wildcard_listener_serves_any_advertised_host(advertise):
    e = k.with_flag(etcd(), "listen-client-urls", "https://0.0.0.0:2379")
    assert errors(single(e=k.with_flag(e, "advertise-client-urls", advertise))) == []


def test_a_host_name_advertised_over_an_ip_listener_is_given_the_benefit_of_the_doubt():
    cp = single(e=k.with_flag(etcd(), "advertise-client-urls", "https://master.example.com:2379"))
    assert "advertise-client-not-served" not in ids(cp)


def test_advertising_the_wrong_port_or_scheme():
    for bad in (f"https://{ADV}:2390", f"http://{ADV}:2379"):
        assert "advertise-client-not-served" in errors(single(e=k.with_flag(etcd(), "advertise-client-urls", bad)))


def test_advertising_a_peer_url_the_member_does_not_listen_on():
    e = k.with_flag(etcd(), "listen-peer-urls", "https://10.0.0.99:2380")
    (f,) = only(single(e=e), "advertise-peer-not-served")
    assert f.value == f"https://{ADV}:2380" and f.flag == "--initial-advertise-peer-urls"
    assert errors(single(e=k.with_flag(etcd(), "listen-peer-urls", "https://0.0.0.0:2380"))) == []


def test_initial_cluster_without_the_member_itself():
    cp = single(e=k.with_flag(etcd(), "initial-cluster", f"mastr=https://{ADV}:2380"))
    (f,) = only(cp, "initial-cluster-missing-self")
    assert f.severity == "error" and "master=https://10.0.0.10:2380" in f.fix and "mastr" in f.detail


def test_initial_cluster_with_the_wrong_url_for_the_member_itself():
    cp = single(e=k.with_flag(etcd(), "initial-cluster", "master=https://10.0.0.11:2380"))
    assert errors(cp) == ["initial-cluster-missing-self"]


def test_no_initial_cluster_at_all_is_fine():
    """etcd then builds it from --name and --initial-advertise-peer-urls."""
    assert errors(single(e=k.with_flag(etcd(), "initial-cluster", None))) == []


def test_a_list_giving_another_member_a_url_it_does_not_advertise():
    nodes = stacked_nodes(3)
    nodes["cp3"][0] = k.with_flag(nodes["cp3"][0], "initial-cluster",
                                  "cp1=https://10.0.0.11:2380,cp2=https://10.0.0.21:2380,cp3=https://10.0.0.13:2380")
    cp = build(nodes)
    assert errors(cp) == ["initial-cluster-mismatch"]
    (f,) = only(cp, "initial-cluster-mismatch")
    assert f.node == "cp3" and f.value == "cp2=https://10.0.0.21:2380" and "https://10.0.0.12:2380" in f.fix


def test_a_misspelt_member_name_in_another_members_list():
    nodes = stacked_nodes(3)
    nodes["cp3"][0] = k.with_flag(nodes["cp3"][0], "initial-cluster",
                                  "cp1=https://10.0.0.11:2380,cp-2=https://10.0.0.12:2380,cp3=https://10.0.0.13:2380")
    (f,) = only(build(nodes), "initial-cluster-mismatch")
    assert "cp2" in f.detail and "cp-2" in f.detail


def test_members_not_given_are_not_compared():
    """Only cp3's manifests, as on a real node: its list names cp1 and cp2, which were not loaded."""
    cp = build({"cp3": stacked_nodes(3)["cp3"]})
    assert errors(cp) == [] and ids(cp, "warning") == []


def test_a_member_that_joined_with_state_new():
    nodes = stacked_nodes(3)
    nodes["cp3"][0] = k.with_flag(nodes["cp3"][0], "initial-cluster-state", "new")
    (f,) = only(build(nodes), "initial-cluster-state")
    assert f.node == "cp3" and f.severity == "warning" and "existing" in f.fix


def test_a_static_bootstrap_with_identical_lists_and_state_new_is_fine():
    assert "initial-cluster-state" not in ids(build(external_nodes()))


# -- volumes ---------------------------------------------------------------------------------


def test_a_data_dir_outside_the_volumes():
    cp = single(e=k.with_flag(etcd(), "data-dir", "/var/lib/etcd-data"))
    assert errors(cp) == ["data-dir-not-mounted"]
    (f,) = only(cp, "data-dir-not-mounted")
    assert f.value == "/var/lib/etcd-data" and f.flag == "--data-dir" and "/var/lib/etcd" in f.detail


def test_no_data_dir_means_etcds_default_inside_the_container():
    (f,) = only(single(e=k.with_flag(etcd(), "data-dir", None)), "data-dir-not-mounted")
    assert f.value is None and "master.etcd" in f.detail


def test_a_read_only_data_dir():
    (f,) = only(single(e=with_volume_mount(etcd(), "etcd-data", readOnly=True)), "data-dir-not-mounted")
    assert "read-only" in f.detail


def test_a_data_dir_below_the_mount_is_fine():
    assert errors(single(e=k.with_flag(etcd(), "data-dir", "/var/lib/etcd/member-data"))) == []


@pytest.mark.parametrize("pod, flag", [("etcd", "cert-file"), ("etcd", "peer-trusted-ca-file"),
                                       ("api", "etcd-certfile"), ("api", "etcd-cafile")])
def test_a_certificate_outside_the_volumes(pod, flag):
    path = "/root/certs/x.pem"
    cp = single(e=k.with_flag(etcd(), flag, path)) if pod == "etcd" else single(a=k.with_flag(api(), flag, path))
    found = only(cp, "cert-not-mounted")
    assert [(f.flag, f.value) for f in found] == [(f"--{flag}", path)]


def test_certificates_in_the_apiservers_pki_mount_are_fine():
    """k8s-certs mounts all of /etc/kubernetes/pki, which holds pki/etcd/ca.crt too."""
    assert "cert-not-mounted" not in ids(single())


# -- cluster size ----------------------------------------------------------------------------


def test_one_member():
    (f,) = only(single(), "cluster-single-member")
    assert f.severity == "warning"


@pytest.mark.parametrize("n", [2, 4])
def test_an_even_number_of_members(n):
    (f,) = only(build(stacked_nodes(n)), "cluster-even-size")
    assert f.severity == "warning" and "even" in f.title and str(n) in f.title
    assert f"{n - 1} or {n + 1}" in f.fix


@pytest.mark.parametrize("n", [3, 5])
def test_an_odd_number_of_members(n):
    assert not {"cluster-even-size", "cluster-single-member"} & set(ids(build(stacked_nodes(n))))


def test_size_counts_members_named_in_initial_cluster():
    """On cp3 alone, its --initial-cluster says there are three members (and on cp4 alone, four)."""
    assert "cluster-single-member" not in ids(build({"cp3": stacked_nodes(3)["cp3"]}))
    assert "cluster-even-size" in ids(build({"cp4": stacked_nodes(4)["cp4"]}))


def test_the_ca_finding_teaches_both_directions_and_that_only_paths_are_compared():
    from etcdlab.diagnosis.wiring import etcd_ca_mismatch

    (f,) = only(single(a=api(etcd_cafile="/etc/kubernetes/pki/etcd/other-ca.crt")), "etcd-ca-mismatch")
    assert "CA that signed etcd's server certificate (--cert-file)" in f.detail
    assert "CA that signed the apiserver's --etcd-certfile" in f.detail and "compares paths" in f.detail
    assert "--etcd-certfile" in etcd_ca_mismatch.__doc__ and "convention" in etcd_ca_mismatch.__doc__


# -- the kubelet's probes ------------------------------------------------------------------------


@pytest.mark.parametrize("generation", ["1.28", "1.31", "1.34"])
@pytest.mark.parametrize("metrics, why", [
    (None, "nothing of etcd listens there"),                       # --listen-metrics-urls removed
    ("http://127.0.0.1:2382", "nothing of etcd listens there"),    # moved to another port
    ("https://127.0.0.1:2381", "speaks TLS"),                      # made https
])
def test_probes_where_etcd_does_not_answer(generation, metrics, why):
    cp = single(e=k.with_flag(etcd(generation=generation), "listen-metrics-urls", metrics))
    (f,) = only(cp, "probe-not-served")
    assert f.severity == "error" and f.flag == "--listen-metrics-urls" and f.node == "master"
    assert f.value == metrics and "hit http://127.0.0.1:2381, where" in f.title
    assert why in f.detail and "over and over" in f.detail
    assert f.title.startswith("The kubelet's liveness and startup") or "readiness" in f.title
    assert "http://127.0.0.1:2381" in f.fix and 40 < len(f.detail) < 600


@pytest.mark.parametrize("flags", [
    {"listen-metrics-urls": "http://0.0.0.0:2381"},
    {"listen-metrics-urls": "http://localhost:2381"},
    {"listen-metrics-urls": None, "listen-client-urls": "https://10.0.0.10:2379,http://127.0.0.1:2381"},
])
def test_probes_answered_by_a_wildcard_or_a_plain_http_client_listener(flags):
    e = etcd()
    for flag, value in flags.items():
        e = k.with_flag(e, flag, value)
    assert only(single(e=e), "probe-not-served") == []


def set_probes(pod: dict, **http_get) -> dict:
    import copy

    out = copy.deepcopy(pod)
    c = out["spec"]["containers"][0]
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in c:
            c[kind]["httpGet"].update(http_get)
            c[kind]["httpGet"] = {k_: v for k_, v in c[kind]["httpGet"].items() if v is not None}
    return out


def test_https_probes_need_a_tls_listener_that_asks_for_no_certificate():
    (f,) = only(single(e=set_probes(etcd(), scheme="HTTPS", port=2379)), "probe-not-served")
    assert "https://127.0.0.1:2379" in f.title and "demands a client certificate" in f.detail
    (f,) = only(single(e=set_probes(etcd(), scheme="HTTPS")), "probe-not-served")
    assert "is plain HTTP" in f.detail
    no_auth = k.with_flag(etcd(), "client-cert-auth", "false")
    assert only(single(e=set_probes(no_auth, scheme="HTTPS", port=2379)), "probe-not-served") == []


def test_a_probe_without_a_host_goes_to_the_nodes_address():
    """No host: the kubelet dials the Pod's IP, the node's address with hostNetwork, where
    kubeadm's metrics listener (127.0.0.1 only) does not answer."""
    (f,) = only(single(e=set_probes(etcd(), host=None)), "probe-not-served")
    assert f"http://{ADV}:2381" in f.title
    e = k.with_flag(set_probes(etcd(), host=None), "listen-metrics-urls", f"http://127.0.0.1:2381,http://{ADV}:2381")
    assert only(single(e=e), "probe-not-served") == []


def test_one_finding_names_every_probe_that_fails_alike():
    e = k.with_flag(etcd(generation="1.31"), "listen-metrics-urls", None)
    (f,) = only(single(e=e), "probe-not-served")
    assert f.title.startswith("The kubelet's liveness, readiness and startup probes of master hit")
    assert "(liveness GET /livez, readiness GET /readyz, startup GET /readyz)" in f.detail
    readiness_only = k.with_flag(etcd(generation="1.31"), "listen-metrics-urls", None)
    for kind in ("livenessProbe", "startupProbe"):
        del readiness_only["spec"]["containers"][0][kind]
    (f,) = only(single(e=readiness_only), "probe-not-served")
    assert "never becomes Ready" in f.detail


# -- certificates etcd cannot use ----------------------------------------------------------------


@pytest.mark.parametrize("flag, auth, who", [("trusted-ca-file", "client-cert-auth", "client"),
                                             ("peer-trusted-ca-file", "peer-client-cert-auth", "peer")])
def test_demanding_certificates_with_no_ca_to_verify_them(flag, auth, who):
    (f,) = only(single(e=k.with_flag(etcd(), flag, None)), "trusted-ca-missing")
    assert f.severity == "error" and f.flag == f"--{flag}" and f.value is None
    assert f"every {who} is refused" in f.detail and "/etc/kubernetes/pki/etcd/ca.crt" in f.fix
    assert only(single(e=k.with_flag(k.with_flag(etcd(), flag, None), auth, "false")), "trusted-ca-missing") == []


def test_a_key_named_for_another_certificate():
    (f,) = only(single(e=k.with_flag(etcd(), "key-file", "/etc/kubernetes/pki/etcd/peer.key")), "cert-key-mismatch")
    assert f.severity == "warning" and f.flag == "--key-file" and f.value.endswith("peer.key")
    assert "server" in f.detail and "/etc/kubernetes/pki/etcd/server.key" in f.fix
    a = k.with_flag(api(), "etcd-keyfile", "/etc/kubernetes/pki/apiserver-kubelet-client.key")
    (f,) = only(single(a=a), "cert-key-mismatch")
    assert f.flag == "--etcd-keyfile" and f.node == "master"


@pytest.mark.parametrize("cert, key", [("/etc/kubernetes/pki/etcd/etcd.pem", "/etc/kubernetes/pki/etcd/etcd-key.pem"),
                                       ("/etc/kubernetes/pki/etcd/tls.crt", "/etc/kubernetes/pki/etcd/tls.key"),
                                       ("/etc/kubernetes/pki/etcd/s-cert.pem", "/etc/kubernetes/pki/etcd/s-key.pem")])
def test_pairs_named_alike_are_fine(cert, key):
    e = k.with_flag(k.with_flag(etcd(), "cert-file", cert), "key-file", key)
    assert only(single(e=e), "cert-key-mismatch") == []


# -- two static Pods for one component --------------------------------------------------------------


def manifests_dir(tmp_path, **files: dict):
    d = tmp_path / "manifests"
    d.mkdir(exist_ok=True)
    for name, pod in {"etcd.yaml": etcd(), "kube-apiserver.yaml": api(), **files}.items():
        (d / name).write_text(k.to_yaml(pod))
    return d


def renamed(pod: dict, name: str, **flags) -> dict:
    for flag, value in flags.items():
        pod = k.with_flag(pod, flag, value)
    pod["metadata"]["name"] = name
    return pod


def test_a_second_etcd_manifest_in_the_directory(tmp_path):
    d = manifests_dir(tmp_path, **{"etcd-backup.yaml": renamed(etcd(), "etcd-backup", **{"data-dir": "/var/lib/etcd-old"})})
    cp = el.load(d)
    assert errors(cp) == ["duplicate-static-pod"]
    (f,) = only(cp, "duplicate-static-pod")
    assert (f.file, f.node, f.line, f.title) == (str(d / "etcd-backup.yaml"), "master", None,
                                                 "Two etcd static Pods on node master")
    assert "etcd.yaml and etcd-backup.yaml" in f.detail and "runs both" in f.detail and "2379/2380" in f.detail
    assert f"move {d / 'etcd-backup.yaml'} out" in f.fix and 40 < len(f.detail) < 600


def test_a_backup_with_the_same_pod_name_and_a_hidden_one(tmp_path):
    d = manifests_dir(tmp_path, **{"etcd.yaml.bak": etcd()})
    (f,) = only(el.load(d), "duplicate-static-pod")
    assert f.file == str(d / "etcd.yaml.bak") and "keeps one Pod per name" in f.detail
    (d / "etcd.yaml.bak").rename(d / ".etcd.yaml.bak")  # the kubelet skips names that start with a dot
    assert only(el.load(d), "duplicate-static-pod") == []


def test_a_second_apiserver_manifest(tmp_path):
    d = manifests_dir(tmp_path, **{"kube-apiserver-new.yaml": renamed(api(), "kube-apiserver-new")})
    (f,) = only(el.load(d), "duplicate-static-pod")
    assert f.title == "Two kube-apiserver static Pods on node master" and "6443" in f.detail
    assert el.load(d).nodes[0].apiserver.pod.file == str(d / "kube-apiserver.yaml")


# -- one doctor run ------------------------------------------------------------------------------


def test_the_routes_of_each_apiserver_are_worked_out_once_per_run(monkeypatch):
    from etcdlab.diagnosis import routes as checks  # where the checks look routes up

    calls = []
    real = checks.routes
    monkeypatch.setattr(checks, "routes", lambda cp, node, api: calls.append(node.name) or real(cp, node, api))
    cp = build(stacked_nodes(3))
    first = doctor(cp)
    assert sorted(calls) == ["cp1", "cp2", "cp3"]
    assert doctor(cp) == first and len(calls) == 6  # each run works them out afresh
    assert [r.ok for r in real(cp, cp.node("cp1"), cp.node("cp1").apiserver)] == [True]


# -- CIS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag, value, rule, cis", [
    ("cert-file", None, "cis-etcd-cert-file", "CIS-1.9 2.1"),
    ("key-file", None, "cis-etcd-cert-file", "CIS-1.9 2.1"),
    ("client-cert-auth", "false", "cis-etcd-client-cert-auth", "CIS-1.9 2.2"),
    ("client-cert-auth", None, "cis-etcd-client-cert-auth", "CIS-1.9 2.2"),
    ("auto-tls", "true", "cis-etcd-auto-tls", "CIS-1.9 2.3"),
    ("peer-cert-file", None, "cis-etcd-peer-cert-file", "CIS-1.9 2.4"),
    ("peer-client-cert-auth", "false", "cis-etcd-peer-client-cert-auth", "CIS-1.9 2.5"),
    ("peer-auto-tls", "true", "cis-etcd-peer-auto-tls", "CIS-1.9 2.6"),
])
def test_cis_etcd_checks(flag, value, rule, cis):
    cp = single(e=k.with_flag(etcd(), flag, value))
    (f,) = only(cp, rule)
    assert f.severity == "error" and f.cis == cis and f.flag == f"--{flag}" and f.value == value
    assert rule in errors(cp)


def test_bare_client_cert_auth_means_true():
    e = etcd()
    e["spec"]["containers"][0]["command"] = [c if c != "--client-cert-auth=true" else "--client-cert-auth"
                                             for c in e["spec"]["containers"][0]["command"]]
    assert errors(single(e=e)) == []


def test_cis_unique_ca_without_trusted_ca_file():
    (f,) = only(single(e=k.with_flag(etcd(), "trusted-ca-file", None)), "cis-etcd-unique-ca")
    assert f.severity == "warning" and f.cis == "CIS-1.9 2.7"


def test_cis_unique_ca_when_etcd_trusts_the_cluster_ca():
    a = api(extra_flags={"client-ca-file": "/etc/kubernetes/pki/etcd/ca.crt"})
    (f,) = only(single(a=a), "cis-etcd-unique-ca")
    assert f.value == "/etc/kubernetes/pki/etcd/ca.crt"


@pytest.mark.parametrize("flag, rule, cis", [
    ("etcd-certfile", "cis-apiserver-etcd-certfile", "CIS-1.9 1.2.23"),
    ("etcd-keyfile", "cis-apiserver-etcd-certfile", "CIS-1.9 1.2.23"),
    ("etcd-cafile", "cis-apiserver-etcd-cafile", "CIS-1.9 1.2.26"),
])
def test_cis_apiserver_checks(flag, rule, cis):
    (f,) = only(single(a=k.with_flag(api(), flag, None)), rule)
    assert f.severity == "error" and f.cis == cis and f.flag == f"--{flag}"


def test_cis_encryption_is_information_and_goes_away_when_configured():
    (f,) = only(single(), "cis-apiserver-encryption")
    assert f.severity == "info" and f.cis == "CIS-1.9 1.2.27"
    a = api(extra_flags={"encryption-provider-config": "/etc/kubernetes/pki/encryption.yaml"})
    assert "cis-apiserver-encryption" not in ids(single(a=a))


def test_cis_manifest_permissions_from_a_node(tmp_path):
    """On a node's tree (etcdlab doctor --node ROOT) the manifests' modes count; on a copy they
    do not (tests/test_host.py has the other host checks)."""
    d = tmp_path / "etc" / "kubernetes" / "manifests"
    d.mkdir(parents=True)
    (d / "etcd.yaml").write_text(k.to_yaml(etcd()))
    (d / "kube-apiserver.yaml").write_text(k.to_yaml(api()))
    os.chmod(d / "etcd.yaml", 0o644)
    os.chmod(d / "kube-apiserver.yaml", 0o600)
    found = only(el.load_node(tmp_path), "cis-manifest-permissions")
    assert [(f.file, f.value, f.cis, f.line) for f in found] == [(str(d / "etcd.yaml"), "644", "CIS-1.9 1.1.7", None)]
    assert only(el.load(d), "cis-manifest-permissions") == []  # the same files, as a copy
    os.chmod(d / "etcd.yaml", 0o600)
    assert only(el.load_node(tmp_path), "cis-manifest-permissions") == []


def test_cis_manifest_permissions_are_not_read_from_kubectl_captures(tmp_path):
    """The mode of a `kubectl get po -o yaml` capture says nothing about the manifest on the node."""
    pod = etcd()
    pod["spec"]["nodeName"] = "master"
    pod["status"] = {"phase": "Running", "hostIP": ADV}
    capture = tmp_path / "etcd-master.yaml"
    capture.write_text(k.to_yaml(pod))
    os.chmod(capture, 0o644)
    from etcdlab.sources.files import load_file

    recorded = load_file(capture)  # as for a file in the node's own /etc/kubernetes/manifests
    assert recorded.nodes[0].pods[0].file_mode == 0o644
    assert "cis-manifest-permissions" not in ids(recorded)


def test_cis_manifest_ownership():
    cp = single()
    nodes = tuple(replace(n, pods=tuple(replace(p, file_owner="alice:staff") for p in n.pods)) for n in cp.nodes)
    found = only(ControlPlane(nodes), "cis-manifest-ownership")
    assert sorted(f.cis for f in found) == ["CIS-1.9 1.1.2", "CIS-1.9 1.1.8"]
    assert only(single(), "cis-manifest-ownership") == []  # owner unknown: not checked


# -- findings, ordering, the API ------------------------------------------------------------


BREAKS = [
    single(a=api(etcd_servers=["https://127.0.0.1:2380", "http://127.0.0.1:2379"])),
    single(e=k.with_flag(k.with_flag(etcd(), "data-dir", "/data"), "auto-tls", "true"),
           a=k.with_flag(api(), "etcd-cafile", "/etc/kubernetes/pki/ca.crt")),
    build(external_nodes(servers=ALL_SERVERS[:2] + ["https://10.0.1.99:2379"])),
]


def test_findings_are_sorted_most_severe_first_and_deterministic():
    for cp in BREAKS:
        found = doctor(cp)
        ranks = [SEVERITIES.index(f.severity) for f in found]
        assert ranks == sorted(ranks)
        assert found == doctor(cp)
        assert len(set(found)) == len(found)


def test_every_finding_is_a_known_rule_with_short_teaching_text():
    for cp in BREAKS:
        for f in doctor(cp):
            rule = RULES[f.id]
            assert f.severity in SEVERITIES and f.title and f.fix
            assert f.cis == rule.cis or (f.cis or "").startswith("CIS-1.9 ")
            assert 40 < len(f.detail) < 600, f.detail


def test_every_check_teaches():
    assert len(CHECKS) >= 15
    assert all(c.__doc__ and len(c.__doc__.split()) >= 10 for c in CHECKS)


def test_to_dict_has_every_field():
    f = only(BREAKS[0], "etcd-servers-peer-port")[0]
    d = f.to_dict()
    assert set(d) == {"id", "severity", "title", "detail", "file", "flag", "value", "fix", "cis", "line", "node"}
    assert json.loads(json.dumps(d)) == d


def test_summary_and_at_least():
    found = doctor(single(a=api(etcd_servers=["https://127.0.0.1:2380"])))
    s = summary(found)
    assert s == {"error": 1, "warning": 1, "info": 1, "total": 3, "ok": False}
    assert summary(doctor(single()))["ok"] is True
    assert [f.severity for f in at_least(found, "warning")] == ["error", "warning"]
    with pytest.raises(ValueError):
        at_least(found, "fatal")


def test_doctor_accepts_sources_and_data_sets(tmp_path):
    d = tmp_path / "manifests"
    d.mkdir()
    (d / "etcd.yaml").write_text(k.to_yaml(etcd()))
    (d / "kube-apiserver.yaml").write_text(k.to_yaml(api(etcd_servers=["https://127.0.0.1:2380"])))
    assert "etcd-servers-peer-port" in errors(el.load(d))
    assert [f.id for f in el.doctor(str(d)) if f.severity == "error"] == ["etcd-servers-peer-port"]
    assert el.doctor(d) == el.doctor(str(d))
    dirs = []
    for name, docs in stacked_nodes(2).items():  # several node directories make one cluster
        dirs.append(tmp_path / name)
        dirs[-1].mkdir()
        for pod in docs:
            (dirs[-1] / f"{pod['metadata']['name']}.yaml").write_text(k.to_yaml(pod))
    found = el.doctor(*dirs)
    assert "cluster-even-size" in [f.id for f in found] and not [f for f in found if f.severity == "error"]
    assert el.doctor("single-control-plane") == el.doctor(el.dataset("single-control-plane"))
    with pytest.raises(TypeError):
        doctor(single(), "single-control-plane")


# -- the command ------------------------------------------------------------------------------


@pytest.fixture
def node_dir(tmp_path):
    def make(**api_kw):
        d = tmp_path / "manifests"
        d.mkdir(exist_ok=True)
        for name, pod in (("etcd.yaml", etcd()), ("kube-apiserver.yaml", api(**api_kw))):
            (d / name).write_text(k.to_yaml(pod))
            os.chmod(d / name, 0o600)
        return d
    return make


def test_cli_clean_exits_0_with_a_readable_report(node_dir, capsys):
    assert main(["doctor", str(node_dir())]) == 0
    out = capsys.readouterr().out
    assert "WARNING cluster-single-member" in out and "INFO    cis-apiserver-encryption" in out
    assert "CIS-1.9 1.2.27" in out and "fix" in out and "0 errors, 1 warning, 1 info" in out


def test_cli_error_exits_1_and_says_where(node_dir, capsys):
    d = node_dir(etcd_servers=["https://127.0.0.1:2380"])
    assert main(["doctor", str(d), "--severity", "error"]) == 1
    out = capsys.readouterr().out
    assert "ERROR   etcd-servers-peer-port" in out
    assert f"{d / 'kube-apiserver.yaml'}:" in out and "--etcd-servers=https://127.0.0.1:2380" in out
    assert "WARNING" not in out


def test_cli_json(node_dir, capsys):
    assert main(["doctor", str(node_dir(etcd_servers=["https://127.0.0.1:2380"])), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"findings", "summary", "host_checks"}
    assert doc["host_checks"]["ran"] is False and "skipped" in doc["host_checks"]["skipped"]
    assert doc["summary"] == {"error": 1, "warning": 1, "info": 1, "total": 3, "ok": False}
    first = doc["findings"][0]
    assert first["id"] == "etcd-servers-peer-port" and first["flag"] == "--etcd-servers"
    assert set(first) >= {"id", "severity", "title", "detail", "file", "flag", "value", "fix", "cis"}


def test_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["doctor", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "etcd.yaml"
    bad.write_text("kind: Pod\nspec: [\n")
    assert main(["doctor", str(bad)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["doctor", str(bad), "--severity", "fatal"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["doctor"])
    assert exc.value.code == 2


def test_cli_with_nothing_to_check(tmp_path, capsys):
    table = tmp_path / "pods.txt"
    table.write_text("NAME READY STATUS RESTARTS AGE IP NODE\nkube-proxy-x 1/1 Running 0 1d 10.0.0.2 w1\n")
    assert main(["doctor", str(table)]) == 0
    assert "Nothing to check" in capsys.readouterr().out


def test_the_installed_command(etcdlab_cmd):
    run = subprocess.run(etcdlab_cmd + ["doctor", "broken/wrong-port", "--json"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 1, run.stderr
    doc = json.loads(run.stdout)
    assert [f["id"] for f in doc["findings"] if f["severity"] == "error"] == ["etcd-servers-peer-port"]
