"""``http.listen`` values: ``host:port``, ``[v6]:port``, or ``""`` for off."""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

__all__ = ["ListenAddress", "is_loopback", "parse_listen"]

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class ListenAddress(NamedTuple):
    """Where the HTTP endpoint listens; ``port`` 0 picks a free one (tests)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(value: str) -> ListenAddress:
    """Split ``host:port`` (IPv6 hosts in brackets: ``[::1]:9477``).

    Raises:
        ValueError: the value is not ``host:port`` with a port from 0 to 65535.
    """
    host, separator, port_text = value.rpartition(":")
    if not separator or not host:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:9477)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        _require_ip(host, value)
    elif ":" in host:
        raise ValueError(f"{value!r}: write an IPv6 address in brackets, e.g. [::1]:9477")
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"{value!r} has no usable host")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"{value!r}: the port must be a number from 0 to 65535")
    return ListenAddress(host, int(port_text))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only.

    Names other than ``localhost`` count as reachable from elsewhere: what
    they resolve to can change, so they get the rules of a public address.
    """
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_ip(host: str, value: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ValueError(f"{value!r}: {host!r} in brackets is not an IPv6 address") from None
