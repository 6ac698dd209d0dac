"""A running cluster, read through the official ``kubernetes`` client (read-only).

``kubectl get po -n kube-system -o json`` shows the etcd Pod and the kube-apiserver Pod as
*mirror Pods*: the API server's copies of the static manifests the kubelet runs from
``/etc/kubernetes/manifests``. :func:`load_live` asks the API server for the same JSON
and hands it to the very loader that reads a ``kubectl`` capture, so a live cluster
becomes the same :class:`~etcdlab.model.control_plane.ControlPlane` as a data set:

    >>> cp = load_live(context="kubernetes-admin@kubernetes")   # doctest: +SKIP
    >>> [(n.name, n.role) for n in cp.nodes]                     # doctest: +SKIP
    [('master', 'control-plane'), ('worker1', 'worker'), ...]

Two requests, both GET, and nothing else:

* ``GET /api/v1/namespaces/kube-system/pods?labelSelector=component in (etcd,kube-apiserver)``
  — kubeadm labels its static Pods ``component=<name>``; a *set-based* selector gets both
  kinds in one request. Each Pod says its node in ``spec.nodeName``.
* ``GET /api/v1/nodes`` — every node with its ``InternalIP``, which adds the workers. An
  account that may not list nodes (a 403 here) just gets no workers.

The answers are read as raw JSON (``_preload_content=False``), exactly the text
``kubectl -o json`` prints, rather than through the client's generated models: those
changed between client versions (37 made them pydantic classes) and a round trip
through them could drop fields; raw JSON reads the same with every client from 30 to 37.

Managed clusters (EKS, GKE, AKS) run etcd where no Pod shows it: there is nothing to
inspect there, and :func:`load_live` says so. Every failure (no kubeconfig, an unknown
context, an exec credential plugin that fails -- which the client only logs before it
carries on without credentials --, refused credentials, a server that cannot be reached
or whose certificate cannot be verified) is one :class:`~etcdlab.errors.EtcdlabError` sentence. Certificates
and keys are only handed to the TLS layer; nothing here prints them.

The ``kubernetes`` package is imported inside the functions, so ``import etcdlab`` stays light.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ..errors import EtcdlabError
from ..model.control_plane import ControlPlane, Node

#: The Pods etcdlab needs, in one set-based label selector (kubeadm labels them ``component=...``).
SELECTOR = "component in (etcd,kube-apiserver)"
#: Seconds to connect, and to wait for an answer.
TIMEOUT = (10, 30)
#: Connection attempts after the first one fails. urllib3 would make three more, each
#: logging a warning; a refused connection or a failed handshake will not get better.
RETRIES = 0
#: The largest answer read (a kube-system Pod list is a few hundred kB).
MAX_BYTES = 32 * 1024 * 1024
#: What the managed clouds have in common.
MANAGED = "managed clusters (EKS, GKE, AKS) run etcd out of sight"


def load_live(*, kubeconfig: str | os.PathLike | None = None, context: str | None = None,
              namespace: str = "kube-system", api_client: Any = None) -> ControlPlane:
    """The control plane of a running cluster, as its API server shows it (GET requests only).

    ``kubeconfig`` defaults to ``$KUBECONFIG``, then ``~/.kube/config``; inside a Pod
    (``KUBERNETES_SERVICE_HOST`` set, no kubeconfig) the Pod's service account is used.
    ``context`` defaults to the kubeconfig's current context. ``api_client`` is an
    already configured ``kubernetes.client.ApiClient`` to use instead (it is not closed).
    """
    if api_client is not None:
        host = getattr(getattr(api_client, "configuration", None), "host", None) or "the API server"
        label = context or host
        return _read(api_client, label, host, namespace)
    with _ClientLog() as log:
        api, label, plugin = _client(kubeconfig, context)   # an exec plugin runs here...
        try:
            log.raise_for(plugin)
            try:
                return _read(api, label, api.configuration.host, namespace)
            except EtcdlabError:
                log.raise_for(plugin)   # ...and again when its credentials expire: the real cause
                raise
        finally:
            api.close()


# -- connecting ----------------------------------------------------------------------------


def _kubeconfig_paths(kubeconfig: str | os.PathLike | None) -> list[str]:
    if kubeconfig is not None:
        return [os.path.expanduser(os.fspath(kubeconfig))]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def _client(kubeconfig: str | os.PathLike | None, context: str | None) -> tuple[Any, str, str | None]:
    """A new ApiClient for the context (or the Pod's service account), a label for messages,
    and the command of the context's exec credential plugin, if it has one."""
    import yaml
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    configuration.retries = RETRIES
    if (kubeconfig is None and context is None and not os.environ.get("KUBECONFIG")
            and os.environ.get("KUBERNETES_SERVICE_HOST")):
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise EtcdlabError(f"cannot use this Pod's service account: {_clean(exc)}") from None
        return client.ApiClient(configuration), "the in-cluster service account", None

    paths = _kubeconfig_paths(kubeconfig)
    found = [p for p in paths if os.path.exists(p)]
    if not found:
        raise EtcdlabError(f"no kubeconfig: {' and '.join(paths)} does not exist; give --kubeconfig FILE, "
                           "set KUBECONFIG, or run inside the cluster")
    config_file = os.pathsep.join(found)
    shown = " and ".join(found)
    names, current, plugins = _contexts(found)
    if context is None:
        if not current:
            raise EtcdlabError(f"{shown} sets no current-context; give --context NAME "
                               f"(it has: {', '.join(names) or 'none'})")
        context = current
    if context not in names:
        raise EtcdlabError(f"{shown} has no context {context!r} "
                           f"(it has: {', '.join(names) or 'none'}); give one of those with --context")
    try:
        api = config.new_client_from_config(config_file=config_file, context=context,
                                            persist_config=False, client_configuration=configuration)
    except (ConfigException, yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, OSError) as exc:
        raise EtcdlabError(f"cannot use context {context!r} of {shown}: {_clean(exc)}") from None
    return api, f"context {context}", plugins.get(context)


def _contexts(paths: list[str]) -> tuple[list[str], str | None, dict[str, str]]:
    """The context names of kubeconfig files, the current one (the first file that sets it
    wins, as kubectl merges them), and the exec plugin command of each context whose user
    has one (``users[].user.exec.command``: ``aws`` for EKS, ``gke-gcloud-auth-plugin``
    for GKE, ``kubelogin`` for AKS), read with the safe YAML loader only."""
    import yaml

    from .safe_yaml import read_text

    names: list[str] = []
    current = None
    user_of: dict[str, str] = {}
    command_of: dict[str, str] = {}
    for path in paths:
        try:
            doc = yaml.safe_load(read_text(Path(path)))
        except yaml.YAMLError:
            raise EtcdlabError(f"{path} is not valid YAML, so not a kubeconfig") from None
        if doc is None:
            continue  # an empty file, which kubectl ignores too
        contexts = doc.get("contexts") if isinstance(doc, dict) else None
        if not isinstance(contexts, (list, type(None))) or not isinstance(doc, dict):
            raise EtcdlabError(f"{path} is not a kubeconfig (it lacks the clusters, users and contexts lists "
                               "kubectl config view shows)")
        names += [c["name"] for c in contexts or [] if isinstance(c, dict) and isinstance(c.get("name"), str)]
        if not current and isinstance(doc.get("current-context"), str) and doc["current-context"]:
            current = doc["current-context"]
        # the first definition of a name wins, as kubectl merges files
        for c in contexts or []:
            body = c.get("context") if isinstance(c, dict) else None
            if isinstance(body, dict) and isinstance(c.get("name"), str) and isinstance(body.get("user"), str):
                user_of.setdefault(c["name"], body["user"])
        users = doc.get("users") if isinstance(doc.get("users"), list) else []
        for u in users:
            spec = u.get("user") if isinstance(u, dict) else None
            plugin = spec.get("exec") if isinstance(spec, dict) else None
            if isinstance(plugin, dict) and isinstance(u.get("name"), str) and isinstance(plugin.get("command"), str):
                command_of.setdefault(u["name"], plugin["command"])
    plugins = {ctx: command_of[user] for ctx, user in user_of.items() if user in command_of}
    return names, current, plugins


class _ClientLog:
    """What the kubernetes client logs through the *root* logger, kept instead of printed.

    The client reports a failed exec credential plugin with ``logging.error(str(exc))``
    and carries on without credentials, so the request that follows fails for a reason
    that is not the real one (401, or a refused connection), and Python prints
    ``ERROR:root:...`` on top. Inside ``with _ClientLog() as log:`` those records are
    collected; :meth:`raise_for` turns them into one sentence about the plugin. Records
    that explain no failure are handed back to the root logger at the end.
    """

    def __enter__(self) -> "_ClientLog":
        import logging

        records = self.records = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        self._handler = Collect(logging.WARNING)
        self._handler.addFilter(lambda record: record.name == "root")   # urllib3 logs under its own names
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, *exc) -> None:
        import logging

        root = logging.getLogger()
        root.removeHandler(self._handler)
        for record in self.records:
            root.handle(record)

    def raise_for(self, plugin: str | None) -> None:
        """Raise the plugin's failure as one sentence, if it has logged one."""
        if plugin is None or not self.records:
            return
        text = self.records[0].getMessage()
        self.records.clear()
        if "No such file or directory" in text:
            why = "it is not installed, or not on PATH (no such file or directory)"
        else:
            why = _clean(re.sub(r"^exec:\s*", "", text))
        raise EtcdlabError(f"the kubeconfig's exec plugin {plugin} failed: {why}; install it, or choose a "
                           "context that does not need it with --context")


# -- reading ---------------------------------------------------------------------------------


def _read(api: Any, label: str, host: str, namespace: str) -> ControlPlane:
    from .nodes import merge_nodes, nodes_from_pods
    from .pods import pods_from_object
    from .safe_yaml import Locator

    pod_list = _get(api, label, host, "pods", namespace=namespace)
    items = [i for i in pod_list.get("items") or [] if isinstance(i, dict)]
    pods = []
    for item in items:
        meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        where = f"{meta.get('namespace') or namespace}/{meta.get('name') or 'pod'}"
        pods.extend(pods_from_object(dict(item, kind="Pod"), Locator(None), where))
    if not any(p.component == "etcd" for p in pods):
        where = f"{label} ({host})" if host not in label else label
        if any(p.component == "kube-apiserver" for p in pods):
            raise EtcdlabError(f"{where} shows kube-apiserver Pods but no etcd Pod in {namespace}: etcd runs outside "
                               "the cluster (an external etcd), so inspect its hosts' /etc/kubernetes/manifests "
                               "instead")
        raise EtcdlabError(f"{where} shows no etcd Pod in {namespace}: {MANAGED}; etcdlab needs a kubeadm "
                           "(self-managed) cluster")
    nodes = list(nodes_from_pods(pods, source=label))
    try:
        node_list = _get(api, label, host, "nodes")
    except _Forbidden:
        node_list = {}  # an account that may read kube-system but not nodes: no workers, nothing wrong
    nodes.extend(_node(item) for item in node_list.get("items") or [] if isinstance(item, dict)
                 and isinstance((item.get("metadata") or {}).get("name"), str))
    return ControlPlane(nodes=merge_nodes(nodes), name=label.removeprefix("context "),
                        source=f"{label} ({host})" if host not in label else label)


def _node(item: dict) -> Node:
    """A Node object of the API → a pod-less :class:`Node` (its role from kubeadm's label)."""
    meta = item.get("metadata") or {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    status = item.get("status") if isinstance(item.get("status"), dict) else {}
    addresses = [a for a in status.get("addresses") or [] if isinstance(a, dict)]
    address = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None)
    role = "control-plane" if ("node-role.kubernetes.io/control-plane" in labels
                               or "node-role.kubernetes.io/master" in labels) else "worker"
    return Node(name=meta["name"], address=address if isinstance(address, str) else None, role=role)


class _Forbidden(EtcdlabError):
    """A 403: the credentials are good but may not do this."""


def _get(api: Any, label: str, host: str, what: str, namespace: str | None = None) -> dict:
    """One GET through the client's CoreV1Api, answered as the raw JSON the server sent."""
    import urllib3
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(api)
    target = f"pods in {namespace}" if what == "pods" else "nodes"
    try:
        if what == "pods":
            response = core.list_namespaced_pod(namespace, label_selector=SELECTOR, _preload_content=False,
                                                _request_timeout=TIMEOUT)
        else:
            response = core.list_node(_preload_content=False, _request_timeout=TIMEOUT)
        data = response.data
        release = getattr(response, "release_conn", None)
        if release:
            release()
    except ApiException as exc:
        if exc.status == 401:
            raise EtcdlabError(f"{host} refused the credentials of {label} (401 Unauthorized): the token or "
                               "client certificate has expired or belongs to another cluster") from None
        if exc.status == 403:
            raise _Forbidden(f"the credentials of {label} may not list {target} (403 Forbidden); "
                             "ask for a role that may list them") from None
        reason = _status_message(exc) or exc.reason or "no reason given"
        raise EtcdlabError(f"{host} answered {exc.status} to a list of {target}: {reason}") from None
    except urllib3.exceptions.MaxRetryError as exc:
        raise _unreachable(host, exc.reason) from None
    except urllib3.exceptions.HTTPError as exc:  # a timeout or a dropped connection, without retries
        raise _unreachable(host, exc) from None
    if len(data) > MAX_BYTES:
        raise EtcdlabError(f"{host} sent {len(data)} bytes for a list of {target}, more than the {MAX_BYTES} "
                           "etcdlab reads")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise EtcdlabError(f"{host} did not answer a list of {target} with JSON; is it a Kubernetes API "
                           "server?") from None
    if not isinstance(body, dict) or not isinstance(body.get("items", []), (list, type(None))):
        raise EtcdlabError(f"{host} answered a list of {target} with something that is not a list")
    return body


def _unreachable(host: str, reason: Any) -> EtcdlabError:
    import ssl

    import urllib3

    inner = reason
    if isinstance(reason, urllib3.exceptions.SSLError) and reason.args:
        inner = reason.args[0]
    if isinstance(inner, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(inner):
        why = getattr(inner, "verify_message", None) or _clean(inner)
        return EtcdlabError(f"cannot verify the certificate of {host} ({why}): the kubeconfig's "
                            "certificate-authority is not the CA that signed the server's certificate")
    if isinstance(reason, urllib3.exceptions.SSLError) or isinstance(inner, ssl.SSLError):
        return EtcdlabError(f"the TLS handshake with {host} failed ({_clean(inner)}); check the kubeconfig's "
                            "certificate-authority and client certificate")
    if isinstance(reason, urllib3.exceptions.NewConnectionError):  # refused, no route, unknown name
        pass  # (a subclass of ConnectTimeoutError in urllib3 2, yet no timeout)
    elif isinstance(reason, (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ReadTimeoutError)):
        return EtcdlabError(f"cannot reach {host}: it did not answer within {TIMEOUT[0]} s")
    return EtcdlabError(f"cannot reach {host}: {_clean(reason)}")


def _status_message(exc: Any) -> str | None:
    """The ``message`` of the ``Status`` object an API server sends with an error."""
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return _clean(message) if isinstance(message, str) else None


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/=]{40,}")


def _clean(exc: Any) -> str:
    """An exception as a short phrase: urllib3's wrapping and errno prefixes removed, and no
    long base64 run (a certificate or a key from a kubeconfig) shown, even in part."""
    text = str(exc)
    text = re.sub(r"^<[^>]+>:\s*", "", text)  # urllib3: "<HTTPSConnection object at 0x...>: Failed..."
    text = re.sub(r"^HTTPS?Connection\([^)]*\):\s*", "", text)
    text = text.replace("Failed to establish a new connection: ", "")
    text = re.sub(r"\[Errno -?\d+\]\s*", "", text)
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", text)
    text = text.replace("Invalid kube-config file. ", "")
    text = _BASE64_RUN.sub("…", text)
    text = " ".join(text.split())
    return (text[:200] + "…") if len(text) > 200 else (text or type(exc).__name__)


__all__ = ["load_live", "SELECTOR"]
