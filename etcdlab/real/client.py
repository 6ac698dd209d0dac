"""A small etcd v3 client, the way the kube-apiserver connects: HTTPS with a client certificate.

etcd serves its v3 API twice on the client port: as gRPC (what the apiserver and
``etcdctl`` use) and as a JSON "gateway" over plain HTTPS (``POST /v3/kv/put`` ...,
keys and values base64-encoded). This client speaks the JSON gateway through the
`etcd3gw <https://opendev.org/openstack/etcd3gw>`_ library, with the three files the
apiserver is given::

    --etcd-servers=https://127.0.0.1:2379      -> EtcdClient(endpoints=...)
    --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt          -> ca=
    --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt -> cert=
    --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key  -> key=

What it adds to etcd3gw is the part a student needs to *see*: every failure becomes one
of etcdlab's own errors, with a sentence that says what happened.

* :class:`~etcdlab.errors.TLSError` -- the TLS handshake failed; ``reason`` is one of
  :data:`TLS_REASONS` (``"unknown authority"``, ``"bad certificate"`` ...).
* :class:`~etcdlab.errors.EtcdUnavailable` -- nothing answered (connection refused,
  the port is not an etcd client port, the connection was closed).
* :class:`~etcdlab.errors.QuorumLost` -- the member answered the TCP and TLS handshakes
  but could not get the request through Raft in time: no majority, so no leader. The
  gateway itself would wait about 7 s before saying "request timed out"; this client
  gives up after ``timeout`` seconds (default 2 s, like ``etcdctl --command-timeout=2s``)
  and then asks the same member for its status, which it answers from its own memory:
  if it answers, the member is alive and the cluster has lost quorum. Within ``timeout``
  it tries again every third of it: etcd drops (does not queue) a request that was in
  flight when the leader died, and the retry is what lets a write go through as soon
  as a new leader is elected.

Linearizable reads (the default) need the same majority as writes; a *serializable*
read (``get(key, serializable=True)``) is answered by the member alone, from its own
copy of the data, and still works without quorum -- possibly stale.

Use one client per thread (it holds one ``requests`` session).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import EtcdlabError, EtcdUnavailable, QuorumLost, TLSError

#: The reasons a :class:`TLSError` can carry, and what each means in plain words.
TLS_REASONS = {
    "unknown authority": "the server's certificate is not signed by the CA this client trusts",
    "name mismatch": "the server's certificate does not name the host the client dialled",
    "expired": "a certificate is outside its validity period",
    "bad certificate": "the server refused the client's certificate (none was sent, or its CA is not trusted)",
    "not TLS": "one end speaks plain text where the other expects TLS (a plain-HTTP port, or an http:// URL)",
    "missing file": "a certificate, key or CA file does not exist",
    "key mismatch": "the private key does not belong to the certificate",
    "handshake failed": "the TLS handshake failed for another reason",
}


@dataclass(frozen=True)
class MemberStatus:
    """What one member says about itself (``/v3/maintenance/status``), ids in hex like etcdctl."""

    endpoint: str
    member_id: str
    leader_id: str | None     #: ``None`` while the member knows no leader
    raft_term: int
    raft_index: int
    applied_index: int
    revision: int
    version: str
    db_size: int

    @property
    def is_leader(self) -> bool:
        return self.leader_id is not None and self.leader_id == self.member_id

    @property
    def has_leader(self) -> bool:
        return self.leader_id is not None


def _hex(value) -> str | None:
    """etcd's JSON gives uint64 ids as decimal strings; etcdctl prints them in hex."""
    if value in (None, "", "0", 0):
        return None
    return format(int(value), "x")


def _normalise_endpoints(endpoints: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(endpoints, str):
        endpoints = endpoints.split(",")
    out = tuple(e.strip().rstrip("/") for e in endpoints if e and e.strip())
    if not out:
        raise EtcdUnavailable("no etcd endpoint given: pass at least one URL such as https://127.0.0.1:2379.")
    return out


# -- turning failures into etcdlab errors -------------------------------------------------

def tls_reason(text: str) -> str:
    """Which of :data:`TLS_REASONS` an OpenSSL/requests error message describes."""
    t = text.lower()
    if ("unable to get local issuer" in t or "self signed certificate in" in t
            or "self-signed certificate in" in t or ("unknown ca" in t and "alert" not in t)):
        return "unknown authority"
    if "hostname mismatch" in t or "ip address mismatch" in t or "doesn't match" in t:
        return "name mismatch"
    if "certificate has expired" in t or "not yet valid" in t or "certificate expired" in t:
        return "expired"
    if ("bad certificate" in t or "certificate required" in t or "alert unknown ca" in t
            or ("handshake failure" in t and "alert" in t)):
        return "bad certificate"
    if ("wrong version number" in t or "record layer failure" in t or "packet length too long" in t
            or "http request" in t):
        return "not TLS"
    if "key values mismatch" in t:
        return "key mismatch"
    if "could not find" in t or "no such file" in t:
        return "missing file"
    return "handshake failed"


def _root_cause(exc: BaseException) -> BaseException:
    """etcd3gw re-raises requests' exceptions as its own; the original is the context."""
    seen = exc
    while seen.__context__ is not None and not _is_requests_error(seen):
        seen = seen.__context__
    return seen


def _is_requests_error(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.exceptions.RequestException)


#: What etcd says when a request could not go through Raft *right now* (worth retrying).
_TRANSIENT_MESSAGES = ("timed out", "no leader", "leader changed", "proposal dropped", "too many requests",
                       "not capable")


def _transient(exc: BaseException) -> bool:
    """A read timeout, or etcd saying it could not get the request through Raft at the moment."""
    import requests

    cause = _root_cause(exc)
    if isinstance(cause, requests.exceptions.ReadTimeout):
        return True
    detail = (getattr(exc, "detail_text", None) or "").lower()
    return any(m in detail for m in _TRANSIENT_MESSAGES)


def classify(exc: BaseException, endpoint: str, *, timeout: float | None = None) -> EtcdlabError:
    """Turn an exception from etcd3gw/requests into one of etcdlab's errors (pure: no I/O).

    A read timeout becomes :class:`QuorumLost` *provisionally*: the caller checks that
    the member still answers before reporting it (see :meth:`EtcdClient._call`).
    """
    import requests
    from etcd3gw import exceptions as gw

    cause = _root_cause(exc)
    text = str(cause) if cause is not exc else (getattr(exc, "detail_text", None) or str(exc))
    if isinstance(cause, requests.exceptions.SSLError):
        reason = tls_reason(text)
        return TLSError(f"TLS handshake with {endpoint} failed: {TLS_REASONS[reason]} ({_short(text)}).",
                        reason)
    if isinstance(cause, requests.exceptions.ConnectTimeout):
        return EtcdUnavailable(f"{endpoint} did not accept a connection within the timeout.")
    if isinstance(cause, requests.exceptions.ReadTimeout):
        waited = f" within {timeout:g} s" if timeout else ""
        return QuorumLost(f"{endpoint} accepted the request but etcd could not commit it{waited}: "
                          "the cluster has no leader (quorum lost).")
    if isinstance(cause, requests.exceptions.ConnectionError):
        low = text.lower()
        if "refused" in low:
            return EtcdUnavailable(f"nothing is listening on {endpoint} (connection refused).")
        if "remote end closed" in low or "reset by peer" in low or "aborted" in low:
            return EtcdUnavailable(f"{endpoint} closed the connection without answering ({_short(text)}).")
        return EtcdUnavailable(f"could not reach {endpoint}: {_short(text)}.")
    if isinstance(cause, OSError) and ("could not find" in text.lower()):
        return TLSError(f"{_short(text)}.", "missing file")
    if isinstance(exc, gw.Etcd3Exception):
        detail = (getattr(exc, "detail_text", None) or "").strip()
        low = detail.lower()
        if "timed out" in low or "no leader" in low:
            return QuorumLost(f"{endpoint}: etcd says {_etcd_message(detail)!r}: the cluster has no leader (quorum lost).")
        if "404" in detail or "page not found" in low:
            return EtcdUnavailable(f"{endpoint} answered 404 Not Found: it is not an etcd client port.")
        return EtcdUnavailable(f"{endpoint} answered an error: {_etcd_message(detail) or type(exc).__name__}.")
    return EtcdUnavailable(f"{endpoint}: {type(cause).__name__}: {_short(text)}.")


def _etcd_message(detail: str) -> str:
    """The ``error``/``message`` field of a gateway error body, else the body itself."""
    import json

    try:
        body = json.loads(detail)
        return str(body.get("message") or body.get("error") or detail)
    except (ValueError, AttributeError):
        return detail


def _short(text: str, limit: int = 160) -> str:
    """The informative tail of a long requests/urllib3 error message."""
    import re

    m = re.search(r"\[SSL: [A-Z_0-9]+\][^(]*", text) or re.search(r"\[Errno \d+\][^'\")]*", text)
    if m:
        return m.group(0).strip()
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the client ---------------------------------------------------------------------------

class EtcdClient:
    """Talk to an etcd cluster over HTTPS with a client certificate, like the kube-apiserver.

    ``endpoints`` is a list of URLs or a comma-separated string (the value of
    ``--etcd-servers``). Requests go to the first endpoint that answers; if one member is
    down (connection refused) the next is tried, as the apiserver's etcd client does.

    >>> # c = EtcdClient("https://127.0.0.1:2379", ca="etcd/ca.crt",
    >>> #                cert="apiserver-etcd-client.crt", key="apiserver-etcd-client.key")
    >>> # c.put("/registry/hello", "world"); c.get("/registry/hello")  -> 'world'
    """

    def __init__(self, endpoints: str | Sequence[str], *, ca: str | os.PathLike | None = None,
                 cert: str | os.PathLike | None = None, key: str | os.PathLike | None = None,
                 timeout: float = 2.0, connect_timeout: float = 0.5, attempt_timeout: float | None = None):
        import requests

        self.endpoints = _normalise_endpoints(endpoints)
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout)
        #: how long one try waits before asking the member what it sees and trying again
        self.attempt_timeout = float(attempt_timeout or self.timeout / 3)
        for label, path in (("CA file", ca), ("certificate", cert), ("key", key)):
            if path is not None and not Path(path).is_file():
                raise TLSError(f"the {label} {os.fspath(path)} does not exist.", "missing file")
        if (cert is None) != (key is None):
            raise TLSError("a client certificate needs both a certificate and a key file.", "missing file")
        self.ca, self.cert, self.key = ca, cert, key
        self.session = requests.Session()
        self.session.trust_env = False   # REQUESTS_CA_BUNDLE would override verify= otherwise
        self.session.verify = os.fspath(ca) if ca is not None else True
        if cert is not None:
            self.session.cert = (os.fspath(cert), os.fspath(key))
        self._gateways: dict[str, object] = {}
        self._preferred = 0

    @staticmethod
    def warm_up() -> None:
        """Import what the first request needs (requests, etcd3gw), so it is not timed."""
        import etcd3gw.client  # noqa: F401
        import requests  # noqa: F401

    # -- plumbing -------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"EtcdClient({','.join(self.endpoints)!r}, timeout={self.timeout:g})"

    def __enter__(self) -> "EtcdClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def _gateway(self, endpoint: str):
        """The etcd3gw client for one endpoint (built once, sharing this client's session)."""
        gw = self._gateways.get(endpoint)
        if gw is None:
            from etcd3gw.client import Etcd3Client

            from ..model.flags import parse_url

            url = parse_url(endpoint)
            gw = Etcd3Client(host=url.host, port=url.port or 2379, protocol=url.scheme,
                             session=self.session, api_path="/v3/",
                             timeout=(self.connect_timeout, self.timeout))
            self._gateways[endpoint] = gw
        return gw

    def _order(self, endpoint: str | None) -> list[str]:
        if endpoint is not None:
            return [endpoint]
        n = len(self.endpoints)
        return [self.endpoints[(self._preferred + i) % n] for i in range(n)]

    def _call(self, op, endpoint: str | None = None):
        """Run ``op(gateway)`` on the first endpoint that answers, within ``timeout`` seconds.

        * connection refused/reset, or not an etcd port → try the next endpoint;
        * TLS failure → raise :class:`TLSError` at once (a configuration problem);
        * no answer within one *attempt* (a third of ``timeout``), or etcd saying the
          proposal was dropped / the leader changed → ask the member whether it knows a
          leader and try again on the same member until ``timeout`` is used up. A write
          sent while the leader dies is dropped by etcd, not queued, so this is what lets
          writes resume as soon as a new leader is elected. (Retrying a put is harmless:
          it writes the same value again.)
        * ``timeout`` used up, the member still answering its status → :class:`QuorumLost`:
          the connection and the TLS handshake work, the request cannot be committed. (A
          normal failover is over well within ``timeout``, which LocalCluster sets to three
          election timeouts.)
        """
        deadline = time.monotonic() + self.timeout
        failures: list[EtcdlabError] = []
        for ep in self._order(endpoint):
            gw = self._gateway(ep)
            while True:
                remaining = deadline - time.monotonic()
                gw.timeout = (self.connect_timeout, max(0.05, min(remaining, self.attempt_timeout)))
                try:
                    result = op(gw)
                except Exception as exc:  # noqa: BLE001 - every failure is classified below
                    err = classify(exc, ep, timeout=self.timeout)
                    if isinstance(err, TLSError):
                        raise err from exc
                    if not _transient(exc):
                        failures.append(err)
                        break                       # this member is not there: next endpoint
                    view = self._peek(ep)
                    if view is None:
                        failures.append(EtcdUnavailable(f"{ep} stopped answering while the request was in flight."))
                        break
                    if time.monotonic() < deadline - 0.01:
                        time.sleep(0.01)
                        continue                    # same member, next attempt
                    if _hex(view.get("leader")) is None:
                        why = "it knows no leader, because a majority of members is unreachable"
                    else:   # the leader has not noticed yet that it lost its followers
                        why = "no majority acknowledged it (its leader has not stepped down yet)"
                    raise QuorumLost(f"{ep} is up but could not commit the request within {self.timeout:g} s: "
                                     f"{why} (quorum lost).") from exc
                if endpoint is None:
                    self._preferred = self.endpoints.index(ep)
                return result
        if len(failures) == 1:
            raise failures[0]
        raise EtcdUnavailable(f"none of the {len(failures)} endpoints answered: "
                              + "; ".join(str(f).rstrip(".") for f in failures) + ".")

    def _peek(self, endpoint: str) -> dict | None:
        """The member's own status (served from its memory, no Raft), or None if it does not answer."""
        gw = self._gateway(endpoint)
        try:
            r = gw.session.post(gw.get_url("/maintenance/status"), json={},
                                timeout=(self.connect_timeout, 0.5))
            return r.json() if r.status_code == 200 else None
        except Exception:  # noqa: BLE001
            return None

    # -- the key-value API ----------------------------------------------------------
    def put(self, key: str | bytes, value: str | bytes) -> None:
        """Write ``key = value``. Returns only once a majority has committed it (acknowledged)."""
        self._call(lambda gw: gw.put(_b(key), _b(value)))

    def get(self, key: str | bytes, *, serializable: bool = False, endpoint: str | None = None) -> str | None:
        """The value of ``key`` (decoded as UTF-8), or ``None`` if there is no such key.

        ``serializable=True`` lets the member answer from its own copy without asking the
        leader: it works without quorum and may be stale. ``endpoint`` asks one member only.
        """
        values = self._call(lambda gw: gw.get(_b(key), serializable=serializable or None), endpoint)
        return values[0].decode("utf-8", "replace") if values else None

    def get_prefix(self, prefix: str | bytes, *, serializable: bool = False,
                   endpoint: str | None = None) -> dict[str, str]:
        """Every key starting with ``prefix`` and its value, sorted by key."""
        start = _b(prefix)
        end = _prefix_end(start)

        def op(gw):
            return gw.get(start, metadata=True, range_end=end, sort_order="ascend", sort_target="key",
                          serializable=serializable or None)
        return {meta["key"].decode("utf-8", "replace"): value.decode("utf-8", "replace")
                for value, meta in self._call(op, endpoint)}

    def delete(self, key: str | bytes) -> bool:
        """Delete ``key``; True if it existed."""
        return bool(self._call(lambda gw: gw.delete(_b(key))))

    def delete_prefix(self, prefix: str | bytes) -> bool:
        start = _b(prefix)
        return bool(self._call(lambda gw: gw.delete(start, range_end=_prefix_end(start))))

    # -- cluster information -------------------------------------------------------------
    def status(self, endpoint: str | None = None) -> MemberStatus:
        """One member's own view (``etcdctl endpoint status``): its id, its leader, term, index."""
        ep_used: list[str] = []

        def op(gw):
            ep_used.append(gw.base_url)
            return gw.status()
        raw = self._call(op, endpoint)
        header = raw.get("header", {})
        return MemberStatus(
            endpoint=endpoint or ep_used[-1],
            member_id=_hex(header.get("member_id")) or "",
            leader_id=_hex(raw.get("leader")),
            raft_term=int(raw.get("raftTerm", 0)),
            raft_index=int(raw.get("raftIndex", 0)),
            applied_index=int(raw.get("raftAppliedIndex", 0)),
            revision=int(header.get("revision", 0)),
            version=str(raw.get("version", "")),
            db_size=int(raw.get("dbSize", 0)),
        )

    def members(self) -> list[dict]:
        """``etcdctl member list``: id (hex), name, peer and client URLs of every member."""
        return [{"id": _hex(m.get("ID")), "name": m.get("name", ""),
                 "peer_urls": list(m.get("peerURLs", [])), "client_urls": list(m.get("clientURLs", [])),
                 "is_learner": bool(m.get("isLearner", False))}
                for m in self._call(lambda gw: gw.members())]

    def health(self, endpoint: str | None = None) -> tuple[bool, str]:
        """``GET /health`` on a client URL: ``(healthy, reason)``; etcd answers false without a leader."""
        def op(gw):
            r = gw.session.get(gw.base_url + "/health", timeout=gw.timeout)
            r.raise_for_status()
            return r.json()
        body = self._call(op, endpoint)
        return str(body.get("health")) == "true", str(body.get("reason", ""))

    def version(self, endpoint: str | None = None) -> str:
        """The etcd server version (``GET /version``)."""
        def op(gw):
            r = gw.session.get(gw.base_url + "/version", timeout=gw.timeout)
            r.raise_for_status()
            return r.json()
        return str(self._call(op, endpoint).get("etcdserver", ""))


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


def _prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key that starts with ``prefix`` (etcd's range_end)."""
    b = bytearray(prefix)
    while b and b[-1] == 0xFF:
        b.pop()
    if not b:
        return b"\0"   # the whole keyspace
    b[-1] += 1
    return bytes(b)


__all__ = ["EtcdClient", "MemberStatus", "TLS_REASONS", "classify", "tls_reason"]
