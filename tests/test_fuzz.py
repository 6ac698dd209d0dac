"""Generated junk against the flag parser, the URL parser and the loader.

The contract: whatever comes in, either a result comes out or an :class:`EtcdlabError` does,
and its message is one line. Any other exception (TypeError, KeyError, RecursionError,
UnicodeError...) is a bug. Runs are derandomized, so CI sees the same examples every time.
"""

from __future__ import annotations

import json
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etcdlab import kubeadm
from etcdlab.errors import EtcdlabError, FlagError
from etcdlab.model.flags import CommandLine, parse_command, parse_initial_cluster, parse_url, parse_url_list
from etcdlab.sources.kubectl import parse_pod_table
from etcdlab.sources.loading import load_text
from etcdlab.model.control_plane import ApiServer, EtcdMember

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def one_line(exc: EtcdlabError) -> None:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    assert len(text) < 500, text


# -- building blocks ----------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30),
                    st.binary(max_size=10))
junk = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4),
                                                     st.tuples(inner, inner)), max_leaves=12)

flag_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
flagish = st.builds(lambda dash, name, sep, value: f"{dash}{name}{sep}{value}",
                    st.sampled_from(["", "-", "--", "---"]),
                    st.one_of(flag_names, st.text(max_size=10)),
                    st.sampled_from(["", "=", "=="]),
                    st.one_of(st.just(""), st.text(max_size=20),
                              st.from_regex(r"-?[0-9]{1,6}(\.[0-9]+)?", fullmatch=True)))

hosts = st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
                  st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True),
                  st.text(max_size=12))
urlish = st.builds(lambda scheme, host, port, path: f"{scheme}{host}{port}{path}",
                   st.sampled_from(["https://", "http://", "HTTPS://", "unix://", "unixs://", "ftp://", "https:/",
                                    "", "https://user@"]),
                   hosts,
                   st.one_of(st.just(""), st.integers(-5, 70000).map(lambda p: f":{p}"),
                             st.text(max_size=6).map(lambda t: f":{t}")),
                   st.sampled_from(["", "/", "/x", "?q", "#f"]))


# -- the flag parser -----------------------------------------------------------------------------


@FUZZ
@given(st.one_of(junk, st.lists(junk, max_size=8), st.lists(st.one_of(st.text(max_size=20), flagish), max_size=12)))
@example(None)
@example(["etcd", "--abc\n=1"])
@example(["etcd", {"k": "v" * 10_000}])
def test_parse_command_accepts_or_raises_flag_error(argv):
    try:
        cl = parse_command(argv)
    except FlagError as exc:
        one_line(exc)
        return
    assert isinstance(cl, CommandLine) and cl.argv == tuple(argv)
    for f in cl.flags:
        assert 0 < f.index < len(cl.argv) and cl.argv[f.index] == f.raw.split(" ")[0]
        assert cl.get(f.name) == ("true" if cl.flag(f.name).value is None else cl.flag(f.name).value)
    for name in cl.names():
        try:
            cl.get_bool(name)
        except FlagError as exc:
            one_line(exc)
        assert cl.get_list(name) == [p.strip() for v in cl.get_all(name) for p in v.split(",") if p.strip()]


@FUZZ
@given(st.dictionaries(flag_names, st.text(max_size=30).filter(lambda v: "\x00" not in v), max_size=10))
def test_equals_flags_round_trip(flags):
    cl = parse_command(["etcd"] + [f"--{k}={v}" for k, v in flags.items()])
    assert cl.as_dict() == flags and cl.positional == ()


@FUZZ
@given(st.lists(st.tuples(flag_names, st.one_of(st.from_regex(r"[A-Za-z0-9/_.:,]{1,20}", fullmatch=True),
                                                st.from_regex(r"-[0-9]{1,5}", fullmatch=True))),
                min_size=1, max_size=8))
def test_space_separated_values_mean_the_same_as_equals(pairs):
    spaced = ["etcd"] + [t for k, v in pairs for t in (f"--{k}", v)]
    equals = ["etcd"] + [f"--{k}={v}" for k, v in pairs]
    assert parse_command(spaced).as_dict() == parse_command(equals).as_dict()
    assert [f.name for f in parse_command(spaced)] == [k for k, _ in pairs]


# -- URLs ------------------------------------------------------------------------------------------


@FUZZ
@given(st.one_of(urlish, st.text(max_size=40), scalars))
@example("https://10.0.0.1:²")
@example("https://[fe80::1%eth0]:2379")
def test_parse_url_accepts_or_raises_flag_error_naming_the_flag(text):
    try:
        e = parse_url(text, flag="etcd-servers")
    except FlagError as exc:
        one_line(exc)
        assert str(exc).startswith("--etcd-servers: ")
        return
    assert e.scheme in ("https", "http", "unix", "unixs") and e.host
    assert e.port is None or 0 < e.port < 65536
    assert str(e) == text.strip()
    e.hostport, e.ip, e.is_loopback, e.is_wildcard, e.tls  # noqa: B018 - none of these may raise


@FUZZ
@given(st.sampled_from(["https", "http"]),
       st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
                 st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)),
       st.one_of(st.none(), st.integers(1, 65535)))
def test_valid_urls_parse_to_what_they_say(scheme, host, port):
    text = f"{scheme}://{host}" + (f":{port}" if port else "")
    e = parse_url(text)
    assert (e.scheme, e.host, e.port, e.raw) == (scheme, host.strip("[]"), port, text)
    assert e.hostport == text.split("://", 1)[1]
    assert e.tls == (scheme == "https")


@FUZZ
@given(st.one_of(st.lists(urlish, max_size=4).map(",".join), st.text(max_size=40)),
       st.lists(st.tuples(st.text(max_size=8), urlish), max_size=4).map(
           lambda pairs: ",".join(f"{n}={u}" for n, u in pairs)))
def test_url_lists_and_initial_cluster(urls, cluster):
    for call in (lambda: parse_url_list(urls, flag="x"), lambda: parse_initial_cluster(cluster)):
        try:
            call()
        except FlagError as exc:
            one_line(exc)


# -- the loader ---------------------------------------------------------------------------------------

def _minimal(pod: dict) -> dict:
    """Just what the model reads (command, volumes): small text, so many examples run fast."""
    c = pod["spec"]["containers"][0]
    return {"kind": "Pod", "metadata": {"name": pod["metadata"]["name"]},
            "spec": {"containers": [{"name": c["name"], "command": c["command"], "volumeMounts": c["volumeMounts"]}],
                     "volumes": pod["spec"]["volumes"]}}


ETCD = _minimal(kubeadm.etcd_manifest("master", "10.128.15.226"))
API = _minimal(kubeadm.apiserver_manifest("master", "10.128.15.226"))


def loads(text: str):
    try:
        cp = load_text(text, "fuzz.yaml")
    except EtcdlabError as exc:
        one_line(exc)
        assert str(exc).startswith("fuzz.yaml"), str(exc)
        return None
    # whatever loaded must be usable by every view
    for node in cp.nodes:
        for pod in node.pods:
            for f in pod.command:
                pod.line_of(f.name)
                pod.host_path("/var/lib/etcd/" + f.name)
    return cp


@FUZZ
@given(st.text(max_size=200))
@example("")
@example("[" * 3000)
@example("{" * 3000)
@example("a: &a [*a]\n")
@example("--TRUNCATED--")
@example("kind: Pod\nspec: {containers: [{command: [etcd, '--listen-client-urls=https://h:²']}]}")
def test_load_text_on_junk_text(text):
    loads(text)


@FUZZ
@given(st.lists(st.sampled_from(["kind: Pod", "kind: List", "items:", "- kind: Pod", "spec:", "  containers:",
                                 "  - name: etcd", "    command:", "    - etcd", "    - --name=a",
                                 "    - --listen-client-urls=https://[::1]:2379", "    args: [--x]", "---",
                                 "  volumes: [{name: v, hostPath: {path: /v}}]", "metadata: {labels: &l {a: b}}",
                                 "  annotations: *l", "status: {hostIP: 1.2.3.4}", "  nodeName: n1", "    - 12",
                                 "    - {a: b}", "  - [x]", "\t", "--TRUNCATED--", "}", "{", '"', "'", "&a", "*a",
                                 "!!binary aGk=", "? [a]", ": b", "2001-02-30"]), max_size=15).map("\n".join))
def test_load_text_on_yaml_shaped_lines(text):
    loads(text)


def pod_shapes():
    """Pods with random shapes where the loader looks: kind, metadata, spec, containers, command..."""
    command = st.one_of(junk, st.lists(st.one_of(st.text(max_size=20), flagish, urlish.map(lambda u: f"--etcd-servers={u}"),
                                                 urlish.map(lambda u: f"--listen-client-urls={u}"), scalars),
                                       max_size=8))
    container = st.fixed_dictionaries({}, optional={
        "name": junk, "image": junk, "command": command, "args": command,
        "volumeMounts": st.one_of(junk, st.lists(st.fixed_dictionaries({}, optional={
            "name": st.one_of(st.sampled_from(["etcd-data", "etcd-certs"]), junk),
            "mountPath": st.one_of(st.sampled_from(["/var/lib/etcd", "/", ""]), junk), "readOnly": junk}),
            max_size=3)),
        "livenessProbe": st.one_of(junk, st.fixed_dictionaries({"httpGet": junk})),
    })
    spec = st.one_of(junk, st.fixed_dictionaries({}, optional={
        "containers": st.one_of(junk, st.lists(st.one_of(container, junk), max_size=3)),
        "volumes": st.one_of(junk, st.lists(st.fixed_dictionaries({}, optional={
            "name": st.one_of(st.just("etcd-data"), junk), "hostPath": junk}), max_size=3)),
        "nodeName": junk, "hostNetwork": junk, "priorityClassName": junk,
    }))
    pod = st.fixed_dictionaries({"kind": st.one_of(st.just("Pod"), junk)}, optional={
        "metadata": st.one_of(junk, st.fixed_dictionaries({}, optional={
            "name": junk, "namespace": junk, "labels": junk, "annotations": junk})),
        "spec": spec, "status": st.one_of(junk, st.fixed_dictionaries({}, optional={
            "hostIP": junk, "phase": junk, "containerStatuses": junk})),
    })
    return st.one_of(pod, st.fixed_dictionaries({"kind": st.sampled_from(["List", "PodList"]),
                                                 "items": st.one_of(junk, st.lists(st.one_of(pod, junk), max_size=3))}))


def dump(obj, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, default=repr)
    return yaml.safe_dump(obj, default_flow_style=fmt == "flow", allow_unicode=True)


@FUZZ
@given(pod_shapes(), st.sampled_from(["yaml", "flow", "json"]))
def test_load_text_on_pods_of_every_shape(obj, fmt):
    try:
        text = dump(obj, fmt)
    except (yaml.YAMLError, TypeError, ValueError):
        return  # not representable (bytes keys...): nothing to feed the loader
    loads(text)


@FUZZ
@given(st.sampled_from([ETCD, API]), st.data())
def test_kubeadm_manifests_with_one_flag_replaced_by_junk(pod, data):
    flags = [a.split("=", 1)[0][2:] for a in pod["spec"]["containers"][0]["command"][1:]]
    flag = data.draw(st.sampled_from(flags))
    value = data.draw(st.one_of(st.text(max_size=40), urlish, st.lists(urlish, max_size=3).map(",".join),
                                st.none()))
    text = kubeadm.to_yaml(kubeadm.with_flag(pod, flag, value))
    cp = loads(text)
    if cp is not None:
        for node in cp.nodes:
            assert node.etcd is None or isinstance(node.etcd, EtcdMember)
            assert node.apiserver is None or isinstance(node.apiserver, ApiServer)


@FUZZ
@given(st.lists(st.one_of(st.text(max_size=60),
                          st.builds(lambda *cols: "   ".join(cols), st.text(max_size=10), st.sampled_from(["1/1", "0/1"]),
                                    st.text(max_size=8), st.sampled_from(["0", "2 (3h ago)", "x"]),
                                    st.text(max_size=4), st.text(max_size=10), st.text(max_size=8))),
                max_size=6).map("\n".join))
def test_parse_pod_table_on_junk(text):
    try:
        rows = parse_pod_table(text, file="t.txt")
    except EtcdlabError as exc:
        one_line(exc)
        return
    for r in rows:
        assert r.restart_count >= 0
        r.component  # noqa: B018
