"""Addresses, once: is this host an IP address, an IPv6 one, and how it is written in a URL.

An IPv6 address goes in brackets in a URL (``https://[fd00::10]:2379``), because its
colons would otherwise read as the port's. A host name or an IPv4 address has no colon,
so the colon alone decides. The model, kubeadm's renderer and the doctor all use these.

    >>> url("https", "fd00::10", 2379), url("https", "10.0.0.1", 2379)
    ('https://[fd00::10]:2379', 'https://10.0.0.1:2379')
"""

from __future__ import annotations

import ipaddress


def is_ip(host: str) -> bool:
    """An IPv4 or IPv6 address (an IPv6 zone such as ``%eth0`` is allowed), not a name."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def is_ipv6(text: str) -> bool:
    """An IPv6 address (``::1``, ``fd00::10``), without brackets."""
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def bracket(host: str) -> str:
    """``fd00::1`` → ``[fd00::1]``; ``10.0.0.1`` and names stay as they are: the host as a URL writes it."""
    return f"[{host}]" if ":" in host else host


def url(scheme: str, host: str, port: int) -> str:
    """``url("https", "::1", 2379)`` → ``https://[::1]:2379``."""
    return f"{scheme}://{bracket(host)}:{port}"
