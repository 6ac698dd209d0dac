"""Loopback and free ports: the lab listens on 127.0.0.1 only, on ports no one else holds,
picked away from the kernel's ephemeral range so a client's outgoing port cannot take them.
"""

from __future__ import annotations

import random
import socket

from ..errors import EtcdlabError


LOOPBACK = "127.0.0.1"


def _ephemeral_low() -> int:
    """The bottom of the kernel's range for outgoing connections' source ports."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as Go's listeners do
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def free_ports(n: int, *, low: int = 20000) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1, *below* the ephemeral range.

    Ports from the ephemeral range (what ``bind(0)`` hands out) are also used as source
    ports of outgoing connections, so one could be taken while its member is down and
    block the restart. The lab picks ports between ``low`` and the range's start
    (20000-32767 on a default Linux): always five digits, which the notebooks' sanitizer
    relies on.
    """
    high = max(low + 1000, _ephemeral_low())
    rng = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(200 * n):
        p = rng.randrange(low, high)
        if p not in chosen and _port_is_free(p):
            chosen.append(p)
            if len(chosen) == n:
                return chosen
    raise EtcdlabError(f"could not find {n} free ports between {low} and {high} on 127.0.0.1.")
