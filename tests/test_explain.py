"""Flag tables and meanings."""

import etcdlab as el
from etcdlab import kubeadm
from etcdlab.diagnosis.explain import MEANINGS


def _pods():
    text = kubeadm.to_yaml(kubeadm.etcd_manifest("master", "10.0.0.1")) + "---\n" + \
        kubeadm.to_yaml(kubeadm.apiserver_manifest("master", "10.0.0.1"))
    cp = el.load_text(text, "m.yaml")
    return cp.members[0].pod, cp.apiservers[0].pod


def test_every_flag_kubeadm_writes_for_etcd_is_explained():
    for generation in ("1.28", "1.34"):
        for f in kubeadm.etcd_command("n", "10.0.0.1", generation=generation)[1:]:
            assert f[2:].split("=", 1)[0] in MEANINGS, f


def test_etcd_table_lists_every_flag_with_its_line():
    etcd_pod, _ = _pods()
    table = el.flag_table(etcd_pod)
    assert len(table) == len(etcd_pod.command.flags)
    assert table.value("listen-metrics-urls") == "http://127.0.0.1:2381"
    assert all(r.line for r in table)
    text = str(table)
    assert text.splitlines()[0].startswith("FLAG")
    assert "--data-dir" in text and "write-ahead log" in text
    assert "<table>" in table._repr_html_()


def test_apiserver_table_shows_only_the_etcd_flags_by_default():
    _, api_pod = _pods()
    short = el.flag_table(api_pod)
    assert {r.flag for r in short} >= {"--etcd-servers", "--etcd-cafile", "--etcd-certfile", "--etcd-keyfile"}
    assert "--service-cluster-ip-range" not in {r.flag for r in short}
    assert len(el.flag_table(api_pod, only_etcd=False)) == len(api_pod.command.flags)


def test_explain_flag_accepts_dashes_and_admits_ignorance():
    assert el.explain_flag("--etcd-cafile") == el.explain_flag("etcd-cafile")
    assert "not covered" in el.explain_flag("--feature-nobody-has")


def test_html_is_escaped():
    from etcdlab.diagnosis.explain import FlagRow, FlagTable

    t = FlagTable("x", (FlagRow("--a", "<script>", "m", 1),))
    assert "<script>" not in t._repr_html_() and "&lt;script&gt;" in t._repr_html_()
