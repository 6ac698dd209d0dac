"""Command lines and URLs, the way Kubernetes components read them.

kubeadm writes every flag of a control-plane Pod as ``--name=value``, one per line, in
the container's ``command``. People write them in other ways too, and Go's ``flag``
and ``pflag`` packages accept them all:

* ``--name=value`` and ``--name value``;
* a bare boolean ``--client-cert-auth`` (meaning ``true``);
* a single dash, ``-name=value`` (Go's flag package accepts it);
* the same flag twice (the last one wins for a scalar);
* comma-separated lists (``--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.1:2379``).

:func:`parse_command` turns a list of strings into a :class:`CommandLine` that keeps
every flag in order, with its position, so that a finding can point at the exact line
of the manifest. :func:`parse_url` turns ``https://[::1]:2379`` into an
:class:`Endpoint` with its scheme, host and port.

Everything here is pure: no I/O, no heavy imports.
"""

from __future__ import annotations

import ipaddress
import re
import reprlib
from dataclasses import dataclass, field
from collections.abc import Iterable, Sequence

from ..errors import FlagError
from .addresses import is_ipv6

#: The schemes etcd accepts in its URL flags (unix sockets included, for completeness).
URL_SCHEMES = ("https", "http", "unixs", "unix")

#: Boolean spellings Go's strconv.ParseBool accepts.
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}

_FLAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")  # matched with fullmatch: no trailing newline
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 40, 40
_PORT = re.compile(r"[0-9]{1,5}")  # ASCII digits only: int() would also take '٣' (and choke on '²')


def _shown(value: object, limit: int = 60) -> str:
    """A value as an error message shows it: as written if short and printable, else a bounded
    repr (:mod:`reprlib` looks only a few levels and items deep), so a message stays one short
    line whatever the input holds."""
    if isinstance(value, str) and value.isprintable() and len(value) <= limit:
        return value
    try:
        text = _REPR.repr(value)
    except ValueError:  # e.g. an int too long to print (Python limits int-to-text conversion)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quoted(text: str, limit: int = 80) -> str:
    """``repr(text)``, cut to ``limit`` characters: a URL in a message stays short and on one line."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


def _error(message: str, *, item: int | None = None, hint: str | None = None) -> FlagError:
    """A FlagError that also remembers which item of the command was bad (``.item``), so the
    loader can point at that item's line without parsing the command again."""
    err = FlagError(message, hint=hint)
    err.item = item  # type: ignore[attr-defined]
    return err


@dataclass(frozen=True)
class Flag:
    """One flag as written: ``--name=value`` has name ``name`` and value ``"value"``.

    ``value`` is ``None`` for a bare flag such as ``--client-cert-auth`` (Go treats a
    bare boolean flag as ``true``). ``index`` is the position of the flag's first
    token in the argument list, which the loader maps back to a line of the file.
    """

    name: str
    value: str | None
    index: int
    raw: str

    def __str__(self) -> str:
        return self.raw


@dataclass(frozen=True)
class CommandLine:
    """A parsed command: the program, its flags in order, and any positional arguments."""

    program: str
    flags: tuple[Flag, ...] = ()
    positional: tuple[str, ...] = ()
    argv: tuple[str, ...] = field(default=(), repr=False)

    # -- reading flags ---------------------------------------------------------------
    def has(self, name: str) -> bool:
        """True if the flag appears at all (with any value)."""
        return any(f.name == name for f in self.flags)

    def flag(self, name: str) -> Flag | None:
        """The flag that takes effect: the *last* occurrence, as in Go."""
        for f in reversed(self.flags):
            if f.name == name:
                return f
        return None

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of a flag (the last one if repeated), or ``default``.

        A bare flag gives ``"true"``.
        """
        f = self.flag(name)
        if f is None:
            return default
        return "true" if f.value is None else f.value

    def get_all(self, name: str) -> list[str]:
        """Every value given for ``name``, in order (for flags that may repeat)."""
        return ["true" if f.value is None else f.value for f in self.flags if f.name == name]

    def get_list(self, name: str) -> list[str]:
        """A comma-separated flag as a list; repeats are concatenated, blanks dropped."""
        items: list[str] = []
        for value in self.get_all(name):
            items.extend(part.strip() for part in value.split(",") if part.strip())
        return items

    def get_bool(self, name: str, default: bool = False) -> bool:
        """A boolean flag the way Go reads it; an unreadable value raises :class:`FlagError`."""
        value = self.get(name)
        if value is None:
            return default
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise FlagError(f"--{name}={_shown(value)} is not a boolean",
                        hint="write true or false")

    def names(self) -> list[str]:
        """Flag names in order of first appearance, without duplicates."""
        seen: dict[str, None] = {}
        for f in self.flags:
            seen.setdefault(f.name)
        return list(seen)

    def as_dict(self) -> dict[str, str]:
        """``{name: effective value}`` for every flag."""
        return {name: self.get(name) for name in self.names()}  # type: ignore[misc]

    def __iter__(self):
        return iter(self.flags)

    def __len__(self) -> int:
        return len(self.flags)


def parse_command(argv: Sequence[str] | None) -> CommandLine:
    """Parse a container's command (``command`` + ``args`` joined) into a :class:`CommandLine`.

    The first element is the program (``etcd``, ``kube-apiserver``). A token that
    starts with ``-`` is a flag; ``--name value`` takes the next token as its value
    when that token does not itself look like a flag. ``--`` ends the flags.

    >>> cl = parse_command(["etcd", "--name=master", "--data-dir", "/var/lib/etcd", "--client-cert-auth"])
    >>> cl.get("name"), cl.get("data-dir"), cl.get_bool("client-cert-auth")
    ('master', '/var/lib/etcd', True)
    """
    if argv is None:
        raise FlagError("the container has no command", hint="add a command list to the container")
    if isinstance(argv, (str, bytes)) or not isinstance(argv, Sequence):
        raise FlagError(f"the command must be a list of strings, not {type(argv).__name__}",
                        hint="write it as a YAML list, one flag per item")
    tokens: list[str] = []
    for i, item in enumerate(argv):
        if not isinstance(item, str):
            raise _error(f"item {i} of the command is {type(item).__name__} {_shown(item)}, not a string",
                         item=i, hint="quote it in the YAML so it stays a string")
        if "\x00" in item:
            raise _error(f"item {i} of the command contains a NUL byte", item=i)
        tokens.append(item)
    if not tokens:
        raise FlagError("the command is empty", hint="the first item must be the program, e.g. etcd")

    program = tokens[0]
    flags: list[Flag] = []
    positional: list[str] = []
    i = 1
    while i < len(tokens):
        token = tokens[i]
        if token == "--":
            positional.extend(tokens[i + 1:])
            break
        if token.startswith("-") and len(token) > 1 and not _is_number(token):
            body = token.lstrip("-")
            if token.startswith("---") or not body:
                raise _error(f"{_quoted(token)} (item {i}) is not a flag", item=i, hint="a flag is --name=value")
            if "=" in body:
                name, value = body.split("=", 1)
                raw = token
            else:
                name, value, raw = body, None, token
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if nxt is not None and not _looks_like_flag(nxt):
                    value, raw = nxt, f"{token} {nxt}"
                    flags.append(_flag(name, value, i, raw))
                    i += 2
                    continue
            flags.append(_flag(name, value, i, raw))
        else:
            positional.append(token)
        i += 1
    return CommandLine(program=program, flags=tuple(flags), positional=tuple(positional),
                       argv=tuple(tokens))


def _flag(name: str, value: str | None, index: int, raw: str) -> Flag:
    if not _FLAG_NAME.fullmatch(name):
        raise _error(f"{_quoted(raw)} (item {index}) has an invalid flag name {_quoted(name)}", item=index,
                     hint="flag names are letters, digits and dashes, as in --data-dir")
    return Flag(name=name, value=value, index=index, raw=raw)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _looks_like_flag(token: str) -> bool:
    return token.startswith("-") and len(token) > 1 and not _is_number(token)


# -- URLs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """A URL as etcd and the apiserver use it: scheme, host and port.

    ``host`` has no brackets (``::1``, not ``[::1]``); :attr:`hostport` puts them back.

    >>> e = parse_url("https://[::1]:2379")
    >>> e.host, e.port, e.tls, e.is_loopback, e.hostport
    ('::1', 2379, True, True, '[::1]:2379')
    """

    scheme: str
    host: str
    port: int | None
    raw: str

    @property
    def tls(self) -> bool:
        """True for ``https`` and ``unixs``: the connection is encrypted."""
        return self.scheme in ("https", "unixs")

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The host as an IP address, or None for a host name."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def is_loopback(self) -> bool:
        """127.0.0.0/8, ::1 or ``localhost``: reachable only from the same machine."""
        ip = self.ip
        if ip is not None:
            return ip.is_loopback
        return self.host.lower() == "localhost"

    @property
    def is_wildcard(self) -> bool:
        """0.0.0.0 or ``::``: a listener on every address of the machine."""
        ip = self.ip
        return ip is not None and ip.is_unspecified

    @property
    def hostport(self) -> str:
        if self.scheme in ("unix", "unixs"):  # a socket path, not host:port
            return self.host
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def __str__(self) -> str:
        return self.raw


_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>.*)$")


def parse_url(text: str, *, flag: str | None = None) -> Endpoint:
    """Parse one etcd URL (``https://10.0.0.1:2379``, ``https://[::1]:2379``, ``http://etcd-0:2379``).

    Raises :class:`FlagError` with a sentence naming the flag when the URL is invalid:
    no scheme, an unknown scheme, no host, a bad port, unbalanced IPv6 brackets.
    """
    where = f"--{flag}: " if flag else ""
    if not isinstance(text, str):
        raise FlagError(f"{where}a URL must be a string, not {type(text).__name__}")
    raw = text.strip()
    m = _URL.match(raw)
    if not m:
        raise FlagError(f"{where}{_quoted(raw)} is not a URL",
                        hint="write it as https://HOST:PORT, e.g. https://127.0.0.1:2379")
    scheme = m["scheme"].lower()
    if scheme not in URL_SCHEMES:
        raise FlagError(f"{where}{_quoted(raw)} has scheme {_quoted(scheme)}, which etcd does not accept",
                        hint="use https:// (or http:// without TLS)")
    rest = m["rest"]
    if scheme in ("unix", "unixs"):
        if not rest:
            raise FlagError(f"{where}{_quoted(raw)} names no socket path")
        return Endpoint(scheme=scheme, host=rest, port=None, raw=raw)
    hostport = rest.split("/", 1)[0]
    if "@" in hostport:
        raise FlagError(f"{where}{_quoted(raw)} carries user information, which etcd does not accept")
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise FlagError(f"{where}{_quoted(raw)} opens an IPv6 bracket '[' but never closes it",
                            hint="write it as https://[::1]:2379")
        host = hostport[1:end]
        tail = hostport[end + 1:]
        if tail and not tail.startswith(":"):
            raise FlagError(f"{where}{_quoted(raw)} has text after the IPv6 address")
        port_text = tail[1:] if tail else None
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise FlagError(f"{where}{_quoted(raw)}: {_quoted(host)} in brackets is not an IPv6 address") from None
    else:
        if hostport.count(":") > 1:
            if is_ipv6(hostport) or is_ipv6(hostport.rsplit(":", 1)[0]):
                raise FlagError(f"{where}{_quoted(raw)} looks like a bare IPv6 address",
                                hint="put it in brackets, as in https://[::1]:2379")
            raise FlagError(f"{where}{_quoted(raw)} has an invalid host:port {_quoted(hostport)}",
                            hint="separate several URLs with commas, as in https://a:2379,https://b:2379")
        host, _, port_text = hostport.partition(":")
        port_text = port_text if ":" in hostport else None
    if not host:
        raise FlagError(f"{where}{_quoted(raw)} has no host", hint="write it as https://HOST:PORT")
    if not re.fullmatch(r"[A-Za-z0-9._\-:%]+", host):
        raise FlagError(f"{where}{_quoted(raw)} has an invalid host {_quoted(host)}")
    port: int | None = None
    if port_text is not None:
        if not _PORT.fullmatch(port_text) or not 0 < int(port_text) < 65536:
            raise FlagError(f"{where}{_quoted(raw)} has an invalid port {_quoted(port_text)}",
                            hint="a port is a number from 1 to 65535")
        port = int(port_text)
    return Endpoint(scheme=scheme, host=host, port=port, raw=raw)


def raw_urls(endpoints: Iterable[Endpoint]) -> list[str]:
    """The URLs as the manifest wrote them (``inspect --json`` lists them so)."""
    return [e.raw for e in endpoints]


def url_list(endpoints: Iterable[Endpoint]) -> str:
    """The URLs as one flag value, for messages: ``https://a:2379,https://b:2379``, or ``(none)``."""
    return ",".join(raw_urls(endpoints)) or "(none)"


def parse_url_list(values: Iterable[str] | str, *, flag: str | None = None) -> tuple[Endpoint, ...]:
    """Parse a comma-separated URL flag value (or a list of them) into endpoints."""
    if isinstance(values, str):
        values = [values]
    out: list[Endpoint] = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                out.append(parse_url(part, flag=flag))
    return tuple(out)


def parse_initial_cluster(value: str, *, flag: str = "initial-cluster") -> tuple[tuple[str, Endpoint], ...]:
    """``master=https://10.0.0.1:2380,node2=https://10.0.0.2:2380`` → ((name, Endpoint), ...).

    A name may appear more than once when a member has several peer URLs.
    """
    out: list[tuple[str, Endpoint]] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, url = part.partition("=")
        if not sep or not name.strip():
            raise FlagError(f"--{flag}: {part!r} is not NAME=URL",
                            hint="write it as master=https://10.0.0.1:2380")
        out.append((name.strip(), parse_url(url, flag=flag)))
    return tuple(out)
